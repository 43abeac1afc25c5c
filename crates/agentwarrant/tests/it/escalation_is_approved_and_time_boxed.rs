//! Escalation: a separate, time-boxed grant under an escalation identity, approved under four
//! eyes over the whole chain, marked in the ledger, expiring by itself and revocable early.

use std::sync::Arc;
use std::time::Duration;

use agentwarrant::ledger::Record;
use agentwarrant::{
    Guard, Identity, Intent, ManualClock, MemoryLedger, Outcome, ReasonCode, Refusal, RefusalKind,
    Role, Task, ToolCall,
};
use serde_json::json;

use crate::fixtures::*;

/// Owns the escalation identity.
const DAVE: &str = "dave@acme.com";

fn oncall_admin() -> Identity {
    Identity::builder("agent://acme/oncall-admin", Role::Escalation, DAVE)
        .ceiling(["db.drop:*", "svc.restart:*"])
        .build()
        .unwrap()
}

/// An executor that may only read logs.
fn reader() -> Identity {
    Identity::builder("agent://acme/reader", Role::Executor, ALICE)
        .ceiling(["logs.read:*"])
        .build()
        .unwrap()
}

fn drop_staging() -> ToolCall {
    ToolCall::new("drop_table", json!({"table": "staging_corrupt"}))
}

struct Setup {
    guard: Guard,
    ledger: Arc<MemoryLedger>,
    clock: Arc<ManualClock>,
    task: Task,
}

fn setup(approver: &'static str) -> Setup {
    let ledger = Arc::new(MemoryLedger::new());
    let clock = Arc::new(ManualClock::new(
        time::macros::datetime!(2026-03-01 12:00 UTC),
    ));
    let guard = builder()
        .approver(approve_as(approver))
        .ledger(ledger.clone())
        .clock(clock.clone())
        .limits(patient())
        .build()
        .unwrap();
    let intent = Intent::builder("find why staging is broken")
        .scopes(["logs.read:*"])
        .build()
        .unwrap();
    let task = guard.begin(reader(), intent).unwrap();
    Setup {
        guard,
        ledger,
        clock,
        task,
    }
}

fn escalate(task: &Task) -> Result<Task, Refusal> {
    task.escalate(
        oncall_admin(),
        ["db.drop:staging_*"],
        Duration::from_secs(600),
        "drop the corrupted staging table",
    )
}

fn escalation_records(ledger: &MemoryLedger) -> Vec<Record> {
    ledger
        .records()
        .into_iter()
        .filter(|r| r.tool.as_deref() == Some("escalate"))
        .collect()
}

fn reason_detail(refusal: &Refusal, code: ReasonCode) -> String {
    let reason = refusal.reasons.iter().find(|r| r.code == code);
    let reason = reason.unwrap_or_else(|| panic!("{code} expected in {refusal:?}"));
    reason.detail.clone().unwrap_or_default()
}

#[test]
fn an_approved_escalation_runs_beyond_the_task_and_its_calls_are_marked() {
    let Setup { ledger, task, .. } = setup(BOB);
    // The reader cannot drop anything itself.
    let refusal = task.authorize(drop_staging()).unwrap_err();
    assert!(refusal.has(&ReasonCode::OutsideCeiling), "{refusal:?}");

    let admin = escalate(&task).unwrap();
    assert!(admin.grant().escalated());
    assert_eq!(admin.grant().scopes(), ["db.drop:staging_*"]);
    assert_eq!(
        admin.grant().expires_at() - admin.grant().issued_at(),
        time::Duration::minutes(10)
    );
    let warrant = admin.authorize(drop_staging()).unwrap();
    assert_eq!(warrant.approvers(), [BOB]);
    let call = warrant.call_id();
    warrant.complete(Outcome::ok()).unwrap();
    // Beyond the scopes asked for, inside the escalation identity's ceiling: drift, which
    // needs its own approval, like any task's.
    let other = ToolCall::new("drop_table", json!({"table": "users"}));
    let drift = admin.authorize(other).unwrap();
    assert!(drift
        .decision()
        .reasons
        .iter()
        .any(|r| r.code == ReasonCode::ScopeDrift));
    drift.complete(Outcome::ok()).unwrap();
    // Outside that ceiling: refused.
    let grant = ToolCall::new("grant_role", json!({"user": "mallory"}));
    assert!(admin
        .authorize(grant)
        .unwrap_err()
        .has(&ReasonCode::OutsideCeiling));

    for record in records_of(&ledger, call) {
        let detail = record.detail.as_ref().unwrap();
        assert_eq!(detail["escalated"], true, "{}", record.kind.as_str());
    }
    let escalation = escalation_records(&ledger);
    let asked: Vec<(&str, &str)> = escalation
        .iter()
        .map(|r| (r.kind.as_str(), status(r)))
        .collect();
    assert_eq!(
        asked,
        [
            ("approval.requested", "requested"),
            ("approval.answered", "approved"),
            ("call.decided", "approved")
        ]
    );
    let decided = escalation_records(&ledger).pop().unwrap();
    assert_eq!(decided.approver.as_deref(), Some(&[BOB.to_owned()][..]));
    assert_eq!(
        decided.args.as_ref().unwrap()["identity"],
        "agent://acme/oncall-admin"
    );
}

#[test]
fn no_owner_in_the_chain_nor_of_the_escalation_identity_may_grant_it_and_asking_again_is_recorded()
{
    for (owner, whose) in [
        (ALICE, "the agent's owner"),
        (DAVE, "the escalation identity's owner"),
    ] {
        let Setup { ledger, task, .. } = setup(owner);
        for _ in 0..2 {
            let refusal = escalate(&task).unwrap_err();
            assert_eq!(refusal.kind, RefusalKind::ApprovalDenied, "{whose}");
            assert!(reason_detail(&refusal, ReasonCode::ApprovalInvalid).contains("four eyes"));
            assert!(refusal.has(&ReasonCode::Escalation));
        }
        let refused = escalation_records(&ledger)
            .iter()
            .filter(|r| r.kind.as_str() == "call.decided" && status(r) == "approval_denied")
            .count();
        assert_eq!(refused, 2, "{whose}");
    }
    // An agent cannot grant it either.
    let Setup { task, .. } = setup("agent://acme/reader");
    let refusal = escalate(&task).unwrap_err();
    assert!(refusal.has(&ReasonCode::ApprovalInvalid));
}

#[test]
fn an_escalation_expires_by_itself() {
    let Setup { clock, task, .. } = setup(BOB);
    let admin = escalate(&task).unwrap();
    clock.advance(time::Duration::minutes(11));
    let refusal = admin.authorize(drop_staging()).unwrap_err();
    assert!(refusal.has(&ReasonCode::GrantInvalid), "{refusal:?}");
}

#[test]
fn an_escalation_is_revoked_early_by_ending_it_or_the_task_that_asked() {
    let Setup { guard, task, .. } = setup(BOB);
    let admin = escalate(&task).unwrap();
    admin.end().unwrap();
    assert!(admin.authorize(drop_staging()).is_err());
    // The task that asked goes on.
    let logs = ToolCall::new("read_logs", json!({"service": "api"}));
    task.authorize(logs)
        .unwrap()
        .complete(Outcome::ok())
        .unwrap();

    let again = escalate(&task).unwrap();
    guard.disable_identity("agent://acme/reader");
    let refusal = again.authorize(drop_staging()).unwrap_err();
    assert!(refusal.has(&ReasonCode::GrantInvalid));
    guard.enable_identity("agent://acme/reader");
    task.end().unwrap();
    let refusal = again.authorize(drop_staging()).unwrap_err();
    assert!(refusal.has(&ReasonCode::GrantInvalid));
}

#[test]
fn what_an_escalation_may_not_ask_for_is_refused_and_recorded() {
    let Setup { ledger, task, .. } = setup(BOB);
    let executor = agent("agent://acme/other", Role::Executor, CAROL);
    let not_escalation = task
        .escalate(executor, ["db.drop:*"], Duration::from_secs(60), "x")
        .unwrap_err();
    assert!(reason_detail(&not_escalation, ReasonCode::InvalidCall).contains("role escalation"));
    let outside = task
        .escalate(
            oncall_admin(),
            ["iam.grant:*"],
            Duration::from_secs(60),
            "x",
        )
        .unwrap_err();
    assert!(outside.has(&ReasonCode::OutsideCeiling));
    let too_long = task
        .escalate(
            oncall_admin(),
            ["db.drop:*"],
            Duration::from_secs(24 * 3600),
            "x",
        )
        .unwrap_err();
    assert!(reason_detail(&too_long, ReasonCode::InvalidCall).contains("grant TTL"));
    let nothing = task
        .escalate(
            oncall_admin(),
            Vec::<String>::new(),
            Duration::from_secs(60),
            "x",
        )
        .unwrap_err();
    assert!(nothing.has(&ReasonCode::InvalidCall));
    let refused = escalation_records(&ledger)
        .iter()
        .filter(|r| r.kind.as_str() == "call.decided")
        .count();
    assert_eq!(refused, 4);

    let unapproved = builder().build().unwrap();
    let lone = unapproved.begin(reader(), anything()).unwrap();
    assert!(escalate(&lone)
        .unwrap_err()
        .has(&ReasonCode::ApprovalUnavailable));
}
