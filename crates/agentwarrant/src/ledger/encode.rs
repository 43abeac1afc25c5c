//! The canonical encoder and the sealer: a record's bytes, and the `seq`, `prev` and `hash`
//! that chain it to the one before.
//!
//! The library owns sealing: every ledger, built-in or built on a [`Sink`](super::Sink), seals
//! through [`Sealer`], so no storage can get the hash chain wrong.

use sha2::{Digest, Sha256};

use super::checkpoint::{self, Checkpoints};
use super::{Record, SCHEMA};
use crate::canonical::{string, write_canonical, Hex};
#[cfg(test)]
use crate::error::LedgerError;

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

/// Appends `"name":` (names are plain ASCII, no escaping needed).
fn key(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
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
                if let Some(input) = &decision.input {
                    key(&mut out, "input");
                    out.extend_from_slice(input.as_str().as_bytes());
                    out.push(b',');
                }
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
        out.extend_from_slice(seal.hash.as_bytes());
        out.extend_from_slice(b"\",");
        out.extend_from_slice(mid);
        chain_members(out, &seal.prev, seal.seq);
        out.extend_from_slice(tail);
    }
}

/// `"prev":"…","schema":N,"seq":N,` (the members between `parent_call_id` and `task_id`).
fn chain_members(out: &mut Vec<u8>, prev: &Hex, seq: u64) {
    out.extend_from_slice(b"\"prev\":\"");
    out.extend_from_slice(prev.as_bytes());
    out.extend_from_slice(b"\",\"schema\":");
    number(out, u64::from(SCHEMA));
    out.extend_from_slice(b",\"seq\":");
    number(out, seq);
    out.push(b',');
}

/// Assigns `seq`, `prev` and `hash`: the chain state every ledger keeps; signs checkpoints.
#[derive(Debug, Clone)]
pub(crate) struct Sealer {
    seq: u64,
    prev: Hex,
    checkpoints: Option<Checkpoints>,
}

impl Default for Sealer {
    fn default() -> Self {
        Self {
            seq: 0,
            prev: Hex::ZERO,
            checkpoints: None,
        }
    }
}

impl Sealer {
    /// Signs checkpoint records with these settings.
    pub(crate) fn with_checkpoints(mut self, checkpoints: Option<Checkpoints>) -> Self {
        self.checkpoints = checkpoints;
        self
    }

    /// Seals `record` as the next record and advances past it. A checkpoint placeholder is
    /// signed first, over the head it follows. `encoded` is the record's encoding when it was
    /// made ahead (outside the ledger's lock).
    pub(crate) fn seal_next(
        &mut self,
        record: &mut Record,
        encoded: Option<Encoded>,
    ) -> (Seal, Encoded) {
        let encoded = match (&self.checkpoints, checkpoint::unsigned(record)) {
            (Some(checkpoints), true) => {
                checkpoint::sign(record, &checkpoints.key, self.seq, self.prev.as_str());
                Encoded::new(record)
            }
            _ => encoded.unwrap_or_else(|| Encoded::new(record)),
        };
        let seal = self.seal_encoded(&encoded);
        self.advance(&seal);
        seal.apply(record);
        (seal, encoded)
    }

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
            checkpoints: None,
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
        record.schema = SCHEMA;
        record.seq = self.seq;
        record.prev = self.prev.as_str().to_owned();
        record.hash = self.hash.as_str().to_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::{canonical_json, sha256_hex};
    use crate::ledger::{DecisionRecord, OutcomeRecord, RecordKind};
    use serde_json::json;

    /// Two records covering every field shape: escapes, non-ASCII, control characters, floats,
    /// large integers, nested and empty containers, absent and present optional fields.
    fn samples() -> [Record; 2] {
        let decided = Record {
            schema: 0,
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
                input: None,
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
                input: None,
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

    /// The direct encoder and the generic one (serde form, then canonical JSON) agree.
    #[test]
    fn the_direct_encoding_is_the_canonical_json_of_the_record() {
        let [decided, completed] = samples();
        let mut with_input = decided.clone();
        if let Some(decision) = &mut with_input.decision {
            decision.input = Some(crate::ledger::RecordedInput::from_json(
                &serde_json::json!({
                    "version": "agentwarrant/v1",
                    "call": {"tool": "send_email", "args": {"to": "x@evil.com", "n": 1.5}},
                    "chain": {"labels": ["secret"], "depth": 0},
                }),
            ));
        }
        for mut record in [decided, completed, with_input] {
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
    /// by earlier versions must keep verifying, so they may never change. (Changed once, for
    /// the `schema` member that versions the format from schema 1 on.)
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
                    "\"detail\":{\"a\":{\"b\":[3,\"4\"],\"c\":2},\"z\":1},\"hash\":\"25b82f6edf20082d8575e2a479b435c0124ccc73e95130305d75cc5edad625d9\",",
                    "\"identity\":\"agent://acme/ops\",\"intent\":\"rotate the \\\"db\\\" password — café\\n\\ttab \\\\ slash /\",",
                    "\"kind\":\"call.decided\",\"outcome\":{\"status\":\"denied\"},\"owner\":\"alice@acme.com\",",
                    "\"parent_call_id\":null,\"prev\":\"abababababababababababababababababababababababababababababababab\",",
                    "\"schema\":1,\"seq\":42,\"task_id\":\"7d9f1c9e-2b1e-4c55-9a43-0f6b1a2c3d4e\",\"tool\":\"send_email\",",
                    "\"ts\":\"2026-01-02T03:04:05.123456789Z\"}",
                ),
                "25b82f6edf20082d8575e2a479b435c0124ccc73e95130305d75cc5edad625d9",
            ),
            (
                concat!(
                    "{\"approver\":null,\"args\":null,\"args_digest\":null,\"call_id\":\"0b8e4f2a-9c1d-4e3f-8a7b-6c5d4e3f2a1b\",",
                    "\"decision\":{\"effect\":\"allow\",\"eval_us\":0,\"policy_digest\":null,\"reasons\":[]},",
                    "\"hash\":\"b638ec3bf6250ce57ec700db3590bc38cca1d6a076795fa109a0ae8116f10885\",",
                    "\"identity\":\"agent://acme/ops\",\"intent\":\"rotate the \\\"db\\\" password — café\\n\\ttab \\\\ slash /\",",
                    "\"kind\":\"call.completed\",\"outcome\":{\"duration_us\":42,\"error\":\"boom\\u0000\",",
                    "\"labels\":[\"untrusted\",\"pii\"],\"status\":\"error\"},\"owner\":\"alice@acme.com\",",
                    "\"parent_call_id\":\"11111111-2222-4333-8444-555555555555\",\"prev\":\"25b82f6edf20082d8575e2a479b435c0124ccc73e95130305d75cc5edad625d9\",",
                    "\"schema\":1,\"seq\":43,\"task_id\":\"7d9f1c9e-2b1e-4c55-9a43-0f6b1a2c3d4e\",\"tool\":\"send_email\",",
                    "\"ts\":\"2026-01-02T03:04:05.123456789Z\"}",
                ),
                "b638ec3bf6250ce57ec700db3590bc38cca1d6a076795fa109a0ae8116f10885",
            ),
        ];
        for ((line, hash), (want_line, want_hash)) in lines.iter().zip(expected) {
            assert_eq!(line, want_line);
            assert_eq!(hash, want_hash);
        }
        // And what `verify` checks: the hash of the stored line without its `hash` member.
        for (line, hash) in &lines {
            let sealed = crate::ledger::verify::unsealed(line, hash).unwrap();
            assert_eq!(&sha256_hex(sealed.as_bytes()), hash);
        }
    }
}
