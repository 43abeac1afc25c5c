//! The ledger: an append-only, hash-chained record of intent, identity, tool, decision, approver
//! and outcome. Records are written before the tool runs; a ledger that cannot write refuses
//! the call.
//!
//! Each record's `hash` is the SHA-256 of its canonical JSON (sorted keys, no whitespace)
//! without the `hash` field; `prev` is the previous record's hash (64 zeros for the first).
//! The library seals every record (`seq`, `prev`, `hash`, in [`encode`]): the built-in
//! [`FileLedger`] and [`MemoryLedger`] store them, and a [`Sink`] wrapped in a [`SinkLedger`]
//! stores them anywhere else (a database, a log pipeline) without touching the chain.

mod checkpoint;
mod encode;
mod file;
mod memory;
mod read;
mod rotate;
mod sink;
mod verify;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use crate::canonical::{canonical_json, sha256_hex};
pub use checkpoint::{CheckpointKey, VerifyingKey};
pub use file::{Durability, FileLedger, FileLedgerOptions};
pub use memory::MemoryLedger;
pub use read::{read, RecordFilter};
pub use sink::{SealedRecord, Sink, SinkLedger};
pub use verify::{verify, verify_reader, verify_signed, verify_str, Head, Report};

use crate::error::LedgerError;

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The version of the record format this library writes. `verify` refuses a record of a newer
/// version (one this library cannot vouch for) and accepts records without one (`0`, written
/// before the field existed).
pub const SCHEMA: u32 = 1;

/// What a record records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RecordKind {
    /// A task began.
    #[serde(rename = "task.begun")]
    TaskBegun,
    /// A grant was issued to a task.
    #[serde(rename = "grant.issued")]
    GrantIssued,
    /// A call was decided (allowed, approved or refused).
    #[serde(rename = "call.decided")]
    CallDecided,
    /// A call was sent for approval.
    #[serde(rename = "approval.requested")]
    ApprovalRequested,
    /// The approver answered.
    #[serde(rename = "approval.answered")]
    ApprovalAnswered,
    /// A call's tool finished, failed, or its warrant was abandoned.
    #[serde(rename = "call.completed")]
    CallCompleted,
    /// A task's grant was revoked.
    #[serde(rename = "grant.revoked")]
    GrantRevoked,
    /// A task ended.
    #[serde(rename = "task.ended")]
    TaskEnded,
    /// A task tree was suspended after repeated refusals.
    #[serde(rename = "task.suspended")]
    TaskSuspended,
    /// A human reinstated a suspended task tree.
    #[serde(rename = "task.reinstated")]
    TaskReinstated,
    /// A signed checkpoint over every record before it.
    #[serde(rename = "ledger.checkpoint")]
    LedgerCheckpoint,
    /// The ledger was opened after a crash: a torn last line was moved aside.
    #[serde(rename = "ledger.recovered")]
    LedgerRecovered,
}

impl RecordKind {
    /// The dotted name, e.g. `call.decided`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::TaskBegun => "task.begun",
            RecordKind::GrantIssued => "grant.issued",
            RecordKind::CallDecided => "call.decided",
            RecordKind::ApprovalRequested => "approval.requested",
            RecordKind::ApprovalAnswered => "approval.answered",
            RecordKind::CallCompleted => "call.completed",
            RecordKind::GrantRevoked => "grant.revoked",
            RecordKind::TaskEnded => "task.ended",
            RecordKind::TaskSuspended => "task.suspended",
            RecordKind::TaskReinstated => "task.reinstated",
            RecordKind::LedgerCheckpoint => "ledger.checkpoint",
            RecordKind::LedgerRecovered => "ledger.recovered",
        }
    }
}

/// The decision part of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// `allow`, `approval` or `deny` (the policy's effect, or `deny` for an engine refusal).
    pub effect: String,
    /// Reason strings, `code` or `code: detail`.
    pub reasons: Vec<String>,
    /// The digest of the policy that decided; absent when the call was refused before policy.
    pub policy_digest: Option<String>,
    /// Evaluation time in microseconds.
    pub eval_us: u64,
    /// The policy input document the decision was made on, its args redacted as the record's
    /// (what `agentwarrant replay` evaluates again); absent when the call was refused before
    /// the policy or the guard records no inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<RecordedInput>,
}

/// A decision's policy input as a record keeps it: its canonical JSON text (the bytes the
/// record's hash covers), written once when the record is made. It reads and writes as the
/// JSON document it holds.
///
/// ```
/// use agentwarrant::ledger::RecordedInput;
/// let input = RecordedInput::from_json(&serde_json::json!({"call": {"tool": "x"}, "chain": {}}));
/// assert_eq!(input.as_str(), r#"{"call":{"tool":"x"},"chain":{}}"#);
/// assert_eq!(input.to_json()["call"]["tool"], "x");
/// assert_eq!(serde_json::to_string(&input)?, input.as_str());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RecordedInput(String);

impl RecordedInput {
    /// The canonical text of `document`.
    pub fn from_json(document: &Json) -> Self {
        Self::from_canonical(crate::canonical::canonical_json(document))
    }

    /// Text the library wrote canonically.
    pub(crate) fn from_canonical(bytes: Vec<u8>) -> Self {
        Self(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    }

    /// The canonical JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The document (`null` if the text were not JSON, which the library never writes).
    pub fn to_json(&self) -> Json {
        serde_json::from_str(&self.0).unwrap_or(Json::Null)
    }
}

impl std::fmt::Debug for RecordedInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RecordedInput {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RecordedInput {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Json::deserialize(deserializer).map(|document| Self::from_json(&document))
    }
}

/// The outcome part of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    /// `allowed`, `approved`, `denied`, `approval_denied` (for `call.decided`); `ok`, `error`,
    /// `abandoned` (for `call.completed`).
    pub status: String,
    /// How long the tool ran, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_us: Option<u64>,
    /// Labels the result added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// The error message, for `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One ledger record (one JSON line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The record format's version ([`SCHEMA`]); `0` for records written before it existed.
    #[serde(default)]
    pub schema: u32,
    /// Position in the ledger, from 1.
    pub seq: u64,
    /// When, RFC 3339 in UTC.
    pub ts: String,
    /// What this record records.
    pub kind: RecordKind,
    /// The task.
    pub task_id: String,
    /// The call, for call and approval records.
    pub call_id: Option<String>,
    /// The call this call ran inside.
    pub parent_call_id: Option<String>,
    /// The non-human identity the task runs as.
    pub identity: String,
    /// The identity's accountable human owner.
    pub owner: String,
    /// The task's goal.
    pub intent: String,
    /// The tool, for call records.
    pub tool: Option<String>,
    /// The call's args, sensitive ones redacted.
    pub args: Option<Json>,
    /// SHA-256 of the canonical JSON of the original args.
    pub args_digest: Option<String>,
    /// The decision, for `call.decided`.
    pub decision: Option<DecisionRecord>,
    /// The approvers, for approval records and approved calls.
    pub approver: Option<Vec<String>>,
    /// The outcome, for `call.decided` and `call.completed`.
    pub outcome: Option<OutcomeRecord>,
    /// Kind-specific facts (grant scopes and expiry, the intent in full, approval request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Json>,
    /// The previous record's hash.
    pub prev: String,
    /// This record's hash.
    pub hash: String,
}

/// Where the guard's records go: a [`FileLedger`], a [`MemoryLedger`], or a [`SinkLedger`]
/// over storage of your own. Every implementation seals records (`seq`, `prev`, `hash`) in
/// append order through the library's sealer and reports success only for a record it
/// stored; the trait is sealed so that no implementation can get the chain wrong.
pub trait Ledger: Send + Sync + private::Sealed {
    /// Appends `record` (its `schema`, `seq`, `prev` and `hash` are set by the ledger) and
    /// returns its `seq`; on error nothing is stored.
    fn append(&self, record: Record) -> Result<u64, LedgerError>;

    /// Makes appended records durable (for buffered ledgers); the default does nothing.
    fn flush(&self) -> Result<(), LedgerError> {
        Ok(())
    }
}

impl<L: Ledger + ?Sized> Ledger for std::sync::Arc<L> {
    fn append(&self, record: Record) -> Result<u64, LedgerError> {
        (**self).append(record)
    }

    fn flush(&self) -> Result<(), LedgerError> {
        (**self).flush()
    }
}

mod private {
    /// Only the library's ledgers implement [`Ledger`](super::Ledger).
    pub trait Sealed {}
    impl Sealed for super::FileLedger {}
    impl Sealed for super::MemoryLedger {}
    impl<S: super::Sink> Sealed for super::SinkLedger<S> {}
    impl<L: Sealed + ?Sized> Sealed for std::sync::Arc<L> {}
}
