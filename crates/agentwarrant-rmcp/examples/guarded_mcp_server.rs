//! An MCP file server behind agentwarrant, served in-process to rmcp's own client over an
//! in-memory pipe (no network): a routine read runs, a delete waits for a person's approval,
//! a delete outside the agent's ceiling is refused, and the ledger verifies.
//!
//! ```bash
//! cargo run -p agentwarrant-rmcp --example guarded_mcp_server
//! ```

use std::sync::Arc;

use agentwarrant::{
    Approval, ApprovalAnswer, ApprovalRequest, ApproverError, Guard, Identity, Impact, Intent,
    MemoryLedger, Role, ToolSpec,
};
use agentwarrant_rmcp::GuardedServer;
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::CallToolRequestParams;
use rmcp::{tool, tool_handler, tool_router, ServerHandler, ServiceExt};

#[derive(serde::Deserialize, rmcp::schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
struct PathArg {
    path: String,
}

#[derive(Clone)]
struct Files {
    #[expect(dead_code, reason = "read by the code #[tool_handler] generates")]
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Files {
    #[tool(description = "Read a file")]
    async fn read_file(&self, Parameters(arg): Parameters<PathArg>) -> String {
        println!("  [server] reading {}", arg.path);
        format!("# {}\n...", arg.path)
    }

    #[tool(description = "Delete a file")]
    async fn delete_file(&self, Parameters(arg): Parameters<PathArg>) -> String {
        println!("  [server] deleting {}", arg.path);
        format!("deleted {}", arg.path)
    }
}

#[tool_handler]
impl ServerHandler for Files {}

/// The on-call reviewer: approves deletes of drafts, refuses the rest.
fn reviewer(request: &ApprovalRequest) -> Result<ApprovalAnswer, ApproverError> {
    println!("  [approver] asked:\n{}", indent(&request.to_string()));
    let draft = request.args["path"]
        .as_str()
        .is_some_and(|p| p.starts_with("docs/drafts/"));
    Ok(if draft {
        ApprovalAnswer::Approved(vec![Approval::of(request, "bob@acme.com")])
    } else {
        ApprovalAnswer::Denied {
            by: Some("bob@acme.com".into()),
            reason: Some("only drafts".into()),
        }
    })
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = Guard::builder()
        .tool(
            ToolSpec::builder("read_file", Impact::Low)
                .scope("files.read:{path:path}")
                .build()?,
        )
        .tool(
            ToolSpec::builder("delete_file", Impact::High)
                .reversible(false)
                .scope("files.delete:{path:path}")
                .build()?,
        )
        .approver(reviewer)
        .ledger(ledger.clone())
        .build()?;
    let agent = Identity::builder("agent://acme/docs-bot", Role::Executor, "alice@acme.com")
        .ceiling(["files.read:*", "files.delete:docs/*"])
        .build()?;
    let intent = Intent::builder("tidy the docs")
        .scopes(["files.read:*", "files.delete:docs/*"])
        .build()?;
    let task = guard.begin(agent, intent)?;

    let server = GuardedServer::new(
        Files {
            tool_router: Files::tool_router(),
        },
        task,
    );
    let (server_side, client_side) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_side).await {
            let _ = running.waiting().await;
        }
    });
    let client = ().serve(client_side).await?;

    for (tool, path) in [
        ("read_file", "docs/index.md"),
        ("delete_file", "docs/drafts/old.md"),
        ("delete_file", "docs/index.md"),
        ("delete_file", "etc/passwd"),
    ] {
        println!("\n{tool}({path})");
        let args = serde_json::json!({ "path": path });
        let params = CallToolRequestParams::new(tool)
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        let result = client.call_tool(params).await?;
        let text: Vec<&str> = result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
            .collect();
        let what = if result.is_error == Some(true) {
            "error result"
        } else {
            "result"
        };
        println!("  [client] {what}: {}", text.join(" "));
    }
    client.cancel().await?;

    println!("\nledger:");
    for record in ledger.records() {
        let status = record.outcome.as_ref().map_or("", |o| o.status.as_str());
        let tool = record.tool.as_deref().unwrap_or("");
        println!(
            "  {:>2} {:<18} {:<12} {status}",
            record.seq,
            record.kind.as_str(),
            tool
        );
    }
    let head = agentwarrant::ledger::verify_str(&ledger.to_jsonl())
        .map_err(|(seq, problem)| format!("record {seq}: {problem}"))?;
    println!(
        "ledger verifies: {} records, head {}",
        head.records,
        head.hash.get(..16).unwrap_or_default()
    );
    Ok(())
}
