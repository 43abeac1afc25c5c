//! Standing approvals a task holds: granted with an approval ([`Standing`]), they approve later
//! calls of the same task and tool that need approval for no reason beyond those the person
//! saw, within their scopes and arg bounds, a bounded number of times, until they expire or
//! the task ends.

use std::collections::BTreeSet;

use serde_json::{json, Value as Json};
use time::OffsetDateTime;

use super::validate::Examined;
use super::TaskInner;
use crate::approval::{Approval, ApprovalRequest, Standing};
use crate::policy::Decision;
use crate::scope::ScopeSet;
use crate::tool::ToolCall;

/// A standing approval in force.
#[derive(Debug)]
pub(super) struct Held {
    id: uuid::Uuid,
    tool: String,
    within: ScopeSet,
    at_most: Vec<(String, f64)>,
    /// The reason codes the person saw when granting it.
    reasons: BTreeSet<String>,
    uses_left: u32,
    until: OffsetDateTime,
    approvers: Vec<String>,
}

/// One use of a standing approval: which, by whom, and how many uses are left.
pub(super) struct Use {
    pub(super) id: uuid::Uuid,
    pub(super) approvers: Vec<String>,
    pub(super) uses_left: u32,
}

impl Use {
    /// The `detail` of the `approval.answered` record of this use.
    pub(super) fn detail(&self) -> Json {
        json!({
            "answer": "approved",
            "standing": self.id.to_string(),
            "uses_left": self.uses_left,
        })
    }
}

/// The standing approval `approvals` grant: `None` when none does, an error when they do not
/// all grant the same one (N of M: each approver must grant it) or it is malformed.
pub(super) fn standing_of(
    approvals: &[Approval],
    grant_ttl: std::time::Duration,
) -> Result<Option<Standing>, String> {
    let Some(first) = approvals.iter().find_map(|a| a.standing.as_ref()) else {
        return Ok(None);
    };
    if approvals.iter().any(|a| a.standing.as_ref() != Some(first)) {
        return Err("every approver must grant the same standing approval".into());
    }
    match first.problem(grant_ttl) {
        Some(problem) => Err(problem),
        None => Ok(Some(first.clone())),
    }
}

impl TaskInner {
    /// Puts `standing`, granted by `approvers` with their answer to `request`, in force.
    pub(super) fn hold(
        &self,
        standing: Standing,
        request: &ApprovalRequest,
        approvers: &[String],
        now: OffsetDateTime,
    ) -> Json {
        let ttl = time::Duration::try_from(standing.ttl).unwrap_or(time::Duration::ZERO);
        let held = Held {
            id: uuid::Uuid::new_v4(),
            tool: request.tool.clone(),
            within: ScopeSet::parse(standing.within.iter().map(String::as_str)).unwrap_or_default(),
            at_most: standing
                .at_most
                .iter()
                .filter_map(|(name, max)| Some((name.clone(), max.as_ref()?.as_f64()?)))
                .collect(),
            reasons: request
                .reasons
                .iter()
                .map(|r| r.code.as_str().to_owned())
                .collect(),
            uses_left: standing.uses,
            until: now.checked_add(ttl).unwrap_or(now),
            approvers: approvers.to_vec(),
        };
        let detail = json!({
            "id": held.id.to_string(),
            "uses": held.uses_left,
            "until": crate::clock::rfc3339(held.until),
            "within": standing.within,
            "at_most": held.at_most.iter().map(|(n, m)| (n.clone(), json!(m))).collect::<serde_json::Map<_, _>>(),
        });
        self.standing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(held);
        detail
    }

    /// Uses a standing approval that covers `call` (decided `decision`), if one does.
    pub(super) fn use_standing(
        &self,
        call: &ToolCall,
        examined: &Examined,
        decision: &Decision,
        now: OffsetDateTime,
    ) -> Option<Use> {
        let mut held = self.standing.lock().unwrap_or_else(|p| p.into_inner());
        held.retain(|h| h.uses_left > 0 && h.until > now);
        let covers = |h: &Held| {
            h.tool == call.tool
                && decision
                    .reasons
                    .iter()
                    .all(|r| h.reasons.contains(r.code.as_str()))
                && (h.within.patterns().is_empty()
                    || examined.required.iter().all(|s| h.within.contains(s)))
                && h.at_most.iter().all(|(name, max)| {
                    call.args
                        .get(name)
                        .and_then(Json::as_f64)
                        .is_some_and(|v| v <= *max)
                })
        };
        let found = held.iter_mut().find(|h| covers(h))?;
        found.uses_left -= 1;
        Some(Use {
            id: found.id,
            approvers: found.approvers.clone(),
            uses_left: found.uses_left,
        })
    }
}
