//! `agentwarrant replay`: every decision of a ledger evaluated again under another policy,
//! and what would change. Exits 1 when a call that ran would now be denied, so that a policy
//! change can be gated in CI. Read-only.

use std::path::{Path, PathBuf};

use agentwarrant::ledger::{self, read, Record, RecordFilter, RecordKind};
use agentwarrant::replay::{replay as replay_records, Change, Replay};
use agentwarrant::Policy;
use serde_json::json;

use crate::{Format, FAILURE, SUCCESS};

/// How many calls each group lists in text output (all of them in JSON).
const LISTED: usize = 10;

/// Runs `agentwarrant replay`.
pub(crate) fn replay(path: &Path, policy: Option<PathBuf>, format: Format) -> Result<u8, String> {
    let (policy, source) = match policy {
        Some(dir) => (
            Policy::from_dir(&dir)
                .map_err(|e| format!("the replay policy `{}`: {e}", dir.display()))?,
            dir.display().to_string(),
        ),
        None => (Policy::default_bundle(), "the default bundle".to_owned()),
    };
    let engine = policy
        .compile()
        .map_err(|e| format!("the replay policy ({source}) does not compile: {e}"))?;
    let records = decisions(path)?;
    let report = replay_records(records, &engine);
    if report.decisions == 0 {
        return Err(format!(
            "`{}` records no decided call: nothing to replay",
            path.display()
        ));
    }
    if report.replayed == 0 {
        return Err(format!(
            "none of the {} decisions in `{}` kept its policy input (the ledger was written \
             before records kept it, or by a guard built with record_policy_inputs(false)): \
             nothing to replay",
            report.decisions,
            path.display()
        ));
    }
    match format {
        Format::Text => text(&report, path, &source, engine.digest().as_str()),
        Format::Json => out!(
            "{}",
            json!({
                "ledger": path.display().to_string(),
                "policy": source,
                "policy_digest": engine.digest().as_str(),
                "decisions": report.decisions,
                "replayed": report.replayed,
                "without_input": report.without_input,
                "gate_failed": report.gate_failed(),
                "changes": report.changes,
            })
        ),
    }
    Ok(if report.gate_failed() {
        FAILURE
    } else {
        SUCCESS
    })
}

/// The ledger's `call.decided` records; any record this version cannot read refuses the
/// replay.
fn decisions(path: &Path) -> Result<Vec<Record>, String> {
    let every = RecordFilter::new();
    let records = read(path, &every).map_err(|e| e.to_string())?;
    let mut decided = Vec::new();
    for record in records {
        let record = record.map_err(|e| e.to_string())?;
        if record.schema > ledger::SCHEMA {
            return Err(format!(
                "record {} of `{}` has schema {}, newer than this agentwarrant reads ({}): \
                 replay it with a newer agentwarrant",
                record.seq,
                path.display(),
                record.schema,
                ledger::SCHEMA
            ));
        }
        if record.kind == RecordKind::CallDecided {
            decided.push(record);
        }
    }
    Ok(decided)
}

fn text(report: &Replay, path: &Path, source: &str, digest: &str) {
    out!(
        "replayed {} of {} decisions in {} under {source} (policy {})",
        report.replayed,
        report.decisions,
        path.display(),
        digest.get(..12).unwrap_or(digest)
    );
    if report.without_input > 0 {
        out!(
            "{} kept no policy input (refused before the policy, or decided by the engine alone)",
            report.without_input
        );
    }
    if report.changes.is_empty() {
        out!("no decision would change");
        return;
    }
    for ((was, now), count) in report.by_effect() {
        let calls = if count == 1 { "call" } else { "calls" };
        let change = if was == now {
            format!("{} for other reasons", would_now(now))
        } else {
            would_now(now).to_owned()
        };
        out!("{count} {calls} {} then {change}:", past(was));
        let group = report
            .changes
            .iter()
            .filter(|c| (c.was.as_str(), c.now.as_str()) == (was, now));
        for change in group.clone().take(LISTED) {
            out!("  {}", line(change));
        }
        if count > LISTED {
            out!(
                "  ... and {} more (--format json lists every one)",
                count - LISTED
            );
        }
    }
    let stopped = report.changes.iter().filter(|c| c.ran_now_denied()).count();
    if stopped > 0 {
        out!("FAILED: {stopped} calls that ran would now be denied");
    } else {
        out!("passed: no call that ran would now be denied");
    }
}

/// `allowed`, `needed approval`, `denied`.
fn past(effect: &str) -> &'static str {
    match effect {
        "allow" => "allowed",
        "approval" => "needed approval",
        _ => "denied",
    }
}

fn would_now(effect: &str) -> &'static str {
    match effect {
        "allow" => "would now be allowed",
        "approval" => "would now need approval",
        _ => "would now be denied",
    }
}

fn line(change: &Change) -> String {
    let reasons = |reasons: &[String]| {
        if reasons.is_empty() {
            "-".to_owned()
        } else {
            reasons.join(", ")
        }
    };
    format!(
        "#{} {} {} {} ({}): was {} [{}], now {} [{}]",
        change.seq,
        change.ts,
        change.identity,
        change.tool,
        change.status,
        change.was,
        reasons(&change.was_reasons),
        change.now,
        reasons(&change.now_reasons)
    )
}
