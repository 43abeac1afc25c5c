//! The closed vocabularies every layer speaks: a tool's [`Impact`] and an identity's [`Role`].

use std::fmt;
use std::str::FromStr;

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

/// A text that names no [`Impact`]; the message lists the accepted names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("impact must be `low`, `medium`, `high` or `critical`, got `{text}`")]
pub struct ParseImpactError {
    /// The text that was given.
    pub text: String,
}

impl ParseImpactError {
    /// A stable machine-readable code for the error: `invalid_impact`.
    pub fn code(&self) -> &'static str {
        "invalid_impact"
    }
}

impl FromStr for Impact {
    type Err = ParseImpactError;

    /// Parses the lowercase name (`low`, `medium`, `high`, `critical`), as [`Impact::as_str`]
    /// writes it.
    ///
    /// ```
    /// use agentwarrant::Impact;
    /// assert_eq!("high".parse::<Impact>(), Ok(Impact::High));
    /// assert!("urgent".parse::<Impact>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Impact::Low, Impact::Medium, Impact::High, Impact::Critical]
            .into_iter()
            .find(|impact| impact.as_str() == text)
            .ok_or_else(|| ParseImpactError {
                text: text.to_owned(),
            })
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

/// A text that names no [`Role`]; the message lists the accepted names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role must be `orchestrator`, `executor` or `escalation`, got `{text}`")]
pub struct ParseRoleError {
    /// The text that was given.
    pub text: String,
}

impl ParseRoleError {
    /// A stable machine-readable code for the error: `invalid_role`.
    pub fn code(&self) -> &'static str {
        "invalid_role"
    }
}

impl FromStr for Role {
    type Err = ParseRoleError;

    /// Parses the lowercase name (`orchestrator`, `executor`, `escalation`), as
    /// [`Role::as_str`] writes it.
    ///
    /// ```
    /// use agentwarrant::Role;
    /// assert_eq!("executor".parse::<Role>(), Ok(Role::Executor));
    /// assert!("admin".parse::<Role>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Role::Orchestrator, Role::Executor, Role::Escalation]
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| ParseRoleError {
                text: text.to_owned(),
            })
    }
}
