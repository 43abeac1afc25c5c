//! `agentwarrant verify`: a ledger file's hash chain, or every writer's chain of a ledger kept
//! in PostgreSQL (`agentwarrant_postgres::PostgresLedger`), each judged and printed the same
//! way: `ok`, `broken` or `incomplete`.

use std::path::Path;

use agentwarrant::ledger::{Head, Report, VerifyingKey};
use agentwarrant::LedgerError;

use crate::{FAILURE, SUCCESS};

/// What a chain must show besides intact records.
pub(crate) struct Expect<'a> {
    /// The hash its last record must have (`--expect-head`).
    pub(crate) head: Option<&'a str>,
    /// The key every checkpoint must verify under (`--key`, 64 hex digits).
    pub(crate) key: Option<&'a str>,
    /// With a key: a chain that does not end on a closing checkpoint passes too.
    pub(crate) allow_open: bool,
}

impl Expect<'_> {
    fn key(&self) -> Result<Option<VerifyingKey>, String> {
        self.key
            .map(VerifyingKey::from_hex)
            .transpose()
            .map_err(|e| format!("--key: {e}"))
    }
}

/// Whether `verify`'s argument names a PostgreSQL database rather than a file.
pub(crate) fn is_database_url(path: &str) -> bool {
    path.starts_with("postgresql://") || path.starts_with("postgres://")
}

/// Verifies a ledger file (with its rotated files); `FAILURE` when it is broken, incomplete
/// (with a key), or does not end on the expected head.
pub(crate) fn file(path: &Path, expect: &Expect<'_>) -> Result<u8, String> {
    let key = expect.key()?;
    let subject = format!("`{}`", path.display());
    let verdict = match &key {
        Some(key) => agentwarrant::ledger::verify_signed(path, key)
            .map(|report| chain(&subject, &report.head, Some((&report, key)), expect)),
        None => agentwarrant::ledger::verify(path).map(|head| chain(&subject, &head, None, expect)),
    };
    verdict.or_else(|error| broken(path, error))
}

/// Verifies each writer's chain of the `ledger` table in `schema` (or only `writer`'s); the
/// URL is never printed: it may hold a password.
#[cfg(feature = "postgres")]
pub(crate) fn database(
    url: &str,
    schema: &str,
    writer: Option<&str>,
    expect: &Expect<'_>,
) -> Result<u8, String> {
    if expect.head.is_some() && writer.is_none() {
        return Err("--expect-head names one chain's head: give its --writer".to_owned());
    }
    let key = expect.key()?;
    let verdicts = agentwarrant_postgres::verify_ledger(url, schema, writer, key.as_ref())
        .map_err(|e| e.to_string())?;
    if verdicts.is_empty() {
        out!("ok: the ledger table holds no records");
        return Ok(SUCCESS);
    }
    let mut status = SUCCESS;
    for verdict in verdicts {
        let subject = format!("writer `{}`", verdict.writer.escape_debug());
        let judged = match verdict.outcome {
            Ok(report) if report.head.records == 0 => {
                out!("broken: {subject} has no records");
                FAILURE
            }
            Ok(report) => chain(
                &subject,
                &report.head,
                key.as_ref().map(|key| (&report, key)),
                expect,
            ),
            Err(LedgerError::Broken { problem, .. }) => {
                out!("broken: {problem}");
                FAILURE
            }
            Err(other) => return Err(other.to_string()),
        };
        status = status.max(judged);
    }
    Ok(status)
}

/// Without the `postgres` feature, a database URL is refused (never read as a file name).
#[cfg(not(feature = "postgres"))]
pub(crate) fn database(
    _url: &str,
    _schema: &str,
    _writer: Option<&str>,
    _expect: &Expect<'_>,
) -> Result<u8, String> {
    Err(
        "this agentwarrant was built without PostgreSQL: build agentwarrant-cli with the \
         `postgres` feature to verify a ledger kept in PostgreSQL"
            .to_owned(),
    )
}

/// The verdict on one intact chain, printed for `subject`: whether it ends on the expected
/// head and, when it was verified under a key, whether a closing checkpoint signs it.
fn chain(
    subject: &str,
    head: &Head,
    signed: Option<(&Report, &VerifyingKey)>,
    expect: &Expect<'_>,
) -> u8 {
    if let Some(expected) = expect.head.filter(|expected| *expected != head.hash) {
        out!(
            "broken: {subject} ends at record {} with hash {}, not the expected head {expected}: records were removed from the end or added",
            head.records,
            head.hash
        );
        return FAILURE;
    }
    match signed {
        None => {
            out!(
                "ok: {subject} holds {} intact records; head {}",
                head.records,
                head.hash
            );
            SUCCESS
        }
        Some((report, key)) if report.closed || expect.allow_open => {
            let state = if report.closed {
                "closed".to_owned()
            } else {
                format!(
                    "open: {} record(s) after the last checkpoint are not signed yet",
                    report.unsigned_tail
                )
            };
            out!(
                "ok: {subject} holds {} intact records; {} checkpoint(s) signed by key {}; {state}",
                head.records,
                report.checkpoints,
                key.key_id(),
            );
            SUCCESS
        }
        Some((report, _)) => {
            out!(
                "incomplete: {subject} does not end on a closing checkpoint: {} record(s) after the last checkpoint (record {}) are not signed, and records after them may be missing (cut off, or the ledger is still being written: --allow-open)",
                report.unsigned_tail,
                report
                    .last_checkpoint
                    .map_or_else(|| "none".to_owned(), |seq| seq.to_string())
            );
            FAILURE
        }
    }
}

/// The verdict on a ledger file that does not verify: `broken` names its first bad record
/// (status 1); a ledger that cannot be read is an error (status 2).
fn broken(path: &Path, error: LedgerError) -> Result<u8, String> {
    match error {
        LedgerError::Broken {
            path: file,
            line,
            problem,
        } if file == path => {
            out!(
                "broken: `{}` record {line} (line {line}): {problem}",
                path.display()
            );
            Ok(FAILURE)
        }
        // A rotated ledger: the file of the break, and the line in it.
        LedgerError::Broken {
            path: file,
            line,
            problem,
        } => {
            out!(
                "broken: `{}`: file `{}` line {line}: {problem}",
                path.display(),
                file.display()
            );
            Ok(FAILURE)
        }
        other => Err(other.to_string()),
    }
}
