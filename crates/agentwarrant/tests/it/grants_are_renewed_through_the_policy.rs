//! A long-running task renews its grant before it runs out, only as the policy allows and,
//! where it asks, a human approves; nothing renews an expired, revoked or escalated grant.

use std::sync::Arc;
use std::time::Duration;

use agentwarrant::{
    BuildError, Guard, Identity, Impact, Limits, ManualClock, MemoryLedger, Outcome, Policy,
    ReasonCode, RefusalKind, Role, ToolCall, ToolSpec, DEFAULT_BUNDLE,
};
use serde_json::json;

use crate::fixtures::*;

const START: time::OffsetDateTime = time::macros::datetime!(2026-03-01 12:00 UTC);

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(START))
}

fn read_logs_call() -> ToolCall {
    ToolCall::new("read_logs", json!({"service": "api"}))
}

#[test]
fn a_renewed_grant_outlives_its_first_expiry_and_the_ledger_shows_the_renewal() {
    let (clock, ledger) = (clock(), Arc::new(MemoryLedger::new()));
    let guard = builder()
        .clock(clock.clone())
        .ledger(ledger.clone())
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let first = task.grant().expires_at();
    assert_eq!(first, START + time::Duration::minutes(15));

    clock.advance(time::Duration::minutes(14));
    let until = task.renew_grant(Duration::from_secs(900)).unwrap();
    assert_eq!(until, START + time::Duration::minutes(29));
    assert_eq!(task.grant().expires_at(), until);
    clock.advance(time::Duration::minutes(5)); // past the first expiry
    task.run(read_logs_call(), |_| Ok::<_, String>(())).unwrap();

    let renewal: Vec<_> = ledger
        .records()
        .into_iter()
        .filter(|r| r.tool.as_deref() == Some("renew_grant"))
        .collect();
    assert_eq!(kinds_of(&renewal), ["call.decided", "call.completed"]);
    assert_eq!(renewal[0].args, Some(json!({"ttl_s": 900})));
    assert_eq!(status(&renewal[0]), "allowed");
    let detail = renewal[1].detail.as_ref().unwrap();
    assert_eq!(detail["expires_at"], "2026-03-01T12:29:00Z");

    // A shorter renewal never shortens the grant.
    assert_eq!(task.renew_grant(Duration::from_secs(60)).unwrap(), until);
    task.end().unwrap();
}

fn kinds_of(records: &[agentwarrant::ledger::Record]) -> Vec<&'static str> {
    records.iter().map(|r| r.kind.as_str()).collect()
}

#[test]
fn in_production_a_renewal_waits_for_a_human() {
    let refused = builder().env("prod").build().unwrap();
    let task = refused.begin(ops(), anything()).unwrap();
    let refusal = task.renew_grant(Duration::from_secs(600)).unwrap_err();
    assert!(refusal.has(&ReasonCode::ProductionChange));
    assert!(refusal.has(&ReasonCode::ApprovalUnavailable));

    let approved = builder()
        .env("prod")
        .approver(approve_as(BOB))
        .build()
        .unwrap();
    let task = approved.begin(ops(), anything()).unwrap();
    let before = task.grant().expires_at();
    assert!(task.renew_grant(Duration::from_secs(900)).unwrap() >= before);
}

#[test]
fn renewals_add_up_until_the_policy_asks_a_human() {
    let guard = builder().build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    // Each renewal weighs as a medium-impact call: past `max_impact_total` (6) a human is
    // asked, and there is none.
    let mut renewed = 0;
    let refusal = loop {
        match task.renew_grant(Duration::from_secs(600)) {
            Ok(_) => renewed += 1,
            Err(refusal) => break refusal,
        }
        assert!(renewed < 20, "renewals never ran out");
    };
    assert!(renewed >= 1, "the first renewals are allowed");
    assert!(refusal.has(&ReasonCode::CumulativeImpact), "{refusal}");
}

#[test]
fn a_custom_rule_refuses_renewals_and_bad_lifetimes_are_refused_by_the_engine() {
    let policy = Policy::empty().with_module(
        "agentwarrant.rego",
        format!(
            "{DEFAULT_BUNDLE}\ndeny contains \"no_renewals\" if \"grant_renewal\" in input.call.spec.tags\n"
        ),
    );
    let guard = builder().policy(policy).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let before = task.grant().expires_at();
    let refusal = task.renew_grant(Duration::from_secs(600)).unwrap_err();
    assert_eq!(refusal.reasons[0].code.as_str(), "no_renewals");
    assert_eq!(task.grant().expires_at(), before);

    let guard = builder()
        .limits(Limits {
            grant_ttl: Duration::from_secs(3600),
            ..patient()
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    for ttl in [Duration::ZERO, Duration::from_secs(3601)] {
        let refusal = task.renew_grant(ttl).unwrap_err();
        assert_eq!(refusal.kind, RefusalKind::Denied);
        assert!(refusal.has(&ReasonCode::InvalidCall), "{refusal}");
    }
}

#[test]
fn nothing_renews_an_expired_revoked_or_escalated_grant() {
    let clock = clock();
    let guard = builder()
        .clock(clock.clone())
        .approver(approve_as(BOB))
        .limits(patient())
        .build()
        .unwrap();
    let expired = guard.begin(ops(), anything()).unwrap();
    clock.advance(time::Duration::minutes(16));
    let refusal = expired.renew_grant(Duration::from_secs(600)).unwrap_err();
    assert!(refusal.has(&ReasonCode::GrantInvalid), "{refusal}");

    let parent = guard.begin(ops(), anything()).unwrap();
    let child = parent
        .delegate(agent("agent://acme/helper", Role::Executor, ALICE), None)
        .unwrap();
    // A delegated grant never outlives its parent's.
    let until = child.renew_grant(Duration::from_secs(900)).unwrap();
    assert_eq!(until, parent.grant().expires_at());
    parent.end().unwrap();
    let refusal = child.renew_grant(Duration::from_secs(60)).unwrap_err();
    assert!(refusal.has(&ReasonCode::GrantInvalid), "{refusal}");

    let admin = Identity::builder(
        "agent://acme/oncall-admin",
        Role::Escalation,
        "dave@acme.com",
    )
    .ceiling(["db.drop:*"])
    .build()
    .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let escalated = task
        .escalate(
            admin,
            ["db.drop:staging"],
            Duration::from_secs(300),
            "cleanup",
        )
        .unwrap();
    let refusal = escalated.renew_grant(Duration::from_secs(300)).unwrap_err();
    assert!(refusal.has(&ReasonCode::InvalidCall));
    let detail = refusal.reasons[0].detail.as_deref().unwrap_or_default();
    assert!(detail.contains("escalate again"), "{detail}");
}

#[test]
fn no_declared_tool_may_take_the_renewals_name() {
    let spec = || {
        ToolSpec::builder("renew_grant", Impact::Low)
            .build()
            .unwrap()
    };
    let error = Guard::builder().tool(spec()).build().unwrap_err();
    assert!(matches!(error, BuildError::InvalidTool { .. }), "{error}");
    assert!(error.to_string().contains("another name"));
    let guard = Guard::builder().build().unwrap();
    assert_eq!(
        guard.declare_tool(spec()).unwrap_err().code(),
        "invalid_tool"
    );
    let _ = Outcome::ok();
}
