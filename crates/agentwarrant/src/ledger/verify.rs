//! Verification: every line parses, `seq` counts up from 1, each `prev` is the previous
//! `hash`, each `hash` matches the bytes stored, and each checkpoint's signature holds.
//!
//! Verification streams: one line is held at a time, and the args of a record are checked for
//! shape without being built in memory, so a ledger of any length, with lines of any size,
//! costs about its longest line.

use std::io::BufRead;
use std::path::Path;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::checkpoint::VerifyingKey;
use super::rotate::ledger_files;
use super::{RecordKind, GENESIS, SCHEMA};
use crate::canonical::Hex;
use crate::error::LedgerError;

/// The last record of a verified ledger: anchor it elsewhere to detect truncation of the tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// How many records the ledger holds.
    pub records: u64,
    /// The last record's hash ([`GENESIS`] for an empty ledger).
    pub hash: String,
}

/// What verifying a ledger found: its head, and how far signed checkpoints cover it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The last record.
    pub head: Head,
    /// How many checkpoints the ledger holds (each one's signature checked when a key was
    /// given).
    pub checkpoints: u64,
    /// The `seq` of the last checkpoint.
    pub last_checkpoint: Option<u64>,
    /// Records after the last checkpoint: not covered by a signature.
    pub unsigned_tail: u64,
    /// Whether the ledger ends on a closing checkpoint: it was closed, and nothing after it
    /// was cut off.
    pub closed: bool,
}

/// A record as verification reads it: every member a record has, the args only skimmed.
#[derive(Deserialize)]
#[allow(dead_code)] // fields are read by serde for their shape, some never by code
struct Shape {
    #[serde(default)]
    schema: u32,
    seq: Option<u64>,
    prev: Option<String>,
    hash: Option<String>,
    ts: String,
    kind: RecordKind,
    task_id: String,
    call_id: Option<String>,
    parent_call_id: Option<String>,
    identity: String,
    owner: String,
    intent: String,
    tool: Option<String>,
    args: Option<IgnoredAny>,
    args_digest: Option<String>,
    decision: Option<IgnoredAny>,
    approver: Option<Vec<String>>,
    outcome: Option<IgnoredAny>,
    #[serde(default)]
    detail: Option<Json>,
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
    verify_reader(text.as_bytes(), None).map(|report| report.head)
}

/// Verifies a ledger read from `reader`, line by line; with `key`, every checkpoint's
/// signature must verify under it. `Err` names the first broken record (1-based) and what is
/// wrong with it.
pub fn verify_reader(
    reader: impl BufRead,
    key: Option<&VerifyingKey>,
) -> Result<Report, (u64, String)> {
    verify_continuing(reader, key, Report::genesis())
}

impl Report {
    /// The report of a ledger with no records.
    pub(crate) fn genesis() -> Self {
        Self::at(Head {
            records: 0,
            hash: GENESIS.to_owned(),
        })
    }

    /// The report of a chain whose last record is `head` (checkpoints not counted).
    pub(crate) fn at(head: Head) -> Self {
        Report {
            head,
            checkpoints: 0,
            last_checkpoint: None,
            unsigned_tail: 0,
            closed: false,
        }
    }
}

/// Verifies the records read from `reader` as the continuation of the chain `report` ends
/// on (the next file of a rotated ledger); `Err` names the line in `reader`.
pub(crate) fn verify_continuing(
    mut reader: impl BufRead,
    key: Option<&VerifyingKey>,
    mut report: Report,
) -> Result<Report, (u64, String)> {
    let before = report.head.records;
    let mut buffer = Vec::new();
    for number in 1u64.. {
        buffer.clear();
        let read = reader
            .read_until(b'\n', &mut buffer)
            .map_err(|e| (number, format!("cannot read: {e}")))?;
        if read == 0 {
            break;
        }
        let fail = |problem: String| Err((number, problem));
        let Some(line) = buffer.strip_suffix(b"\n") else {
            return fail("the record is cut short (no end of line)".into());
        };
        let Ok(line) = std::str::from_utf8(line) else {
            return fail("not valid UTF-8".into());
        };
        let shape: Shape = match serde_json::from_str(line) {
            Ok(shape) => shape,
            Err(e) if e.is_syntax() || e.is_eof() => return fail(format!("not valid JSON: {e}")),
            Err(_) if !line.starts_with('{') => return fail("not a JSON object".into()),
            Err(e) => return fail(format!("not a ledger record: {e}")),
        };
        let Some(hash) = shape.hash.as_deref() else {
            return fail("missing `hash`".into());
        };
        let seq = before + number;
        if shape.seq != Some(seq) {
            return fail(format!(
                "expected seq {seq}: a record was removed, added or moved"
            ));
        }
        if shape.prev.as_deref() != Some(report.head.hash.as_str()) {
            return fail("`prev` does not match the previous record's hash".into());
        }
        // SECURITY: hash the stored bytes, never a re-serialization of what they parse to. A
        // re-serialization forgives edits that keep the value (`\u001F` for `\u001f`, `1E9`
        // for `1e9`, a space, a repeated key), and serde_json does not parse every float back
        // exactly, which broke honest records.
        let Some((before, after)) = around_hash(line, hash) else {
            return fail("`hash` is not where the ledger writes it (edited)".into());
        };
        let mut hasher = Sha256::new();
        hasher.update(before);
        hasher.update(after);
        if Hex::of(&hasher.finalize()).as_str() != hash {
            return fail("the record's content does not match its hash (edited)".into());
        }
        if shape.schema > SCHEMA {
            return fail(format!(
                "record schema {} is newer than this agentwarrant understands ({SCHEMA}); verify \
                 it with a newer version",
                shape.schema
            ));
        }
        if shape.kind == RecordKind::LedgerCheckpoint {
            let prev = report.head.hash.as_str();
            report.closed = checkpoint(&shape, seq - 1, prev, key).map_err(|p| (number, p))?;
            report.checkpoints += 1;
            report.last_checkpoint = Some(seq);
            report.unsigned_tail = 0;
        } else {
            report.closed = false;
            report.unsigned_tail += 1;
        }
        report.head = Head {
            records: seq,
            hash: hash.to_owned(),
        };
    }
    Ok(report)
}

/// Checks a checkpoint: it signs the head it follows, under `key` when given. Returns whether
/// it is a closing checkpoint.
fn checkpoint(
    shape: &Shape,
    seq: u64,
    prev: &str,
    key: Option<&VerifyingKey>,
) -> Result<bool, String> {
    let detail = shape.detail.as_ref();
    let text = |name: &str| detail.and_then(|d| d.get(name)).and_then(Json::as_str);
    let signed_seq = detail
        .and_then(|d| d.get("signed_seq"))
        .and_then(Json::as_u64);
    if signed_seq != Some(seq) || text("signed_hash") != Some(prev) {
        return Err("the checkpoint does not sign the record before it (moved or edited)".into());
    }
    let (Some(key_id), Some(signature)) = (text("key_id"), text("signature")) else {
        return Err("the checkpoint has no key id or signature".into());
    };
    if let Some(key) = key {
        if key_id != key.key_id() {
            return Err(format!(
                "the checkpoint is signed by key `{key_id}`, not by `{}`",
                key.key_id()
            ));
        }
        if !key.verifies(seq, prev, signature) {
            return Err(
                "the checkpoint's signature does not verify: the records before it were rewritten"
                    .into(),
            );
        }
    }
    Ok(detail
        .and_then(|d| d.get("closing"))
        .and_then(Json::as_bool)
        .unwrap_or(false))
}

/// The line before and after its `hash` member, as the sealer hashed it: keys are sorted, so
/// the member follows a comma (or, were it the first key, opens the object).
fn around_hash<'a>(line: &'a str, hash: &str) -> Option<(&'a str, &'a str)> {
    let member = format!("\"hash\":{}", Json::String(hash.to_owned()));
    if let Some(at) = line.find(&format!(",{member}")) {
        return Some((line.get(..at)?, line.get(at + 1 + member.len()..)?));
    }
    let rest = line.strip_prefix(&format!("{{{member}"))?;
    Some(("{", rest.strip_prefix(',').unwrap_or(rest)))
}

/// `line` without its `hash` member, as the sealer hashed it.
#[cfg(test)]
pub(super) fn unsealed(line: &str, hash: &str) -> Option<String> {
    around_hash(line, hash).map(|(before, after)| format!("{before}{after}"))
}

/// Verifies a ledger file; see [`verify_str`]. `path` is the ledger's file, or a directory
/// holding one ledger: a rotated ledger is verified across all its files, the active one
/// with its rotated files `NAME.000001.EXT`, … next to it, and a file out of order or
/// missing is [`LedgerError::Broken`] naming the file where the chain breaks.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// use agentwarrant::ledger::{verify, FileLedger};
/// let ledger = FileLedger::options().rotate_bytes(1 << 20).open(dir.path().join("audit.jsonl"))?;
/// drop(ledger);
/// assert_eq!(verify(dir.path())?.records, 0);
/// # Ok::<(), agentwarrant::LedgerError>(())
/// ```
pub fn verify(path: impl AsRef<Path>) -> Result<Head, LedgerError> {
    verify_file(path.as_ref(), None).map(|report| report.head)
}

/// Verifies a ledger file and its checkpoints' signatures under `key`. A ledger that does not
/// end on a closing checkpoint (`Report::closed`) was cut short or is still being written;
/// `Report::unsigned_tail` says how many records no signature covers.
pub fn verify_signed(path: impl AsRef<Path>, key: &VerifyingKey) -> Result<Report, LedgerError> {
    verify_file(path.as_ref(), Some(key))
}

fn verify_file(path: &Path, key: Option<&VerifyingKey>) -> Result<Report, LedgerError> {
    let mut report = Report::genesis();
    let mut previous = None;
    for file in ledger_files(path)? {
        let opened = std::fs::File::open(&file).map_err(|e| LedgerError::io(&file, &e))?;
        let reader = std::io::BufReader::with_capacity(1 << 16, opened);
        report = verify_after(reader, key, report, &file, previous.as_deref())?;
        previous = Some(file);
    }
    Ok(report)
}

/// Verifies one file of a ledger as the continuation of `report`, the chain of the files
/// before it (`previous` the last of them); a break at its first record names that file.
pub(crate) fn verify_after(
    reader: impl BufRead,
    key: Option<&VerifyingKey>,
    report: Report,
    file: &Path,
    previous: Option<&Path>,
) -> Result<Report, LedgerError> {
    let ends = report.head.records;
    verify_continuing(reader, key, report).map_err(|(line, problem)| {
        let problem = match previous {
            Some(previous)
                if line == 1
                    && (problem.starts_with("expected seq") || problem.starts_with("`prev`")) =>
            {
                format!(
                    "{problem}; the file does not continue `{}` (which ends at seq {ends}): \
                     rotated files out of order, or one missing or replaced",
                    previous.display()
                )
            }
            _ => problem,
        };
        LedgerError::Broken {
            path: file.to_owned(),
            line,
            problem,
        }
    })
}
