//! A support agent in production issues refunds; a team lead approves the small ones, a rule of
//! the company's own refuses the large ones, and every step lands in a hash-chained ledger.
//!
//! Run: `cargo run -p agentwarrant --example support_refund`

use agentwarrant::{
    ledger, Approval, ApprovalAnswer, ApprovalRequest, ApproverError, FileLedger, Guard, Identity,
    Impact, Intent, Outcome, Policy, Role, ToolCall, ToolSpec,
};
use serde_json::json;

/// The company's own rule, added to the default bundle: refunds over 500 are never automatic.
const REFUND_CAP: &str = r#"package agentwarrant

deny contains "refund_over_cap" if {
    input.call.tool == "refund"
    input.call.args.amount > 500
}
"#;

/// The team lead approves what the policy sends for approval, up to 100.
fn team_lead(request: &ApprovalRequest) -> Result<ApprovalAnswer, ApproverError> {
    let amount = request
        .args
        .get("amount")
        .and_then(|a| a.as_f64())
        .unwrap_or(f64::MAX);
    if amount <= 100.0 {
        Ok(ApprovalAnswer::Approved(vec![Approval::of(
            request,
            "lead@acme.com",
        )]))
    } else {
        Ok(ApprovalAnswer::Denied {
            by: Some("lead@acme.com".into()),
            reason: Some("over my limit".into()),
        })
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path =
        std::env::temp_dir().join(format!("agentwarrant-support-{}.jsonl", std::process::id()));
    let guard = Guard::builder()
        .policy(Policy::default_bundle().with_module("refund_cap.rego", REFUND_CAP))
        .tool(
            ToolSpec::builder("lookup_order", Impact::Low)
                .scope("orders.read:{order_id}")
                .build()?,
        )
        .tool(
            ToolSpec::builder("refund", Impact::Medium)
                .tags(["financial"])
                .scope("payments.refund:order/{order_id}")
                .build()?,
        )
        .tool(
            ToolSpec::builder("reply", Impact::Low)
                .scope("tickets.reply:{ticket}")
                .sensitive_args(["text"])
                .build()?,
        )
        .approver(team_lead)
        .ledger(FileLedger::open(&path)?)
        .env("prod")
        .build()?;
    let bot = Identity::builder("agent://acme/support-bot", Role::Executor, "dana@acme.com")
        .ceiling(["orders.read:*", "payments.refund:*", "tickets.reply:*"])
        .build()?;
    let intent = Intent::builder("resolve ticket T-9: refund order A-17")
        .scopes([
            "orders.read:*",
            "payments.refund:order/A-17",
            "tickets.reply:T-9",
        ])
        .max_impact(Impact::Medium)
        .build()?;
    let task = guard.begin(bot, intent)?;

    let calls = [
        ToolCall::new("lookup_order", json!({"order_id": "A-17"})),
        ToolCall::new("refund", json!({"order_id": "A-17", "amount": 40})),
        ToolCall::new("refund", json!({"order_id": "B-2", "amount": 80})),
        ToolCall::new("refund", json!({"order_id": "A-17", "amount": 900})),
        ToolCall::new(
            "reply",
            json!({"ticket": "T-9", "text": "Your refund is on its way."}),
        ),
    ];
    for call in calls {
        let what = format!("{} {}", call.tool(), call.args());
        match task.authorize(call) {
            Ok(warrant) => {
                let how = if warrant.approved() {
                    format!("approved by {}", warrant.approvers().join(", "))
                } else {
                    "allowed".into()
                };
                println!("{what:<55} {how}");
                warrant.complete(Outcome::ok())?;
            }
            Err(refusal) => println!("{what:<55} {refusal}"),
        }
    }
    task.end()?;
    let head = ledger::verify(&path)?;
    println!(
        "\nledger {} verified: {} records",
        path.display(),
        head.records
    );
    Ok(())
}
