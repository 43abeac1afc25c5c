//! Renewing a task's grant: a call of the engine's own `renew_grant` tool, decided by the
//! policy like any call (and approved by a human where the policy asks), that moves the grant's
//! expiry later. A long-running agent renews before its grant runs out; nothing renews an
//! expired, revoked or escalated grant.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use time::OffsetDateTime;

use super::pipeline::{self, Stop};
use super::warrant::{Outcome, Refusal, RefusalKind};
use super::TaskInner;
use crate::clock::rfc3339;
use crate::ids::CallId;
use crate::reason::{Reason, ReasonCode};
use crate::tool::{ToolCall, RENEW_GRANT};

impl TaskInner {
    /// See [`Task::renew_grant`](super::Task::renew_grant).
    pub(super) fn renew_grant(self: &Arc<Self>, ttl: Duration) -> Result<OffsetDateTime, Refusal> {
        let call = ToolCall::new(RENEW_GRANT, json!({ "ttl_s": ttl.as_secs() }));
        let lifetime = self
            .limits
            .grant_ttl
            .unwrap_or(self.runtime.limits.grant_ttl);
        let refused = |why: String| {
            let reason = Reason::with_detail(ReasonCode::InvalidCall, why);
            Err(self.finish(
                CallId::new(),
                &call,
                Stop::engine(RefusalKind::Denied, reason),
            ))
        };
        if ttl.as_secs() == 0 || ttl > lifetime {
            return refused(format!(
                "a renewal lasts from 1 s to the task's grant lifetime ({} s), not {} s",
                lifetime.as_secs(),
                ttl.as_secs_f64()
            ));
        }
        if self.grant.escalated() {
            return refused(
                "an escalated grant lasts as long as its approver allowed: escalate again".into(),
            );
        }
        let warrant = pipeline::authorize(self, call)?;
        let now = self.runtime.clock.now();
        let wanted = now
            .checked_add(time::Duration::try_from(ttl).unwrap_or(time::Duration::ZERO))
            .unwrap_or(now);
        let until = self.grant.extend_to(wanted);
        let detail = json!({ "expires_at": rfc3339(until) });
        if let Err(error) = warrant.complete_with(Outcome::ok(), Some(detail)) {
            tracing::error!(target: "agentwarrant::ledger", %error, "could not record a grant renewal");
        }
        Ok(until)
    }
}
