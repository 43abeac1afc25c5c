//! The one place that knows regorus: compiles a policy once, keeps one evaluator per thread,
//! and runs the entry point under execution limits.
//!
//! Measured on a 2-core machine: the RVM evaluates the default bundle several times faster than
//! the interpreter. Evaluators live in slots, one per thread as long as there are no more
//! threads than slots: a thread keeps to the slot of its index, so no lock is shared between
//! threads on the hot path. Each slot's VM runs its own deep copy of the program and data: the
//! VM clones the program's literals and rule tables as it runs, and on a shared program those
//! reference counts bounce between cores (two threads then ran slower than one).
//!
//! SECURITY: the RVM (regorus 0.14) treats an error inside a rule body (a builtin error such as
//! `to_number("x")`, a division by zero, a function with conflicting outputs) as that body not
//! matching, whatever the strict-builtin setting, so a `deny` rule that errors does not fire.
//! The interpreter fails the whole evaluation, which the engine turns into a `policy_error`
//! refusal. So a policy runs on the RVM only when every module is either the embedded bundle
//! (written so that no rule can raise, tested case by case on both evaluators) or passes
//! [`vet`](super::vet), which accepts only constructs that cannot raise; any other policy runs
//! on the interpreter unless the user explicitly chooses [`Backend::VmUnvetted`].

use std::cell::Cell;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::Duration;

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;
use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{Engine, Value};

use super::vet;
use crate::error::BuildError;

/// The rule every evaluation runs; it folds the user's rules into one object.
pub(crate) const ENTRY_POINT: &str = "data.agentwarrant_engine.decision";

/// Wraps the user's `agentwarrant` package so that one evaluation returns every set at once.
pub(crate) const ENGINE_MODULE: &str = r#"package agentwarrant_engine

default deny := set()

deny := data.agentwarrant.deny

default require_approval := set()

require_approval := data.agentwarrant.require_approval

default allow := null

allow := data.agentwarrant.allow

default obligations := {}

obligations := data.agentwarrant.obligations

decision := {
	"deny": deny,
	"require_approval": require_approval,
	"allow": allow,
	"obligations": obligations,
}
"#;

/// The same for the embedded default bundle alone, which always defines `deny` and
/// `require_approval` (possibly empty) and `allow`, and never `obligations`: without the
/// defaults and the four rules that hold them, an evaluation does about 7% fewer instructions.
pub(crate) const BUNDLE_ENGINE_MODULE: &str = r#"package agentwarrant_engine

decision := {
	"deny": data.agentwarrant.deny,
	"require_approval": data.agentwarrant.require_approval,
	"allow": data.agentwarrant.allow,
}
"#;

/// Which regorus evaluator runs the policy.
///
/// Both fail closed on every policy with [`Backend::Auto`] or [`Backend::Vm`]: a module the
/// RVM would treat differently (a construct that can raise, see docs/policy.md "Custom rules on
/// the RVM") runs on the interpreter, or fails the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Backend {
    /// The RVM when every module is the embedded bundle or passes the vetting, else the
    /// interpreter ([`PolicyEngine::interpreter_reason`](crate::PolicyEngine::interpreter_reason)
    /// says why).
    #[default]
    Auto,
    /// Always the tree-walking interpreter.
    Interpreter,
    /// Always the RVM: a module that does not pass the vetting fails the build with
    /// [`BuildError::PolicyNotVetted`], naming the line and what to write instead.
    Vm,
    /// The RVM without the vetting: an error inside a rule body makes that body not match
    /// instead of failing the evaluation, so a `deny` rule that raises is silently skipped.
    /// For policies tested on both evaluators by other means.
    VmUnvetted,
}

impl Backend {
    /// `auto`, `interpreter` or `rvm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Interpreter => "interpreter",
            Backend::Vm => "rvm",
            Backend::VmUnvetted => "rvm-unvetted",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Evaluation limits: a policy that runs away is a refusal, never a hang.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EvalLimits {
    pub(crate) timeout: Duration,
    pub(crate) max_instructions: usize,
}

/// One evaluator; not shared between threads while in use.
enum Evaluator {
    Vm(Box<RegoVM>),
    Interpreter(Box<Engine>),
}

/// What new evaluators are made from.
enum Prototype {
    Vm { program: Arc<Program>, data: Value },
    Interpreter(Box<Engine>),
}

/// A slot on its own cache line, so that two threads' slots never share one.
#[repr(align(128))]
struct Slot(Mutex<Option<Evaluator>>);

/// A compiled policy and its evaluator slots.
pub(crate) struct Compiled {
    prototype: Prototype,
    /// Why [`Backend::Auto`] chose the interpreter.
    interpreter_reason: Option<String>,
    slots: Box<[Slot]>,
    limits: EvalLimits,
}

thread_local! {
    /// This thread's index, which picks its evaluator slot in every compiled policy.
    static THREAD_INDEX: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The next thread index to hand out. Process-wide on purpose: it only spreads threads over
/// slots, and holds no configuration or state of any guard.
static NEXT_THREAD_INDEX: AtomicUsize = AtomicUsize::new(0);

fn thread_index() -> usize {
    THREAD_INDEX.with(|index| {
        index.get().unwrap_or_else(|| {
            let next = NEXT_THREAD_INDEX.fetch_add(1, Ordering::Relaxed);
            index.set(Some(next));
            next
        })
    })
}

/// A copy of `value` sharing no allocation (and so no reference count) with it.
fn deep_copy(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::from(&**s),
        Value::Array(items) => Value::from(items.iter().map(deep_copy).collect::<Vec<_>>()),
        Value::Set(items) => Value::from(
            items
                .iter()
                .map(deep_copy)
                .collect::<std::collections::BTreeSet<_>>(),
        ),
        Value::Object(fields) => Value::from(
            fields
                .iter()
                .map(|(k, v)| (deep_copy(k), deep_copy(v)))
                .collect::<std::collections::BTreeMap<_, _>>(),
        ),
        other => other.clone(),
    }
}

/// A copy of `program` whose literals, rule tree and rule tables are its own.
fn private_program(program: &Program) -> Program {
    let mut copy = program.clone();
    copy.literals = program.literals.iter().map(deep_copy).collect();
    copy.rule_tree = deep_copy(&program.rule_tree);
    for info in &mut copy.rule_infos {
        info.definitions = Arc::new((*info.definitions).clone());
    }
    copy
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

/// Turns regorus's error text (`--> file:line:col ... error: msg`) into a build error.
fn compile_error(fallback_path: &str, err: &dyn std::fmt::Display) -> BuildError {
    let text = err.to_string();
    let location = text
        .split_once("--> ")
        .and_then(|(_, rest)| rest.lines().next())
        .and_then(|loc| {
            let mut parts = loc.rsplitn(3, ':');
            let _col = parts.next()?;
            let line = parts.next()?.parse::<u32>().ok()?;
            Some((parts.next()?.to_owned(), line))
        });
    let message = text
        .rsplit_once("error: ")
        .map_or(text.trim(), |(_, msg)| msg.trim())
        .to_owned();
    let (path, line) = location.unwrap_or_else(|| (fallback_path.to_owned(), 0));
    BuildError::PolicyCompile {
        path,
        line,
        message,
    }
}

impl Compiled {
    /// Parses and compiles `modules` with `data`; errors name the module and line.
    pub(crate) fn new(
        modules: &[(String, String)],
        data: &serde_json::Value,
        backend: Backend,
        limits: EvalLimits,
    ) -> Result<Self, BuildError> {
        let mut engine = Engine::new();
        engine.set_strict_builtin_errors(true);
        for (path, source) in modules {
            engine
                .add_policy(path.clone(), source.clone())
                .map_err(|e| compile_error(path, &e))?;
        }
        let packages = engine
            .get_packages()
            .map_err(|e| compile_error("<policy>", &e))?;
        if !packages.iter().any(|p| p == "data.agentwarrant") {
            return Err(BuildError::PolicyPackageMissing);
        }
        let wrapper = if is_default_bundle(modules) {
            BUNDLE_ENGINE_MODULE
        } else {
            ENGINE_MODULE
        };
        engine
            .add_policy("agentwarrant_engine.rego".into(), wrapper.into())
            .map_err(|e| compile_error("agentwarrant_engine.rego", &e))?;
        let data = Value::from(data.clone());
        engine
            .add_data(data.clone())
            .map_err(|e| BuildError::PolicyData {
                message: e.to_string(),
            })?;
        engine.set_execution_timer_config(timer(limits));

        // SECURITY: see the module docs. Only a vetted policy gets the RVM.
        let vetting = match backend {
            Backend::Auto | Backend::Vm => vet_modules(&mut engine, modules),
            Backend::Interpreter | Backend::VmUnvetted => Ok(()),
        };
        let mut interpreter_reason = None;
        let program = match backend {
            Backend::Interpreter => None,
            Backend::Auto => match vetting {
                Ok(()) => vm_program(&mut engine).ok(),
                Err(unvetted) => {
                    interpreter_reason = Some(unvetted.to_string());
                    None
                }
            },
            Backend::Vm => {
                vetting.map_err(|u| BuildError::PolicyNotVetted {
                    path: u.path,
                    line: u.line,
                    message: u.message,
                })?;
                Some(vm_program(&mut engine).map_err(|e| compile_error("<rvm>", &e))?)
            }
            Backend::VmUnvetted => {
                Some(vm_program(&mut engine).map_err(|e| compile_error("<rvm>", &e))?)
            }
        };
        let prototype = match program {
            Some(program) => Prototype::Vm { program, data },
            None => {
                // Surface compile errors (unknown functions, conflicts) now, not per call.
                let mut probe = engine.clone();
                probe
                    .compile_with_entrypoint(&ENTRY_POINT.into())
                    .map_err(|e| compile_error("<policy>", &e))?;
                Prototype::Interpreter(Box::new(engine))
            }
        };
        let slots = std::thread::available_parallelism()
            .map_or(4, |n| n.get() * 2)
            .clamp(2, 64);
        let compiled = Self {
            prototype,
            interpreter_reason,
            slots: (0..slots).map(|_| Slot(Mutex::new(None))).collect(),
            limits,
        };
        // Surface data errors now, and have the first evaluator ready.
        let first = compiled.make()?;
        if let Some(slot) = compiled.slots.first() {
            if let Ok(mut slot) = slot.0.lock() {
                *slot = Some(first);
            }
        }
        Ok(compiled)
    }

    /// Why [`Backend::Auto`] chose the interpreter: the first construct that can raise.
    pub(crate) fn interpreter_reason(&self) -> Option<&str> {
        self.interpreter_reason.as_deref()
    }

    /// The evaluator in use: [`Backend::Vm`] or [`Backend::Interpreter`], never `Auto`.
    pub(crate) fn backend(&self) -> Backend {
        match self.prototype {
            Prototype::Vm { .. } => Backend::Vm,
            Prototype::Interpreter(_) => Backend::Interpreter,
        }
    }

    fn make(&self) -> Result<Evaluator, BuildError> {
        Ok(match &self.prototype {
            Prototype::Vm { program, data } => {
                let mut vm = RegoVM::new();
                vm.load_program(Arc::new(private_program(program)));
                vm.set_data(deep_copy(data))
                    .map_err(|e| BuildError::PolicyData {
                        message: e.to_string(),
                    })?;
                vm.set_strict_builtin_errors(true);
                vm.set_max_instructions(self.limits.max_instructions);
                vm.set_execution_timer_config(Some(timer(self.limits)));
                Evaluator::Vm(Box::new(vm))
            }
            Prototype::Interpreter(engine) => Evaluator::Interpreter(engine.clone()),
        })
    }

    /// Evaluates the entry point over `input`. Any error, including a limit hit, is returned
    /// as text for a `policy_error` reason.
    pub(crate) fn evaluate(&self, input: Value) -> Result<Value, String> {
        let count = self.slots.len();
        let own = thread_index() % count.max(1);
        // This thread's slot; if another thread holds it (more threads than slots), any free
        // one; if none is free, wait for this thread's own.
        let free = (0..count).find_map(|i| match self.slots.get((own + i) % count)?.0.try_lock() {
            Ok(slot) => Some(slot),
            // An evaluation panicked while holding this slot: its evaluator is not trusted.
            Err(TryLockError::Poisoned(poisoned)) => {
                let mut slot = poisoned.into_inner();
                *slot = None;
                Some(slot)
            }
            Err(TryLockError::WouldBlock) => None,
        });
        let mut slot = match free {
            Some(slot) => slot,
            None => match self.slots.get(own) {
                Some(slot) => slot.0.lock().unwrap_or_else(|poisoned| {
                    let mut slot = poisoned.into_inner();
                    *slot = None;
                    slot
                }),
                None => return Err("the policy has no evaluator".into()),
            },
        };
        let evaluator = match &mut *slot {
            Some(evaluator) => evaluator,
            empty => empty.insert(self.make().map_err(|e| e.to_string())?),
        };
        let result = match evaluator {
            Evaluator::Vm(vm) => {
                vm.set_input(input);
                vm.execute().map_err(|e| e.to_string())
            }
            Evaluator::Interpreter(engine) => {
                engine.set_input(input);
                engine
                    .eval_rule(ENTRY_POINT.to_owned())
                    .map_err(|e| e.to_string())
            }
        };
        // An evaluator whose run failed may hold half-built state: drop it, make a fresh one.
        if result.is_err() {
            *slot = None;
        }
        result
    }
}

/// Vets every module but the embedded bundle's own text for the RVM.
fn vet_modules(engine: &mut Engine, modules: &[(String, String)]) -> Result<(), vet::Unvetted> {
    let parsed = engine.get_modules();
    let mut listed = Vec::with_capacity(parsed.len());
    for module in parsed {
        let path = module.package.span.source.get_path().as_str();
        let trusted = modules
            .iter()
            .any(|(p, source)| p == path && source == super::DEFAULT_BUNDLE);
        if path != "agentwarrant_engine.rego" {
            listed.push((path, &**module, trusted));
        }
    }
    vet::vet(&listed)
}

/// Whether `modules` is exactly the embedded default bundle.
fn is_default_bundle(modules: &[(String, String)]) -> bool {
    matches!(modules, [(_, source)] if source == super::DEFAULT_BUNDLE)
}

fn vm_program(engine: &mut Engine) -> Result<Arc<Program>, String> {
    let policy = engine
        .compile_with_entrypoint(&ENTRY_POINT.into())
        .map_err(|e| e.to_string())?;
    Compiler::compile_from_policy(&policy, &[ENTRY_POINT]).map_err(|e| e.to_string())
}

fn timer(limits: EvalLimits) -> ExecutionTimerConfig {
    ExecutionTimerConfig {
        limit: limits.timeout,
        // Checking the clock every 256 work units keeps the timer's cost near zero.
        check_interval: NonZeroU32::new(256).unwrap_or(NonZeroU32::MIN),
    }
}
