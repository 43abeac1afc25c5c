//! `agentwarrant verify postgresql://...`: every writer's chain of a ledger kept in PostgreSQL
//! (`agentwarrant_postgres::PostgresLedger`), checked by the library's verifier.

use agentwarrant::ledger::VerifyingKey;
use agentwarrant::LedgerError;
use agentwarrant_postgres::verify_ledger;

use crate::{FAILURE, SUCCESS};

/// What to check.
pub(crate) struct Options<'a> {
    pub(crate) schema: &'a str,
    pub(crate) writer: Option<&'a str>,
    pub(crate) expect_head: Option<&'a str>,
    pub(crate) key: Option<&'a str>,
    pub(crate) allow_open: bool,
}

/// Verifies each writer's chain; `FAILURE` when one is broken, incomplete (with `--key`), or
/// does not end on `--expect-head`. The URL is never printed: it may hold a password.
pub(crate) fn run(db: &str, options: &Options<'_>) -> Result<u8, String> {
    if options.expect_head.is_some() && options.writer.is_none() {
        return Err("--expect-head names one chain's head: give its --writer".to_owned());
    }
    let key = options
        .key
        .map(VerifyingKey::from_hex)
        .transpose()
        .map_err(|e| format!("--key: {e}"))?;
    let verdicts = verify_ledger(db, options.schema, options.writer, key.as_ref())
        .map_err(|e| e.to_string())?;
    if verdicts.is_empty() {
        out!("ok: the ledger table holds no records");
        return Ok(SUCCESS);
    }
    let mut status = SUCCESS;
    for verdict in verdicts {
        let writer = verdict.writer.escape_debug().to_string();
        let report = match verdict.outcome {
            Ok(report) => report,
            Err(LedgerError::Broken { problem, .. }) => {
                out!("broken: {problem}");
                status = FAILURE;
                continue;
            }
            Err(other) => return Err(other.to_string()),
        };
        if report.head.records == 0 {
            out!("broken: writer `{writer}` has no records");
            status = FAILURE;
            continue;
        }
        if let Some(expected) = options.expect_head {
            if expected != report.head.hash {
                out!(
                    "broken: writer `{writer}` ends at record {} with hash {}, not the expected head {expected}: records were removed from the end or added",
                    report.head.records,
                    report.head.hash
                );
                status = FAILURE;
                continue;
            }
        }
        match &key {
            None => out!(
                "ok: writer `{writer}` holds {} intact records; head {}",
                report.head.records,
                report.head.hash
            ),
            Some(key) if report.closed || options.allow_open => out!(
                "ok: writer `{writer}` holds {} intact records; {} checkpoint(s) signed by key {}; {}",
                report.head.records,
                report.checkpoints,
                key.key_id(),
                if report.closed {
                    "closed".to_owned()
                } else {
                    format!(
                        "open: {} record(s) after the last checkpoint are not signed yet",
                        report.unsigned_tail
                    )
                }
            ),
            Some(_) => {
                out!(
                    "incomplete: writer `{writer}` does not end on a closing checkpoint: {} record(s) after the last checkpoint (record {}) are not signed, and records after them may be missing (cut off, or the ledger is still being written: --allow-open)",
                    report.unsigned_tail,
                    report
                        .last_checkpoint
                        .map_or_else(|| "none".to_owned(), |seq| seq.to_string())
                );
                status = FAILURE;
            }
        }
    }
    Ok(status)
}
