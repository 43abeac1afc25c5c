//! A rig support agent whose tools are guarded by agentwarrant, driven by rig's scripted mock
//! model (no provider, no network): a lookup runs, a refund waits for a person's approval, an
//! account deletion outside the agent's ceiling is refused and the model reads why, and the
//! ledger verifies.
//!
//! ```bash
//! cargo run -p agentwarrant-rig --example guarded_agent
//! ```

use std::sync::Arc;

use agentwarrant::{
    Approval, ApprovalAnswer, ApprovalRequest, ApproverError, Guard, Identity, Impact, Intent,
    MemoryLedger, Role, ToolSpec,
};
use agentwarrant_rig::GuardedTool;
use rig_agent::test_utils::{MockCompletionModel, MockTurn};
use rig_agent::AgentBuilder;
use rig_core::message::{Message, UserContent};
use rig_core::tool::PortableTool;
use serde_json::json;

#[derive(serde::Deserialize)]
struct Order {
    order: String,
}

#[derive(serde::Deserialize)]
struct Refund {
    order: String,
    amount: u32,
}

#[derive(serde::Deserialize)]
struct Account {
    customer: String,
}

/// Every support tool of this example, one rig tool each.
macro_rules! support_tool {
    ($tool:ident, $name:literal, $args:ty, |$a:ident| $body:expr) => {
        struct $tool;

        impl PortableTool for $tool {
            const NAME: &'static str = $name;
            type Args = $args;
            type Output = String;
            type Error = std::convert::Infallible;

            fn description(&self) -> String {
                $name.replace('_', " ")
            }

            fn parameters(&self) -> serde_json::Value {
                json!({"type": "object"})
            }

            async fn call(&self, $a: $args) -> Result<String, Self::Error> {
                let text: String = $body;
                println!("  [tool] {text}");
                Ok(text)
            }
        }
    };
}

support_tool!(LookupOrder, "lookup_order", Order, |a| format!(
    "order {} shipped, 40 EUR",
    a.order
));
support_tool!(RefundOrder, "refund_order", Refund, |a| format!(
    "refunded {} EUR on {}",
    a.amount, a.order
));
support_tool!(DeleteAccount, "delete_account", Account, |a| format!(
    "deleted {}",
    a.customer
));

/// The on-call reviewer: approves refunds up to 50 EUR.
fn reviewer(request: &ApprovalRequest) -> Result<ApprovalAnswer, ApproverError> {
    let amount = request.args["amount"].as_u64().unwrap_or(u64::MAX);
    println!(
        "  [approver] {} {} asks to {} ({} EUR)",
        request.identity, request.intent, request.tool, amount
    );
    Ok(if amount <= 50 {
        ApprovalAnswer::Approved(vec![Approval::of(request, "bob@acme.com")])
    } else {
        ApprovalAnswer::Denied {
            by: Some("bob@acme.com".into()),
            reason: Some("above 50 EUR".into()),
        }
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = Guard::builder()
        .tool(
            ToolSpec::builder("lookup_order", Impact::Low)
                .scope("orders.read:{order}")
                .build()?,
        )
        .tool(
            ToolSpec::builder("refund_order", Impact::Medium)
                .tags(["financial"])
                .external(true)
                .scope("payments.refund:{order}")
                .build()?,
        )
        .tool(
            ToolSpec::builder("delete_account", Impact::Critical)
                .reversible(false)
                .scope("accounts.delete:{customer}")
                .build()?,
        )
        .approver(reviewer)
        .ledger(ledger.clone())
        .build()?;
    let bot = Identity::builder("agent://acme/support", Role::Executor, "alice@acme.com")
        .ceiling(["orders.read:*", "payments.refund:*"])
        .build()?;
    let intent = Intent::builder("refund order A-17")
        .scopes(["orders.read:*", "payments.refund:A-17"])
        .build()?;
    let task = Arc::new(guard.begin(bot, intent)?);

    // What the model will do: look up, refund, then try to delete the account.
    let model = MockCompletionModel::from_turns([
        MockTurn::tool_call("c1", "lookup_order", json!({"order": "A-17"})),
        MockTurn::tool_call("c2", "refund_order", json!({"order": "A-17", "amount": 40})),
        MockTurn::tool_call("c3", "delete_account", json!({"customer": "cus_42"})),
        MockTurn::text("Refunded 40 EUR on A-17; I may not delete the account."),
    ]);
    let agent = AgentBuilder::new(model.clone())
        .preamble("You are Acme's support agent.")
        .tool(LookupOrder.guarded(task.clone()))
        .tool(RefundOrder.guarded(task.clone()))
        .tool(DeleteAccount.guarded(task.clone()))
        .build();

    println!("agent run:");
    let answer = agent
        .prompt("Please refund order A-17 and close my account.")
        .max_turns(6)
        .run()
        .await?;

    println!("\nwhat the model read back from its tools:");
    let history = model
        .requests()
        .pop()
        .map(|r| r.chat_history)
        .unwrap_or_default();
    for message in history {
        let Message::User { content } = message else {
            continue;
        };
        for part in content {
            if let UserContent::ToolResult(result) = part {
                let text: Vec<&str> = result.content.iter().filter_map(|c| c.as_text()).collect();
                let what = if result.is_error { "error" } else { "ok" };
                println!("  {} ({what}): {}", result.name, text.join(" "));
            }
        }
    }
    println!("\nthe model's answer: {}", answer.output());

    task.end()?;
    println!("\nledger:");
    for record in ledger.records() {
        let status = record.outcome.as_ref().map_or("", |o| o.status.as_str());
        let tool = record.tool.as_deref().unwrap_or("");
        println!(
            "  {:>2} {:<18} {:<15} {status}",
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
