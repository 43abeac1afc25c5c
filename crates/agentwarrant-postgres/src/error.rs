//! Errors of configuration: a broker that cannot be built says why at start-up, never per task.

/// Why a [`PostgresBroker`](crate::PostgresBroker) could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The connection URL or `key=value` string does not parse.
    #[error("the PostgreSQL connection string does not parse: {message}")]
    InvalidConnection {
        /// What the parser reported (the string itself is not repeated: it may hold a
        /// password).
        message: String,
    },
    /// A role prefix that could collide with other roles or is not a plain name.
    #[error("role prefix `{prefix}` is not usable: {problem}")]
    InvalidRolePrefix {
        /// The prefix given.
        prefix: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A scope of the mapping does not parse.
    #[error("scope `{scope}` of the privilege mapping does not parse: {message}")]
    InvalidScope {
        /// The scope given.
        scope: String,
        /// What the parser reported.
        message: String,
    },
    /// A mapping entry that cannot be granted (a bad name, a privilege the object does not
    /// have, nothing named).
    #[error("the privileges mapped to scope `{scope}` cannot be granted: {problem}")]
    InvalidGrant {
        /// The entry's scope.
        scope: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A fleet store configured so that it could not work (a bad schema name, a poll
    /// interval not below the staleness bound).
    #[error("the PostgreSQL store is not usable: {problem}")]
    InvalidStore {
        /// What is wrong.
        problem: String,
    },
}

impl BuildError {
    /// A stable machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            BuildError::InvalidConnection { .. } => "postgres_invalid_connection",
            BuildError::InvalidRolePrefix { .. } => "postgres_invalid_role_prefix",
            BuildError::InvalidScope { .. } => "postgres_invalid_scope",
            BuildError::InvalidGrant { .. } => "postgres_invalid_grant",
            BuildError::InvalidStore { .. } => "postgres_invalid_store",
        }
    }
}
