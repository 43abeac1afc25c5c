//! Chain context across processes: a task hands its chain to a sub-agent or tool server in
//! another process as a signed chain token (`aw-chain+jwt`, carried like a trace header), and
//! [`Guard::resume_chain`](crate::Guard::resume_chain) continues it there: depth keeps
//! counting, scopes only narrow, labels and cumulative impact carry over, and the identities
//! above still answer for the work (kill switch, four eyes). See `docs/tokens.md`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::{Level, Task, TaskInner, Warrant};
use crate::chain::{Chain, Thresholds};
use crate::error::{Error, TaskError};
use crate::grant::Grant;
use crate::identity::Identity;
use crate::ids::{GrantId, TaskId};
use crate::intent::Intent;
use crate::jwt::{ChainClaims, ChainLevel, JwtError, CHAIN_TOKEN_TTL, CHAIN_TOKEN_TYPE};
use crate::kinds::Role;
use crate::limits::TaskLimits;
use crate::principal::Principal;
use crate::runtime::Runtime;
use crate::scope::{Scope, ScopeSet};
use crate::tool::normalise_label;

/// Longer tokens are not minted (a verifier refuses them too).
const MAX_CHAIN_TOKEN_BYTES: usize = 16 * 1024;

/// What a task continued from a chain token inherits: where [`Task::begin`] takes it from
/// instead of a parent task in this process.
pub(crate) struct Handed {
    /// The identities above the continued task, root first, bounded by the scopes handed on.
    pub(super) levels: Vec<Level>,
    /// The handed grants, as parents of the continued task's grant.
    pub(super) grant: Option<Arc<Grant>>,
    pub(super) chain: Arc<Chain>,
    pub(super) depth: u32,
    pub(super) task: Option<TaskId>,
    /// What `task.begun` records of the token.
    pub(super) detail: Json,
}

fn invalid(problem: impl Into<String>) -> Error {
    TaskError::ChainTokenInvalid {
        problem: problem.into(),
    }
    .into()
}

impl Task {
    /// This task's chain as a signed token (`aw-chain+jwt`), for a sub-agent or tool server in
    /// another process to continue with [`Guard::resume_chain`](crate::Guard::resume_chain):
    /// carry it like a trace header (an HTTP header, an MCP request's `_meta`). It hands on
    /// the task's grant scopes, the chain's labels, calls and cumulative impact, and the
    /// identities of the delegation chain; the continued task sits one level below this one,
    /// like a delegated sub-task. It may be used once, within [`CHAIN_TOKEN_TTL`] and while
    /// this task's grant lasts.
    ///
    /// ```
    /// use agentwarrant::{Guard, Identity, Intent, Role};
    /// let guard = Guard::builder().build()?;
    /// let me = Identity::builder("agent://acme/planner", Role::Orchestrator, "alice@acme.com")
    ///     .ceiling(["crm.read:*"])
    ///     .build()?;
    /// let task = guard.begin(me, Intent::builder("summarise").scopes(["crm.read:*"]).build()?)?;
    /// let token = task.chain_token()?;
    ///
    /// // In the tool server's process (here the same guard, which trusts its own keys):
    /// let worker = Identity::builder("agent://acme/crm-tools", Role::Executor, "bob@acme.com")
    ///     .ceiling(["crm.read:*"])
    ///     .build()?;
    /// let continued = guard.resume_chain(&token, worker, None)?;
    /// assert_eq!(continued.grant().scopes(), ["crm.read:*"]);
    /// // A token continues a chain once.
    /// let again = Identity::builder("agent://acme/crm-tools", Role::Executor, "bob@acme.com")
    ///     .build()?;
    /// let replayed = guard.resume_chain(&token, again, None).unwrap_err();
    /// assert_eq!(replayed.code(), "chain_token_invalid");
    /// # Ok::<(), agentwarrant::Error>(())
    /// ```
    pub fn chain_token(&self) -> Result<String, Error> {
        let scopes = self.inner.grant.scopes().to_vec();
        self.inner
            .chain_token(self.inner.base_depth.saturating_add(1), scopes)
    }

    /// [`Task::chain_token`] handing on only `scopes`: each must lie within this task's grant
    /// (a wider one is [`TaskError::ChainTokenInvalid`]), so the other process can do less
    /// than this task, never more.
    pub fn chain_token_for<I, S>(&self, scopes: I) -> Result<String, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let granted = ScopeSet::parse(self.inner.grant.scopes())
            .map_err(|e| invalid(format!("the grant's scopes do not parse: {e}")))?;
        let mut narrowed = Vec::new();
        for scope in scopes {
            let scope = scope.as_ref();
            if !within(&granted, scope) {
                return Err(invalid(format!(
                    "`{scope}` is not within this task's grant; hand on only scopes it holds"
                )));
            }
            narrowed.push(scope.to_owned());
        }
        self.inner
            .chain_token(self.inner.base_depth.saturating_add(1), narrowed)
    }

    /// The labels the task's chain holds now, sorted: what a tool server continuing a chain
    /// sends back with its result, for the caller to add with
    /// [`Outcome::with_labels`](crate::Outcome::with_labels).
    pub fn chain_labels(&self) -> Vec<String> {
        self.inner.chain.labels().to_vec()
    }
}

impl Warrant {
    /// The chain as a token for the tool this warrant authorizes, when the tool runs in
    /// another process (see [`Task::chain_token`]): the work continued there sits below this
    /// call, so its calls count one level deeper.
    pub fn chain_token(&self) -> Result<String, Error> {
        let scopes = self.task.grant.scopes().to_vec();
        self.task.chain_token(self.depth, scopes)
    }
}

/// Whether the scope pattern `pattern` lies within `set` (read as a scope, as grants are
/// narrowed by ceilings: a wildcard is covered only by a pattern that covers it).
fn within(set: &ScopeSet, pattern: &str) -> bool {
    Scope::parse(pattern).is_ok_and(|s| set.contains(&s))
}

impl TaskInner {
    fn chain_token(&self, depth: u32, scopes: Vec<String>) -> Result<String, Error> {
        if self.ended.load(Ordering::SeqCst) || self.grant.is_revoked() {
            return Err(TaskError::Ended {
                task: self.id.to_string(),
            }
            .into());
        }
        let runtime = &self.runtime;
        let now = runtime.clock.now();
        if let Some(why) = self.chain.decide().suspended() {
            return Err(TaskError::Suspended {
                identity: self.identity.id.clone(),
                problem: format!("its task tree is suspended ({why}); a human must reinstate it before it hands work on"),
            }
            .into());
        }
        let grant_exp = self.grant.expires_at();
        let exp = now
            .checked_add(CHAIN_TOKEN_TTL)
            .map_or(grant_exp, |t| t.min(grant_exp));
        let (snapshot, _) = self.chain.decide().peek(None, 0);
        let (own, above) = self
            .lineage
            .split_last()
            .map_or((None, &[][..]), |(l, a)| (Some(l), a));
        let role = own.map_or(self.identity.role, |l| l.role);
        let claims = ChainClaims {
            iss: runtime.jwt_issuer.clone(),
            sub: self.identity.id.clone(),
            aud: vec![runtime.jwt_audience.clone()],
            owner: self.identity.owner.clone(),
            role: role.as_str().to_owned(),
            delegators: above
                .iter()
                .map(|l| ChainLevel {
                    sub: l.id.clone(),
                    owner: l.owner.clone(),
                    role: l.role.as_str().to_owned(),
                })
                .collect(),
            task: self.id.to_string(),
            grant: self.grant.id().to_string(),
            lineage: self
                .grant
                .lineage()
                .iter()
                .map(ToString::to_string)
                .collect(),
            goal: self.intent.goal.clone(),
            scope: scopes.join(" "),
            depth,
            calls: snapshot.calls,
            impact: snapshot.impact_total,
            labels: snapshot.labels.to_vec(),
            grant_exp: grant_exp.unix_timestamp(),
            iat: now.unix_timestamp(),
            nbf: now.unix_timestamp(),
            exp: exp.unix_timestamp(),
            jti: TaskId::new().to_string(),
        };
        let token = runtime.sign_jwt(CHAIN_TOKEN_TYPE, &claims);
        if token.len() > MAX_CHAIN_TOKEN_BYTES {
            return Err(invalid(format!(
                "the chain's context is {} bytes as a token, over the {MAX_CHAIN_TOKEN_BYTES}-byte limit (too many labels)",
                token.len()
            )));
        }
        Ok(token)
    }
}

/// Verifies `token` and spends it (a token continues a chain once), then works out what the
/// continued task inherits. `intent` defaults to the handed goal and scopes; one asking for a
/// scope the token does not hand on is refused.
pub(crate) fn resume(
    runtime: &Arc<Runtime>,
    token: &str,
    identity: Identity,
    intent: Option<Intent>,
) -> Result<Task, Error> {
    let claims = {
        // Verify and spend as one step, so that two resumptions of one token in this process
        // cannot both pass.
        let _spending = runtime
            .chain_resumptions
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let claims = runtime
            .chain_verifier()
            .verify_chain(token)
            .map_err(refusal)?;
        let until = time::OffsetDateTime::from_unix_timestamp(claims.exp)
            .map_err(|_| invalid("`exp` is out of range"))?;
        runtime
            .revocations
            .revoke(&claims.jti, until)
            .map_err(|e| invalid(format!("the token could not be marked used: {e}")))?;
        claims
    };
    let handed_scopes: Vec<String> = claims.scopes().map(str::to_owned).collect();
    let bound = ScopeSet::parse(&handed_scopes).map_err(|e| invalid(e.to_string()))?;
    let intent = match intent {
        None => Intent::builder(claims.goal.clone())
            .scopes(&handed_scopes)
            .build()
            .map_err(|e| invalid(format!("the handed goal and scopes make no intent: {e}")))?,
        Some(intent) => {
            if let Some(wider) = intent
                .scopes
                .patterns()
                .iter()
                .find(|p| !within(&bound, p.as_str()))
            {
                return Err(invalid(format!(
                    "the intent asks for `{}`, which the token does not hand on (it holds `{}`)",
                    wider.as_str(),
                    claims.scope
                )));
            }
            intent
        }
    };
    let grant_exp = time::OffsetDateTime::from_unix_timestamp(claims.grant_exp)
        .map_err(|_| invalid("`grant_exp` is out of range"))?;
    let ids = claims
        .lineage
        .iter()
        .chain([&claims.grant])
        .map(|id| id.parse::<GrantId>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| invalid("a grant id in the token is not a UUID"))?;
    let task = claims
        .task
        .parse::<TaskId>()
        .map_err(|_| invalid("`task` is not a UUID"))?;
    let level = |sub: &str, owner: &str, role: &str| -> Result<Level, Error> {
        Ok(Level {
            id: sub.to_owned(),
            principal: Principal::new(sub),
            ceiling: bound.clone(),
            intent: bound.clone(),
            role: role
                .parse::<Role>()
                .map_err(|e| invalid(format!("a role in the token does not parse: {e}")))?,
            owner: owner.to_owned(),
            bounds: true,
            names_targets: false,
        })
    };
    let mut levels = claims
        .delegators
        .iter()
        .map(|l| level(&l.sub, &l.owner, &l.role))
        .collect::<Result<Vec<_>, _>>()?;
    levels.push(level(&claims.sub, &claims.owner, &claims.role)?);
    let handed = Handed {
        levels,
        grant: Grant::handed(ids, handed_scopes, grant_exp),
        chain: Arc::new(Chain::resumed(
            runtime.limits.history_window,
            Thresholds::of(&runtime.limits),
            claims.calls,
            // As every label the tree takes in (`Secret` is `secret`).
            claims.labels.iter().map(|l| normalise_label(l)).collect(),
            claims.impact,
        )),
        depth: claims.depth,
        task: Some(task),
        detail: json!({
            "token": claims.jti,
            "issuer": claims.iss,
            "task": claims.task,
            "identity": claims.sub,
            "depth": claims.depth,
            "scopes": claims.scope,
        }),
    };
    Task::begin(
        runtime.clone(),
        identity,
        intent,
        super::Parent::Handed(Box::new(handed)),
        None,
        TaskLimits::default(),
    )
}

/// A refused token, said for the person who must act on it.
fn refusal(error: JwtError) -> Error {
    let what = match &error {
        JwtError::Revoked(_) => {
            "it was already used to continue a chain, or the task that handed it on has ended; ask the caller for a fresh token".to_owned()
        }
        JwtError::Expired => "it expired; ask the caller for a fresh token".to_owned(),
        JwtError::UnknownKey(kid) => format!(
            "it is signed with key `{kid}`, which this guard does not trust; add the caller's JWKS with GuardBuilder::trust_chain_keys"
        ),
        other => other.to_string(),
    };
    invalid(format!("{what} ({})", error.code()))
}
