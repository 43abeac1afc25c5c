//! The guard: built once with its policy, tools, approver, ledger and clock; begins tasks.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::approval::{Approver, UsedApprovals};
use crate::clock::{Clock, SystemClock};
use crate::error::{BuildError, Error};
use crate::identity::Identity;
use crate::intent::Intent;
use crate::ledger::{Ledger, MemoryLedger};
use crate::policy::{Backend, Policy, PolicyEngine, PolicyEngineOptions, PolicyLimits};
use crate::task::Task;
use crate::token::SigningKey;
use crate::tool::ToolSpec;

/// Engine limits. Exceeding one refuses the call with its own reason; none is infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest args accepted, as serialized JSON bytes (default 1 MiB).
    pub max_args_bytes: usize,
    /// Deepest nesting of arrays and objects in args (default 32).
    pub max_args_depth: usize,
    /// Most scopes one call may require after template expansion (default 256).
    pub max_scopes_per_call: usize,
    /// Recent calls whose depth is remembered so that children can name them (default 1024).
    pub history_window: usize,
    /// Wall-clock limit of one policy evaluation (default 250 ms).
    pub policy_timeout: Duration,
    /// Instruction limit of one policy evaluation on the RVM (default 2,000,000).
    pub policy_max_instructions: usize,
    /// How long a task's grant lives (default 15 minutes).
    pub grant_ttl: Duration,
    /// How long an approval stays valid (default 15 minutes).
    pub approval_ttl: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_args_bytes: 1 << 20,
            max_args_depth: 32,
            max_scopes_per_call: 256,
            history_window: 1024,
            policy_timeout: Duration::from_millis(250),
            policy_max_instructions: 2_000_000,
            grant_ttl: Duration::from_secs(15 * 60),
            approval_ttl: Duration::from_secs(15 * 60),
        }
    }
}

/// Everything a task needs from its guard.
pub(crate) struct GuardInner {
    pub(crate) engine: PolicyEngine,
    pub(crate) tools: RwLock<HashMap<String, Arc<ToolSpec>>>,
    pub(crate) default_tool: Option<Arc<ToolSpec>>,
    pub(crate) approver: Option<Arc<dyn Approver>>,
    pub(crate) ledger: Arc<dyn Ledger>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limits: Limits,
    pub(crate) env: String,
    /// Every identity that began a task: none of them may approve anything.
    pub(crate) agents: RwLock<BTreeSet<String>>,
    /// Identities switched off: their tasks' calls are refused.
    pub(crate) disabled: RwLock<BTreeSet<String>>,
    /// How many identities are disabled (`usize::MAX` while the set changes), so that the
    /// hot path reads one rarely-written atomic instead of taking the lock on every call.
    pub(crate) disabled_count: AtomicUsize,
    pub(crate) used_approvals: UsedApprovals,
    pub(crate) signing_key: SigningKey,
}

impl GuardInner {
    /// Whether any of `ids` is disabled; a poisoned lock counts as disabled (fail closed).
    pub(crate) fn any_disabled<'a>(&self, mut ids: impl Iterator<Item = &'a str>) -> bool {
        if self.disabled_count.load(Ordering::SeqCst) == 0 {
            return false;
        }
        match self.disabled.read() {
            Ok(disabled) => !disabled.is_empty() && ids.any(|id| disabled.contains(id)),
            Err(_) => true,
        }
    }

    pub(crate) fn tool(&self, name: &str) -> Option<Arc<ToolSpec>> {
        let declared = self
            .tools
            .read()
            .ok()
            .and_then(|tools| tools.get(name).cloned());
        declared.or_else(|| self.default_tool.clone())
    }
}

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
    pub(crate) inner: Arc<GuardInner>,
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
    /// `grant.issued`.
    pub fn begin(&self, identity: Identity, intent: Intent) -> Result<Task, Error> {
        Task::begin(self.inner.clone(), identity, intent, None)
    }

    /// Switches an identity off (a kill switch): every later call of every task running as it,
    /// or delegated from one, is refused with `grant_invalid`, until it is enabled again.
    pub fn disable_identity(&self, id: &str) {
        if let Ok(mut disabled) = self.inner.disabled.write() {
            // Checked under the lock until the set is updated (a panic leaves it so).
            self.inner
                .disabled_count
                .store(usize::MAX, Ordering::SeqCst);
            disabled.insert(id.to_owned());
            self.inner
                .disabled_count
                .store(disabled.len(), Ordering::SeqCst);
        }
    }

    /// Switches a disabled identity back on.
    pub fn enable_identity(&self, id: &str) {
        if let Ok(mut disabled) = self.inner.disabled.write() {
            self.inner
                .disabled_count
                .store(usize::MAX, Ordering::SeqCst);
            disabled.remove(id);
            self.inner
                .disabled_count
                .store(disabled.len(), Ordering::SeqCst);
        }
    }

    /// The compiled policy.
    pub fn policy(&self) -> &PolicyEngine {
        &self.inner.engine
    }

    /// The environment the guard runs in (`dev`, `prod`, ...).
    pub fn env(&self) -> &str {
        &self.inner.env
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
    policy_limits: Option<PolicyLimits>,
    backend: Backend,
    tools: Vec<ToolSpec>,
    default_tool: Option<ToolSpec>,
    approver: Option<Arc<dyn Approver>>,
    ledger: Option<Arc<dyn Ledger>>,
    clock: Arc<dyn Clock>,
    limits: Limits,
    env: String,
    signing_key: Option<SigningKey>,
}

impl Default for GuardBuilder {
    fn default() -> Self {
        Self {
            policy: Policy::default_bundle(),
            policy_limits: None,
            backend: Backend::Auto,
            tools: Vec::new(),
            default_tool: None,
            approver: None,
            ledger: None,
            clock: Arc::new(SystemClock),
            limits: Limits::default(),
            env: "dev".into(),
            signing_key: None,
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

    /// Sets the default bundle's `data.limits` (depth, call budget, cumulative impact).
    pub fn policy_limits(mut self, limits: PolicyLimits) -> Self {
        self.policy_limits = Some(limits);
        self
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
    /// with `approval_unavailable`.
    pub fn approver(mut self, approver: impl Approver + 'static) -> Self {
        self.approver = Some(Arc::new(approver));
        self
    }

    /// Sets the ledger (default: an in-memory ledger).
    pub fn ledger(mut self, ledger: impl Ledger + 'static) -> Self {
        self.ledger = Some(Arc::new(ledger));
        self
    }

    /// Sets the clock (default: the system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Sets the engine limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the environment the policy sees as `task.env` (default `dev`).
    pub fn env(mut self, env: impl Into<String>) -> Self {
        self.env = env.into();
        self
    }

    /// Sets the key that signs warrant tokens (default: a random key of this guard's own).
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// Compiles the policy and checks the tools.
    pub fn build(self) -> Result<Guard, BuildError> {
        let mut policy = self.policy;
        if let Some(limits) = self.policy_limits {
            policy = policy.with_limits(limits);
        }
        let engine = policy.compile(PolicyEngineOptions {
            backend: self.backend,
            timeout: self.limits.policy_timeout,
            max_instructions: self.limits.policy_max_instructions,
        })?;
        // An equal spec listed twice is one tool; another spec under a listed name is an error.
        let mut tools: HashMap<String, Arc<ToolSpec>> = HashMap::new();
        for spec in self.tools {
            match tools.get(&spec.name) {
                Some(known) if **known == spec => {}
                Some(_) => return Err(BuildError::DuplicateTool { tool: spec.name }),
                None => {
                    tools.insert(spec.name.clone(), Arc::new(spec));
                }
            }
        }
        Ok(Guard {
            inner: Arc::new(GuardInner {
                engine,
                tools: RwLock::new(tools),
                default_tool: self.default_tool.map(Arc::new),
                approver: self.approver,
                ledger: self.ledger.unwrap_or_else(|| Arc::new(MemoryLedger::new())),
                clock: self.clock,
                limits: self.limits,
                env: self.env,
                agents: RwLock::new(BTreeSet::new()),
                disabled: RwLock::new(BTreeSet::new()),
                disabled_count: AtomicUsize::new(0),
                used_approvals: UsedApprovals::default(),
                signing_key: self.signing_key.unwrap_or_else(SigningKey::generate),
            }),
        })
    }
}
