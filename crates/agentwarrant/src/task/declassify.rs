//! Declassification: clearing a label from a task tree, the one way a label ever goes. It is a
//! call of the engine's own `declassify` tool (args `{"label", "reason"}`, high impact, tag
//! `declassification`), decided by the policy like any call (the default bundle always asks a
//! human) and recorded in the ledger; only then do the rules that the label armed (such as
//! `exfiltration` after a `secret` read) stop applying.

use std::sync::Arc;

use serde_json::json;

use super::pipeline;
use super::warrant::{Outcome, Refusal};
use super::TaskInner;
use crate::tool::{normalise_label, ToolCall, DECLASSIFY};

impl TaskInner {
    /// See [`Task::declassify`](super::Task::declassify).
    pub(super) fn declassify(self: &Arc<Self>, label: &str, why: &str) -> Result<(), Refusal> {
        // The label as the tree holds it (see `normalise_label`): `Secret` clears `secret`.
        let label = &normalise_label(label);
        let call = ToolCall::new(DECLASSIFY, json!({ "label": label, "reason": why }));
        if why.trim().is_empty() {
            return Err(self.refuse_invalid(&call, "a declassification states its reason".into()));
        }
        if !self.chain.has_label(label) {
            let problem = format!("the task tree holds no label `{label}`");
            return Err(self.refuse_invalid(&call, problem));
        }
        let warrant = pipeline::authorize(self, call)?;
        let cleared = self.chain.remove_label(label);
        let detail = json!({ "label": label, "cleared": cleared });
        if let Err(error) = warrant.complete_with(Outcome::ok(), Some(detail)) {
            tracing::error!(target: "agentwarrant::ledger", %error, "could not record a declassification");
        }
        Ok(())
    }
}
