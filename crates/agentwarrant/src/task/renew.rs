//! Renewing a task's grant: a call of the engine's own `renew_grant` tool, decided by the
//! policy like any call (and approved by a human where the policy asks), that moves the grant's
//! expiry later. A long-running agent renews before its grant runs out; nothing renews an
//! expired, revoked or escalated grant.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use time::OffsetDateTime;

use super::pipeline;
use super::warrant::{Outcome, Refusal};
use super::TaskInner;
use crate::clock::rfc3339;
use crate::tool::{ToolCall, RENEW_GRANT};

impl TaskInner {
    /// See [`Task::renew_grant`](super::Task::renew_grant).
    pub(super) fn renew_grant(self: &Arc<Self>, ttl: Duration) -> Result<OffsetDateTime, Refusal> {
        let call = ToolCall::new(RENEW_GRANT, json!({ "ttl_s": ttl.as_secs() }));
        let lifetime = self
            .limits
            .grant_ttl
            .unwrap_or(self.runtime.limits.grant_ttl);
        if ttl.as_secs() == 0 || ttl > lifetime {
            let problem = format!(
                "a renewal lasts from 1 s to the task's grant lifetime ({} s), not {} s",
                lifetime.as_secs(),
                ttl.as_secs_f64()
            );
            return Err(self.refuse_invalid(&call, problem));
        }
        if self.grant.escalated() {
            let problem =
                "an escalated grant lasts as long as its approver allowed: escalate again";
            return Err(self.refuse_invalid(&call, problem.into()));
        }
        let warrant = pipeline::authorize(self, call)?;
        let now = self.runtime.clock.now();
        let wanted = now
            .checked_add(time::Duration::try_from(ttl).unwrap_or(time::Duration::ZERO))
            .unwrap_or(now);
        let until = self.grant.extend_to(wanted);
        let mut detail = json!({ "expires_at": rfc3339(until) });
        if let Some(credential) = self.renew_credential(until) {
            detail["credential"] = credential;
        }
        if let Err(error) = warrant.complete_with(Outcome::ok(), Some(detail)) {
            tracing::error!(target: "agentwarrant::ledger", %error, "could not record a grant renewal");
        }
        Ok(until)
    }
}
