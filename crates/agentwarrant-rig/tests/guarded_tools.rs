//! Guarded tools in a real rig agent loop (rig-agent's `AgentBuilder`) driven by rig's
//! scripted mock model: what ran, what the model read back, what the ledger holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

use std::sync::{Arc, Mutex};

use agentwarrant::ledger::{verify_str, Record, RecordFilter, RecordKind};
use agentwarrant::testing::{Script, ScriptedApprover};
use agentwarrant::{
    Approval, ApprovalAnswer, ApprovalRequest, Guard, GuardBuilder, Identity, Impact, Intent,
    MemoryLedger, Role, Task, TaskRunner, ToolSpec,
};
use agentwarrant_rig::GuardedTool;
use rig_agent::test_utils::{MockCompletionModel, MockTurn};
use rig_agent::AgentBuilder;
use rig_core::tool::PortableTool;
use serde_json::json;

const BOB: &str = "bob@acme.com";

/// What the file tools ran, in order.
type Ran = Arc<Mutex<Vec<String>>>;

#[derive(serde::Deserialize)]
struct PathArg {
    path: String,
}

#[derive(Debug)]
struct Locked;

impl std::fmt::Display for Locked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the file is locked")
    }
}

impl std::error::Error for Locked {}

/// `read_file`, or `delete_file` when `DELETE`; a `.lock` file cannot be deleted.
struct FileTool<const DELETE: bool>(Ran);

impl<const DELETE: bool> PortableTool for FileTool<DELETE> {
    const NAME: &'static str = if DELETE { "delete_file" } else { "read_file" };
    type Args = PathArg;
    type Output = String;
    type Error = Locked;

    fn description(&self) -> String {
        Self::NAME.replace('_', " ")
    }

    fn parameters(&self) -> serde_json::Value {
        json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]})
    }

    async fn call(&self, args: PathArg) -> Result<String, Locked> {
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {}", Self::NAME, args.path));
        match (DELETE, args.path.ends_with(".lock")) {
            (true, true) => Err(Locked),
            (true, false) => Ok(format!("deleted {}", args.path)),
            (false, _) => Ok(format!("contents of {}", args.path)),
        }
    }
}

fn bob(script: fn(String) -> Script) -> Option<ScriptedApprover> {
    Some(ScriptedApprover::new(script(BOB.into())))
}

fn guard_builder(ledger: Arc<MemoryLedger>) -> GuardBuilder {
    Guard::builder()
        .tool(
            ToolSpec::builder("read_file", Impact::Low)
                .scope("files.read:{path:path}")
                .build()
                .unwrap(),
        )
        .tool(
            ToolSpec::builder("delete_file", Impact::High)
                .reversible(false)
                .scope("files.delete:{path:path}")
                .build()
                .unwrap(),
        )
        .ledger(ledger)
}

/// One agent run: the model calls `tool` with `args`, then answers "done".
struct Run {
    /// Everything the model was sent after the tool call, as JSON text.
    model_read: String,
    ran: Vec<String>,
    ledger: Arc<MemoryLedger>,
}

async fn run_with(
    guard: &Guard,
    ledger: Arc<MemoryLedger>,
    runner: impl FnOnce(Task) -> TaskRunner,
    tool: &str,
    args: serde_json::Value,
) -> Run {
    let agent_id = Identity::builder("agent://acme/files", Role::Executor, "alice@acme.com")
        .ceiling(["files.read:*", "files.delete:docs/*"])
        .build()
        .unwrap();
    let intent = Intent::builder("tidy the docs")
        .scopes(["files.read:*", "files.delete:docs/*"])
        .build()
        .unwrap();
    let runner = runner(guard.begin(agent_id, intent).unwrap());
    let ran = Ran::default();
    let model = MockCompletionModel::from_turns([
        MockTurn::tool_call("call-1", tool, args),
        MockTurn::text("done"),
    ]);
    let agent = AgentBuilder::new(model.clone())
        .tool(FileTool::<false>(ran.clone()).guarded(runner.clone()))
        .tool(FileTool::<true>(ran.clone()).guarded(runner))
        .build();
    let answer = agent
        .prompt("tidy the docs")
        .max_turns(3)
        .run()
        .await
        .unwrap();
    assert_eq!(answer.output(), "done");
    let requests = model.requests();
    assert_eq!(requests.len(), 2, "one tool round, then the answer");
    let model_read = serde_json::to_string(&requests[1].chat_history).unwrap();
    let ran = ran.lock().unwrap().clone();
    Run {
        model_read,
        ran,
        ledger,
    }
}

async fn run(approver: Option<ScriptedApprover>, tool: &str, args: serde_json::Value) -> Run {
    let ledger = Arc::new(MemoryLedger::new());
    let mut builder = guard_builder(ledger.clone());
    if let Some(approver) = approver {
        builder = builder.approver(approver);
    }
    let guard = builder.build().unwrap();
    run_with(&guard, ledger, TaskRunner::new, tool, args).await
}

/// The `call.decided` and `call.completed` statuses of `tool`'s calls, in order.
fn statuses(ledger: &MemoryLedger, tool: &str) -> Vec<String> {
    let calls = RecordFilter::new()
        .tool(tool)
        .kind(RecordKind::CallDecided)
        .kind(RecordKind::CallCompleted);
    let status = |r: Record| format!("{} {}", r.kind.as_str(), r.outcome.unwrap().status);
    ledger
        .records_where(&calls)
        .into_iter()
        .map(status)
        .collect()
}

#[tokio::test]
async fn an_allowed_call_runs_and_is_ledgered() {
    let run = run(None, "read_file", json!({"path": "docs/readme.md"})).await;
    assert_eq!(run.ran, ["read_file docs/readme.md"]);
    assert!(
        run.model_read.contains("contents of docs/readme.md"),
        "{}",
        run.model_read
    );
    assert_eq!(
        statuses(&run.ledger, "read_file"),
        ["call.decided allowed", "call.completed ok"]
    );
    verify_str(&run.ledger.to_jsonl()).unwrap();
}

#[tokio::test]
async fn a_denied_call_never_runs_and_the_model_reads_the_refusal() {
    // Outside the identity's ceiling: denied whoever would approve.
    let run = run(
        bob(Script::Approve),
        "delete_file",
        json!({"path": "etc/passwd"}),
    )
    .await;
    assert!(run.ran.is_empty());
    assert!(
        run.model_read
            .contains("refused: `delete_file`: outside_ceiling (a required scope is outside the identity's ceiling) Do not retry this call unchanged."),
        "{}",
        run.model_read
    );
    assert_eq!(
        statuses(&run.ledger, "delete_file"),
        ["call.decided denied"]
    );
    verify_str(&run.ledger.to_jsonl()).unwrap();
}

#[tokio::test]
async fn a_call_needing_approval_runs_once_the_guards_approver_approves() {
    let run = run(
        bob(Script::Approve),
        "delete_file",
        json!({"path": "docs/old.md"}),
    )
    .await;
    assert_eq!(run.ran, ["delete_file docs/old.md"]);
    assert!(
        run.model_read.contains("deleted docs/old.md"),
        "{}",
        run.model_read
    );
    assert_eq!(
        statuses(&run.ledger, "delete_file"),
        ["call.decided approved", "call.completed ok"]
    );
    let decided = run
        .ledger
        .records()
        .into_iter()
        .find(|r| r.kind.as_str() == "call.decided")
        .unwrap();
    assert_eq!(decided.approver.unwrap(), [BOB]);
    verify_str(&run.ledger.to_jsonl()).unwrap();
}

#[tokio::test]
async fn a_call_needing_approval_is_refused_when_the_approver_refuses_or_there_is_none() {
    for refusing in [true, false] {
        let approver = refusing.then(|| ScriptedApprover::new(Script::Deny(BOB.into())));
        let run = run(approver, "delete_file", json!({"path": "docs/old.md"})).await;
        assert!(run.ran.is_empty());
        assert!(
            run.model_read.contains("refused") && run.model_read.contains("high_impact"),
            "{}",
            run.model_read
        );
        assert!(
            !run.model_read.contains(BOB),
            "who refused is for operators: {}",
            run.model_read
        );
        let expected = if refusing {
            "call.decided approval_denied"
        } else {
            "call.decided denied"
        };
        assert_eq!(statuses(&run.ledger, "delete_file"), [expected]);
        verify_str(&run.ledger.to_jsonl()).unwrap();
    }
}

#[tokio::test]
async fn an_async_approver_given_to_the_tool_answers_instead_of_the_guards() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = guard_builder(ledger.clone())
        .approver(ScriptedApprover::new(Script::Deny(BOB.into())))
        .build()
        .unwrap();
    let carol = |request: &ApprovalRequest| {
        let approval = Approval::of(request, "carol@acme.com");
        async move { Ok(ApprovalAnswer::Approved(vec![approval])) }
    };
    let run = run_with(
        &guard,
        ledger,
        |task| TaskRunner::new(task).approver(carol),
        "delete_file",
        json!({"path": "docs/old.md"}),
    )
    .await;
    assert_eq!(run.ran, ["delete_file docs/old.md"]);
    assert_eq!(
        statuses(&run.ledger, "delete_file"),
        ["call.decided approved", "call.completed ok"]
    );
}

#[tokio::test]
async fn a_tool_error_is_recorded_as_the_calls_outcome() {
    let run = run(
        bob(Script::Approve),
        "delete_file",
        json!({"path": "docs/index.lock"}),
    )
    .await;
    assert_eq!(run.ran, ["delete_file docs/index.lock"]);
    assert_eq!(
        statuses(&run.ledger, "delete_file"),
        ["call.decided approved", "call.completed error"]
    );
    let completed = run
        .ledger
        .records()
        .into_iter()
        .find(|r| r.kind.as_str() == "call.completed")
        .unwrap();
    assert_eq!(
        completed.outcome.unwrap().error.as_deref(),
        Some("the file is locked")
    );
}

#[tokio::test]
async fn arguments_that_do_not_fit_the_tool_are_invalid_and_nothing_is_asked_or_run() {
    let run = run(
        bob(Script::Approve),
        "delete_file",
        json!({"file": "docs/old.md"}),
    )
    .await;
    assert!(run.ran.is_empty());
    assert!(
        run.model_read.contains("failed to parse tool arguments"),
        "{}",
        run.model_read
    );
    assert!(statuses(&run.ledger, "delete_file").is_empty());
}
