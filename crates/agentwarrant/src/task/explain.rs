//! What the guard would decide for a call, without deciding it: nothing counted, no budget
//! spent, nobody asked, nothing recorded.

use std::fmt;
use std::sync::Arc;

use serde_json::Value as Json;

use super::TaskInner;
use crate::ids::CallId;
use crate::policy::Decision;
use crate::reason::{Effect, Reason};
use crate::tool::ToolCall;

/// The guard's answer to "what would you decide?" for one call.
///
/// ```
/// # use agentwarrant::*;
/// # let guard = Guard::builder()
/// #     .tool(ToolSpec::builder("send", Impact::Medium).sink(true).external(true).scope("email.send:{to:email}").build()?)
/// #     .build()?;
/// # let me = Identity::builder("agent://acme/bot", Role::Executor, "alice@acme.com").ceiling(["email.send:*"]).build()?;
/// let task = guard.begin(me, Intent::builder("mail the team").scopes(["email.send:*@acme.com"]).build()?)?;
/// let why = task.explain(&ToolCall::new("send", serde_json::json!({"to": "x@evil.com"})));
/// assert_eq!(why.effect(), Effect::Approval);
/// assert_eq!(why.scopes, [("email.send:x@evil.com".to_owned(), "drift")]);
/// println!("{why}");
/// # Ok::<(), agentwarrant::Error>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Explanation {
    /// The tool asked for.
    pub tool: String,
    /// The policy's decision; `None` when the engine would refuse the call before asking it.
    pub decision: Option<Decision>,
    /// Why the engine would refuse the call before the policy (unknown tool, invalid call,
    /// dead grant, disabled identity).
    pub refused: Option<Reason>,
    /// Each scope the call requires and its band: `intent`, `drift` or `outside_ceiling`.
    pub scopes: Vec<(String, &'static str)>,
    /// The exact policy input document the decision was made on.
    pub input: Option<Json>,
}

impl Explanation {
    /// The effect the call would get: the policy's, or deny when refused before it.
    pub fn effect(&self) -> Effect {
        self.decision.as_ref().map_or(Effect::Deny, |d| d.effect)
    }
}

impl fmt::Display for Explanation {
    /// For a person: the effect, every reason with what it means, each scope's band.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "`{}` would be: {}", self.tool, self.effect().as_str())?;
        let decided = self.decision.iter().flat_map(|d| &d.reasons);
        let also = self.decision.iter().flat_map(|d| &d.also);
        let reasons = self
            .refused
            .iter()
            .chain(decided)
            .map(|r| ("", r))
            .chain(also.map(|r| ("also asks approval: ", r)));
        for (prefix, reason) in reasons {
            write!(f, "  {prefix}{} ({})", reason.code, reason.code.describe())?;
            match &reason.detail {
                Some(detail) => writeln!(f, ": {detail}")?,
                None => writeln!(f)?,
            }
        }
        for (scope, band) in &self.scopes {
            writeln!(f, "  scope {scope}: {band}")?;
        }
        Ok(())
    }
}

/// Explains `call` in `task`; see [`Explanation`].
pub(crate) fn explain(task: &Arc<TaskInner>, call: &ToolCall) -> Explanation {
    let now = task.runtime.clock.now();
    let mut decisions = task.chain.decide();
    let (chain, parent) = decisions.peek(call.parent, task.base_depth);
    let mut explanation = Explanation {
        tool: call.tool.clone(),
        decision: None,
        refused: None,
        scopes: Vec::new(),
        input: None,
    };
    if let Err(reason) = task.credential(now) {
        explanation.refused = Some(reason);
        return explanation;
    }
    let mut examined = match task.validate(call, parent.is_ok()) {
        Ok(examined) => examined,
        Err(reason) => {
            explanation.refused = Some(reason);
            return explanation;
        }
    };
    examined.signals = task.signals(&mut decisions, call, &examined, now, false);
    drop(decisions);
    explanation.scopes = examined
        .bands
        .iter()
        .map(|(scope, band)| (scope.to_string(), band.as_str()))
        .collect();
    let document = task.document(CallId::new(), call, now, &chain, &examined);
    explanation.input = serde_json::to_value(&document).ok();
    explanation.decision = Some(task.runtime.engine.decide(document));
    explanation
}
