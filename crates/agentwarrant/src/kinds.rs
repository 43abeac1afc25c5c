//! The closed vocabularies every layer speaks: a tool's [`Impact`] and an identity's [`Role`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// How much harm a tool can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    /// Reads and harmless actions.
    Low,
    /// Ordinary, reversible changes.
    Medium,
    /// Changes that matter.
    High,
    /// Changes that can hurt badly.
    Critical,
}

impl Impact {
    /// The weight this impact adds to a task's cumulative impact: 0, 1, 3, 5.
    pub fn weight(self) -> u32 {
        match self {
            Impact::Low => 0,
            Impact::Medium => 1,
            Impact::High => 3,
            Impact::Critical => 5,
        }
    }

    /// The lowercase name, as in the policy input.
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::Low => "low",
            Impact::Medium => "medium",
            Impact::High => "high",
            Impact::Critical => "critical",
        }
    }
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role a non-human identity plays; governance guidance asks for a separate identity per role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Plans and delegates work.
    Orchestrator,
    /// Runs tools for a task.
    Executor,
    /// Holds elevated, time-boxed, approved grants; its calls always need four eyes.
    Escalation,
}

impl Role {
    /// The role's lowercase name, as in the policy input.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Orchestrator => "orchestrator",
            Role::Executor => "executor",
            Role::Escalation => "escalation",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
