//! Why a call was decided as it was: the effect, and reasons with stable codes. Shared by the
//! policy, the engine's own checks and approvals.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What the policy decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// The call may run.
    Allow,
    /// The call may run once a human approves it.
    Approval,
    /// The call is refused.
    Deny,
}

impl Effect {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Approval => "approval",
            Effect::Deny => "deny",
        }
    }
}

macro_rules! reason_codes {
    ($($variant:ident = $slug:literal: $text:literal,)*) => {
        /// A stable, snake_case reason code. Shipped codes are never renamed.
        ///
        /// Codes a user's own policy emits that the library does not know are kept as
        /// [`ReasonCode::Custom`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ReasonCode {
            $(
                #[doc = $text]
                $variant,
            )*
            /// A code from a user's policy that the library does not define.
            Custom(String),
        }

        impl ReasonCode {
            /// Every code the library defines, in documentation order.
            pub const BUILTIN: &'static [ReasonCode] = &[$(ReasonCode::$variant,)*];

            /// The code's slug, e.g. `"scope_drift"`.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ReasonCode::$variant => $slug,)*
                    ReasonCode::Custom(code) => code,
                }
            }

            /// A short explanation an agent or a person can act on.
            pub fn describe(&self) -> &str {
                match self {
                    $(ReasonCode::$variant => $text,)*
                    ReasonCode::Custom(code) => code,
                }
            }

            /// The code for a slug; unknown slugs become [`ReasonCode::Custom`].
            pub fn from_slug(slug: &str) -> Self {
                match slug {
                    $($slug => ReasonCode::$variant,)*
                    other => ReasonCode::Custom(other.to_owned()),
                }
            }
        }
    };
}

reason_codes! {
    OutsideCeiling = "outside_ceiling": "a required scope is outside the identity's ceiling",
    GrantInvalid = "grant_invalid": "the task's grant is expired or revoked",
    DepthExceeded = "depth_exceeded": "the call chain is nested deeper than allowed",
    CallBudgetExceeded = "call_budget_exceeded": "the task has used up its call budget",
    Exfiltration = "exfiltration": "an external send after a secret was read",
    RoleNotPermitted = "role_not_permitted": "the identity's role may not call this tool",
    HighImpact = "high_impact": "the tool's impact is high or critical",
    ProductionChange = "production_change": "a change in production",
    SecretAccess = "secret_access": "the tool reads a secret",
    RbacChange = "rbac_change": "the tool changes access control",
    ExternalTransaction = "external_transaction": "a financial transaction outside the organisation",
    Irreversible = "irreversible": "the tool's effect cannot be undone",
    ScopeDrift = "scope_drift": "a required scope is outside the task's intent",
    UntrustedInput = "untrusted_input": "untrusted content was read earlier in the task",
    CumulativeImpact = "cumulative_impact": "the task's cumulative impact would exceed its limit",
    ImpactDrift = "impact_drift": "the tool's impact is above the task's declared maximum",
    UnknownTool = "unknown_tool": "the tool is not declared to the guard",
    InvalidCall = "invalid_call": "the call is malformed or over the size limits",
    PolicyError = "policy_error": "the policy could not be evaluated",
    NotAllowed = "not_allowed": "the policy did not allow the call",
    ApprovalUnavailable = "approval_unavailable": "approval is needed but no approver could answer",
    ApprovalTimeout = "approval_timeout": "the approver did not answer in time",
    ApprovalDenied = "approval_denied": "the approver refused the call",
    ApprovalInvalid = "approval_invalid": "the approval failed the engine's checks",
    LedgerError = "ledger_error": "the ledger could not record the call",
    StoreUnavailable = "store_unavailable": "a shared store (kill switches and revocations, or approvals) could not answer",
    TaskSuspended = "task_suspended": "the task was suspended after repeated refusals; a human must reinstate it",
    Escalation = "escalation": "an escalation (a separate, time-boxed grant under an escalation identity) needs a four-eyes approval",
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ReasonCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ReasonCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::from_slug(&String::deserialize(deserializer)?))
    }
}

/// One reason a rule fired: a stable code and an optional detail.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reason {
    /// The stable code.
    pub code: ReasonCode,
    /// What specifically fired (e.g. the offending scope), for operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Reason {
    /// A reason without detail.
    pub fn new(code: ReasonCode) -> Self {
        Self { code, detail: None }
    }

    /// A reason with a detail.
    pub fn with_detail(code: ReasonCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: Some(detail.into()),
        }
    }

    /// Parses a policy's reason string: `"code"` or `"code: detail"`.
    pub fn parse(text: &str) -> Self {
        match text.split_once(": ") {
            Some((code, detail)) => Self::with_detail(ReasonCode::from_slug(code.trim()), detail),
            None => Self::new(ReasonCode::from_slug(text.trim())),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "{}: {detail}", self.code),
            None => write!(f, "{}", self.code),
        }
    }
}
