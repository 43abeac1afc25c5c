//! The engine checks every approval itself, whatever the policy says: a human approver, four
//! eyes where required, bound to the call's digest, unexpired, single-use, N of M.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentwarrant::{
    Approval, ApprovalAnswer, ApprovalRequest, ApproverError, Guard, Limits, ManualClock,
    MemoryLedger, Policy, ReasonCode, Refusal, RefusalKind, Role, ToolCall, Warrant,
};
use serde_json::json;

use crate::fixtures::*;

fn secret() -> ToolCall {
    ToolCall::new("read_secret", json!({"path": "db/main"}))
}

fn rbac() -> ToolCall {
    ToolCall::new("grant_role", json!({"user": "mallory"}))
}

fn critical() -> ToolCall {
    ToolCall::new("drop_table", json!({"table": "users"}))
}

/// Asserts the approval was rejected by the engine, with `detail` in the reason.
fn assert_rejected(result: Result<Warrant, Refusal>, detail: &str) {
    let refusal = result.expect_err("the approval must be rejected");
    assert_eq!(refusal.kind, RefusalKind::ApprovalDenied, "{refusal:?}");
    let invalid = refusal
        .reasons
        .iter()
        .find(|r| r.code == ReasonCode::ApprovalInvalid)
        .unwrap_or_else(|| panic!("no approval_invalid in {refusal:?}"));
    let text = invalid.detail.as_deref().unwrap_or_default();
    assert!(text.contains(detail), "`{text}` should mention `{detail}`");
}

/// An approver that approves as whoever `who` names at the time of the request.
fn approver_named(who: &Arc<Mutex<String>>) -> impl Fn(&ApprovalRequest) -> Answer + Send + Sync {
    let who = who.clone();
    move |request: &ApprovalRequest| {
        let name = who.lock().unwrap().clone();
        Ok(ApprovalAnswer::Approved(vec![Approval::of(request, name)]))
    }
}

#[test]
fn an_approval_for_another_call_is_rejected() {
    let first: Arc<Mutex<Option<ApprovalRequest>>> = Arc::default();
    let seen = first.clone();
    let guard = builder()
        .approver(move |request: &ApprovalRequest| {
            let mut first = seen.lock().unwrap();
            let approved = first.get_or_insert_with(|| request.clone());
            Ok(ApprovalAnswer::Approved(vec![Approval::of(approved, BOB)]))
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    task.authorize(secret())
        .unwrap()
        .complete(agentwarrant::Outcome::ok())
        .unwrap();
    // The same tool with the same args is still another call: another digest.
    let result = task.authorize(secret());

    assert_rejected(result, "different call");
}

#[test]
fn an_approval_that_expired_while_the_human_decided_is_rejected() {
    let clock = Arc::new(ManualClock::new(
        time::macros::datetime!(2026-03-01 12:00 UTC),
    ));
    let ticking = clock.clone();
    let guard = builder()
        .clock(clock.clone())
        .limits(Limits {
            approval_ttl: Duration::from_secs(300),
            grant_ttl: Duration::from_secs(3600),
            ..Limits::default()
        })
        .approver(move |request: &ApprovalRequest| {
            // The human takes longer than the approval may live.
            ticking.advance(time::Duration::seconds(301));
            Ok(ApprovalAnswer::Approved(vec![Approval::of(request, BOB)]))
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    assert_rejected(task.authorize(secret()), "expired");
}

#[test]
fn an_approval_that_outlives_its_request_is_rejected() {
    let guard = builder()
        .approver(|request: &ApprovalRequest| {
            let mut approval = Approval::of(request, BOB);
            approval.expires_at += time::Duration::days(365);
            Ok(ApprovalAnswer::Approved(vec![approval]))
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    assert_rejected(task.authorize(secret()), "outlives");
}

#[test]
fn an_approval_is_single_use_even_when_rebound_to_a_new_call() {
    let kept: Arc<Mutex<Option<Approval>>> = Arc::default();
    let store = kept.clone();
    let guard = builder()
        .approver(move |request: &ApprovalRequest| {
            let mut kept = store.lock().unwrap();
            let approval = match kept.as_ref() {
                None => kept.insert(Approval::of(request, BOB)).clone(),
                // Replay the first approval's id with this call's digest.
                Some(first) => Approval {
                    digest: request.digest.clone(),
                    ..first.clone()
                },
            };
            Ok(ApprovalAnswer::Approved(vec![approval]))
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let other = guard.begin(ops(), anything()).unwrap();

    let _ = task.authorize(secret()).unwrap();

    assert_rejected(task.authorize(secret()), "already used");
    assert_rejected(other.authorize(secret()), "already used");
}

#[test]
fn an_approver_that_is_not_a_human_is_rejected() {
    let who = Arc::new(Mutex::new(String::new()));
    let guard = builder()
        .limits(patient())
        .approver(approver_named(&who))
        .build()
        .unwrap();
    // Identities may have ids that look like people's.
    let task = guard
        .begin(agent("ops-bot@acme.com", Role::Executor, ALICE), anything())
        .unwrap();
    let _deployer = guard
        .begin(
            agent("deployer@acme.com", Role::Executor, CAROL),
            anything(),
        )
        .unwrap();

    for name in [
        "agent://acme/reviewer",
        "  agent://acme/reviewer  ",
        "ops-bot@acme.com",
        "deployer@acme.com",
        "",
        "   ",
    ] {
        *who.lock().unwrap() = name.to_owned();
        assert_rejected(task.authorize(secret()), "not a human approver");
    }
    *who.lock().unwrap() = BOB.to_owned();
    assert!(task.authorize(secret()).unwrap().approved());
}

#[test]
fn the_owner_may_not_approve_an_rbac_change_or_a_critical_call() {
    let who = Arc::new(Mutex::new(ALICE.to_owned()));
    let requests = Requests::default();
    let seen = requests.clone();
    let approve = approver_named(&who);
    let guard = builder()
        .approver(move |request: &ApprovalRequest| {
            seen.push(request);
            approve(request)
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    assert_rejected(task.authorize(rbac()), "four eyes");
    assert_rejected(task.authorize(critical()), "four eyes");
    for request in requests.all() {
        assert_eq!(request.excluded, [ALICE], "{}", request.tool);
    }

    *who.lock().unwrap() = BOB.to_owned();
    assert!(task.authorize(rbac()).unwrap().approved());
    assert!(task.authorize(critical()).unwrap().approved());
}

#[test]
fn the_owner_may_approve_an_ordinary_call_that_needs_approval() {
    let guard = builder().approver(approve_as(ALICE)).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    let warrant = task.authorize(secret()).unwrap();

    assert_eq!(warrant.approvers(), [ALICE]);
    assert!(warrant.decision().has(&ReasonCode::SecretAccess));
}

#[test]
fn under_an_escalation_identity_its_owner_may_not_approve_anything() {
    let who = Arc::new(Mutex::new("dave@acme.com".to_owned()));
    let guard = builder().approver(approver_named(&who)).build().unwrap();
    let breakglass = agent("agent://acme/breakglass", Role::Escalation, "dave@acme.com");
    let task = guard.begin(breakglass, anything()).unwrap();
    assert!(task.grant().escalated());

    assert_rejected(task.authorize(secret()), "four eyes");

    *who.lock().unwrap() = BOB.to_owned();
    assert!(task.authorize(secret()).unwrap().approved());
}

#[test]
fn below_an_escalation_identity_neither_owner_may_approve() {
    let who = Arc::new(Mutex::new(String::new()));
    let guard = builder().approver(approver_named(&who)).build().unwrap();
    let breakglass = agent("agent://acme/breakglass", Role::Escalation, "dave@acme.com");
    let parent = guard.begin(breakglass, anything()).unwrap();
    let helper = parent
        .delegate(agent("agent://acme/helper", Role::Executor, CAROL), None)
        .unwrap();

    for owner in ["dave@acme.com", CAROL] {
        *who.lock().unwrap() = owner.to_owned();
        assert_rejected(helper.authorize(secret()), "four eyes");
    }
    *who.lock().unwrap() = BOB.to_owned();
    assert!(helper.authorize(secret()).unwrap().approved());
}

/// The default bundle plus a module that asks for two approvers on every approval.
fn two_person_rule() -> Policy {
    Policy::default_bundle().with_module(
        "two_person.rego",
        "package agentwarrant\n\nobligations := {\"approvers\": 2}\n",
    )
}

fn guard_approving_as(names: &'static [&'static str]) -> Guard {
    builder()
        .policy(two_person_rule())
        .approver(move |request: &ApprovalRequest| {
            assert_eq!(request.approvers_needed, 2);
            let approvals = names.iter().map(|n| Approval::of(request, *n)).collect();
            Ok(ApprovalAnswer::Approved(approvals))
        })
        .build()
        .unwrap()
}

#[test]
fn an_approvers_obligation_needs_that_many_distinct_people() {
    for names in [&[BOB][..], &[BOB, BOB], &[]] {
        let guard = guard_approving_as(names);
        let task = guard.begin(ops(), anything()).unwrap();
        assert_rejected(task.authorize(secret()), "2 distinct approver(s) needed");
    }

    let guard = guard_approving_as(&[CAROL, BOB]);
    let task = guard.begin(ops(), anything()).unwrap();
    let warrant = task.authorize(secret()).unwrap();
    assert_eq!(warrant.approvers(), [BOB, CAROL]);
    assert_eq!(warrant.decision().obligations.approvers, 2);
}

#[test]
fn one_bad_approval_among_enough_good_ones_rejects_the_call() {
    let guard = guard_approving_as(&[BOB, CAROL, "agent://acme/ops"]);
    let task = guard.begin(ops(), anything()).unwrap();

    assert_rejected(task.authorize(secret()), "not a human approver");
}

#[test]
fn an_approver_that_fails_refuses_the_call() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder()
        .ledger(ledger.clone())
        .approver(|_: &ApprovalRequest| Err(ApproverError::new("the pager timed out")))
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    let refusal = task.authorize(secret()).unwrap_err();

    assert_eq!(refusal.kind, RefusalKind::ApprovalDenied);
    assert_eq!(refusal.codes(), ["secret_access", "approval_unavailable"]);
    assert_eq!(
        refusal.reasons[1].detail.as_deref(),
        Some("the pager timed out")
    );
    let answered = &records_of(&ledger, refusal.call_id)[1];
    assert_eq!(answered.kind.as_str(), "approval.answered");
    assert_eq!(status(answered), "approval_denied");
}

#[test]
fn a_rejected_approval_is_recorded_with_its_reason() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder()
        .ledger(ledger.clone())
        .approver(approve_as(ALICE))
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    let refusal = task.authorize(rbac()).unwrap_err();

    let records = records_of(&ledger, refusal.call_id);
    let answered = &records[1];
    assert_eq!(answered.approver.as_deref(), Some(&[ALICE.to_owned()][..]));
    let detail = answered.detail.as_ref().unwrap();
    assert_eq!(detail["answer"], "refused");
    assert!(detail["reason"]
        .as_str()
        .unwrap()
        .starts_with("approval_invalid"));
    let decided = records.last().unwrap();
    assert_eq!(status(decided), "approval_denied");
    assert!(decided
        .decision
        .as_ref()
        .unwrap()
        .reasons
        .iter()
        .any(|r| r.starts_with("approval_invalid")));
}

/// Regression: approvers were compared with principals byte for byte, so the owner passed four
/// eyes, an agent passed as a human, and one person counted twice, by changing letter case.
#[test]
fn principals_that_differ_only_in_letter_case_are_the_same_principal() {
    let who = Arc::new(Mutex::new(String::new()));
    let guard = builder().approver(approver_named(&who)).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let _deployer = guard
        .begin(
            agent("deployer@acme.com", Role::Executor, CAROL),
            anything(),
        )
        .unwrap();

    for (name, call, problem) in [
        ("Alice@ACME.com", rbac(), "four eyes"),
        ("AGENT://acme/reviewer", secret(), "not a human approver"),
        ("Agent://acme/ops", secret(), "not a human approver"),
        ("Deployer@Acme.Com", secret(), "not a human approver"),
    ] {
        *who.lock().unwrap() = name.to_owned();
        assert_rejected(task.authorize(call), problem);
    }

    let guard = guard_approving_as(&[BOB, "Bob@Acme.com"]);
    let task = guard.begin(ops(), anything()).unwrap();
    assert_rejected(task.authorize(secret()), "2 distinct approver(s) needed");
}
