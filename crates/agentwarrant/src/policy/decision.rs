//! The value a policy evaluation produces: effect, reasons, obligations.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::reason::{Effect, Reason, ReasonCode};

/// What the policy asks of the engine beyond the effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Obligations {
    /// How many distinct approvers must approve (N of M); at least 1.
    pub approvers: u8,
    /// Whether the ledger must be synced to disk before the tool runs.
    pub ledger_sync: bool,
    /// The longest the call's approval may stay valid, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ttl_s: Option<u64>,
}

impl Default for Obligations {
    fn default() -> Self {
        Self {
            approvers: 1,
            ledger_sync: false,
            max_ttl_s: None,
        }
    }
}

/// The SHA-256 of a policy's sources and data, hex-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PolicyDigest(pub(crate) String);

impl PolicyDigest {
    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PolicyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The policy's answer for one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[must_use = "a decision says whether the call may run"]
pub struct Decision {
    /// Deny, approval or allow.
    pub effect: Effect,
    /// Every rule that fired for the effect (deny reasons for a deny, approval reasons for an
    /// approval); empty for an allow.
    pub reasons: Vec<Reason>,
    /// Approval reasons that also fired on a denied call, for operators.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Reason>,
    /// What the engine must do beyond the effect.
    pub obligations: Obligations,
    /// Which policy decided.
    pub policy_digest: PolicyDigest,
    /// How long the evaluation took, in microseconds.
    pub eval_us: u64,
    /// The input document the policy was evaluated on (a reference-counted value: keeping it
    /// costs no copy), for the ledger's `decision.input`.
    #[serde(skip)]
    pub(crate) input: Option<regorus::Value>,
}

impl Decision {
    /// Whether any reason has this code.
    pub fn has(&self, code: &ReasonCode) -> bool {
        self.reasons.iter().any(|r| &r.code == code)
    }
}
