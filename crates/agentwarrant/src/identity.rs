//! Non-human identities, their roles and accountable human owners.

use serde_json::{Map, Value};

use crate::error::BuildError;
use crate::kinds::Role;
use crate::principal::Principal;
use crate::scope::ScopeSet;

/// A non-human identity: who a task runs as, and the human accountable for it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub(crate) id: String,
    /// `id` in canonical form, computed once (the kill switch and the known-agents set
    /// compare these).
    pub(crate) principal: Principal,
    pub(crate) role: Role,
    pub(crate) owner: String,
    pub(crate) ceiling: ScopeSet,
    pub(crate) attributes: Map<String, Value>,
}

impl Identity {
    /// Starts an identity with its id (URI-like, e.g. `agent://acme/ops`), role and owner.
    ///
    /// ```
    /// use agentwarrant::{Identity, Role};
    /// let ops = Identity::builder("agent://acme/ops", Role::Executor, "alice@acme.com")
    ///     .ceiling(["secrets.read:*", "email.send:*@acme.com"])
    ///     .build()?;
    /// assert_eq!(ops.owner(), "alice@acme.com");
    /// # Ok::<(), agentwarrant::BuildError>(())
    /// ```
    pub fn builder(id: impl Into<String>, role: Role, owner: impl Into<String>) -> IdentityBuilder {
        IdentityBuilder {
            id: id.into(),
            role,
            owner: owner.into(),
            ceiling: Vec::new(),
            attributes: Map::new(),
        }
    }

    /// The identity's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The identity's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The accountable human owner.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The scopes this identity may ever hold.
    pub fn ceiling(&self) -> &ScopeSet {
        &self.ceiling
    }

    /// Free attributes, visible to the policy.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attributes
    }
}

/// Builds an [`Identity`]; validation happens in [`IdentityBuilder::build`].
#[derive(Debug, Clone)]
pub struct IdentityBuilder {
    id: String,
    role: Role,
    owner: String,
    ceiling: Vec<String>,
    attributes: Map<String, Value>,
}

impl IdentityBuilder {
    /// Adds ceiling scope patterns (the widest scopes the identity may ever hold).
    pub fn ceiling<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ceiling.extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Sets one attribute.
    pub fn attribute(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }

    /// Replaces all attributes.
    pub fn attributes(mut self, attributes: Map<String, Value>) -> Self {
        self.attributes = attributes;
        self
    }

    /// Validates the id, the owner and the ceiling patterns.
    pub fn build(self) -> Result<Identity, BuildError> {
        let invalid = |problem: String| BuildError::InvalidIdentity {
            id: self.id.clone(),
            problem,
        };
        if self.id.trim().is_empty() || self.id.chars().any(char::is_whitespace) {
            return Err(invalid(
                "the id must be non-empty and contain no whitespace".into(),
            ));
        }
        if self.owner.trim().is_empty() {
            return Err(invalid(
                "every identity needs an accountable human owner".into(),
            ));
        }
        if self.owner.starts_with("agent://") || self.owner == self.id {
            return Err(invalid("the owner must be a human, not an agent".into()));
        }
        let ceiling = ScopeSet::parse(&self.ceiling).map_err(|e| invalid(e.to_string()))?;
        Ok(Identity {
            principal: Principal::new(&self.id),
            id: self.id,
            role: self.role,
            owner: self.owner,
            ceiling,
            attributes: self.attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_parses_its_own_names_and_names_the_accepted_ones_otherwise() {
        for role in [Role::Orchestrator, Role::Executor, Role::Escalation] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        let err = "admin".parse::<Role>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "role must be `orchestrator`, `executor` or `escalation`, got `admin`"
        );
    }
}
