//! Errors are for misconfiguration and I/O; policy outcomes are [`Decision`](crate::Decision)s
//! and [`Refusal`](crate::Refusal)s.

use std::path::PathBuf;

/// Any error the library returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The guard, a policy, an identity, an intent or a tool spec is misconfigured.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The ledger could not be read or written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A task could not be used.
    #[error(transparent)]
    Task(#[from] TaskError),
}

impl Error {
    /// A stable machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Build(e) => e.code(),
            Error::Ledger(e) => e.code(),
            Error::Task(e) => e.code(),
        }
    }
}

/// A misconfiguration found while building a guard or one of its inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A Rego module does not compile.
    #[error("policy `{path}` line {line}: {message}")]
    PolicyCompile {
        /// The module's path or name.
        path: String,
        /// The 1-based line of the error, 0 when unknown.
        line: u32,
        /// What the compiler said.
        message: String,
    },
    /// [`Backend::Vm`](crate::Backend::Vm) was chosen for a module with a construct that can
    /// raise, which the RVM would skip instead of refusing the call.
    #[error("policy `{path}` line {line}: {message}")]
    PolicyNotVetted {
        /// The module's path or name.
        path: String,
        /// The 1-based line of the construct.
        line: u32,
        /// The construct, why it can raise, and what to write instead.
        message: String,
    },
    /// A policy source could not be read.
    #[error("cannot read policy `{path}`: {message}")]
    PolicyRead {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        message: String,
        /// The OS error's kind (`Other` when the problem is not the OS's).
        kind: std::io::ErrorKind,
    },
    /// The policy data is not a JSON object, or conflicts with a rule.
    #[error("policy data: {message}")]
    PolicyData {
        /// What is wrong.
        message: String,
    },
    /// The policy has no `agentwarrant` package to evaluate.
    #[error("the policy defines no `package agentwarrant`; add one with `deny`, `require_approval` and `allow` rules")]
    PolicyPackageMissing,
    /// An identity is invalid.
    #[error("identity `{id}`: {problem}")]
    InvalidIdentity {
        /// The identity's id as given.
        id: String,
        /// What is wrong.
        problem: String,
    },
    /// An intent is invalid.
    #[error("intent: {problem}")]
    InvalidIntent {
        /// What is wrong.
        problem: String,
    },
    /// A tool spec is invalid.
    #[error("tool `{tool}`: {problem}")]
    InvalidTool {
        /// The tool's name.
        tool: String,
        /// What is wrong.
        problem: String,
    },
    /// Two different tool specs share a name (declaring an equal spec again is harmless).
    #[error("tool `{tool}` is already declared with another spec")]
    DuplicateTool {
        /// The tool's name.
        tool: String,
    },
    /// The guard's environment is not one it declares (a misspelling would otherwise run
    /// production work as non-production), or the declaration itself is malformed.
    #[error("environment `{env}`: {problem}")]
    InvalidEnvironment {
        /// The environment the guard was given.
        env: String,
        /// What is wrong, with the declared environments.
        problem: String,
    },
    /// A redaction pattern of the user's does not compile, matches empty text, or has a
    /// malformed kind.
    #[error("redaction pattern `{kind}`: {problem}")]
    InvalidRedaction {
        /// The kind the pattern was given.
        kind: String,
        /// What is wrong.
        problem: String,
    },
    /// A limit is out of its range (e.g. a grant lifetime of zero or past a year).
    #[error("limit `{limit}`: {problem}")]
    InvalidLimits {
        /// The limit's field in `Limits`.
        limit: String,
        /// What is wrong, with the accepted range.
        problem: String,
    },
}

impl BuildError {
    /// A stable machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            BuildError::PolicyCompile { .. } => "policy_compile",
            BuildError::PolicyNotVetted { .. } => "policy_not_vetted",
            BuildError::PolicyRead { .. } => "policy_read",
            BuildError::PolicyData { .. } => "policy_data",
            BuildError::PolicyPackageMissing => "policy_package_missing",
            BuildError::InvalidIdentity { .. } => "invalid_identity",
            BuildError::InvalidIntent { .. } => "invalid_intent",
            BuildError::InvalidTool { .. } => "invalid_tool",
            BuildError::DuplicateTool { .. } => "duplicate_tool",
            BuildError::InvalidLimits { .. } => "invalid_limits",
            BuildError::InvalidEnvironment { .. } => "invalid_environment",
            BuildError::InvalidRedaction { .. } => "invalid_redaction",
        }
    }
}

/// The ledger failed, or a ledger file does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// Reading or writing failed.
    #[error("ledger `{path}`: {message}")]
    Io {
        /// The ledger file.
        path: PathBuf,
        /// What the OS said.
        message: String,
        /// The OS error's kind (`Other` when the problem is not the OS's).
        kind: std::io::ErrorKind,
    },
    /// A record breaks the hash chain.
    #[error("ledger `{path}` is broken at line {line}: {problem}")]
    Broken {
        /// The ledger file.
        path: PathBuf,
        /// The 1-based line of the first broken record.
        line: u64,
        /// What is wrong with it.
        problem: String,
    },
    /// Another writer (in this or another process) holds the ledger file.
    #[error("ledger `{path}` is open in another writer (this or another process); use one FileLedger per file")]
    Locked {
        /// The ledger file.
        path: PathBuf,
    },
    /// A record could not be serialized.
    #[error("ledger record could not be encoded: {message}")]
    Encode {
        /// What serde said.
        message: String,
    },
}

impl LedgerError {
    /// An I/O error of the ledger at `path`, keeping the OS error's kind.
    pub fn io(path: impl Into<PathBuf>, error: &std::io::Error) -> Self {
        LedgerError::Io {
            path: path.into(),
            message: error.to_string(),
            kind: error.kind(),
        }
    }

    /// A failure of the ledger at `path` that is not an OS error (kind `Other`), e.g. from a
    /// [`Sink`](crate::ledger::Sink)'s storage.
    pub fn other(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        LedgerError::Io {
            path: path.into(),
            message: message.into(),
            kind: std::io::ErrorKind::Other,
        }
    }

    /// A stable machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::Io { .. } => "ledger_io",
            LedgerError::Broken { .. } => "ledger_broken",
            LedgerError::Locked { .. } => "ledger_locked",
            LedgerError::Encode { .. } => "ledger_encode",
        }
    }
}

/// A task could not begin, delegate or end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The task has ended; its grant is revoked.
    #[error("task `{task}` has ended; begin a new task")]
    Ended {
        /// The task's id.
        task: String,
    },
    /// The identity's task was suspended after repeated refusals: it may not begin a fresh
    /// task until a human reinstates it (`Guard::reinstate_identity`), nor may a non-human reinstate it.
    #[error("identity `{identity}` is suspended: {problem}")]
    Suspended {
        /// The identity.
        identity: String,
        /// Why, and what to do.
        problem: String,
    },
    /// The guard's credential broker could not mint the task's credential: the task does not
    /// begin (fix the broker's store or permissions, then begin again).
    #[error("task of `{identity}`: no credential could be minted for its grant: {problem}")]
    CredentialUnavailable {
        /// The identity the task would have run as.
        identity: String,
        /// What the broker said.
        problem: String,
    },
    /// The task ended, but its credential could not be revoked (after retries): it is recorded
    /// in the ledger and kept by the guard until `Guard::retry_revocations` revokes it.
    #[error(
        "task `{task}` ended, but its credential `{credential}` is not revoked yet: {problem}"
    )]
    CredentialNotRevoked {
        /// The task's id.
        task: String,
        /// The credential's id.
        credential: String,
        /// What the broker said.
        problem: String,
    },
    /// A chain token was refused: forged, altered, expired, already used, from a task that
    /// ended, or asked to continue with more than it hands on. No task begins.
    #[error("chain token refused: {problem}")]
    ChainTokenInvalid {
        /// What was wrong, and what to do.
        problem: String,
    },
    /// The ledger refused the record, so the task did not change state. The ledger's error is
    /// the `source`, not repeated in this message.
    #[error("task `{task}`: the ledger refused its record")]
    Ledger {
        /// The task's id.
        task: String,
        /// The ledger's error.
        source: LedgerError,
    },
}

impl TaskError {
    /// A stable machine-readable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            TaskError::Ended { .. } => "task_ended",
            TaskError::Suspended { .. } => "task_suspended",
            TaskError::CredentialUnavailable { .. } => "credential_unavailable",
            TaskError::CredentialNotRevoked { .. } => "credential_not_revoked",
            TaskError::ChainTokenInvalid { .. } => "chain_token_invalid",
            TaskError::Ledger { .. } => "ledger_error",
        }
    }
}
