//! What a task was asked to do: the yardstick for scope and impact drift.

use serde_json::{Map, Value};

use crate::error::BuildError;
use crate::kinds::Impact;
use crate::scope::ScopeSet;

/// A task's original request: its goal, the scopes it needs and the highest impact it expects.
#[derive(Debug, Clone)]
pub struct Intent {
    pub(crate) goal: String,
    pub(crate) scopes: ScopeSet,
    pub(crate) max_impact: Option<Impact>,
    pub(crate) attributes: Map<String, Value>,
}

impl Intent {
    /// Starts an intent with its goal text.
    ///
    /// ```
    /// use agentwarrant::{Impact, Intent};
    /// let intent = Intent::builder("rotate the db password")
    ///     .scopes(["secrets.read:db/*", "secrets.write:db/*"])
    ///     .max_impact(Impact::Medium)
    ///     .build()?;
    /// assert_eq!(intent.goal(), "rotate the db password");
    /// # Ok::<(), agentwarrant::BuildError>(())
    /// ```
    pub fn builder(goal: impl Into<String>) -> IntentBuilder {
        IntentBuilder {
            goal: goal.into(),
            scopes: Vec::new(),
            max_impact: None,
            attributes: Map::new(),
        }
    }

    /// The goal text.
    pub fn goal(&self) -> &str {
        &self.goal
    }

    /// The scopes the task needs.
    pub fn scopes(&self) -> &ScopeSet {
        &self.scopes
    }

    /// The highest impact the task expects; `None` sets no bound.
    pub fn max_impact(&self) -> Option<Impact> {
        self.max_impact
    }

    /// Free attributes, visible to the policy.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attributes
    }
}

/// Builds an [`Intent`]; validation happens in [`IntentBuilder::build`].
#[derive(Debug, Clone)]
pub struct IntentBuilder {
    goal: String,
    scopes: Vec<String>,
    max_impact: Option<Impact>,
    attributes: Map<String, Value>,
}

impl IntentBuilder {
    /// Adds scope patterns the task needs.
    pub fn scopes<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes.extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Sets the highest impact the task expects.
    pub fn max_impact(mut self, impact: Impact) -> Self {
        self.max_impact = Some(impact);
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

    /// Validates the scope patterns.
    pub fn build(self) -> Result<Intent, BuildError> {
        let scopes = ScopeSet::parse(&self.scopes).map_err(|e| BuildError::InvalidIntent {
            problem: e.to_string(),
        })?;
        Ok(Intent {
            goal: self.goal,
            scopes,
            max_impact: self.max_impact,
            attributes: self.attributes,
        })
    }
}
