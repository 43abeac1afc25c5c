//! `agentwarrant log`: a ledger as a readable timeline of tasks and their calls, filtered, or
//! summarised per identity, reason and approver. Read-only: it never writes, and it does not
//! verify the chain (`agentwarrant verify` does).

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal as _;
use std::path::Path;

use agentwarrant::ledger::{read, Record, RecordFilter, RecordKind};
use agentwarrant::Redaction;
use serde_json::{json, Value as Json};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::Format;

/// Which calls the log shows.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    pub(crate) task: Option<String>,
    pub(crate) identity: Option<String>,
    pub(crate) tool: Option<String>,
    pub(crate) effect: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) since: Option<String>,
    pub(crate) until: Option<String>,
}

/// One call as the log shows it: its decision and, once known, its outcome.
#[derive(Debug, Clone)]
struct Call {
    ts: String,
    task: String,
    identity: String,
    id: String,
    depth: usize,
    tool: String,
    effect: String,
    status: String,
    reasons: Vec<String>,
    approvers: Vec<String>,
    outcome: Option<String>,
    duration_us: Option<u64>,
    escalated: bool,
}

impl Call {
    fn to_json(&self) -> Json {
        json!({
            "ts": self.ts, "task_id": self.task, "identity": self.identity, "call_id": self.id,
            "depth": self.depth, "tool": self.tool, "effect": self.effect, "status": self.status,
            "reasons": self.reasons, "approvers": self.approvers, "outcome": self.outcome,
            "duration_us": self.duration_us, "escalated": self.escalated,
        })
    }

    /// The reason codes (a reason is `code` or `code: detail`).
    fn codes(&self) -> impl Iterator<Item = &str> {
        self.reasons
            .iter()
            .map(|r| r.split_once(": ").map_or(r.as_str(), |(code, _)| code))
    }
}

/// A task as the log shows it.
struct Task {
    id: String,
    identity: String,
    goal: String,
    parent: Option<String>,
}

/// Runs `agentwarrant log`.
pub(crate) fn log(
    path: &Path,
    filters: &Filters,
    summary: bool,
    format: Format,
) -> Result<u8, String> {
    let mut record_filter = RecordFilter::new();
    if let Some(since) = &filters.since {
        record_filter = record_filter.since(time_arg("--since", since)?);
    }
    if let Some(until) = &filters.until {
        record_filter = record_filter.until(time_arg("--until", until)?);
    }
    let records = read(path, &record_filter)
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<Record>, _>>()
        .map_err(|e| e.to_string())?;
    let (tasks, calls) = timeline(&records, &Redaction::default());
    let calls: Vec<Call> = calls.into_iter().filter(|c| shown(c, filters)).collect();
    match (summary, format) {
        (false, Format::Json) => out!("{}", Json::Array(calls.iter().map(Call::to_json).collect())),
        (false, Format::Text) => print_timeline(&tasks, &calls),
        (true, Format::Json) => out!("{}", summarise(&calls)),
        (true, Format::Text) => print_summary(&summarise(&calls)),
    }
    Ok(crate::SUCCESS)
}

fn time_arg(flag: &str, text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| {
        format!("{flag} `{text}` is not an RFC 3339 time (such as 2026-11-29T14:00:00Z): {e}")
    })
}

/// The tasks in order of beginning, and every decided call with its outcome and depth. The
/// free text shown (goals, reasons) is redacted as the guard redacts records, so a ledger
/// written without redaction shows no secret either.
fn timeline(records: &[Record], redaction: &Redaction) -> (Vec<Task>, Vec<Call>) {
    let mut tasks = Vec::new();
    let mut calls: Vec<Call> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for record in records {
        match record.kind {
            RecordKind::TaskBegun => tasks.push(Task {
                id: record.task_id.clone(),
                identity: record.identity.clone(),
                goal: redaction.redact(&record.intent).into_owned(),
                parent: record
                    .detail
                    .as_ref()
                    .and_then(|d| d["parent_task_id"].as_str())
                    .map(str::to_owned),
            }),
            RecordKind::CallDecided => {
                let Some(id) = record.call_id.clone() else {
                    continue;
                };
                let depth = record
                    .parent_call_id
                    .as_ref()
                    .and_then(|p| index.get(p))
                    .map_or(1, |&parent| calls[parent].depth + 1);
                let decision = record.decision.as_ref();
                index.insert(id.clone(), calls.len());
                calls.push(Call {
                    ts: record.ts.clone(),
                    task: record.task_id.clone(),
                    identity: record.identity.clone(),
                    id,
                    depth,
                    tool: record.tool.clone().unwrap_or_default(),
                    effect: decision.map(|d| d.effect.clone()).unwrap_or_default(),
                    status: record
                        .outcome
                        .as_ref()
                        .map(|o| o.status.clone())
                        .unwrap_or_default(),
                    reasons: decision
                        .map(|d| {
                            d.reasons
                                .iter()
                                .map(|r| redaction.redact(r).into_owned())
                                .collect()
                        })
                        .unwrap_or_default(),
                    approvers: record.approver.clone().unwrap_or_default(),
                    outcome: None,
                    duration_us: None,
                    escalated: record
                        .detail
                        .as_ref()
                        .is_some_and(|d| d["escalated"] == true),
                });
            }
            RecordKind::CallCompleted => {
                let found = record.call_id.as_ref().and_then(|id| index.get(id));
                if let (Some(&at), Some(outcome)) = (found, &record.outcome) {
                    calls[at].outcome = Some(outcome.status.clone());
                    calls[at].duration_us = outcome.duration_us;
                }
            }
            _ => {}
        }
    }
    (tasks, calls)
}

fn shown(call: &Call, filters: &Filters) -> bool {
    let matches = |wanted: &Option<String>, value: &str| wanted.as_ref().is_none_or(|w| w == value);
    filters
        .task
        .as_ref()
        .is_none_or(|t| call.task.starts_with(t.as_str()))
        && matches(&filters.identity, &call.identity)
        && matches(&filters.tool, &call.tool)
        && matches(&filters.effect, &call.effect)
        && filters
            .reason
            .as_ref()
            .is_none_or(|wanted| call.codes().any(|code| code == wanted))
}

fn print_timeline(tasks: &[Task], calls: &[Call]) {
    let colour = std::io::stdout().is_terminal();
    let paint = |status: &str| -> String {
        let code = match status {
            "allowed" | "approved" => "32",
            "denied" | "approval_denied" => "31",
            _ => return status.to_owned(),
        };
        if colour {
            format!("\u{1b}[{code}m{status}\u{1b}[0m")
        } else {
            status.to_owned()
        }
    };
    for task in tasks {
        let mine: Vec<&Call> = calls.iter().filter(|c| c.task == task.id).collect();
        if mine.is_empty() {
            continue;
        }
        let under = task
            .parent
            .as_ref()
            .map(|p| format!(" (delegated from {})", short(p)))
            .unwrap_or_default();
        out!(
            "task {} {} \"{}\"{under}",
            short(&task.id),
            task.identity,
            task.goal
        );
        for call in mine {
            let indent = "  ".repeat(call.depth);
            let time = call.ts.get(11..19).unwrap_or(&call.ts);
            let mut line = format!("{indent}{time} {} {}", call.tool, paint(&call.status));
            if !call.reasons.is_empty() {
                line.push_str(&format!(" [{}]", call.reasons.join("; ")));
            }
            if !call.approvers.is_empty() {
                line.push_str(&format!(" by {}", call.approvers.join(", ")));
            }
            if let Some(outcome) = &call.outcome {
                line.push_str(&format!(" -> {outcome}"));
                if let Some(us) = call.duration_us {
                    line.push_str(&format!(" in {:.1} ms", us as f64 / 1000.0));
                }
            }
            if call.escalated {
                line.push_str(" (escalated)");
            }
            out!("{line}");
        }
    }
}

/// Counts per identity (calls by status), per reason code, and approvals per approver.
fn summarise(calls: &[Call]) -> Json {
    let mut identities: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    let mut reasons: BTreeMap<&str, u64> = BTreeMap::new();
    let mut approvers: BTreeMap<&str, u64> = BTreeMap::new();
    let mut refused = 0u64;
    for call in calls {
        let counts = identities.entry(&call.identity).or_default();
        *counts.entry("calls").or_default() += 1;
        *counts.entry(call.status.as_str()).or_default() += 1;
        for code in call.codes() {
            *reasons.entry(code).or_default() += 1;
        }
        if call.status == "approved" {
            for who in &call.approvers {
                *approvers.entry(who).or_default() += 1;
            }
        }
        refused += u64::from(matches!(call.status.as_str(), "denied" | "approval_denied"));
    }
    json!({
        "calls": calls.len(),
        "refused": refused,
        "identities": identities,
        "reasons": reasons,
        "approvals": approvers,
    })
}

fn print_summary(summary: &Json) {
    out!("{} calls, {} refused", summary["calls"], summary["refused"]);
    let section = |title: &str, key: &str| {
        if let Some(map) = summary[key].as_object().filter(|m| !m.is_empty()) {
            out!("{title}:");
            for (name, value) in map {
                match value.as_object() {
                    Some(counts) => {
                        let parts: Vec<String> =
                            counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
                        out!("  {name}: {}", parts.join(", "));
                    }
                    None => out!("  {name}: {value}"),
                }
            }
        }
    };
    section("by identity", "identities");
    section("by reason", "reasons");
    section("approvals given", "approvals");
}

/// The first block of a UUID, enough to tell tasks apart in a timeline.
fn short(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}
