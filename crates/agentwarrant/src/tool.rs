//! Tool specifications, tool calls, and the scopes a call needs.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::general_category::{GeneralCategory, UnicodeGeneralCategory};

use crate::error::BuildError;
use crate::ids::CallId;
use crate::kinds::{Impact, Role};
use crate::scope::Scope;
use crate::template::ScopeTemplate;

mod named;

pub use named::{propose_named_scopes, NamedScope};

/// Whether `text` is a label: a lowercase word (`secret`, `pii`, `rbac`, `team.finance`).
fn is_label(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
}

/// A label as the rules compare it: Unicode compatibility forms (NFKC), invisible format
/// characters removed, surrounding whitespace dropped, lowercased. A result labelled `Secret`,
/// ` secret` or `secret\u{200b}` is labelled `secret`, so that it arms the rules about
/// `secret` instead of silently missing them.
pub(crate) fn normalise_label(text: &str) -> String {
    let visible: String = text
        .nfkc()
        .filter(|c| c.general_category() != GeneralCategory::Format)
        .collect();
    visible.trim().to_lowercase()
}

/// The text of a scalar, or of each element of a list of scalars (a call's destinations).
fn scalar_values(value: &Value) -> Option<Vec<String>> {
    fn scalar(value: &Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
            _ => None,
        }
    }
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

/// The engine's own tool that renews a task's grant (`Task::renew_grant`).
pub(crate) const RENEW_GRANT: &str = "renew_grant";

/// The engine's own tool that clears a label from a task tree (`Task::declassify`).
pub(crate) const DECLASSIFY: &str = "declassify";

/// The engine's own tools: reserved names, so that no declared tool can pass for one.
pub(crate) const ENGINE_TOOLS: [&str; 2] = [RENEW_GRANT, DECLASSIFY];

/// What a tool is and how risky it is: the guard's knowledge of a tool.
///
/// Two specs are the same tool exactly when they are equal (`==` compares every property), so
/// declaring an equal spec again is harmless and a property added here cannot be forgotten by
/// a comparison elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolSpec {
    pub(crate) name: String,
    pub(crate) impact: Impact,
    pub(crate) reversible: bool,
    pub(crate) external: bool,
    pub(crate) sink: bool,
    pub(crate) reads: Vec<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) roles: Option<Vec<Role>>,
    pub(crate) scopes: Vec<ScopeTemplate>,
    pub(crate) destination_arg: Option<String>,
    pub(crate) sensitive_args: BTreeSet<String>,
    pub(crate) result_labels: Vec<String>,
}

impl ToolSpec {
    /// The spec of one of the [`ENGINE_TOOLS`] as the policy sees it (no scopes, no labels):
    ///
    /// - [`RENEW_GRANT`]: medium impact (the default bundle asks a human in production, and
    ///   renewals add up toward `max_impact_total`), tagged `grant_renewal`;
    /// - [`DECLASSIFY`]: high impact (the default bundle always asks a human), tagged
    ///   `declassification`.
    pub(crate) fn engine_tool(name: &str) -> Option<Self> {
        let (impact, tag) = match name {
            RENEW_GRANT => (Impact::Medium, "grant_renewal"),
            DECLASSIFY => (Impact::High, "declassification"),
            _ => return None,
        };
        Some(Self {
            name: name.into(),
            impact,
            reversible: true,
            external: false,
            sink: false,
            reads: Vec::new(),
            tags: vec![tag.into()],
            roles: None,
            scopes: Vec::new(),
            destination_arg: None,
            sensitive_args: BTreeSet::new(),
            result_labels: Vec::new(),
        })
    }

    /// Starts a spec; `impact` is the one required property.
    ///
    /// ```
    /// use agentwarrant::{Impact, ToolSpec};
    /// let send = ToolSpec::builder("send_email", Impact::Medium)
    ///     .external(true)
    ///     .sink(true)
    ///     .scope("email.send:{to}")
    ///     .destination_arg("to")
    ///     .sensitive_args(["body"])
    ///     .build()?;
    /// assert_eq!(send.name(), "send_email");
    /// # Ok::<(), agentwarrant::BuildError>(())
    /// ```
    pub fn builder(name: impl Into<String>, impact: Impact) -> ToolSpecBuilder {
        ToolSpecBuilder {
            name: name.into(),
            impact,
            reversible: true,
            external: false,
            sink: false,
            reads: Vec::new(),
            tags: Vec::new(),
            roles: None,
            scopes: Vec::new(),
            destination_arg: None,
            sensitive_args: BTreeSet::new(),
            result_labels: Vec::new(),
        }
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tool's impact.
    pub fn impact(&self) -> Impact {
        self.impact
    }

    /// Whether the tool's effect can be undone.
    pub fn reversible(&self) -> bool {
        self.reversible
    }

    /// Whether the tool crosses the organisation boundary.
    pub fn external(&self) -> bool {
        self.external
    }

    /// Whether the tool sends data out.
    pub fn sink(&self) -> bool {
        self.sink
    }

    /// Labels of what the tool reads (`secret`, `pii`, `untrusted`, ...).
    pub fn reads(&self) -> &[String] {
        &self.reads
    }

    /// Free tags (the default bundle knows `rbac` and `financial`).
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The roles that may call the tool; `None` means any role.
    pub fn roles(&self) -> Option<&[Role]> {
        self.roles.as_deref()
    }

    /// The scope templates, as written.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes.iter().map(ScopeTemplate::as_str)
    }

    /// The arg naming the external destination, if any.
    pub fn destination_arg(&self) -> Option<&str> {
        self.destination_arg.as_deref()
    }

    /// Labels every result of this tool adds to the task when its call completes (e.g.
    /// `untrusted` for a web fetch), in addition to the outcome's own labels.
    pub fn result_labels(&self) -> &[String] {
        &self.result_labels
    }

    /// The same spec under another name (e.g. a framework's name for the tool).
    pub fn renamed(&self, name: impl Into<String>) -> Result<ToolSpec, BuildError> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(BuildError::InvalidTool {
                tool: name,
                problem: "the tool name must be non-empty".into(),
            });
        }
        Ok(ToolSpec {
            name,
            ..self.clone()
        })
    }

    /// Args redacted in the ledger and in approval requests.
    pub fn sensitive_args(&self) -> impl Iterator<Item = &str> {
        self.sensitive_args.iter().map(String::as_str)
    }

    /// The scopes a call with `args` needs, in template order, without duplicates.
    pub(crate) fn required_scopes(
        &self,
        args: &serde_json::Map<String, Value>,
        max: usize,
    ) -> Result<Vec<Scope>, String> {
        let mut seen = BTreeSet::new();
        let mut scopes = Vec::new();
        for template in &self.scopes {
            for text in template.render(args, max)? {
                if seen.insert(text.clone()) {
                    scopes.push(Scope::parse(&text).map_err(|e| e.to_string())?);
                }
                if scopes.len() > max {
                    return Err(format!("the call needs more than {max} scopes"));
                }
            }
        }
        Ok(scopes)
    }

    /// Whether `scope` is one of the spec's fixed scopes (a template without placeholders):
    /// no argument chose it, so it names no target (`call.named_scopes`).
    pub(crate) fn is_fixed_scope(&self, scope: &Scope) -> bool {
        self.scopes
            .iter()
            .any(|t| t.args().next().is_none() && t.as_str() == scope.as_str())
    }

    /// The external destinations named by the call, from `destination_arg`.
    pub(crate) fn destinations(&self, args: &serde_json::Map<String, Value>) -> Vec<String> {
        self.destination_arg
            .as_ref()
            .and_then(|name| args.get(name))
            .and_then(scalar_values)
            .unwrap_or_default()
    }

    /// `args` with every sensitive arg replaced by `"[redacted]"`.
    pub(crate) fn redact(&self, args: &serde_json::Map<String, Value>) -> Value {
        let redacted = args
            .iter()
            .map(|(k, v)| {
                let v = if self.sensitive_args.contains(k) {
                    Value::String("[redacted]".into())
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect();
        Value::Object(redacted)
    }
}

/// Builds a [`ToolSpec`]; templates are parsed in [`ToolSpecBuilder::build`].
#[derive(Debug, Clone)]
pub struct ToolSpecBuilder {
    name: String,
    impact: Impact,
    reversible: bool,
    external: bool,
    sink: bool,
    reads: Vec<String>,
    tags: Vec<String>,
    roles: Option<Vec<Role>>,
    scopes: Vec<String>,
    destination_arg: Option<String>,
    sensitive_args: BTreeSet<String>,
    result_labels: Vec<String>,
}

impl ToolSpecBuilder {
    /// Whether the effect can be undone (default `true`).
    pub fn reversible(mut self, reversible: bool) -> Self {
        self.reversible = reversible;
        self
    }

    /// Whether the tool crosses the organisation boundary (default `false`).
    pub fn external(mut self, external: bool) -> Self {
        self.external = external;
        self
    }

    /// Whether the tool sends data out (default `false`).
    pub fn sink(mut self, sink: bool) -> Self {
        self.sink = sink;
        self
    }

    /// Adds labels of what the tool reads, e.g. `secret`.
    pub fn reads<I: IntoIterator<Item = S>, S: Into<String>>(mut self, labels: I) -> Self {
        self.reads.extend(labels.into_iter().map(Into::into));
        self
    }

    /// Adds free tags, e.g. `rbac` or `financial`.
    pub fn tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.tags.extend(tags.into_iter().map(Into::into));
        self
    }

    /// Restricts the tool to identities with one of these roles.
    pub fn roles<I: IntoIterator<Item = Role>>(mut self, roles: I) -> Self {
        self.roles.get_or_insert_with(Vec::new).extend(roles);
        self
    }

    /// Adds a scope template such as `payments.refund:order/{order_id}`.
    pub fn scope(mut self, template: impl Into<String>) -> Self {
        self.scopes.push(template.into());
        self
    }

    /// Adds several scope templates.
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, templates: I) -> Self {
        self.scopes.extend(templates.into_iter().map(Into::into));
        self
    }

    /// Names the arg that holds the external destination (recorded in the chain).
    pub fn destination_arg(mut self, name: impl Into<String>) -> Self {
        self.destination_arg = Some(name.into());
        self
    }

    /// Names args redacted in the ledger and in approval requests.
    pub fn sensitive_args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.sensitive_args
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds labels that every result of this tool adds to the task at completion, e.g.
    /// `untrusted` for a web fetch (anyone outside the organisation can write a web page).
    /// They count for every later call, like an outcome's own labels.
    pub fn result_labels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, labels: I) -> Self {
        self.result_labels
            .extend(labels.into_iter().map(Into::into));
        self
    }

    /// Validates the name and parses the scope templates.
    pub fn build(self) -> Result<ToolSpec, BuildError> {
        let invalid = |problem: String| BuildError::InvalidTool {
            tool: self.name.clone(),
            problem,
        };
        if self.name.trim().is_empty() {
            return Err(invalid("the tool name must be non-empty".into()));
        }
        let scopes = self
            .scopes
            .iter()
            .map(|t| ScopeTemplate::parse(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        // A label or tag the default bundle compares exactly: `Secret` or ` secret` would
        // silently miss every rule about `secret`.
        let named = [
            ("reads", &self.reads),
            ("tags", &self.tags),
            ("result_labels", &self.result_labels),
        ];
        for (field, labels) in named {
            if let Some(bad) = labels.iter().find(|l| !is_label(l)) {
                return Err(invalid(format!(
                    "{field}: `{bad}` is not a label; labels are lowercase words such as `secret` or `untrusted` (letters, digits, `_`, `-`, `.`), compared exactly by the policy"
                )));
            }
        }
        // SECURITY: required scopes are recorded and shown to approvers; a sensitive value must
        // not become one.
        if let Some((template, arg)) = scopes.iter().find_map(|t| {
            t.args()
                .find(|arg| self.sensitive_args.contains(*arg))
                .map(|arg| (t.as_str().to_owned(), arg.to_owned()))
        }) {
            return Err(invalid(format!(
                "sensitive arg `{arg}` fills scope `{template}`: scopes are recorded in the ledger, so a sensitive arg cannot name one"
            )));
        }
        Ok(ToolSpec {
            name: self.name,
            impact: self.impact,
            reversible: self.reversible,
            external: self.external,
            sink: self.sink,
            reads: self.reads,
            tags: self.tags,
            roles: self.roles,
            scopes,
            destination_arg: self.destination_arg,
            sensitive_args: self.sensitive_args,
            result_labels: self.result_labels,
        })
    }
}

/// One request to run a tool, as the agent made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub(crate) tool: String,
    pub(crate) args: Value,
    pub(crate) parent: Option<CallId>,
}

impl ToolCall {
    /// A call of `tool` with `args` (a JSON object).
    ///
    /// ```
    /// use agentwarrant::ToolCall;
    /// let call = ToolCall::new("refund", serde_json::json!({"order_id": "A-17", "amount": 20}));
    /// assert_eq!(call.tool(), "refund");
    /// ```
    pub fn new(tool: impl Into<String>, args: Value) -> Self {
        Self {
            tool: tool.into(),
            args,
            parent: None,
        }
    }

    /// Marks this call as made while `parent`'s tool runs (nesting or delegation).
    pub fn child_of(mut self, parent: CallId) -> Self {
        self.parent = Some(parent);
        self
    }

    /// The tool's name.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// The args as given.
    pub fn args(&self) -> &Value {
        &self.args
    }

    /// The call this one runs inside, if any.
    pub fn parent(&self) -> Option<CallId> {
        self.parent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scopes(template: &str, args: Value) -> Result<Vec<String>, String> {
        let spec = ToolSpec::builder("t", Impact::Low)
            .scope(template)
            .build()
            .unwrap();
        let Value::Object(args) = args else {
            unreachable!()
        };
        spec.required_scopes(&args, 64)
            .map(|s| s.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn templates_fill_scalars_and_expand_lists() {
        assert_eq!(
            scopes("p.refund:order/{id}", json!({"id": 12})).unwrap(),
            ["p.refund:order/12"]
        );
        assert_eq!(scopes("f:{on}", json!({"on": true})).unwrap(), ["f:true"]);
        assert_eq!(
            scopes("email.send:{to}", json!({"to": ["a@x.com", "b@y.com"]})).unwrap(),
            ["email.send:a@x.com", "email.send:b@y.com"]
        );
    }

    #[test]
    fn templates_reject_missing_objects_and_nested_lists() {
        assert!(scopes("a:{x}", json!({}))
            .unwrap_err()
            .contains("missing arg `x`"));
        assert!(scopes("a:{x}", json!({"x": {"y": 1}})).is_err());
        assert!(scopes("a:{x}", json!({"x": [["y"]]})).is_err());
        // Decimals fill in one canonical form (DESIGN "Templates").
        assert_eq!(scopes("a:{x}", json!({"x": 1.5})).unwrap(), ["a:1.5"]);
        assert!(scopes("a:{x}", json!({"x": "has space"})).is_err());
    }

    #[test]
    fn a_sensitive_arg_cannot_fill_a_scope() {
        let err = ToolSpec::builder("send", Impact::Low)
            .scope("email.send:{to}")
            .sensitive_args(["to"])
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("sensitive arg `to`"), "{err}");
    }

    #[test]
    fn impact_parses_its_own_names_and_names_the_accepted_ones_otherwise() {
        for impact in [Impact::Low, Impact::Medium, Impact::High, Impact::Critical] {
            assert_eq!(impact.as_str().parse::<Impact>(), Ok(impact));
        }
        let err = "High".parse::<Impact>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "impact must be `low`, `medium`, `high` or `critical`, got `High`"
        );
    }

    #[test]
    fn specs_are_the_same_tool_only_when_every_property_is_equal() {
        let base = || ToolSpec::builder("fetch", Impact::Low).scope("web.get:{url}");
        assert_eq!(base().build().unwrap(), base().build().unwrap());
        let labelled = base().result_labels(["untrusted"]).build().unwrap();
        assert_ne!(base().build().unwrap(), labelled);
        assert_eq!(labelled.result_labels(), ["untrusted"]);
    }

    #[test]
    fn malformed_templates_fail_at_build() {
        for bad in ["a:{x", "a:x}", "a:{}"] {
            assert!(
                ToolSpec::builder("t", Impact::Low)
                    .scope(bad)
                    .build()
                    .is_err(),
                "{bad}"
            );
        }
    }
}
