//! The policy: Rego modules and data, compiled once, evaluated in-process for every call.
//!
//! Contract `agentwarrant/v1`: the policy's package `agentwarrant` defines `deny` and
//! `require_approval` (sets of reason strings, `"code"` or `"code: detail"`), `allow` (must be
//! `true` when both sets are empty) and optionally `obligations`. See `docs/policy.md`.

mod decision;
mod eval;
pub(crate) mod value;
mod vet;

use std::path::Path;
use std::time::Instant;

use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

pub use decision::{Decision, Obligations, PolicyDigest};
pub use eval::Backend;

use crate::canonical::canonical_json;
use crate::error::BuildError;
use crate::limits::Limits;
use crate::reason::{Effect, Reason, ReasonCode};
use eval::{Compiled, EvalLimits};
#[cfg(feature = "bench")]
pub(crate) use eval::{BUNDLE_ENGINE_MODULE, ENTRY_POINT};

/// The default governance bundle's Rego source.
pub const DEFAULT_BUNDLE: &str = include_str!("../../policies/agentwarrant.rego");

/// The version of the policy input document.
pub const INPUT_VERSION: &str = "agentwarrant/v1";

/// Rego modules plus data: what the guard evaluates.
#[derive(Debug, Clone)]
pub struct Policy {
    modules: Vec<(String, String)>,
    data: Map<String, Json>,
}

impl Default for Policy {
    fn default() -> Self {
        Self::default_bundle()
    }
}

impl Policy {
    /// The embedded default governance bundle.
    pub fn default_bundle() -> Self {
        Self {
            modules: vec![("agentwarrant.rego".into(), DEFAULT_BUNDLE.into())],
            data: Map::new(),
        }
    }

    /// A policy with no modules, to build up with [`Policy::with_module`].
    pub fn empty() -> Self {
        Self {
            modules: Vec::new(),
            data: Map::new(),
        }
    }

    /// The `.rego` files of `dir` (sorted by name) and its optional `data.json`, replacing the
    /// default bundle.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, BuildError> {
        Self::empty().with_dir(dir)
    }

    /// Adds the `.rego` files of `dir` and merges its optional `data.json`.
    pub fn with_dir(mut self, dir: impl AsRef<Path>) -> Result<Self, BuildError> {
        let dir = dir.as_ref();
        let read_error = |path: &Path, e: std::io::Error| BuildError::PolicyRead {
            path: path.to_owned(),
            message: e.to_string(),
            kind: e.kind(),
        };
        let mut paths = std::fs::read_dir(dir)
            .map_err(|e| read_error(dir, e))?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| read_error(dir, e))?;
        paths.sort();
        let mut found = false;
        for path in paths {
            match path.extension().and_then(|e| e.to_str()) {
                Some("rego") => {
                    let source =
                        std::fs::read_to_string(&path).map_err(|e| read_error(&path, e))?;
                    self.modules.push((path.display().to_string(), source));
                    found = true;
                }
                Some("json") if path.file_name().is_some_and(|n| n == "data.json") => {
                    let text = std::fs::read_to_string(&path).map_err(|e| read_error(&path, e))?;
                    let data = serde_json::from_str(&text).map_err(|e| BuildError::PolicyData {
                        message: format!("{}: {e}", path.display()),
                    })?;
                    self = self.with_data(data)?;
                }
                _ => {}
            }
        }
        if !found {
            return Err(BuildError::PolicyRead {
                path: dir.to_owned(),
                message: "no `.rego` files in this directory".into(),
                kind: std::io::ErrorKind::NotFound,
            });
        }
        Ok(self)
    }

    /// Adds one Rego module.
    pub fn with_module(mut self, path: impl Into<String>, source: impl Into<String>) -> Self {
        self.modules.push((path.into(), source.into()));
        self
    }

    /// Merges a JSON object into the policy's `data` (top-level keys replace).
    pub fn with_data(mut self, data: Json) -> Result<Self, BuildError> {
        match data {
            Json::Object(map) => {
                self.data.extend(map);
                Ok(self)
            }
            _ => Err(BuildError::PolicyData {
                message: "policy data must be a JSON object".into(),
            }),
        }
    }

    /// Sets the members of `data.limits` that `limits` sets (`max_depth`, `max_calls`,
    /// `max_impact_total`), keeping the others the policy's data already has.
    pub fn with_limits(mut self, limits: &Limits) -> Self {
        let set = limits.policy_data();
        if set.is_empty() {
            return self;
        }
        let entry = self
            .data
            .entry("limits")
            .or_insert_with(|| Json::Object(Map::new()));
        if !entry.is_object() {
            *entry = Json::Object(Map::new());
        }
        if let Json::Object(map) = entry {
            for (name, value) in set {
                map.insert(name.into(), Json::from(value));
            }
        }
        self
    }

    /// Whether one of the modules is the embedded default bundle.
    fn has_default_bundle(&self) -> bool {
        self.modules
            .iter()
            .any(|(_, source)| source == DEFAULT_BUNDLE)
    }

    /// The `data` the policy is evaluated with. With the default bundle among the modules,
    /// `data.limits` is completed with the bundle's defaults and each of its limits must be a
    /// whole number, and `data.untrusted_input` is `"any_read"` unless set to
    /// `"unnamed_targets"`, so that no rule has to defend against a missing or malformed value
    /// at call time; a bad value is a build error naming it.
    pub(crate) fn evaluated_data(&self) -> Result<Json, BuildError> {
        let mut data = self.data.clone();
        if self.has_default_bundle() {
            let limits = match data.remove("limits") {
                None | Some(Json::Null) => Map::new(),
                Some(Json::Object(limits)) => limits,
                Some(other) => {
                    return Err(BuildError::PolicyData {
                        message: format!(
                            "`data.limits` must be an object of limits, not `{other}`"
                        ),
                    })
                }
            };
            data.insert("limits".into(), Json::Object(bundle_limits(limits)?));
            match data.get(UNTRUSTED_INPUT) {
                None | Some(Json::Null) => {
                    data.insert(UNTRUSTED_INPUT.into(), Json::from(UNTRUSTED_INPUT_MODES[0]));
                }
                Some(Json::String(mode)) if UNTRUSTED_INPUT_MODES.contains(&mode.as_str()) => {}
                Some(other) => {
                    return Err(BuildError::PolicyData {
                        message: format!(
                            "`data.{UNTRUSTED_INPUT}` must be \"any_read\" (the default) or \"unnamed_targets\", not `{other}`"
                        ),
                    })
                }
            }
        }
        Ok(Json::Object(data))
    }

    /// The SHA-256 over every module (path and source) and the data.
    pub fn digest(&self) -> PolicyDigest {
        let mut hasher = Sha256::new();
        for (path, source) in &self.modules {
            for part in [path.as_bytes(), &[0], source.as_bytes(), &[0]] {
                hasher.update(part);
            }
        }
        hasher.update(canonical_json(&Json::Object(self.data.clone())));
        PolicyDigest(format!("{:x}", hasher.finalize()))
    }

    /// Compiles the policy with the default evaluator ([`Backend::Auto`]) and the default
    /// [`Limits`]; a malformed module fails here, naming its file and line.
    ///
    /// ```
    /// use agentwarrant::Policy;
    /// let bad = Policy::empty().with_module("bad.rego", "package agentwarrant\nallow := ");
    /// let err = bad.compile().unwrap_err();
    /// assert_eq!(err.code(), "policy_compile");
    /// ```
    pub fn compile(&self) -> Result<PolicyEngine, BuildError> {
        self.compile_with(Backend::Auto, &Limits::default())
    }

    /// Compiles the policy for `backend`, bounding each evaluation by `limits`'
    /// `policy_timeout` and `policy_max_instructions`.
    pub fn compile_with(
        &self,
        backend: Backend,
        limits: &Limits,
    ) -> Result<PolicyEngine, BuildError> {
        let eval = EvalLimits {
            timeout: limits.policy_timeout,
            max_instructions: limits.policy_max_instructions,
        };
        let data = self.evaluated_data()?;
        let compiled = Compiled::new(&self.modules, &data, backend, eval)?;
        Ok(PolicyEngine {
            compiled,
            digest: self.digest(),
            keys: DecisionKeys::default(),
        })
    }
}

/// The member of `data` that says where the default bundle's `untrusted_input` bites.
const UNTRUSTED_INPUT: &str = "untrusted_input";

/// Its values, the default first: `any_read` (every sink and every medium-or-more call after
/// an untrusted read, DESIGN.md's row) and `unnamed_targets` (only where the call reaches a
/// target the person who began the task did not name; see `docs/policy.md`).
const UNTRUSTED_INPUT_MODES: [&str; 2] = ["any_read", "unnamed_targets"];

/// The limits the default bundle reads from `data.limits`, with their defaults (DESIGN.md,
/// "Default bundle").
pub(crate) const BUNDLE_LIMITS: [(&str, u64); 3] = [
    ("max_depth", 4),
    ("max_calls", 200),
    ("max_impact_total", 6),
];

/// `limits` with the bundle's defaults filled in; a limit the bundle reads that is set to
/// anything but a whole number from 0 up is an error. Other members are kept as they are (a
/// module of the user's may read them).
fn bundle_limits(mut limits: Map<String, Json>) -> Result<Map<String, Json>, BuildError> {
    for (name, default) in BUNDLE_LIMITS {
        match limits.get(name) {
            None | Some(Json::Null) => {
                limits.insert(name.into(), Json::from(default));
            }
            Some(Json::Number(n)) if n.is_u64() => {}
            Some(other) => {
                return Err(BuildError::PolicyData {
                    message: format!(
                        "`data.limits.{name}` must be a whole number from 0 up, not `{other}`"
                    ),
                })
            }
        }
    }
    Ok(limits)
}

/// A compiled policy, shared across threads; each evaluation folds the policy's answer into a
/// [`Decision`], failing closed.
#[derive(Debug)]
pub struct PolicyEngine {
    compiled: Compiled,
    digest: PolicyDigest,
    keys: DecisionKeys,
}

/// The members of the engine's decision object, made once (looked up by reference, so
/// threads share them without touching their reference counts).
#[derive(Debug)]
struct DecisionKeys {
    deny: regorus::Value,
    require_approval: regorus::Value,
    allow: regorus::Value,
    obligations: regorus::Value,
}

impl Default for DecisionKeys {
    fn default() -> Self {
        Self {
            deny: regorus::Value::from("deny"),
            require_approval: regorus::Value::from("require_approval"),
            allow: regorus::Value::from("allow"),
            obligations: regorus::Value::from("obligations"),
        }
    }
}

impl PolicyEngine {
    /// The digest of the policy this engine evaluates.
    pub fn digest(&self) -> &PolicyDigest {
        &self.digest
    }

    /// The evaluator in use: [`Backend::Vm`] or [`Backend::Interpreter`] (what
    /// [`Backend::Auto`] chose).
    pub fn backend(&self) -> Backend {
        self.compiled.backend()
    }

    /// Why [`Backend::Auto`] runs this policy on the interpreter: the first construct that
    /// can raise, with its module and line; `None` on the RVM or when the interpreter was chosen.
    ///
    /// ```
    /// use agentwarrant::{Backend, Policy};
    /// let policy = Policy::default_bundle().with_module(
    ///     "refunds.rego",
    ///     "package agentwarrant\n\ndeny contains \"refund_too_large\" if {\n\tinput.call.args.amount > 500\n}\n",
    /// );
    /// let engine = policy.compile()?;
    /// assert_eq!(engine.backend(), Backend::Interpreter);
    /// assert!(engine.interpreter_reason().unwrap().starts_with("refunds.rego:4:"));
    ///
    /// let checked = Policy::default_bundle().with_module(
    ///     "refunds.rego",
    ///     "package agentwarrant\n\ndeny contains \"refund_too_large\" if {\n\tis_number(input.call.args.amount)\n\tinput.call.args.amount > 500\n}\n",
    /// );
    /// assert_eq!(checked.compile()?.backend(), Backend::Vm);
    /// # Ok::<(), agentwarrant::BuildError>(())
    /// ```
    pub fn interpreter_reason(&self) -> Option<&str> {
        self.compiled.interpreter_reason()
    }

    /// Evaluates one input document (JSON). Never fails: an evaluation error, an undefined
    /// result or a wrong result type is a deny with reason `policy_error`.
    ///
    /// ```
    /// use agentwarrant::{Effect, Policy, ReasonCode};
    /// let engine = Policy::default_bundle().compile()?;
    /// let decision = engine.decide_json(&serde_json::json!({"version": "agentwarrant/v1"}));
    /// assert_eq!(decision.effect, Effect::Deny); // an incomplete input never allows
    /// # Ok::<(), agentwarrant::BuildError>(())
    /// ```
    pub fn decide_json(&self, input: &Json) -> Decision {
        self.decide(regorus::Value::from(input.clone()))
    }

    pub(crate) fn decide(&self, input: regorus::Value) -> Decision {
        let started = Instant::now();
        let outcome = self
            .compiled
            .evaluate(input.clone())
            .and_then(|value| fold(&value, &self.keys));
        let eval_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let (effect, reasons, also, obligations) = match outcome {
            Ok(folded) => folded,
            Err(detail) => (
                Effect::Deny,
                vec![Reason::with_detail(ReasonCode::PolicyError, detail)],
                Vec::new(),
                Obligations::default(),
            ),
        };
        Decision {
            effect,
            reasons,
            also,
            obligations,
            policy_digest: self.digest.clone(),
            eval_us,
            input: Some(input),
        }
    }
}

type Folded = (Effect, Vec<Reason>, Vec<Reason>, Obligations);

/// deny members → deny; else approval members → approval; else `allow == true` → allow;
/// else deny with `not_allowed`.
fn fold(value: &regorus::Value, keys: &DecisionKeys) -> Result<Folded, String> {
    let object = value
        .as_object()
        .map_err(|_| "the policy produced no decision (undefined result)".to_owned())?;
    let deny = reasons(object.get(&keys.deny), "deny")?;
    let approval = reasons(object.get(&keys.require_approval), "require_approval")?;
    let obligations = obligations(object.get(&keys.obligations))?;
    if !deny.is_empty() {
        return Ok((Effect::Deny, deny, approval, obligations));
    }
    if !approval.is_empty() {
        return Ok((Effect::Approval, approval, Vec::new(), obligations));
    }
    match object.get(&keys.allow) {
        Some(regorus::Value::Bool(true)) => {
            Ok((Effect::Allow, Vec::new(), Vec::new(), obligations))
        }
        Some(regorus::Value::Bool(false) | regorus::Value::Null) | None => Ok((
            Effect::Deny,
            vec![Reason::new(ReasonCode::NotAllowed)],
            Vec::new(),
            obligations,
        )),
        Some(other) => Err(format!("`allow` must be a boolean, got {other}")),
    }
}

/// Reads a set (or array) of reason strings or `{"code", "detail"}` objects.
fn reasons(value: Option<&regorus::Value>, rule: &str) -> Result<Vec<Reason>, String> {
    let items: Vec<&regorus::Value> = match value {
        None => return Ok(Vec::new()),
        Some(regorus::Value::Set(set)) => set.iter().collect(),
        Some(regorus::Value::Array(items)) => items.iter().collect(),
        Some(other) => return Err(format!("`{rule}` must be a set of reasons, got {other}")),
    };
    let mut out: Vec<Reason> = items
        .into_iter()
        .map(|item| match item {
            regorus::Value::String(text) => Ok(Reason::parse(text)),
            regorus::Value::Object(fields) => {
                let text = |key: &str| match fields.get(&regorus::Value::from(key)) {
                    Some(regorus::Value::String(s)) => Some(s.to_string()),
                    _ => None,
                };
                let code = text("code")
                    .ok_or_else(|| format!("a `{rule}` reason object needs a string `code`"))?;
                Ok(Reason {
                    code: ReasonCode::from_slug(&code),
                    detail: text("detail"),
                })
            }
            other => Err(format!("a `{rule}` reason must be a string, got {other}")),
        })
        .collect::<Result<_, String>>()?;
    out.sort();
    out.dedup();
    // One reason per code: the details of a code that fired several times (two drifting
    // scopes) are kept, joined, in one reason.
    let mut merged: Vec<Reason> = Vec::with_capacity(out.len());
    for reason in out {
        match merged.last_mut() {
            Some(last) if last.code == reason.code => {
                if let Some(detail) = reason.detail {
                    last.detail = Some(match last.detail.take() {
                        Some(before) => format!("{before}, {detail}"),
                        None => detail,
                    });
                }
            }
            _ => merged.push(reason),
        }
    }
    Ok(merged)
}

fn obligations(value: Option<&regorus::Value>) -> Result<Obligations, String> {
    let json = match value {
        None => return Ok(Obligations::default()),
        Some(regorus::Value::Object(fields)) if fields.is_empty() => {
            return Ok(Obligations::default())
        }
        Some(v) => serde_json::to_value(v).map_err(|e| e.to_string())?,
    };
    let mut obligations = Obligations::default();
    let Json::Object(map) = json else {
        return Err("`obligations` must be an object".into());
    };
    for (key, value) in map {
        match (key.as_str(), value) {
            ("approvers", Json::Number(n)) => {
                obligations.approvers = n
                    .as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .filter(|n| *n >= 1)
                    .ok_or("`obligations.approvers` must be an integer from 1 to 255")?;
            }
            ("ledger_sync", Json::Bool(b)) => obligations.ledger_sync = b,
            ("max_ttl_s", Json::Number(n)) => {
                obligations.max_ttl_s = Some(
                    n.as_u64()
                        .ok_or("`obligations.max_ttl_s` must be a whole number")?,
                );
            }
            (key, _) => return Err(format!("unknown or mistyped obligation `{key}`")),
        }
    }
    Ok(obligations)
}
