//! The guard: built once with its policy, tools, approver, ledger and clock; begins tasks.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, RwLock};

use crate::approval::{Approver, UsedApprovals};
use crate::approval_store::{ApprovalQueue, ApprovalStore};
use crate::clock::{Clock, SystemClock};
use crate::credential::CredentialBroker;
use crate::error::{BuildError, Error, TaskError};
use crate::identity::Identity;
use crate::intent::Intent;
use crate::jwt::{
    Jwks, JwtKeys, JwtPublicKey, JwtSigningKey, JwtVerifier, MemoryRevocations, RevocationError,
    RevocationStore,
};
use crate::ledger::{Ledger, MemoryLedger};
use crate::limits::{Limits, TaskLimits};
use crate::policy::{Backend, Policy, PolicyEngine};
use crate::principal::Principal;
use crate::redact::Redaction;
use crate::runtime::Runtime;
use crate::task::{Parent, Task};
use crate::token::SigningKey;
use crate::tool::{ToolSpec, ENGINE_TOOLS};

/// Wraps every tool call of an agent: built once, shared across threads, cheap to clone.
///
/// ```
/// use agentwarrant::{Guard, Identity, Impact, Intent, Role, ToolCall, ToolSpec};
/// use serde_json::json;
///
/// let guard = Guard::builder()
///     .tool(ToolSpec::builder("read_logs", Impact::Low).scope("logs.read:{service}").build()?)
///     .build()?;
/// let ops = Identity::builder("agent://acme/ops", Role::Executor, "alice@acme.com")
///     .ceiling(["logs.read:*"])
///     .build()?;
/// let task = guard.begin(ops, Intent::builder("triage").scopes(["logs.read:*"]).build()?)?;
/// match task.authorize(ToolCall::new("read_logs", json!({"service": "api"}))) {
///     Ok(warrant) => warrant.complete(agentwarrant::Outcome::ok())?,
///     Err(refusal) => println!("{refusal}"),
/// }
/// # Ok::<(), agentwarrant::Error>(())
/// ```
#[derive(Clone)]
pub struct Guard {
    pub(crate) inner: Arc<Runtime>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("policy", self.inner.engine.digest())
            .field(
                "tools",
                &self.inner.tools.read().map(|t| t.len()).unwrap_or_default(),
            )
            .field("env", &self.inner.env)
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// Starts building a guard on the default policy bundle.
    pub fn builder() -> GuardBuilder {
        GuardBuilder::default()
    }

    /// Begins a task: issues its grant (intent ∩ ceiling) and records `task.begun` and
    /// `grant.issued`. An identity whose task was suspended after repeated refusals may not
    /// begin a fresh one to escape it (`task_suspended`) until a human reinstates it.
    pub fn begin(&self, identity: Identity, intent: Intent) -> Result<Task, Error> {
        self.begin_with(identity, intent, TaskLimits::default())
    }

    /// Begins a task with limits of its own over the guard's (a long-running agent's call
    /// budget, impact total and grant lifetime; see [`TaskLimits`]). A grant lifetime out of
    /// range is [`BuildError::InvalidLimits`].
    pub fn begin_with(
        &self,
        identity: Identity,
        intent: Intent,
        limits: TaskLimits,
    ) -> Result<Task, Error> {
        Task::begin(
            self.inner.clone(),
            identity,
            intent,
            Parent::Root,
            None,
            limits,
        )
    }

    /// Continues, in this process, a task chain handed on from another (a sub-agent, a tool
    /// server) by a chain token from [`Task::chain_token`]: the new task runs as `identity`
    /// under `intent` (default: the handed goal and scopes), its calls sit below the handing
    /// call's depth, its grant lies within the scopes handed on and never outlives the handing
    /// grant, the chain's labels, calls and cumulative impact carry over, and the identities
    /// above it still answer for its calls (kill switch, four eyes). `task.begun` records
    /// `resumed_from`.
    ///
    /// The token must verify with this guard's JWT keys or keys it trusts
    /// ([`GuardBuilder::trust_chain_keys`]), carry this guard's issuer and audience, be
    /// unexpired and unused: it is spent here (written to the revocation store, so a store
    /// shared by the fleet spends it everywhere). A token that fails any check, or an intent
    /// wider than it, is [`TaskError::ChainTokenInvalid`] (`chain_token_invalid`).
    pub fn resume_chain(
        &self,
        token: &str,
        identity: Identity,
        intent: Option<Intent>,
    ) -> Result<Task, Error> {
        crate::task::resume(&self.inner, token, identity, intent)
    }

    /// Switches an identity off (a kill switch): every later call of every task running as it,
    /// or delegated from one, is refused with `grant_invalid`, until it is enabled again.
    ///
    /// In this process at once, and through the guard's revocation store in every process
    /// that shares it (a fleet store such as `agentwarrant-postgres`). A store that cannot be
    /// written is logged; [`Guard::try_disable_identity`] reports it.
    pub fn disable_identity(&self, id: &str) {
        if let Err(error) = self.try_disable_identity(id) {
            tracing::error!(target: "agentwarrant::revocation", %error, identity = id, "the shared kill switch was not written: the identity is disabled in this process only");
        }
    }

    /// [`Guard::disable_identity`], saying whether the shared store recorded it: on an error
    /// the identity is disabled in this process only, and the call may be repeated.
    pub fn try_disable_identity(&self, id: &str) -> Result<(), RevocationError> {
        self.inner.set_disabled(id, true);
        self.inner
            .revocations
            .set_identity_disabled(Principal::new(id).as_str(), true)
    }

    /// Lets an identity whose task tree was suspended after repeated refusals begin tasks
    /// again; `by` must be a human (not an agent, not an identity known to the guard). Tasks
    /// still running are reinstated with [`Task::reinstate`].
    pub fn reinstate_identity(&self, id: &str, by: &str) -> Result<(), Error> {
        if !self.inner.is_human(by) {
            return Err(TaskError::Suspended {
                identity: id.to_owned(),
                problem: format!("`{by}` is not a human who may reinstate it"),
            }
            .into());
        }
        if let Ok(mut suspended) = self.inner.suspended.write() {
            suspended.remove(&Principal::new(id));
        }
        Ok(())
    }

    /// The store where deferred approval requests wait: list [`ApprovalStore::waiting`] to
    /// show them to people, file their answers with [`ApprovalStore::approve`] or
    /// [`ApprovalStore::deny`].
    pub fn approvals(&self) -> &dyn ApprovalStore {
        self.inner.approvals.as_ref()
    }

    /// Switches a disabled identity back on, here and in the shared store (a store that cannot
    /// be written is logged; [`Guard::try_enable_identity`] reports it).
    pub fn enable_identity(&self, id: &str) {
        if let Err(error) = self.try_enable_identity(id) {
            tracing::error!(target: "agentwarrant::revocation", %error, identity = id, "the shared kill switch was not cleared");
        }
    }

    /// [`Guard::enable_identity`], saying whether the shared store recorded it. On an error
    /// the identity stays off: the store still says so, and this process is not switched
    /// back on before it.
    pub fn try_enable_identity(&self, id: &str) -> Result<(), RevocationError> {
        self.inner
            .revocations
            .set_identity_disabled(Principal::new(id).as_str(), false)?;
        self.inner.set_disabled(id, false);
        Ok(())
    }

    /// The public keys that verify this guard's grant and call JWTs, as a JWKS (RFC 7517):
    /// the active key and the keys rotated out but not yet retired. Serve
    /// `guard.jwks().to_json()` at a well-known URL for verifiers elsewhere.
    pub fn jwks(&self) -> Jwks {
        self.inner
            .jwt_keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .jwks()
    }

    /// Rotates the JWT signing key without downtime: new tokens are signed with `key`; tokens
    /// signed with the old key still verify while its public half stays in the JWKS, until
    /// [`Guard::retire_jwt_key`].
    ///
    /// ```
    /// use agentwarrant::{Guard, JwtKeys, JwtSigningKey};
    /// let guard = Guard::builder()
    ///     .jwt_keys(JwtKeys::new(JwtSigningKey::from_seed([1; 32]).with_kid("2026-04")))
    ///     .build()?;
    /// guard.rotate_jwt_key(JwtSigningKey::from_seed([2; 32]).with_kid("2026-05"));
    /// assert_eq!(guard.jwks().keys().len(), 2);
    /// // Once the last token signed with the old key has expired:
    /// assert!(guard.retire_jwt_key("2026-04"));
    /// assert_eq!(guard.jwks().keys().len(), 1);
    /// # Ok::<(), agentwarrant::BuildError>(())
    /// ```
    pub fn rotate_jwt_key(&self, key: JwtSigningKey) {
        let mut keys = self
            .inner
            .jwt_keys
            .write()
            .unwrap_or_else(|p| p.into_inner());
        keys.rotate(key);
    }

    /// Removes a rotated-out key from the JWKS: the tokens it signed stop verifying
    /// (`jwt_unknown_key`). Returns whether a key was removed; the active key never is.
    pub fn retire_jwt_key(&self, kid: &str) -> bool {
        let mut keys = self
            .inner
            .jwt_keys
            .write()
            .unwrap_or_else(|p| p.into_inner());
        keys.retire(kid)
    }

    /// A verifier of this guard's tokens: its current JWKS, issuer, audience, clock and
    /// revocation store. It holds a copy of the keys: take a new one after a rotation.
    pub fn jwt_verifier(&self) -> JwtVerifier {
        self.inner.jwt_verifier(self.jwks())
    }

    /// The store where ending a task revokes its grant's tokens.
    pub fn revocations(&self) -> Arc<dyn RevocationStore> {
        self.inner.revocations.clone()
    }

    /// The ids of ended tasks' credentials that the broker has not revoked yet (it failed;
    /// see [`Guard::retry_revocations`]).
    pub fn unrevoked_credentials(&self) -> Vec<String> {
        let unrevoked = self.inner.unrevoked.lock();
        let unrevoked = unrevoked.unwrap_or_else(|p| p.into_inner());
        unrevoked.iter().map(|c| c.id().to_owned()).collect()
    }

    /// Tries again to revoke every credential the broker failed to revoke when its task
    /// ended; returns the ids still unrevoked (empty once all are).
    pub fn retry_revocations(&self) -> Vec<String> {
        let Some(broker) = &self.inner.broker else {
            return Vec::new();
        };
        let mut unrevoked = self
            .inner
            .unrevoked
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        unrevoked.retain(|credential| {
            let failed = broker.revoke(credential);
            if let Err(error) = &failed {
                tracing::error!(target: "agentwarrant::credential", %error, credential = credential.id(), "could not revoke a credential");
            }
            failed.is_err()
        });
        unrevoked.iter().map(|c| c.id().to_owned()).collect()
    }

    /// The compiled policy.
    pub fn policy(&self) -> &PolicyEngine {
        &self.inner.engine
    }

    /// The environment the guard runs in (`dev`, `prod`, ...).
    pub fn env(&self) -> &str {
        &self.inner.env
    }

    /// Whether the guard's environment is one of its production environments.
    pub fn is_production(&self) -> bool {
        self.inner.production
    }

    /// The spec of a declared tool.
    pub fn tool(&self, name: &str) -> Option<ToolSpec> {
        let tools = self.inner.tools.read().ok()?;
        tools.get(name).map(|t| (**t).clone())
    }

    /// Every declared tool's spec, by name (the default tool is not one of them).
    pub fn tools(&self) -> Vec<ToolSpec> {
        let mut specs: Vec<ToolSpec> = match self.inner.tools.read() {
            Ok(tools) => tools.values().map(|t| (**t).clone()).collect(),
            Err(_) => Vec::new(),
        };
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        specs
    }

    /// Declares one more tool on a built guard; running tasks can call it at once.
    ///
    /// Declaring a spec equal (`==`) to the one already declared under its name is a no-op (a
    /// decorator that runs twice, an adapter that wraps a tool again); another spec under a
    /// declared name is [`BuildError::DuplicateTool`].
    ///
    /// ```
    /// # use agentwarrant::*;
    /// let guard = Guard::builder().build()?;
    /// let me = Identity::builder("agent://acme/bot", Role::Executor, "alice@acme.com").build()?;
    /// let task = guard.begin(me, Intent::builder("check").build()?)?;
    /// guard.declare_tool(ToolSpec::builder("ping", Impact::Low).build()?)?;
    /// assert!(task.authorize(ToolCall::new("ping", serde_json::json!({}))).is_ok());
    /// // The same spec again changes nothing; another spec under the name is refused.
    /// guard.declare_tool(ToolSpec::builder("ping", Impact::Low).build()?)?;
    /// let other = ToolSpec::builder("ping", Impact::High).build()?;
    /// assert_eq!(guard.declare_tool(other).unwrap_err().code(), "duplicate_tool");
    /// # Ok::<(), agentwarrant::Error>(())
    /// ```
    pub fn declare_tool(&self, spec: ToolSpec) -> Result<(), BuildError> {
        check_not_reserved(&spec)?;
        let mut tools = self
            .inner
            .tools
            .write()
            .map_err(|_| BuildError::InvalidTool {
                tool: spec.name.clone(),
                problem: "the tool table is poisoned".into(),
            })?;
        match tools.get(&spec.name) {
            Some(known) if **known == spec => Ok(()),
            Some(_) => Err(BuildError::DuplicateTool { tool: spec.name }),
            None => {
                tools.insert(spec.name.clone(), Arc::new(spec));
                Ok(())
            }
        }
    }
}

/// Builds a [`Guard`]; everything is validated, and the policy compiled, in
/// [`GuardBuilder::build`].
pub struct GuardBuilder {
    policy: Policy,
    backend: Backend,
    tools: Vec<ToolSpec>,
    default_tool: Option<ToolSpec>,
    approver: Option<Arc<dyn Approver>>,
    approvals: Arc<dyn ApprovalStore>,
    ledger: Option<Arc<dyn Ledger>>,
    redaction: Redaction,
    clock: Arc<dyn Clock>,
    limits: Limits,
    env: String,
    environments: Vec<String>,
    production: Vec<String>,
    identities: Vec<String>,
    signing_key: Option<SigningKey>,
    jwt_keys: Option<JwtKeys>,
    jwt_issuer: String,
    jwt_audience: String,
    revocations: Option<Arc<dyn RevocationStore>>,
    record_inputs: bool,
    broker: Option<Arc<dyn CredentialBroker>>,
    trusted_chain_keys: Vec<JwtPublicKey>,
}

impl Default for GuardBuilder {
    fn default() -> Self {
        Self {
            policy: Policy::default_bundle(),
            backend: Backend::Auto,
            tools: Vec::new(),
            default_tool: None,
            approver: None,
            approvals: Arc::new(ApprovalQueue::new()),
            ledger: None,
            redaction: Redaction::default(),
            clock: Arc::new(SystemClock),
            limits: Limits::default(),
            env: "dev".into(),
            environments: ["dev", "test", "staging", "prod"]
                .map(String::from)
                .to_vec(),
            production: vec!["prod".into()],
            identities: Vec::new(),
            signing_key: None,
            jwt_keys: None,
            jwt_issuer: JwtVerifier::DEFAULT_ISSUER.into(),
            jwt_audience: JwtVerifier::DEFAULT_AUDIENCE.into(),
            revocations: None,
            record_inputs: true,
            broker: None,
            trusted_chain_keys: Vec::new(),
        }
    }
}

impl GuardBuilder {
    /// Uses the embedded default bundle (the default).
    pub fn default_policy(mut self) -> Self {
        self.policy = Policy::default_bundle();
        self
    }

    /// Uses `policy` instead of the default bundle.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Uses the `.rego` files (and `data.json`) of `dir` instead of the default bundle.
    pub fn policy_dir(mut self, dir: impl AsRef<std::path::Path>) -> Result<Self, BuildError> {
        self.policy = Policy::from_dir(dir)?;
        Ok(self)
    }

    /// Chooses the regorus evaluator (default: the RVM where the policy compiles to it).
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Declares a tool. Listing an equal spec twice declares it once; another spec under a
    /// listed name fails [`GuardBuilder::build`] with [`BuildError::DuplicateTool`].
    pub fn tool(mut self, spec: ToolSpec) -> Self {
        self.tools.push(spec);
        self
    }

    /// Declares several tools.
    pub fn tools(mut self, specs: impl IntoIterator<Item = ToolSpec>) -> Self {
        self.tools.extend(specs);
        self
    }

    /// Treats undeclared tools as `spec` (its name is ignored) instead of refusing them with
    /// `unknown_tool`.
    pub fn default_tool(mut self, spec: ToolSpec) -> Self {
        self.default_tool = Some(spec);
        self
    }

    /// Sets who answers approval requests. Without one, calls that need approval are refused
    /// with `approval_unavailable` by [`Task::authorize`]; [`Task::submit`] pauses them for
    /// the approval store instead.
    pub fn approver(mut self, approver: impl Approver + 'static) -> Self {
        self.approver = Some(Arc::new(approver));
        self
    }

    /// Sets where deferred approval requests ([`Task::submit`]) wait for their answers
    /// (default: a fresh in-process [`ApprovalQueue`]; pass a clone of one to answer from
    /// elsewhere in the process, or a store shared by several processes).
    pub fn approval_store(mut self, store: impl ApprovalStore + 'static) -> Self {
        self.approvals = Arc::new(store);
        self
    }

    /// Sets the ledger (default: an in-memory ledger).
    pub fn ledger(mut self, ledger: impl Ledger + 'static) -> Self {
        self.ledger = Some(Arc::new(ledger));
        self
    }

    /// Which secrets are redacted from records before they reach the ledger or a `tracing`
    /// subscriber (default: [`Redaction::default`], the built-in detectors). The tool specs'
    /// `sensitive_args` are redacted whatever this says.
    ///
    /// ```
    /// use agentwarrant::{Guard, Redaction};
    /// let guard = Guard::builder().redaction(Redaction::off()).build()?;
    /// # Ok::<(), agentwarrant::BuildError>(())
    /// ```
    pub fn redaction(mut self, redaction: Redaction) -> Self {
        self.redaction = redaction;
        self
    }

    /// Sets the clock (default: the system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Sets the limits: the engine's (args, scopes, times) and those the policy reads
    /// (`max_depth`, `max_calls`, `max_impact_total`).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the environment the policy sees as `task.env` (default `dev`). It must be one of
    /// the declared [`environments`](GuardBuilder::environments): a misspelt environment is a
    /// build error, never a silently non-production one.
    pub fn env(mut self, env: impl Into<String>) -> Self {
        self.env = env.into();
        self
    }

    /// Declares the identities (by id) the guard's agents run as. Every identity that begins a
    /// task is known too, but declared ones are known from the start: none of them may ever
    /// approve anything, even before its first task.
    pub fn identities<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.identities.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Declares the environments a guard may run in, and which of them are production (the
    /// policy sees `task.production`; the default bundle asks before any non-low call there).
    /// The default: `dev`, `test`, `staging` and `prod`, of which `prod` is production.
    ///
    /// ```
    /// use agentwarrant::Guard;
    /// let guard = Guard::builder()
    ///     .environments(["dev", "eu-prod", "us-prod"], ["eu-prod", "us-prod"])
    ///     .env("eu-prod")
    ///     .build()?;
    /// assert!(guard.is_production());
    /// let typo = Guard::builder().env("production").build().unwrap_err();
    /// assert_eq!(typo.code(), "invalid_environment");
    /// # Ok::<(), agentwarrant::BuildError>(())
    /// ```
    pub fn environments<A, P, S, T>(mut self, all: A, production: P) -> Self
    where
        A: IntoIterator<Item = S>,
        P: IntoIterator<Item = T>,
        S: Into<String>,
        T: Into<String>,
    {
        self.environments = all.into_iter().map(Into::into).collect();
        self.production = production.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the key that signs warrant tokens (default: a random key of this guard's own).
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// Sets the Ed25519 keys that sign grant and call JWTs (default: a fresh random key of this
    /// guard's own; publish [`Guard::jwks`] for verifiers elsewhere).
    pub fn jwt_keys(mut self, keys: JwtKeys) -> Self {
        self.jwt_keys = Some(keys);
        self
    }

    /// Sets the JWTs' issuer, `iss` (default `agentwarrant`).
    pub fn jwt_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.jwt_issuer = issuer.into();
        self
    }

    /// Sets the JWTs' audience, `aud`: the services meant to accept them (default
    /// `agentwarrant-tools`).
    pub fn jwt_audience(mut self, audience: impl Into<String>) -> Self {
        self.jwt_audience = audience.into();
        self
    }

    /// Sets where ending a task revokes its grant's tokens (default: an in-process
    /// [`MemoryRevocations`] on the guard's clock). Give a store shared with the verifiers
    /// (wrapped in an `Arc` to keep a handle) so that tokens die everywhere with their task.
    pub fn revocations(mut self, store: impl RevocationStore + 'static) -> Self {
        self.revocations = Some(Arc::new(store));
        self
    }

    /// Whether each `call.decided` record keeps the policy input document its decision was
    /// made on (`decision.input`, args redacted as the record's): what `agentwarrant replay`
    /// evaluates under another policy. On by default; off makes records smaller and a call a
    /// few microseconds cheaper, and leaves replay nothing to replay.
    ///
    /// ```
    /// use agentwarrant::Guard;
    /// let guard = Guard::builder().record_policy_inputs(false).build()?;
    /// # let _ = guard;
    /// # Ok::<(), agentwarrant::BuildError>(())
    /// ```
    pub fn record_policy_inputs(mut self, on: bool) -> Self {
        self.record_inputs = on;
        self
    }

    /// Mints each task's just-in-time credential with `broker` when the task begins (a mint
    /// that fails refuses the task) and revokes it when the task ends; see
    /// [`CredentialBroker`]. A task's tools read it with [`Task::credential`](crate::Task::credential).
    pub fn credential_broker(mut self, broker: impl CredentialBroker + 'static) -> Self {
        self.broker = Some(Arc::new(broker));
        self
    }

    /// Trusts the keys of `jwks` (another guard's [`Guard::jwks`]) for chain tokens, besides
    /// this guard's own: the guard of a tool server or sub-agent continues chains handed on by
    /// the guard whose keys these are ([`Guard::resume_chain`]). Grant and call tokens are
    /// still verified with this guard's own keys only.
    pub fn trust_chain_keys(mut self, jwks: Jwks) -> Self {
        self.trusted_chain_keys.extend(jwks.keys().iter().cloned());
        self
    }

    /// Compiles the policy and checks the tools.
    pub fn build(self) -> Result<Guard, BuildError> {
        check_limits(&self.limits)?;
        let production = check_environment(&self.env, &self.environments, &self.production)?;
        let engine = self
            .policy
            .with_limits(&self.limits)
            .compile_with(self.backend, &self.limits)?;
        if let Some(reason) = engine.interpreter_reason() {
            tracing::info!(
                target: "agentwarrant::policy",
                reason,
                "the policy runs on the interpreter, not the faster RVM"
            );
        }
        // An equal spec listed twice is one tool; another spec under a listed name is an error.
        let mut tools: HashMap<String, Arc<ToolSpec>> = HashMap::new();
        for spec in self.tools {
            check_not_reserved(&spec)?;
            match tools.get(&spec.name) {
                Some(known) if **known == spec => {}
                Some(_) => return Err(BuildError::DuplicateTool { tool: spec.name }),
                None => {
                    tools.insert(spec.name.clone(), Arc::new(spec));
                }
            }
        }
        Ok(Guard {
            inner: Arc::new(Runtime {
                engine,
                tools: RwLock::new(tools),
                default_tool: self.default_tool.map(Arc::new),
                engine_tools: ENGINE_TOOLS
                    .iter()
                    .filter_map(|name| ToolSpec::engine_tool(name))
                    .map(Arc::new)
                    .collect(),
                approver: self.approver,
                approvals: self.approvals,
                ledger: self.ledger.unwrap_or_else(|| Arc::new(MemoryLedger::new())),
                redaction: self.redaction,
                limits: self.limits,
                env: self.env,
                production,
                agents: RwLock::new(
                    self.identities
                        .iter()
                        .map(|id| Principal::new(id))
                        .collect(),
                ),
                disabled: RwLock::new(BTreeSet::new()),
                disabled_count: AtomicUsize::new(0),
                suspended: RwLock::new(BTreeSet::new()),
                used_approvals: UsedApprovals::default(),
                signing_key: self.signing_key.unwrap_or_else(SigningKey::generate),
                jwt_keys: RwLock::new(self.jwt_keys.unwrap_or_else(JwtKeys::generate)),
                jwt_issuer: self.jwt_issuer,
                jwt_audience: self.jwt_audience,
                revocations: self
                    .revocations
                    .unwrap_or_else(|| Arc::new(MemoryRevocations::with_clock(self.clock.clone()))),
                clock: self.clock,
                record_inputs: self.record_inputs,
                broker: self.broker,
                unrevoked: Mutex::new(Vec::new()),
                trusted_chain_keys: self.trusted_chain_keys,
                chain_resumptions: Mutex::new(()),
            }),
        })
    }
}

/// Refuses a declared tool under the name of one of the engine's own tools.
fn check_not_reserved(spec: &ToolSpec) -> Result<(), BuildError> {
    if ENGINE_TOOLS.contains(&spec.name.as_str()) {
        return Err(BuildError::InvalidTool {
            tool: spec.name.clone(),
            problem: format!(
                "`{0}` is the engine's own tool (Task::{0}): give your tool another name",
                spec.name
            ),
        });
    }
    Ok(())
}

/// Checks that every time limit is above zero and within its bound, so that no
/// arithmetic on it can overflow and no grant is unbounded.
fn check_limits(limits: &Limits) -> Result<(), BuildError> {
    let times = [
        ("grant_ttl", limits.grant_ttl, Limits::MAX_TTL),
        ("approval_ttl", limits.approval_ttl, Limits::MAX_TTL),
        ("refusal_window", limits.refusal_window, Limits::MAX_TTL),
        ("burst_window", limits.burst_window, Limits::MAX_TTL),
        (
            "policy_timeout",
            limits.policy_timeout,
            Limits::MAX_POLICY_TIMEOUT,
        ),
    ];
    for (limit, value, max) in times {
        if value.is_zero() || value > max {
            return Err(BuildError::InvalidLimits {
                limit: limit.into(),
                problem: format!(
                    "{} s is not within (0, {} s]",
                    value.as_secs_f64(),
                    max.as_secs()
                ),
            });
        }
    }
    // The chain remembers that many calls for each signal: bounded, and never zero (a
    // threshold of 0 would raise the signal on every call).
    let counts = [
        (
            "repeated_calls",
            limits.repeated_calls,
            Limits::MAX_REPEATED_CALLS,
        ),
        ("burst_calls", limits.burst_calls, Limits::MAX_BURST_CALLS),
    ];
    for (limit, value, max) in counts {
        if value == 0 || value > max {
            return Err(BuildError::InvalidLimits {
                limit: limit.into(),
                problem: format!("{value} is not within [1, {max}]"),
            });
        }
    }
    Ok(())
}

/// Checks that `env` and every production environment are declared, and that every name is a
/// plain word; returns whether `env` is production.
fn check_environment(
    env: &str,
    declared: &[String],
    production: &[String],
) -> Result<bool, BuildError> {
    let invalid = |problem: String| BuildError::InvalidEnvironment {
        env: env.to_owned(),
        problem,
    };
    if let Some(bad) = declared
        .iter()
        .find(|name| name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(invalid(format!("`{bad}` is not a valid environment name")));
    }
    if let Some(stray) = production.iter().find(|p| !declared.contains(p)) {
        return Err(invalid(format!(
            "production environment `{stray}` is not declared"
        )));
    }
    if !declared.iter().any(|d| d == env) {
        return Err(invalid(format!(
            "not a declared environment; declared: {}",
            declared.join(", ")
        )));
    }
    Ok(production.iter().any(|p| p == env))
}
