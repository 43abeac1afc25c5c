//! A `#[tool_router]` MCP server behind `GuardedServer`, served to rmcp's own client over an
//! in-memory duplex pipe: what the client (and so the model) sees, what ran, what the ledger
//! holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

use std::sync::{Arc, Mutex};

use agentwarrant::ledger::{verify_str, Record, RecordFilter, RecordKind};
use agentwarrant::testing::{Script, ScriptedApprover};
use agentwarrant::{
    Approval, ApprovalAnswer, ApprovalRequest, Guard, GuardBuilder, Identity, Impact, Intent,
    MemoryLedger, Role, Task, TaskRunner, ToolSpec,
};
use agentwarrant_rmcp::GuardedServer;
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock};
use rmcp::service::RunningService;
use rmcp::{tool, tool_handler, tool_router, ErrorData, RoleClient, ServerHandler, ServiceExt};

const BOB: &str = "bob@acme.com";

/// The file tools' one argument.
#[derive(serde::Deserialize, rmcp::schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
struct PathArg {
    path: String,
}

/// A small file server that notes every tool it ran.
#[derive(Clone)]
struct Files {
    ran: Arc<Mutex<Vec<String>>>,
    #[expect(dead_code, reason = "read by the code #[tool_handler] generates")]
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Files {
    #[tool(description = "Read a file")]
    async fn read_file(&self, Parameters(arg): Parameters<PathArg>) -> String {
        self.ran
            .lock()
            .unwrap()
            .push(format!("read_file {}", arg.path));
        format!("contents of {}", arg.path)
    }

    #[tool(description = "Delete a file")]
    async fn delete_file(
        &self,
        Parameters(arg): Parameters<PathArg>,
    ) -> Result<CallToolResult, ErrorData> {
        self.ran
            .lock()
            .unwrap()
            .push(format!("delete_file {}", arg.path));
        if arg.path.ends_with(".lock") {
            return Ok(CallToolResult::error(vec![ContentBlock::text(
                "the file is locked",
            )]));
        }
        Ok(CallToolResult::success(vec![ContentBlock::text(format!(
            "deleted {}",
            arg.path
        ))]))
    }
}

#[tool_handler]
impl ServerHandler for Files {}

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

fn bob(script: fn(String) -> Script) -> Option<ScriptedApprover> {
    Some(ScriptedApprover::new(script(BOB.into())))
}

/// A server over `guard`, its client, and the record of what the server ran.
struct Served {
    client: RunningService<RoleClient, ()>,
    ran: Arc<Mutex<Vec<String>>>,
    ledger: Arc<MemoryLedger>,
    _guard: Guard,
}

async fn serve_with(
    guard: Guard,
    ledger: Arc<MemoryLedger>,
    runner: impl FnOnce(Task) -> TaskRunner,
) -> Served {
    let agent = Identity::builder("agent://acme/files", Role::Executor, "alice@acme.com")
        .ceiling(["files.read:*", "files.delete:docs/*"])
        .build()
        .unwrap();
    let intent = Intent::builder("tidy the docs")
        .scopes(["files.read:*", "files.delete:docs/*"])
        .build()
        .unwrap();
    let task = guard.begin(agent, intent).unwrap();
    let ran = Arc::new(Mutex::new(Vec::new()));
    let files = Files {
        ran: ran.clone(),
        tool_router: Files::tool_router(),
    };
    let server = GuardedServer::new(files, runner(task));
    let (server_side, client_side) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let running = server.serve(server_side).await.unwrap();
        let _ = running.waiting().await;
    });
    let client = ().serve(client_side).await.unwrap();
    Served {
        client,
        ran,
        ledger,
        _guard: guard,
    }
}

async fn serve(approver: Option<ScriptedApprover>) -> Served {
    let ledger = Arc::new(MemoryLedger::new());
    let mut builder = guard_builder(ledger.clone());
    if let Some(approver) = approver {
        builder = builder.approver(approver);
    }
    serve_with(builder.build().unwrap(), ledger, TaskRunner::new).await
}

async fn call(served: &Served, tool: &'static str, path: &str) -> CallToolResult {
    let args = serde_json::json!({ "path": path });
    let params = CallToolRequestParams::new(tool).with_arguments(args.as_object().unwrap().clone());
    served.client.call_tool(params).await.unwrap()
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
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

fn ran(served: &Served) -> Vec<String> {
    served.ran.lock().unwrap().clone()
}

#[tokio::test]
async fn an_allowed_call_runs_and_is_ledgered() {
    let served = serve(None).await;
    let result = call(&served, "read_file", "docs/readme.md").await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    assert_eq!(text(&result), "contents of docs/readme.md");
    assert_eq!(ran(&served), ["read_file docs/readme.md"]);
    assert_eq!(
        statuses(&served.ledger, "read_file"),
        ["call.decided allowed", "call.completed ok"]
    );
    verify_str(&served.ledger.to_jsonl()).unwrap();
}

#[tokio::test]
async fn a_denied_call_never_runs_and_the_client_reads_the_refusal() {
    let served = serve(bob(Script::Approve)).await;
    // Outside the identity's ceiling: denied whoever would approve.
    let result = call(&served, "delete_file", "etc/passwd").await;
    assert_eq!(result.is_error, Some(true));
    let message = text(&result);
    assert!(
        message.starts_with("refused: `delete_file`: outside_ceiling"),
        "{message}"
    );
    assert!(
        message.ends_with("Do not retry this call unchanged."),
        "{message}"
    );
    assert!(
        !message.contains("etc/passwd"),
        "args never reach the model: {message}"
    );
    assert!(ran(&served).is_empty());
    assert_eq!(
        statuses(&served.ledger, "delete_file"),
        ["call.decided denied"]
    );
    // A tool the guard was never told about is refused too.
    let result = call(&served, "format_disk", "/").await;
    assert_eq!(result.is_error, Some(true));
    assert!(text(&result).contains("unknown_tool"), "{}", text(&result));
    verify_str(&served.ledger.to_jsonl()).unwrap();
}

#[tokio::test]
async fn a_call_needing_approval_runs_once_the_guards_approver_approves() {
    let served = serve(bob(Script::Approve)).await;
    let result = call(&served, "delete_file", "docs/old.md").await;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    assert_eq!(text(&result), "deleted docs/old.md");
    assert_eq!(ran(&served), ["delete_file docs/old.md"]);
    assert_eq!(
        statuses(&served.ledger, "delete_file"),
        ["call.decided approved", "call.completed ok"]
    );
    let decided = served
        .ledger
        .records()
        .into_iter()
        .find(|r| r.kind.as_str() == "call.decided" && r.tool.as_deref() == Some("delete_file"))
        .unwrap();
    assert_eq!(decided.approver.unwrap(), [BOB]);
    verify_str(&served.ledger.to_jsonl()).unwrap();
}

#[tokio::test]
async fn a_call_needing_approval_is_refused_when_the_approver_refuses_or_there_is_none() {
    for refusing in [true, false] {
        let served = serve(refusing.then(|| ScriptedApprover::new(Script::Deny(BOB.into())))).await;
        let result = call(&served, "delete_file", "docs/old.md").await;
        assert_eq!(result.is_error, Some(true));
        let message = text(&result);
        assert!(message.contains("high_impact"), "{message}");
        assert!(
            !message.contains(BOB),
            "who refused is for operators: {message}"
        );
        assert!(ran(&served).is_empty());
        let expected = if refusing {
            "call.decided approval_denied"
        } else {
            "call.decided denied"
        };
        assert_eq!(statuses(&served.ledger, "delete_file"), [expected]);
        verify_str(&served.ledger.to_jsonl()).unwrap();
    }
}

#[tokio::test]
async fn an_async_approver_given_to_the_server_answers_instead_of_the_guards() {
    let ledger = Arc::new(MemoryLedger::new());
    // The guard's own approver refuses; the server's async approver is the one asked.
    let guard = guard_builder(ledger.clone())
        .approver(ScriptedApprover::new(Script::Deny(BOB.into())))
        .build()
        .unwrap();
    let carol = |request: &ApprovalRequest| {
        let approval = Approval::of(request, "carol@acme.com");
        async move { Ok(ApprovalAnswer::Approved(vec![approval])) }
    };
    let served = serve_with(guard, ledger, |task| TaskRunner::new(task).approver(carol)).await;
    let result = call(&served, "delete_file", "docs/old.md").await;
    assert_eq!(text(&result), "deleted docs/old.md");
    assert_eq!(
        statuses(&served.ledger, "delete_file"),
        ["call.decided approved", "call.completed ok"]
    );
}

#[tokio::test]
async fn a_tools_error_result_is_recorded_as_the_calls_error_and_reaches_the_client() {
    let served = serve(bob(Script::Approve)).await;
    let result = call(&served, "delete_file", "docs/index.lock").await;
    assert_eq!(result.is_error, Some(true));
    assert_eq!(text(&result), "the file is locked");
    assert_eq!(
        statuses(&served.ledger, "delete_file"),
        ["call.decided approved", "call.completed error"]
    );
    let completed = served
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
async fn everything_but_tools_call_passes_through_to_the_inner_server() {
    let served = serve(None).await;
    let mut tools: Vec<String> = served
        .client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    tools.sort();
    assert_eq!(tools, ["delete_file", "read_file"]);
    let info = served.client.peer_info().unwrap();
    assert!(info.capabilities.tools.is_some());
    // Listing is not a call: nothing is decided.
    assert!(served
        .ledger
        .records()
        .iter()
        .all(|r| r.kind.as_str() != "call.decided"));
}
