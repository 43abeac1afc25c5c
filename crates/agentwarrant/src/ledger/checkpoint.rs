//! Signed checkpoints: the hash chain shows that no record was changed *relative to the
//! others*; a checkpoint signed with a key the writer holds shows that nobody rewrote the
//! whole chain. Every `every` records, and when a ledger closes, the ledger seals a
//! `ledger.checkpoint` record whose Ed25519 signature covers the head before it (`seq` and
//! `hash` of the previous record, so every record up to it). Rewriting a record then needs the
//! private key; cutting the tail shows as a ledger that does not end on a closing checkpoint.

use ed25519_dalek::{Signer, Verifier};
use serde_json::{json, Value as Json};

use super::{Record, RecordKind};
use crate::canonical::{from_hex, sha256_hex, to_hex};

/// What a checkpoint's signature covers.
fn message(seq: u64, hash: &str) -> Vec<u8> {
    format!("agentwarrant-checkpoint/v1\n{seq}\n{hash}").into_bytes()
}

/// The key that signs a ledger's checkpoints (Ed25519). Keep it where the ledger's readers
/// cannot write: whoever holds it can sign a rewritten ledger.
#[derive(Clone)]
pub struct CheckpointKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SECURITY: never print the key.
        write!(f, "CheckpointKey({})", self.verifying_key().key_id())
    }
}

impl CheckpointKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self::from_bytes(seed)
    }

    /// The key for a 32-byte secret seed (e.g. from a secret store).
    pub fn from_bytes(seed: [u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The public half, to verify the checkpoints with (`agentwarrant verify --key HEX`).
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    fn sign(&self, seq: u64, hash: &str) -> String {
        to_hex(&self.0.sign(&message(seq, hash)).to_bytes())
    }
}

/// The public key that verifies a ledger's checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl VerifyingKey {
    /// The key from its 64 hex digits, as [`VerifyingKey::to_hex`] writes it.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = from_hex(text.trim()).ok_or("a checkpoint key is 64 hex digits")?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "a checkpoint key is 64 hex digits".to_owned())?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| "not an Ed25519 public key".to_owned())
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        to_hex(self.0.as_bytes())
    }

    /// The key's id as recorded in each checkpoint: the first 16 hex digits of the SHA-256 of
    /// the public key.
    pub fn key_id(&self) -> String {
        sha256_hex(self.0.as_bytes())[..16].to_owned()
    }

    /// Whether `signature` (hex) signs the head `(seq, hash)`.
    pub(crate) fn verifies(&self, seq: u64, hash: &str, signature: &str) -> bool {
        let Some(bytes) = from_hex(signature) else {
            return false;
        };
        let Ok(bytes) = <[u8; 64]>::try_from(bytes) else {
            return false;
        };
        self.0
            .verify(
                &message(seq, hash),
                &ed25519_dalek::Signature::from_bytes(&bytes),
            )
            .is_ok()
    }
}

/// A ledger's checkpoint settings: the key and how often.
#[derive(Debug, Clone)]
pub(crate) struct Checkpoints {
    pub(crate) key: CheckpointKey,
    /// Records between two checkpoints.
    pub(crate) every: u64,
}

impl Checkpoints {
    /// Whether `seq` is a checkpoint's place: every `every + 1`-th record.
    pub(crate) fn is_slot(&self, seq: u64) -> bool {
        seq.is_multiple_of(self.every + 1)
    }
}

/// Gives `record` the next `seq` and queues it, first queuing a checkpoint placeholder when
/// that `seq` is a checkpoint's place. Returns the record's `seq`.
pub(crate) fn enqueue<T>(
    checkpoints: Option<&Checkpoints>,
    next_seq: &mut u64,
    queue: &mut Vec<T>,
    mut record: Record,
    mut entry: impl FnMut(Record) -> T,
) -> u64 {
    if checkpoints.is_some_and(|c| c.is_slot(*next_seq)) {
        let mut checkpoint = placeholder(false);
        checkpoint.seq = *next_seq;
        queue.push(entry(checkpoint));
        *next_seq += 1;
    }
    let seq = *next_seq;
    record.seq = seq;
    queue.push(entry(record));
    *next_seq += 1;
    seq
}

/// A checkpoint record to be signed when sealed (the sealer fills its detail).
pub(crate) fn placeholder(closing: bool) -> Record {
    Record {
        schema: 0,
        seq: 0,
        ts: crate::clock::rfc3339(time::OffsetDateTime::now_utc()),
        kind: RecordKind::LedgerCheckpoint,
        task_id: String::new(),
        call_id: None,
        parent_call_id: None,
        identity: String::new(),
        owner: String::new(),
        intent: String::new(),
        tool: None,
        args: None,
        args_digest: None,
        decision: None,
        approver: None,
        outcome: None,
        detail: Some(json!({ "closing": closing })),
        prev: String::new(),
        hash: String::new(),
    }
}

/// Fills a checkpoint placeholder's detail: the signature over the head before it.
pub(crate) fn sign(record: &mut Record, key: &CheckpointKey, seq: u64, prev: &str) {
    let closing = record
        .detail
        .as_ref()
        .and_then(|d| d.get("closing"))
        .and_then(Json::as_bool)
        .unwrap_or(false);
    record.detail = Some(json!({
        "key_id": key.verifying_key().key_id(),
        "signed_seq": seq,
        "signed_hash": prev,
        "signature": key.sign(seq, prev),
        "closing": closing,
    }));
}

/// Whether a record is a checkpoint still to be signed.
pub(crate) fn unsigned(record: &Record) -> bool {
    record.kind == RecordKind::LedgerCheckpoint
        && record
            .detail
            .as_ref()
            .is_none_or(|d| d.get("signature").is_none())
}
