//! Tasks: one unit of agent work under one identity and grant. A task begins (its grant is
//! issued), authorizes calls through the [pipeline](pipeline), delegates sub-tasks, and ends
//! (its grant is revoked).

mod declassify;
mod deferred;
mod escalate;
mod explain;
mod handoff;
mod input;
mod pipeline;
mod record;
mod renew;
mod runner;
mod standing;
mod telemetry;
mod validate;
mod warrant;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::approval::{ApprovalAnswer, ApproverError, AsyncApprover, ThreadApprover};
use crate::approval_store::Ticket;
use crate::chain::{Chain, Thresholds};
use crate::clock::rfc3339;
use crate::credential::{BrokerError, Credential, CredentialRequest};
use crate::error::{Error, TaskError};
use crate::grant::Grant;
use crate::identity::Identity;
use crate::ids::{TaskId, TicketId};
use crate::intent::Intent;
use crate::jwt::{GrantClaims, GRANT_TOKEN_TYPE};
use crate::kinds::{Impact, Role};
use crate::ledger::RecordKind;
use crate::limits::TaskLimits;
use crate::principal::Principal;
use crate::runtime::Runtime;
use crate::scope::{Scope, ScopeSet};
use crate::tool::{ToolCall, ToolSpec};

pub use deferred::Authorization;
pub use explain::Explanation;
use record::CallFields;
#[cfg(feature = "bench")]
pub(crate) use record::{redacted, status, CallFields as BenchFields};
pub use runner::TaskRunner;
#[cfg(feature = "bench")]
pub(crate) use validate::Examined;
pub use warrant::{Outcome, Refusal, RefusalKind, RunError, Warrant};

/// One level of a delegation chain: every level's ceiling and intent bound the scopes below it,
/// except above an approved escalation (see [`escalate`]), whose grant answers to its own
/// identity's ceiling alone.
#[derive(Debug, Clone)]
struct Level {
    /// The identity's id, as given.
    id: String,
    /// The identity, as the kill switch compares it.
    principal: Principal,
    ceiling: ScopeSet,
    intent: ScopeSet,
    role: Role,
    owner: String,
    /// Whether this level's ceiling and intent bound the scopes of the levels below.
    bounds: bool,
    /// Whether the wildcard-free scopes of this level's intent are targets a person named:
    /// true for a task a guard began; false for levels handed on by a chain token, whose
    /// scopes an agent chose.
    names_targets: bool,
}

/// Where a task comes from.
pub(crate) enum Parent<'a> {
    /// Begun by the guard: the root of a task tree.
    Root,
    /// Delegated (or escalated) from a task in this process: it shares its chain.
    Local(&'a TaskInner),
    /// Continuing a chain handed on from another process (see [`handoff`]).
    Handed(Box<handoff::Handed>),
}

pub(crate) use handoff::resume;

impl TaskInner {
    /// The levels whose ceilings and intents bound this task's scopes.
    fn bounding(&self) -> impl Iterator<Item = &Level> {
        self.lineage.iter().filter(|l| l.bounds)
    }
}

pub(crate) struct TaskInner {
    pub(crate) runtime: Arc<Runtime>,
    id: TaskId,
    parent_task: Option<TaskId>,
    identity: Identity,
    intent: Intent,
    /// Root first, this task's own level last.
    lineage: Vec<Level>,
    grant: Arc<Grant>,
    pub(crate) chain: Arc<Chain>,
    /// The depth this task was delegated at (0 for a root task): its calls without a parent
    /// sit one below it, so nesting delegations counts toward `max_depth`.
    pub(crate) base_depth: u32,
    /// The tree's own limits (see [`TaskLimits`]).
    limits: TaskLimits,
    /// The parts of the policy input that stay the same for the task, built once.
    input: input::TaskInput,
    /// The shared parts of its policy inputs as the task's records keep them.
    recorded: Mutex<record::InputMemo>,
    /// Declared tools this task has called, each resolved once into a private copy (tools are
    /// only ever added, so the answer never changes): the hot path then takes no lock and
    /// touches no reference count shared with other tasks.
    tools: Mutex<Vec<(String, Arc<ToolSpec>)>>,
    /// Calls paused until a human answers their approval request (see [`deferred`]).
    paused: Mutex<Vec<(TicketId, Box<pipeline::Paused>)>>,
    /// Standing approvals in force (see [`standing`]); void when the task ends.
    standing: Mutex<Vec<standing::Held>>,
    ended: AtomicBool,
    /// The task's `invoke_agent` span (see [`telemetry`]).
    span: tracing::Span,
    /// The task's just-in-time credential, while it holds one (see
    /// [`CredentialBroker`](crate::CredentialBroker)).
    credential: Mutex<Option<Credential>>,
}

/// One unit of agent work: an identity, an intent, a grant, and the chain of calls so far.
///
/// `Task` is `Send + Sync`: parallel tool calls of one task are tracked correctly. Ending the
/// task (or dropping it) revokes its grant and the grants of tasks delegated from it.
#[must_use = "a task's calls go through it; dropping it ends the task and revokes its grant"]
pub struct Task {
    pub(crate) inner: Arc<TaskInner>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.inner.id)
            .field("identity", &self.inner.identity.id)
            .finish_non_exhaustive()
    }
}

impl Task {
    pub(crate) fn begin(
        runtime: Arc<Runtime>,
        identity: Identity,
        intent: Intent,
        parent: Parent<'_>,
        elevated_for: Option<time::Duration>,
        limits: TaskLimits,
    ) -> Result<Task, Error> {
        let now = runtime.clock.now();
        let local = match &parent {
            Parent::Local(p) => Some(*p),
            _ => None,
        };
        // Sub-tasks share their tree's limits, as they share its chain.
        let limits = local.map_or(limits, |p| p.limits);
        if let Some((limit, problem)) = limits.problem() {
            return Err(crate::error::BuildError::InvalidLimits {
                limit: limit.into(),
                problem,
            }
            .into());
        }
        let mut lineage = match &parent {
            Parent::Root => Vec::new(),
            Parent::Local(p) => p.lineage.clone(),
            Parent::Handed(h) => h.levels.clone(),
        };
        let suspended = runtime.suspended.read().map_or(true, |set| {
            set.contains(&identity.principal) || lineage.iter().any(|l| set.contains(&l.principal))
        });
        if suspended {
            return Err(TaskError::Suspended {
                identity: identity.id.clone(),
                problem: "its task was suspended after repeated refusals; a human must reinstate it (Guard::reinstate_identity)".into(),
            }
            .into());
        }
        if let Ok(mut agents) = runtime.agents.write() {
            agents.insert(identity.principal.clone());
        }
        if elevated_for.is_some() {
            // An approved escalation: the levels above still answer for it (kill switch, four
            // eyes) but no longer bound its scopes.
            lineage.iter_mut().for_each(|l| l.bounds = false);
        }
        lineage.push(Level {
            id: identity.id.clone(),
            principal: identity.principal.clone(),
            ceiling: identity.ceiling.clone(),
            intent: intent.scopes.clone(),
            role: identity.role,
            owner: identity.owner.clone(),
            bounds: true,
            names_targets: true,
        });
        // The grant holds the intent's patterns that every bounding ceiling covers.
        let scopes = intent
            .scopes
            .patterns()
            .iter()
            .filter(|p| {
                Scope::parse(p.as_str()).is_ok_and(|s| {
                    lineage
                        .iter()
                        .filter(|l| l.bounds)
                        .all(|l| l.ceiling.contains(&s))
                })
            })
            .map(|p| p.as_str().to_owned())
            .collect();
        let ttl = elevated_for.unwrap_or_else(|| {
            let ttl = limits.grant_ttl.unwrap_or(runtime.limits.grant_ttl);
            time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX)
        });
        let (parent_grant, chain, base_depth, parent_task, handed) = match parent {
            Parent::Root => (
                None,
                Arc::new(Chain::new(
                    runtime.limits.history_window,
                    Thresholds::of(&runtime.limits),
                )),
                0,
                None,
                None,
            ),
            Parent::Local(p) => (
                Some(p.grant.clone()),
                p.chain.clone(),
                p.base_depth.saturating_add(1),
                Some(p.id),
                None,
            ),
            Parent::Handed(h) => (h.grant, h.chain, h.depth, h.task, Some(h.detail)),
        };
        let grant = Arc::new(Grant::issue(
            scopes,
            now,
            ttl,
            identity.role == Role::Escalation,
            parent_grant,
        ));
        let id = TaskId::new();
        let credential = match &runtime.broker {
            None => None,
            Some(broker) => {
                let request = CredentialRequest {
                    task_id: id,
                    grant_id: grant.id(),
                    identity: identity.id.clone(),
                    owner: identity.owner.clone(),
                    scopes: grant.scopes().to_vec(),
                    expires_at: grant.expires_at(),
                    escalated: grant.escalated(),
                };
                let minted =
                    broker
                        .mint(&request)
                        .map_err(|e| TaskError::CredentialUnavailable {
                            identity: identity.id.clone(),
                            problem: e.to_string(),
                        })?;
                Some(minted)
            }
        };
        let input = input::TaskInput::new(
            &identity,
            &intent,
            id,
            &runtime.env,
            runtime.production,
            &grant,
            &limits,
        );
        let span =
            telemetry::task_span(id, &identity, &intent, &runtime.env, local.map(|p| &p.span));
        let inner = Arc::new(TaskInner {
            runtime,
            id,
            parent_task,
            identity,
            intent,
            lineage,
            grant,
            chain,
            base_depth,
            limits,
            input,
            recorded: Mutex::new(record::InputMemo::default()),
            tools: Mutex::new(Vec::new()),
            paused: Mutex::new(Vec::new()),
            standing: Mutex::new(Vec::new()),
            ended: AtomicBool::new(false),
            span,
            credential: Mutex::new(credential),
        });
        let mut begun = json!({
            "intent": {
                "goal": inner.intent.goal,
                "scopes": inner.intent.scopes.to_strings(),
                "max_impact": inner.intent.max_impact.map(Impact::as_str),
            },
            "role": inner.identity.role.as_str(),
            "env": inner.runtime.env,
            "parent_task_id": inner.parent_task.map(|t| t.to_string()),
        });
        if let Some(handed) = handed {
            begun["resumed_from"] = handed;
        }
        let mut issued = json!({
            "grant_id": inner.grant.id().to_string(),
            "scopes": inner.grant.scopes(),
            "expires_at": rfc3339(inner.grant.expires_at()),
            "escalated": inner.grant.escalated(),
        });
        if let Some(credential) = inner.held_credential() {
            issued["credential"] = json!({
                "id": credential.id(),
                "expires_at": rfc3339(credential.expires_at()),
            });
        }
        for (kind, detail) in [
            (RecordKind::TaskBegun, begun),
            (RecordKind::GrantIssued, issued),
        ] {
            if let Err(source) = inner.record(kind, CallFields::detail(detail)) {
                // The task does not begin: its credential must not outlive it.
                if let Some((_, Err(error))) = inner.revoke_credential() {
                    tracing::error!(target: "agentwarrant::credential", %error, "could not revoke the credential of a task that did not begin");
                }
                return Err(TaskError::Ledger {
                    task: inner.id.to_string(),
                    source,
                }
                .into());
            }
        }
        Ok(Task { inner })
    }

    /// The task's just-in-time credential, minted by the guard's
    /// [`CredentialBroker`](crate::CredentialBroker) for this task's grant: what its tools
    /// connect with. `None` without a broker, and once the task ended (it is revoked).
    pub fn credential(&self) -> Option<Credential> {
        self.inner.held_credential()
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.inner.id
    }

    /// The identity the task runs as.
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// The task's intent.
    pub fn intent(&self) -> &Intent {
        &self.inner.intent
    }

    /// Whether the task has ended (its grant is then revoked).
    pub fn is_ended(&self) -> bool {
        self.inner.ended.load(Ordering::SeqCst)
    }

    /// The task's grant.
    pub fn grant(&self) -> &Grant {
        &self.inner.grant
    }

    /// The task's grant as a JWT, signed with the guard's active Ed25519 key (`alg` `EdDSA`,
    /// `kid` in the header, `typ` `aw-grant+jwt`), for a downstream service to verify with the
    /// guard's [JWKS](crate::Guard::jwks) and [`verify_grant`](crate::verify_grant): claims
    /// `iss`, `aud`, `sub` (the identity), `owner`, `role`, `task`, `scope` (the grant's
    /// patterns, space-separated), `depth`, `lineage`, `escalated`, `iat`, `nbf`, `exp` (the
    /// grant's expiry) and `jti` (the grant's id). It dies with the task: ending the task
    /// writes the `jti` into the guard's revocation store. See `docs/tokens.md`.
    ///
    /// A task that has ended (or whose parent has) gets [`TaskError::Ended`] instead.
    pub fn grant_token(&self) -> Result<String, Error> {
        let inner = &self.inner;
        if inner.ended.load(Ordering::SeqCst) || inner.grant.is_revoked() {
            return Err(TaskError::Ended {
                task: inner.id.to_string(),
            }
            .into());
        }
        let runtime = &inner.runtime;
        let grant = &inner.grant;
        let iat = runtime.clock.now().unix_timestamp();
        let claims = GrantClaims {
            iss: runtime.jwt_issuer.clone(),
            sub: inner.identity.id.clone(),
            aud: vec![runtime.jwt_audience.clone()],
            owner: inner.identity.owner.clone(),
            role: inner.identity.role.as_str().to_owned(),
            task: inner.id.to_string(),
            scope: grant.scopes().join(" "),
            depth: inner.base_depth,
            lineage: grant.lineage().iter().map(ToString::to_string).collect(),
            escalated: grant.escalated(),
            iat,
            nbf: iat,
            exp: grant.expires_at().unix_timestamp(),
            jti: grant.id().to_string(),
        };
        Ok(runtime.sign_jwt(GRANT_TOKEN_TYPE, &claims))
    }

    /// Delegates a sub-task to `identity`. Its grant is this task's, narrowed by the
    /// identity's ceiling and by `intent` (this task's intent when `None`); it never outlives
    /// this task's grant, and it shares this task's chain. Delegation nests: the sub-task's
    /// calls without a parent sit one level below this task's, so a chain of delegations
    /// counts toward `max_depth` like a chain of calls.
    pub fn delegate(&self, identity: Identity, intent: Option<Intent>) -> Result<Task, Error> {
        let inner = &self.inner;
        if inner.ended.load(Ordering::SeqCst) {
            return Err(TaskError::Ended {
                task: inner.id.to_string(),
            }
            .into());
        }
        let intent = intent.unwrap_or_else(|| inner.intent.clone());
        Task::begin(
            inner.runtime.clone(),
            identity,
            intent,
            Parent::Local(inner),
            None,
            TaskLimits::default(),
        )
    }

    /// Authorizes one call: validate, check the grant, track the chain, evaluate the policy,
    /// ask for approval where required, and record the decision before returning the warrant.
    ///
    /// Every failure refuses the call with machine-readable reasons; nothing is an error.
    pub fn authorize(&self, call: ToolCall) -> Result<Warrant, Refusal> {
        pipeline::authorize(&self.inner, call)
    }

    /// Authorizes one call like [`Task::authorize`], except that a call needing approval does
    /// not wait for the guard's approver: it pauses with a [`Ticket`] (recorded as
    /// `approval.requested` and filed in the guard's [`ApprovalStore`](crate::ApprovalStore))
    /// and the agent's turn can end. Once a human has answered, [`Task::resume`] takes it up.
    /// Submitting the same call again while its ticket waits returns the same ticket.
    ///
    /// See [`ApprovalQueue`](crate::ApprovalQueue) for the whole round trip.
    pub fn submit(&self, call: ToolCall) -> Result<Authorization, Refusal> {
        self.inner.submit(call)
    }

    /// Takes up a call paused by [`Task::submit`], presented again as `call`: the answer filed
    /// under `ticket` is checked like an approver's (a human, four eyes, bound to this call,
    /// in time, used once), everything that may have changed while the human thought is
    /// checked again, and the call gets its warrant, or is still [`Authorization::Pending`]
    /// when no one has answered yet.
    ///
    /// Refused with `approval_invalid`: a ticket of another task, one already used (by this
    /// worker or another: the ticket is claimed in the store, once), unknown, or a `call` that
    /// differs from the one the human was asked about (the ticket then stays valid for the
    /// real call); with `approval_timeout`: a request that expired first; with
    /// `store_unavailable`: an approval store that cannot be read.
    pub fn resume(&self, ticket: TicketId, call: ToolCall) -> Result<Authorization, Refusal> {
        self.inner.resume(ticket, call, None)
    }

    /// Waits for the answer to a call paused by [`Task::submit`], at most `timeout` (and never
    /// past the request's expiry), then takes it up as [`Task::resume`] does: the warrant, a
    /// refusal, or still [`Authorization::Pending`] when nobody answered in time. The wait
    /// blocks the thread and is woken by the guard's [`ApprovalStore`](crate::ApprovalStore)
    /// when the answer is filed, from any process (see [`ApprovalStore::wait`](crate::ApprovalStore::wait)).
    ///
    /// Of two workers waiting for (or resuming) the same ticket, one gets the warrant and the
    /// other is refused with `approval_invalid` ("already used"). If the store cannot be read
    /// while waiting (its connection lost), the call is refused with `store_unavailable` and
    /// recorded: fail closed, no answer is assumed; submit the call again once the store is
    /// back.
    ///
    /// ```
    /// use std::time::Duration;
    /// use agentwarrant::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let queue = ApprovalQueue::new();
    /// let guard = Guard::builder()
    ///     .tool(ToolSpec::builder("deploy", Impact::High).build()?)
    ///     .approval_store(queue.clone())
    ///     .build()?;
    /// let me = Identity::builder("agent://acme/ops", Role::Executor, "alice@acme.com").build()?;
    /// let task = guard.begin(me, Intent::builder("ship the fix").build()?)?;
    /// let deploy = ToolCall::new("deploy", serde_json::json!({"service": "api"}));
    /// let Authorization::Pending(ticket) = task.submit(deploy.clone())? else { unreachable!() };
    ///
    /// // A human answers from elsewhere while the run waits.
    /// let id = ticket.id();
    /// let desk = queue.clone();
    /// std::thread::spawn(move || desk.approve(id, &["bob@acme.com"]));
    ///
    /// match task.wait_for(ticket.id(), deploy, Duration::from_secs(60))? {
    ///     Authorization::Granted(warrant) => warrant.complete(Outcome::ok())?,
    ///     Authorization::Pending(ticket) => println!("still waiting: {}", ticket.id()),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn wait_for(
        &self,
        ticket: TicketId,
        call: ToolCall,
        timeout: std::time::Duration,
    ) -> Result<Authorization, Refusal> {
        self.inner.wait_for(ticket, call, timeout)
    }

    /// Takes up a call paused by [`Task::submit`] with an answer the caller obtained itself
    /// (an approver it awaited, or the error that stopped it: a timeout, a cancelled wait)
    /// instead of one filed in the approval store; the ticket is closed in the store. Checked
    /// and re-checked exactly as by [`Task::resume`]; never [`Authorization::Pending`].
    pub fn resume_with(
        &self,
        ticket: TicketId,
        call: ToolCall,
        answer: Result<ApprovalAnswer, ApproverError>,
    ) -> Result<Authorization, Refusal> {
        self.inner.resume(ticket, call, Some(answer))
    }

    /// Clears `label` from the task tree (every task sharing its chain), stating `reason`:
    /// the one way a label goes, after the data that carried it was checked (a secret
    /// rotated, a fetched page reviewed). It is a call of the engine's own tool `declassify`
    /// (args `{"label", "reason"}`, high impact, tag `declassification`), decided by the
    /// policy like any call (the default bundle always asks a human, `high_impact`) and
    /// recorded in the ledger. Refused (`invalid_call`) without a reason or for a label the
    /// tree does not hold. A later read of labelled data adds the label again.
    ///
    /// ```
    /// use agentwarrant::{Approval, ApprovalAnswer, ApprovalRequest, Guard, Identity, Impact, Intent, Outcome, Role, ToolCall, ToolSpec};
    /// let guard = Guard::builder()
    ///     .tool(ToolSpec::builder("fetch", Impact::Low).result_labels(["untrusted"]).build()?)
    ///     .approver(|r: &ApprovalRequest| Ok(ApprovalAnswer::Approved(vec![Approval::of(r, "bob@acme.com")])))
    ///     .build()?;
    /// let me = Identity::builder("agent://acme/research", Role::Executor, "alice@acme.com").build()?;
    /// let task = guard.begin(me, Intent::builder("summarise a page").build()?)?;
    /// task.authorize(ToolCall::new("fetch", serde_json::json!({})))?.complete(Outcome::ok())?;
    /// task.declassify("untrusted", "the page was reviewed by a person").expect("bob approves");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn declassify(&self, label: &str, reason: &str) -> Result<(), Refusal> {
        self.inner.declassify(label, reason)
    }

    /// Renews the task's grant for `ttl` from now (at most the task's grant lifetime), before
    /// it runs out: a long-running agent's way to keep working. The renewal is a call of the
    /// engine's own tool `renew_grant` (args `{"ttl_s": N}`, medium impact, tag
    /// `grant_renewal`), decided by the policy like any call: the default bundle asks a human
    /// in production (`production_change`) and once renewals add up past
    /// `max_impact_total` (`cumulative_impact`), and a custom rule can ask for more. Returns
    /// the new expiry; a delegated task's grant never outlives its parent's. Refused
    /// (`invalid_call`) for a lifetime out of bounds or an escalated grant (escalate again),
    /// and like any call for an expired or revoked grant.
    ///
    /// ```
    /// use std::time::Duration;
    /// use agentwarrant::{Guard, Identity, Intent, Role};
    /// let guard = Guard::builder().build()?;
    /// let me = Identity::builder("agent://acme/nightly", Role::Executor, "alice@acme.com").build()?;
    /// let task = guard.begin(me, Intent::builder("reindex").build()?)?;
    /// let before = task.grant().expires_at();
    /// let until = task.renew_grant(Duration::from_secs(900)).expect("dev: the policy allows it");
    /// assert!(until >= before && task.grant().expires_at() == until);
    /// # Ok::<(), agentwarrant::Error>(())
    /// ```
    pub fn renew_grant(&self, ttl: std::time::Duration) -> Result<time::OffsetDateTime, Refusal> {
        self.inner.renew_grant(ttl)
    }

    /// Asks for an escalation: a separate grant under `identity` (role
    /// [`Escalation`](crate::Role::Escalation)) holding `scopes` (inside its ceiling, not
    /// bounded by this task's) for `ttl` (at most the grant TTL), for the stated `reason`.
    ///
    /// The guard's approver is asked (reason code `escalation`); only a human who owns no
    /// identity of the delegation chain, nor the escalation identity, may approve it. Approved,
    /// it returns the escalated task: its calls are marked `escalated` in the ledger, its
    /// grant expires by itself, is revoked with this task, and ending it revokes it early.
    /// Every request, approved or refused, is recorded (tool `escalate`); a refused one can
    /// be asked again, and that is recorded too.
    pub fn escalate<I, S>(
        &self,
        identity: Identity,
        scopes: I,
        ttl: std::time::Duration,
        reason: &str,
    ) -> Result<Task, Refusal>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes = scopes.into_iter().map(Into::into).collect();
        self.inner.escalate(identity, scopes, ttl, reason)
    }

    /// Authorizes one call from async code without holding a thread while a person thinks: a
    /// call that needs no approval is decided at once; one that does is paused
    /// ([`Task::submit`]), `approver` is awaited, and the call is taken up with its answer
    /// ([`Task::resume_with`]). Works on any async runtime (bound the wait with the runtime's
    /// timeout inside the approver). Dropping the future while it waits (a cancelled request)
    /// refuses the call and records it at once.
    ///
    /// ```
    /// # use agentwarrant::*;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let guard = Guard::builder().tool(ToolSpec::builder("deploy", Impact::High).build()?).build()?;
    /// # let me = Identity::builder("agent://acme/ops", Role::Executor, "alice@acme.com").build()?;
    /// # let task = guard.begin(me, Intent::builder("ship").build()?)?;
    /// let on_call = |request: &ApprovalRequest| {
    ///     let approval = Approval::of(request, "bob@acme.com");
    ///     async move { Ok(ApprovalAnswer::Approved(vec![approval])) }
    /// };
    /// let deploy = ToolCall::new("deploy", serde_json::json!({"service": "api"}));
    /// # let _ = async {
    /// let warrant = task.authorize_async(deploy, &on_call).await?;
    /// # warrant.complete(Outcome::ok())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(()) };
    /// # Ok(()) }
    /// ```
    pub async fn authorize_async(
        &self,
        call: ToolCall,
        approver: &(impl AsyncApprover + ?Sized),
    ) -> Result<Warrant, Refusal> {
        self.inner.authorize_async(call, approver).await
    }

    /// The guard's approver (the one given to
    /// [`GuardBuilder::approver`](crate::GuardBuilder::approver)) as an [`AsyncApprover`] for
    /// [`Task::authorize_async`]: each request is answered on a thread of its own, so async
    /// code asks the same people as [`Task::authorize`] without blocking its executor. With no
    /// approver configured, a call that needs approval is refused as `denied` with
    /// `approval_unavailable`, as by [`Task::authorize`].
    ///
    /// ```
    /// # use agentwarrant::*;
    /// # let guard = Guard::builder().tool(ToolSpec::builder("deploy", Impact::High).build()?)
    /// #     .approver(|r: &ApprovalRequest| Ok(ApprovalAnswer::Approved(vec![Approval::of(r, "bob@acme.com")])))
    /// #     .build()?;
    /// # let me = Identity::builder("agent://acme/ops", Role::Executor, "alice@acme.com").build()?;
    /// # let task = guard.begin(me, Intent::builder("ship").build()?)?;
    /// let deploy = ToolCall::new("deploy", serde_json::json!({"service": "api"}));
    /// # let _ = async {
    /// let warrant = task.authorize_async(deploy, &task.guard_approver()).await?;
    /// # warrant.complete(Outcome::ok())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(()) };
    /// # Ok::<(), agentwarrant::Error>(())
    /// ```
    pub fn guard_approver(&self) -> ThreadApprover {
        ThreadApprover::of(self.inner.runtime.approver.clone())
    }

    /// This task's calls waiting for a human's answer, oldest first.
    pub fn pending(&self) -> Vec<Ticket> {
        self.inner.pending()
    }

    /// What the guard would decide for `call`, without deciding it: no call is counted, no
    /// budget spent, no approver asked, nothing recorded. For debugging a policy, showing a
    /// user what a tool would need, or testing a rule against the exact input document.
    pub fn explain(&self, call: &ToolCall) -> Explanation {
        explain::explain(&self.inner, call)
    }

    /// Reinstates a task tree suspended after repeated refusals (`task_suspended`), and lets
    /// its identities begin tasks again. `by` must be a human (not an agent, not an identity
    /// known to the guard); recorded as `task.reinstated`. Reinstating a task that is not suspended
    /// does nothing.
    pub fn reinstate(&self, by: &str) -> Result<(), Error> {
        let inner = &self.inner;
        if !inner.runtime.is_human(by) {
            return Err(TaskError::Suspended {
                identity: inner.identity.id.clone(),
                problem: format!("`{by}` is not a human who may reinstate it"),
            }
            .into());
        }
        if !inner.chain.decide().reinstate() {
            return Ok(());
        }
        if let Ok(mut suspended) = inner.runtime.suspended.write() {
            for level in &inner.lineage {
                suspended.remove(&level.principal);
            }
        }
        inner
            .record(
                RecordKind::TaskReinstated,
                CallFields::detail(json!({ "by": by })),
            )
            .map_err(|source| TaskError::Ledger {
                task: inner.id.to_string(),
                source,
            })?;
        Ok(())
    }

    /// Authorizes `call`, runs `tool` with its warrant, and records the outcome.
    ///
    /// ```
    /// # use agentwarrant::*;
    /// # let guard = Guard::builder().tool(ToolSpec::builder("ping", Impact::Low).build()?).build()?;
    /// # let me = Identity::builder("agent://acme/bot", Role::Executor, "alice@acme.com").build()?;
    /// # let task = guard.begin(me, Intent::builder("check").build()?)?;
    /// let pong = task.run(ToolCall::new("ping", serde_json::json!({})), |_warrant| {
    ///     Ok::<_, std::io::Error>("pong")
    /// });
    /// assert_eq!(pong.unwrap(), "pong");
    /// # Ok::<(), agentwarrant::Error>(())
    /// ```
    pub fn run<T, E, F>(&self, call: ToolCall, tool: F) -> Result<T, RunError<E>>
    where
        E: std::fmt::Display,
        F: FnOnce(&Warrant) -> Result<T, E>,
    {
        let warrant = self.authorize(call).map_err(RunError::Refused)?;
        let result = tool(&warrant);
        let outcome = match &result {
            Ok(_) => Outcome::ok(),
            Err(error) => Outcome::error(error.to_string()),
        };
        if let Err(error) = warrant.complete(outcome) {
            // The tool has already run: report the failure to record it, keep its result.
            tracing::error!(target: "agentwarrant::ledger", %error, "could not record a call's outcome");
        }
        result.map_err(RunError::Tool)
    }

    /// Authorizes `call` from async code, runs `tool` with its warrant, and records the
    /// outcome that `outcome` reads from the tool's result: what a framework adapter does for
    /// every tool call. A call that needs approval asks `approver` without holding a thread
    /// (see [`Task::authorize_async`]; [`Task::guard_approver`] asks the guard's own).
    ///
    /// `tool` is called only once the warrant is issued: a refused call returns the
    /// [`Refusal`] and nothing of the tool runs. The tool's result is returned whatever it
    /// says; a ledger that cannot record the outcome is reported as an error event (target
    /// `agentwarrant::ledger`), since the tool has already run. A future dropped while the
    /// tool runs leaves the warrant to be recorded as abandoned.
    ///
    /// ```
    /// # use agentwarrant::*;
    /// # let guard = Guard::builder().tool(ToolSpec::builder("ping", Impact::Low).build()?).build()?;
    /// # let me = Identity::builder("agent://acme/bot", Role::Executor, "alice@acme.com").build()?;
    /// # let task = guard.begin(me, Intent::builder("check").build()?)?;
    /// let ping = ToolCall::new("ping", serde_json::json!({}));
    /// # let _ = async {
    /// let read = |result: &Result<&str, String>| match result {
    ///     Ok(_) => Outcome::ok(),
    ///     Err(error) => Outcome::error(error.clone()),
    /// };
    /// let pong = task
    ///     .run_async(ping, &task.guard_approver(), |_warrant| async { Ok("pong") }, read)
    ///     .await?;
    /// assert_eq!(pong, Ok("pong"));
    /// # Ok::<(), Refusal>(()) };
    /// # Ok::<(), agentwarrant::Error>(())
    /// ```
    pub async fn run_async<T, F, Fut>(
        &self,
        call: ToolCall,
        approver: &(impl AsyncApprover + ?Sized),
        tool: F,
        outcome: impl FnOnce(&T) -> Outcome,
    ) -> Result<T, Refusal>
    where
        F: FnOnce(&Warrant) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        // SECURITY: `tool` is not called before the warrant exists: a tool whose work starts
        // when its future is created (not when it is polled) cannot run unauthorized.
        let warrant = self.authorize_async(call, approver).await?;
        let result = tool(&warrant).await;
        if let Err(error) = warrant.complete(outcome(&result)) {
            tracing::error!(target: "agentwarrant::ledger", %error, "could not record a call's outcome");
        }
        Ok(result)
    }

    /// Ends the task: revokes its grant (and every grant delegated from it) and records
    /// `grant.revoked` and `task.ended`. Ending twice is harmless; calls authorized after the
    /// end are refused with `grant_invalid`, while warrants already issued can still complete.
    pub fn end(&self) -> Result<(), Error> {
        self.inner.end()
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if let Err(error) = self.inner.end() {
            tracing::error!(target: "agentwarrant::ledger", %error, "could not record the end of a task");
        }
    }
}

impl TaskInner {
    fn end(&self) -> Result<(), Error> {
        if self.ended.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.abandon_paused();
        self.grant.revoke();
        // Verifiers elsewhere learn of the end through the revocation store. A store that
        // fails does not keep the task alive: the grant is revoked here, and the failure is
        // reported (remote verifiers may accept its tokens until they expire).
        if let Err(error) = self
            .runtime
            .revocations
            .revoke(&self.grant.id().to_string(), self.grant.expires_at())
        {
            tracing::error!(target: "agentwarrant::ledger", %error, task = %self.id, "could not write a revoked grant to the revocation store");
        }
        let revoked = self.revoke_credential();
        let detail = revoked.as_ref().map(|(id, outcome)| match outcome {
            Ok(()) => json!({ "credential": id, "credential_revoked": true }),
            Err(error) => json!({
                "credential": id,
                "credential_revoked": false,
                "error": error.to_string(),
            }),
        });
        let records = [
            (RecordKind::GrantRevoked, detail),
            (RecordKind::TaskEnded, None),
        ];
        for (kind, detail) in records {
            let fields = CallFields {
                detail,
                ..CallFields::default()
            };
            self.record(kind, fields)
                .map_err(|source| TaskError::Ledger {
                    task: self.id.to_string(),
                    source,
                })?;
        }
        match revoked {
            Some((credential, Err(error))) => Err(TaskError::CredentialNotRevoked {
                task: self.id.to_string(),
                credential,
                problem: error.to_string(),
            }
            .into()),
            _ => Ok(()),
        }
    }

    /// The task's credential, while it holds one.
    fn held_credential(&self) -> Option<Credential> {
        let held = self.credential.lock().unwrap_or_else(|p| p.into_inner());
        held.clone()
    }

    /// Extends the task's credential to `until` after its grant was renewed; what the renewal
    /// record says of it (`None`: the task holds none). A broker that fails leaves the
    /// credential expiring first (the system it guards then refuses it: closed, not open).
    fn renew_credential(&self, until: time::OffsetDateTime) -> Option<serde_json::Value> {
        let broker = self.runtime.broker.as_ref()?;
        let mut held = self.credential.lock().unwrap_or_else(|p| p.into_inner());
        let credential = held.as_mut()?;
        Some(match broker.renew(credential, until) {
            Ok(renewed) => {
                *credential = renewed;
                json!({ "id": credential.id(), "expires_at": rfc3339(credential.expires_at()) })
            }
            Err(error) => {
                tracing::error!(target: "agentwarrant::credential", %error, credential = credential.id(), "could not renew a task's credential");
                json!({ "id": credential.id(), "renewed": false, "error": error.to_string() })
            }
        })
    }

    /// Revokes the task's credential, trying three times; one the broker could not revoke is
    /// kept by the guard for [`Guard::retry_revocations`](crate::Guard::retry_revocations).
    /// Returns its id and how it went (`None`: the task held none).
    fn revoke_credential(&self) -> Option<(String, Result<(), BrokerError>)> {
        let broker = self.runtime.broker.as_ref()?;
        let credential = self
            .credential
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()?;
        let mut outcome = broker.revoke(&credential);
        for pause_ms in [20, 200] {
            if outcome.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(pause_ms));
            outcome = broker.revoke(&credential);
        }
        if let Err(error) = &outcome {
            tracing::error!(target: "agentwarrant::credential", %error, credential = credential.id(), task = %self.id, "could not revoke a task's credential");
            let unrevoked = self.runtime.unrevoked.lock();
            let mut unrevoked = unrevoked.unwrap_or_else(|p| p.into_inner());
            unrevoked.push(credential.clone());
        }
        Some((credential.id().to_owned(), outcome))
    }

    /// The spec of the tool `name`; see [`TaskInner::tools`].
    fn tool(&self, name: &str) -> Option<Arc<ToolSpec>> {
        let mut tools = self.tools.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, spec)) = tools.iter().find(|(n, _)| n == name) {
            return Some(spec.clone());
        }
        let spec = self.runtime.tool(name)?;
        // A name that fell to the default tool may be declared later: not cached.
        let default = self.runtime.default_tool.as_ref();
        if default.is_some_and(|d| Arc::ptr_eq(d, &spec)) {
            return Some(spec);
        }
        let private = Arc::new(ToolSpec::clone(&spec));
        tools.push((name.to_owned(), private.clone()));
        Some(private)
    }
}

#[cfg(test)]
mod tests {
    fn shared_across_threads<T: Send + Sync>() {}

    #[test]
    fn a_disabled_identity_and_its_sub_agents_are_refused_until_enabled() {
        use crate::*;
        let guard = Guard::builder()
            .tool(ToolSpec::builder("ping", Impact::Low).build().unwrap())
            .build()
            .unwrap();
        let lead = Identity::builder("agent://acme/lead", Role::Orchestrator, "alice@acme.com")
            .build()
            .unwrap();
        let helper = Identity::builder("agent://acme/helper", Role::Executor, "alice@acme.com")
            .build()
            .unwrap();
        let task = guard
            .begin(lead, Intent::builder("work").build().unwrap())
            .unwrap();
        let sub = task.delegate(helper, None).unwrap();
        let ping = || ToolCall::new("ping", serde_json::json!({}));
        guard.disable_identity("agent://acme/lead");
        for t in [&task, &sub] {
            let refusal = t.authorize(ping()).unwrap_err();
            assert!(refusal.has(&ReasonCode::GrantInvalid), "{refusal}");
        }
        guard.enable_identity("agent://acme/lead");
        assert!(sub.authorize(ping()).is_ok());
    }

    #[test]
    fn guards_tasks_and_warrants_can_cross_threads() {
        shared_across_threads::<crate::Guard>();
        shared_across_threads::<super::Task>();
        shared_across_threads::<crate::Warrant>();
    }
}
