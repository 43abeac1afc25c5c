//! The ledger: an append-only, hash-chained record of intent, identity, tool, decision, approver
//! and outcome. Records are written before the tool runs; a ledger that cannot write refuses
//! the call.
//!
//! Each record's `hash` is the SHA-256 of its canonical JSON (sorted keys, no whitespace)
//! without the `hash` field; `prev` is the previous record's hash (64 zeros for the first).

mod file;
mod memory;

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

pub use file::{Durability, FileLedger};
pub use memory::MemoryLedger;

use crate::error::LedgerError;

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// Where records go. Implementations seal records (assign `seq`, `prev`, `hash`) in append
/// order and must not report success for a record they did not store.
pub trait Ledger: Send + Sync {
    /// Seals and stores `record`; on error nothing is stored.
    fn append(&self, record: Record) -> Result<Record, LedgerError>;

    /// Appends `record` like [`Ledger::append`] and returns only its `seq`. The guard calls
    /// this on every call, where nothing needs the sealed copy back: a ledger that keeps records
    /// can store the one it is given instead of copying it. The default calls `append`.
    fn append_seq(&self, record: Record) -> Result<u64, LedgerError> {
        self.append(record).map(|sealed| sealed.seq)
    }

    /// Makes appended records durable (for buffered ledgers); the default does nothing.
    fn flush(&self) -> Result<(), LedgerError> {
        Ok(())
    }
}

impl<L: Ledger + ?Sized> Ledger for std::sync::Arc<L> {
    fn append(&self, record: Record) -> Result<Record, LedgerError> {
        (**self).append(record)
    }

    fn append_seq(&self, record: Record) -> Result<u64, LedgerError> {
        (**self).append_seq(record)
    }

    fn flush(&self) -> Result<(), LedgerError> {
        (**self).flush()
    }
}

/// A record's canonical JSON without `hash`, `prev` and `seq`, ready to be sealed.
///
/// The three members the chain decides sit together in key order (`hash` after `detail`;
/// `prev` and `seq` after `parent_call_id`), so the bytes are kept in three runs and the
/// SHA-256 of the first two is computed here, before the chain's lock is taken: sealing then
/// hashes only `prev`, `seq` and the short tail.
pub(crate) struct Encoded {
    /// `{"approver":…,"detail":…,` then `"identity":…,"parent_call_id":…,` then
    /// `"task_id":…,"ts":…}`.
    bytes: Vec<u8>,
    /// Where `"hash":…,` goes in the line.
    hash_at: usize,
    /// Where `"prev":…,"seq":…,` goes in the line and in the hashed bytes.
    seq_at: usize,
    /// SHA-256 state over `bytes[..seq_at]`.
    hasher: Sha256,
}

/// The chain's part of a sealed record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seal {
    pub(crate) seq: u64,
    pub(crate) prev: Hex,
    pub(crate) hash: Hex,
}

/// A SHA-256 in lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hex([u8; 64]);

impl std::fmt::Debug for Hex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Hex {
    pub(crate) const ZERO: Hex = Hex([b'0'; 64]);

    fn of(digest: &[u8]) -> Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'0'; 64];
        for (pair, byte) in out.chunks_exact_mut(2).zip(digest) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xf)];
        }
        Self(out)
    }

    /// The hex text, if `text` is one (what `prev` resumes from).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let bytes: [u8; 64] = text.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .then_some(Self(bytes))
    }

    pub(crate) fn as_str(&self) -> &str {
        // INVARIANT: only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Appends `"name":` (names are plain ASCII, no escaping needed).
fn key(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends a JSON string exactly as serde_json writes it.
///
/// That is: quote and backslash escaped, the control characters below 0x20 as `\b`, `\t`,
/// `\n`, `\f`, `\r` or `\u00xx` (lowercase hex), everything else (DEL and all non-ASCII
/// included) as is. Runs of bytes that need nothing are found eight at a time and copied whole.
fn string(out: &mut Vec<u8>, text: &str) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    /// Whether any byte of `word` is below 0x20, `"` or `\\` (may say yes for a byte that is
    /// not, after one that is: the chunk is then looked at byte by byte).
    fn special(word: u64) -> bool {
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
        let below = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
        below | zero(word ^ (ONES * u64::from(b'"'))) | zero(word ^ (ONES * u64::from(b'\\'))) != 0
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            if !special(u64::from_le_bytes(word)) {
                i += 8;
                continue;
            }
        }
        let end = (i + 8).min(bytes.len());
        while i < end {
            let byte = bytes[i];
            let unicode: [u8; 6];
            let escape: &[u8] = match byte {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                0x08 => b"\\b",
                0x09 => b"\\t",
                0x0a => b"\\n",
                0x0c => b"\\f",
                0x0d => b"\\r",
                0x00..=0x1f => {
                    unicode = [
                        b'\\',
                        b'u',
                        b'0',
                        b'0',
                        HEX[usize::from(byte >> 4)],
                        HEX[usize::from(byte & 0xf)],
                    ];
                    &unicode
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(escape);
            i += 1;
            start = i;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn opt_string(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => string(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

fn strings(out: &mut Vec<u8>, items: &[String]) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, item);
    }
    out.push(b']');
}

fn number(out: &mut Vec<u8>, n: u64) {
    let _ = serde_json::to_writer(&mut *out, &n);
}

impl Encoded {
    /// Encodes everything but `hash`, `prev` and `seq`, in canonical key order: the bytes of
    /// [`canonical_json`] over the record's serde form (pinned by a test).
    pub(crate) fn new(record: &Record) -> Self {
        let args = record.args.as_ref();
        let mut out = Vec::with_capacity(640 + args.map_or(0, |_| 1024));
        out.push(b'{');
        key(&mut out, "approver");
        match &record.approver {
            Some(approvers) => strings(&mut out, approvers),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b',');
        key(&mut out, "args");
        match args {
            Some(args) => write_canonical(args, &mut out),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b',');
        key(&mut out, "args_digest");
        opt_string(&mut out, record.args_digest.as_deref());
        out.push(b',');
        key(&mut out, "call_id");
        opt_string(&mut out, record.call_id.as_deref());
        out.push(b',');
        key(&mut out, "decision");
        match &record.decision {
            Some(decision) => {
                out.push(b'{');
                key(&mut out, "effect");
                string(&mut out, &decision.effect);
                out.push(b',');
                key(&mut out, "eval_us");
                number(&mut out, decision.eval_us);
                out.push(b',');
                key(&mut out, "policy_digest");
                opt_string(&mut out, decision.policy_digest.as_deref());
                out.push(b',');
                key(&mut out, "reasons");
                strings(&mut out, &decision.reasons);
                out.push(b'}');
            }
            None => out.extend_from_slice(b"null"),
        }
        if let Some(detail) = &record.detail {
            out.push(b',');
            key(&mut out, "detail");
            write_canonical(detail, &mut out);
        }
        out.push(b',');
        let hash_at = out.len();
        key(&mut out, "identity");
        string(&mut out, &record.identity);
        out.push(b',');
        key(&mut out, "intent");
        string(&mut out, &record.intent);
        out.push(b',');
        key(&mut out, "kind");
        string(&mut out, record.kind.as_str());
        out.push(b',');
        key(&mut out, "outcome");
        match &record.outcome {
            Some(outcome) => {
                out.push(b'{');
                if let Some(duration) = outcome.duration_us {
                    key(&mut out, "duration_us");
                    number(&mut out, duration);
                    out.push(b',');
                }
                if let Some(error) = &outcome.error {
                    key(&mut out, "error");
                    string(&mut out, error);
                    out.push(b',');
                }
                if !outcome.labels.is_empty() {
                    key(&mut out, "labels");
                    strings(&mut out, &outcome.labels);
                    out.push(b',');
                }
                key(&mut out, "status");
                string(&mut out, &outcome.status);
                out.push(b'}');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.push(b',');
        key(&mut out, "owner");
        string(&mut out, &record.owner);
        out.push(b',');
        key(&mut out, "parent_call_id");
        opt_string(&mut out, record.parent_call_id.as_deref());
        out.push(b',');
        let seq_at = out.len();
        key(&mut out, "task_id");
        string(&mut out, &record.task_id);
        out.push(b',');
        key(&mut out, "tool");
        opt_string(&mut out, record.tool.as_deref());
        out.push(b',');
        key(&mut out, "ts");
        string(&mut out, &record.ts);
        out.push(b'}');
        let mut hasher = Sha256::new();
        hasher.update(out.get(..seq_at).unwrap_or_default());
        Self {
            bytes: out,
            hash_at,
            seq_at,
            hasher,
        }
    }

    /// Appends the sealed line (without newline).
    pub(crate) fn line_into(&self, seal: &Seal, out: &mut Vec<u8>) {
        let (head, rest) = self.bytes.split_at(self.hash_at);
        let (mid, tail) = rest.split_at(self.seq_at - self.hash_at);
        out.reserve(self.bytes.len() + 200);
        out.extend_from_slice(head);
        out.extend_from_slice(b"\"hash\":\"");
        out.extend_from_slice(&seal.hash.0);
        out.extend_from_slice(b"\",");
        out.extend_from_slice(mid);
        chain_members(out, &seal.prev, seal.seq);
        out.extend_from_slice(tail);
    }
}

/// `"prev":"…","seq":N,`
fn chain_members(out: &mut Vec<u8>, prev: &Hex, seq: u64) {
    out.extend_from_slice(b"\"prev\":\"");
    out.extend_from_slice(&prev.0);
    out.extend_from_slice(b"\",\"seq\":");
    number(out, seq);
    out.push(b',');
}

/// Assigns `seq`, `prev` and `hash`: the chain state every ledger keeps.
#[derive(Debug, Clone)]
pub(crate) struct Sealer {
    seq: u64,
    prev: Hex,
}

impl Default for Sealer {
    fn default() -> Self {
        Self {
            seq: 0,
            prev: Hex::ZERO,
        }
    }
}

impl Sealer {
    /// Seals `record` and returns its JSON line (without newline), without advancing.
    #[cfg(test)]
    pub(crate) fn seal(&self, record: &mut Record) -> Result<String, LedgerError> {
        let encoded = Encoded::new(record);
        let seal = self.seal_encoded(&encoded);
        seal.apply(record);
        let mut line = Vec::new();
        encoded.line_into(&seal, &mut line);
        String::from_utf8(line).map_err(|e| LedgerError::Encode {
            message: e.to_string(),
        })
    }

    /// The seal the next record gets: `seq`, `prev`, and the hash over the encoded bytes with
    /// them. Only the chain members and the short tail are hashed here.
    pub(crate) fn seal_encoded(&self, encoded: &Encoded) -> Seal {
        let seq = self.seq + 1;
        let mut members = Vec::with_capacity(96);
        chain_members(&mut members, &self.prev, seq);
        let mut hasher = encoded.hasher.clone();
        hasher.update(&members);
        hasher.update(encoded.bytes.get(encoded.seq_at..).unwrap_or_default());
        Seal {
            seq,
            prev: self.prev,
            hash: Hex::of(&hasher.finalize()),
        }
    }

    /// Continues a chain whose last record has `seq` and `hash` (as `verify` returned them:
    /// lowercase hex, or [`GENESIS`] for an empty ledger).
    pub(crate) fn resume(seq: u64, hash: String) -> Self {
        Self {
            seq,
            prev: Hex::parse(&hash).unwrap_or(Hex::ZERO),
        }
    }

    /// The `seq` the next sealed record gets.
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq + 1
    }

    /// Moves the chain past a stored seal.
    pub(crate) fn advance(&mut self, seal: &Seal) {
        self.seq = seal.seq;
        self.prev = seal.hash;
    }
}

impl Seal {
    /// Writes the chain's fields into the record.
    pub(crate) fn apply(&self, record: &mut Record) {
        record.seq = self.seq;
        record.prev = self.prev.as_str().to_owned();
        record.hash = self.hash.as_str().to_owned();
    }
}

/// Canonical JSON: object keys sorted, no insignificant whitespace.
pub fn canonical_json(value: &Json) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    out
}

/// Whether serde_json's maps iterate in key order in this build: true unless a crate in the
/// build enables serde_json's `preserve_order` feature (a fact of the compiled program, found
/// once).
fn maps_iterate_sorted() -> bool {
    static SORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SORTED.get_or_init(|| {
        let mut probe = serde_json::Map::new();
        probe.insert("b".into(), Json::Null);
        probe.insert("a".into(), Json::Null);
        probe.keys().next().is_some_and(|first| first == "a")
    })
}

/// Appends the canonical JSON of `value` to `out`.
pub(crate) fn write_canonical(value: &Json, out: &mut Vec<u8>) {
    fn entry(out: &mut Vec<u8>, i: usize, key: &str, value: &Json) {
        if i > 0 {
            out.push(b',');
        }
        string(out, key);
        out.push(b':');
        write_canonical(value, out);
    }
    match value {
        Json::Object(map) => {
            out.push(b'{');
            // serde_json's map is a BTreeMap (sorted) unless a crate in the build enables its
            // `preserve_order` feature: sort only when the keys are not already in order.
            if maps_iterate_sorted() || map.keys().zip(map.keys().skip(1)).all(|(a, b)| a < b) {
                for (i, (key, value)) in map.iter().enumerate() {
                    entry(out, i, key, value);
                }
            } else {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                for (i, (key, value)) in entries.into_iter().enumerate() {
                    entry(out, i, key, value);
                }
            }
            out.push(b'}');
        }
        Json::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Json::String(text) => string(out, text),
        scalar => {
            // Scalars serialize infallibly.
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The last record of a verified ledger: anchor it elsewhere to detect truncation of the tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// How many records the ledger holds.
    pub records: u64,
    /// The last record's hash ([`GENESIS`] for an empty ledger).
    pub hash: String,
}

/// Checks a JSON Lines ledger: every line parses, `seq` counts up from 1, each `prev` is the
/// previous `hash`, and each `hash` matches the record. Names the first broken record.
///
/// A record's `hash` is checked against the bytes of its line as stored, less its `hash`
/// member: for a line the ledger wrote, exactly the canonical JSON it hashed. Any change to
/// those bytes breaks the record, even one that parses to the same value.
///
/// ```
/// use agentwarrant::ledger::verify_str;
/// assert_eq!(verify_str("").unwrap().records, 0);
/// assert!(verify_str("{\"seq\":1}\n").is_err());
/// ```
pub fn verify_str(text: &str) -> Result<Head, (u64, String)> {
    let mut head = Head {
        records: 0,
        hash: GENESIS.to_owned(),
    };
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index as u64 + 1;
        let fail = |problem: String| Err((number, problem));
        let Some(line) = line.strip_suffix('\n') else {
            return fail("the record is cut short (no end of line)".into());
        };
        let mut value: Json = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => return fail(format!("not valid JSON: {e}")),
        };
        let Some(map) = value.as_object_mut() else {
            return fail("not a JSON object".into());
        };
        let hash = match map.remove("hash") {
            Some(Json::String(h)) => h,
            _ => return fail("missing `hash`".into()),
        };
        if map.get("seq").and_then(Json::as_u64) != Some(number) {
            return fail(format!(
                "expected seq {number}: a record was removed, added or moved"
            ));
        }
        if map.get("prev").and_then(Json::as_str) != Some(head.hash.as_str()) {
            return fail("`prev` does not match the previous record's hash".into());
        }
        // SECURITY: hash the stored bytes, never a re-serialization of what they parse to. A
        // re-serialization forgives edits that keep the value (`\u001F` for `\u001f`, `1E9`
        // for `1e9`, a space, a repeated key), and serde_json does not parse every float back
        // exactly, which broke honest records.
        let Some(sealed) = unsealed(line, &hash) else {
            return fail("`hash` is not where the ledger writes it (edited)".into());
        };
        if sha256_hex(sealed.as_bytes()) != hash {
            return fail("the record's content does not match its hash (edited)".into());
        }
        if let Err(e) = serde_json::from_value::<Record>(with_hash(value, &hash)) {
            return fail(format!("not a ledger record: {e}"));
        }
        head = Head {
            records: number,
            hash,
        };
    }
    Ok(head)
}

/// `line` without its `hash` member, as the sealer hashed it: keys are sorted, so the member
/// follows a comma (or, were it the first key, opens the object).
fn unsealed(line: &str, hash: &str) -> Option<String> {
    let member = format!("\"hash\":{}", Json::String(hash.to_owned()));
    if let Some(at) = line.find(&format!(",{member}")) {
        let end = at + 1 + member.len();
        return Some(format!("{}{}", line.get(..at)?, line.get(end..)?));
    }
    let rest = line.strip_prefix(&format!("{{{member}"))?;
    Some(format!("{{{}", rest.strip_prefix(',').unwrap_or(rest)))
}

fn with_hash(mut value: Json, hash: &str) -> Json {
    if let Json::Object(map) = &mut value {
        map.insert("hash".into(), Json::String(hash.to_owned()));
    }
    value
}

/// Verifies a ledger file; see [`verify_str`].
pub fn verify(path: impl AsRef<Path>) -> Result<Head, LedgerError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| LedgerError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| LedgerError::Broken {
        path: path.to_owned(),
        line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64,
        problem: "not valid UTF-8".into(),
    })?;
    verify_str(&text).map_err(|(line, problem)| LedgerError::Broken {
        path: path.to_owned(),
        line,
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Two records covering every field shape: escapes, non-ASCII, control characters, floats,
    /// large integers, nested and empty containers, absent and present optional fields.
    fn samples() -> [Record; 2] {
        let decided = Record {
            seq: 0,
            ts: "2026-01-02T03:04:05.123456789Z".into(),
            kind: RecordKind::CallDecided,
            task_id: "7d9f1c9e-2b1e-4c55-9a43-0f6b1a2c3d4e".into(),
            call_id: Some("0b8e4f2a-9c1d-4e3f-8a7b-6c5d4e3f2a1b".into()),
            parent_call_id: None,
            identity: "agent://acme/ops".into(),
            owner: "alice@acme.com".into(),
            intent: "rotate the \"db\" password — café\n\ttab \\ slash /".into(),
            tool: Some("send_email".into()),
            args: Some(json!({
                "to": "x@evil.com",
                "body": "[redacted]",
                "ratio": 1.5,
                "tiny": 1e-7,
                "huge": 1.0e300,
                "big": 12_345_678_901_234_567_890_u64,
                "neg": -3,
                "nested": {"b": [1, null, true, false, {}], "a": "\u{1f}ctl\u{7f}", "": []},
                "emoji": "😀",
                "Upper": "sorts before lower",
            })),
            args_digest: Some(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
            ),
            decision: Some(DecisionRecord {
                effect: "deny".into(),
                reasons: vec!["exfiltration".into(), "policy_error: boom \"x\"".into()],
                policy_digest: Some("abc123".into()),
                eval_us: 7,
            }),
            approver: Some(vec!["bob@acme.com".into()]),
            outcome: Some(OutcomeRecord {
                status: "denied".into(),
                duration_us: None,
                labels: Vec::new(),
                error: None,
            }),
            detail: Some(json!({"z": 1, "a": {"c": 2, "b": [3, "4"]}})),
            prev: String::new(),
            hash: String::new(),
        };
        let completed = Record {
            kind: RecordKind::CallCompleted,
            parent_call_id: Some("11111111-2222-4333-8444-555555555555".into()),
            args: None,
            args_digest: None,
            decision: Some(DecisionRecord {
                effect: "allow".into(),
                reasons: Vec::new(),
                policy_digest: None,
                eval_us: 0,
            }),
            approver: None,
            outcome: Some(OutcomeRecord {
                status: "error".into(),
                duration_us: Some(42),
                labels: vec!["untrusted".into(), "pii".into()],
                error: Some("boom\u{0}".into()),
            }),
            detail: None,
            ..decided.clone()
        };
        [decided, completed]
    }

    /// The string escaper writes what serde_json writes, for every ASCII byte, at every offset
    /// in and across its eight-byte chunks, and for non-ASCII text.
    #[test]
    fn strings_are_escaped_exactly_as_serde_json_escapes_them() {
        let mut texts: Vec<String> = Vec::new();
        for byte in 0u8..=0x7f {
            for offset in 0..17 {
                let mut text = "a".repeat(offset);
                text.push(char::from(byte));
                text.push_str("tail");
                texts.push(text);
            }
        }
        texts.push(String::new());
        texts.push("café — 😀 \u{1f}\u{7f}\"\\ 日本語 mixed\n".repeat(5));
        texts.push("\u{0}".repeat(20));
        for text in &texts {
            let mut ours = Vec::new();
            string(&mut ours, text);
            assert_eq!(ours, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    /// The direct encoder and the generic one (serde form, then canonical JSON) agree.
    #[test]
    fn the_direct_encoding_is_the_canonical_json_of_the_record() {
        for mut record in samples() {
            let line = Sealer::resume(6, "cd".repeat(32))
                .seal(&mut record)
                .unwrap();
            let generic = canonical_json(&serde_json::to_value(&record).unwrap());
            assert_eq!(line.as_bytes(), generic.as_slice());
            let mut bare = serde_json::to_value(&record).unwrap();
            bare.as_object_mut().unwrap().remove("hash");
            assert_eq!(sha256_hex(&canonical_json(&bare)), record.hash);
        }
    }

    /// Regression: the bytes a record is hashed and stored as are a format; ledgers written
    /// by earlier versions must keep verifying, so they may never change.
    #[test]
    fn sealed_records_keep_their_canonical_bytes_and_hashes() {
        let mut sealer = Sealer::resume(41, "ab".repeat(32));
        let mut lines = Vec::new();
        for mut record in samples() {
            let encoded = Encoded::new(&record);
            let seal = sealer.seal_encoded(&encoded);
            let line = sealer.seal(&mut record).unwrap();
            assert_eq!(record.hash, seal.hash.as_str());
            sealer.advance(&seal);
            lines.push((line, record.hash));
        }
        let expected = [
            (
                concat!(
                    "{\"approver\":[\"bob@acme.com\"],\"args\":{\"Upper\":\"sorts before lower\",\"big\":12345678901234567890,",
                    "\"body\":\"[redacted]\",\"emoji\":\"😀\",\"huge\":1e+300,\"neg\":-3,\"nested\":{\"\":[],",
                    "\"a\":\"\\u001fctl\u{7f}\",\"b\":[1,null,true,false,{}]},\"ratio\":1.5,\"tiny\":1e-7,\"to\":\"x@evil.com\"},",
                    "\"args_digest\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\",",
                    "\"call_id\":\"0b8e4f2a-9c1d-4e3f-8a7b-6c5d4e3f2a1b\",\"decision\":{\"effect\":\"deny\",",
                    "\"eval_us\":7,\"policy_digest\":\"abc123\",\"reasons\":[\"exfiltration\",\"policy_error: boom \\\"x\\\"\"]},",
                    "\"detail\":{\"a\":{\"b\":[3,\"4\"],\"c\":2},\"z\":1},\"hash\":\"754fdd0da9fcc5cfa25a45ee73556a7e79857a2956966f52251823752889bf3f\",",
                    "\"identity\":\"agent://acme/ops\",\"intent\":\"rotate the \\\"db\\\" password — café\\n\\ttab \\\\ slash /\",",
                    "\"kind\":\"call.decided\",\"outcome\":{\"status\":\"denied\"},\"owner\":\"alice@acme.com\",",
                    "\"parent_call_id\":null,\"prev\":\"abababababababababababababababababababababababababababababababab\",",
                    "\"seq\":42,\"task_id\":\"7d9f1c9e-2b1e-4c55-9a43-0f6b1a2c3d4e\",\"tool\":\"send_email\",",
                    "\"ts\":\"2026-01-02T03:04:05.123456789Z\"}",
                ),
                "754fdd0da9fcc5cfa25a45ee73556a7e79857a2956966f52251823752889bf3f",
            ),
            (
                concat!(
                    "{\"approver\":null,\"args\":null,\"args_digest\":null,\"call_id\":\"0b8e4f2a-9c1d-4e3f-8a7b-6c5d4e3f2a1b\",",
                    "\"decision\":{\"effect\":\"allow\",\"eval_us\":0,\"policy_digest\":null,\"reasons\":[]},",
                    "\"hash\":\"3dadde0421d74c4c294dcff157e8da2f1b83566fcc077e0eb114013eabea82cc\",",
                    "\"identity\":\"agent://acme/ops\",\"intent\":\"rotate the \\\"db\\\" password — café\\n\\ttab \\\\ slash /\",",
                    "\"kind\":\"call.completed\",\"outcome\":{\"duration_us\":42,\"error\":\"boom\\u0000\",",
                    "\"labels\":[\"untrusted\",\"pii\"],\"status\":\"error\"},\"owner\":\"alice@acme.com\",",
                    "\"parent_call_id\":\"11111111-2222-4333-8444-555555555555\",\"prev\":\"754fdd0da9fcc5cfa25a45ee73556a7e79857a2956966f52251823752889bf3f\",",
                    "\"seq\":43,\"task_id\":\"7d9f1c9e-2b1e-4c55-9a43-0f6b1a2c3d4e\",\"tool\":\"send_email\",",
                    "\"ts\":\"2026-01-02T03:04:05.123456789Z\"}",
                ),
                "3dadde0421d74c4c294dcff157e8da2f1b83566fcc077e0eb114013eabea82cc",
            ),
        ];
        for ((line, hash), (want_line, want_hash)) in lines.iter().zip(expected) {
            assert_eq!(line, want_line);
            assert_eq!(hash, want_hash);
        }
        // And what `verify` checks: the hash of the stored line without its `hash` member.
        for (line, hash) in &lines {
            let sealed = unsealed(line, hash).unwrap();
            assert_eq!(&sha256_hex(sealed.as_bytes()), hash);
        }
    }
}
