//! One call through the whole pipeline: validate, decide, approve, record, run, complete.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use agentwarrant::{
    ApprovalAnswer, ApprovalRequest, CallId, Effect, Impact, Limits, MemoryLedger, Outcome,
    ReasonCode, RefusalKind, RunError, ToolCall, ToolSpec,
};
use serde_json::json;

use crate::fixtures::*;

#[test]
fn a_low_impact_call_inside_the_intent_runs_without_friction() {
    let ledger = Arc::new(MemoryLedger::new());
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let guard = builder()
        .ledger(ledger.clone())
        .approver(move |request: &ApprovalRequest| {
            counter.fetch_add(1, Ordering::SeqCst);
            approve_as(BOB)(request)
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    let warrant = task
        .authorize(ToolCall::new("read_logs", json!({"service": "api"})))
        .unwrap();

    assert_eq!(warrant.decision().effect, Effect::Allow);
    assert!(warrant.decision().reasons.is_empty());
    assert!(!warrant.approved());
    assert!(warrant.approvers().is_empty());
    assert_eq!((warrant.tool(), warrant.depth()), ("read_logs", 1));
    assert_eq!(&warrant.decision().policy_digest, guard.policy().digest());
    let call = warrant.call_id();
    warrant.complete(Outcome::ok()).unwrap();
    assert_eq!(asked.load(Ordering::SeqCst), 0, "no approver was asked");

    let records = records_of(&ledger, call);
    let seen: Vec<_> = records
        .iter()
        .map(|r| (r.kind.as_str(), status(r)))
        .collect();
    assert_eq!(
        seen,
        [("call.decided", "allowed"), ("call.completed", "ok")]
    );
    let decided = records[0].decision.as_ref().unwrap();
    assert_eq!(decided.effect, "allow");
    assert_eq!(
        decided.policy_digest.as_deref(),
        Some(guard.policy().digest().as_str())
    );
    task.end().unwrap();
    assert_eq!(
        kinds(&ledger),
        [
            "task.begun",
            "grant.issued",
            "call.decided",
            "call.completed",
            "grant.revoked",
            "task.ended"
        ]
    );
}

#[test]
fn a_call_that_needs_approval_runs_once_a_human_approves_it() {
    let ledger = Arc::new(MemoryLedger::new());
    let requests = Requests::default();
    let seen = requests.clone();
    let guard = builder()
        .ledger(ledger.clone())
        .approver(move |request: &ApprovalRequest| {
            seen.push(request);
            Ok(ApprovalAnswer::Approved(vec![agentwarrant::Approval::of(
                request,
                "bob@acme.com",
            )]))
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    let warrant = task
        .authorize(ToolCall::new("read_secret", json!({"path": "db/main"})))
        .unwrap();

    assert!(warrant.approved());
    assert_eq!(warrant.approvers(), ["bob@acme.com"]);
    assert_eq!(warrant.decision().effect, Effect::Approval);
    assert!(warrant.decision().has(&ReasonCode::SecretAccess));
    let [request] = requests.all().try_into().unwrap();
    assert_eq!(request.call_id, warrant.call_id());
    assert_eq!(request.task_id, task.id());
    assert_eq!(request.tool, "read_secret");
    assert_eq!(request.identity, "agent://acme/ops");
    assert_eq!(request.owner, ALICE);
    assert_eq!(request.intent, "keep the service healthy");
    assert_eq!(request.args, json!({"path": "db/main"}));
    assert_eq!(request.approvers_needed, 1);
    assert!(
        request.excluded.is_empty(),
        "no four eyes for a secret read"
    );
    assert!(request
        .reasons
        .iter()
        .any(|r| r.code == ReasonCode::SecretAccess));

    let call = warrant.call_id();
    warrant.complete(Outcome::ok()).unwrap();
    let records = records_of(&ledger, call);
    let seen: Vec<_> = records
        .iter()
        .map(|r| (r.kind.as_str(), status(r)))
        .collect();
    assert_eq!(
        seen,
        [
            ("approval.requested", "requested"),
            ("approval.answered", "approved"),
            ("call.decided", "approved"),
            ("call.completed", "ok"),
        ]
    );
    for record in &records[1..] {
        assert_eq!(
            record.approver.as_deref(),
            Some(&["bob@acme.com".to_owned()][..])
        );
    }
}

#[test]
fn an_approver_who_refuses_refuses_the_call_with_approval_denied() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder()
        .ledger(ledger.clone())
        .approver(|_: &ApprovalRequest| {
            Ok(ApprovalAnswer::Denied {
                by: Some(BOB.into()),
                reason: Some("not during the freeze".into()),
            })
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let ran = AtomicBool::new(false);

    let result = task.run(
        ToolCall::new("read_secret", json!({"path": "db/main"})),
        |_| {
            ran.store(true, Ordering::SeqCst);
            Ok::<_, String>(())
        },
    );

    let Err(RunError::Refused(refusal)) = result else {
        panic!("expected a refusal, got {result:?}");
    };
    assert!(!ran.load(Ordering::SeqCst), "the tool must not run");
    assert_eq!(refusal.kind, RefusalKind::ApprovalDenied);
    assert_eq!(refusal.codes(), ["secret_access", "approval_denied"]);
    let denied = refusal.reasons.last().unwrap();
    assert_eq!(denied.detail.as_deref(), Some("not during the freeze"));
    assert_eq!(refusal.decision.as_ref().unwrap().effect, Effect::Approval);
    let records = records_of(&ledger, refusal.call_id);
    let answered = &records[1];
    assert_eq!(
        (answered.kind.as_str(), status(answered)),
        ("approval.answered", "approval_denied")
    );
    assert_eq!(answered.approver.as_deref(), Some(&[BOB.to_owned()][..]));
    assert_eq!(status(records.last().unwrap()), "approval_denied");
}

#[test]
fn without_an_approver_a_call_that_needs_approval_is_refused_with_every_reason() {
    let guard = builder().env("prod").build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    let refusal = task
        .authorize(ToolCall::new("drop_table", json!({"table": "users"})))
        .unwrap_err();

    // Nobody was asked: the refusal is `denied`, and says so without blaming an approver.
    assert_eq!(refusal.kind, RefusalKind::Denied);
    for code in [
        "high_impact",
        "production_change",
        "irreversible",
        "approval_unavailable",
    ] {
        assert!(refusal.codes().contains(&code), "{code} in {refusal:?}");
    }
    assert_eq!(refusal.tool, "drop_table");
}

#[test]
fn run_records_the_tools_success_and_returns_its_value() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder().ledger(ledger.clone()).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let mut call = None;

    let value = task
        .run(ToolCall::new("read_logs", json!({"service": "api"})), |w| {
            call = Some(w.call_id());
            Ok::<_, std::io::Error>(vec!["line 1", "line 2"])
        })
        .unwrap();

    assert_eq!(value, ["line 1", "line 2"]);
    let completed = records_of(&ledger, call.unwrap()).pop().unwrap();
    assert_eq!(completed.kind.as_str(), "call.completed");
    let outcome = completed.outcome.unwrap();
    assert_eq!(outcome.status, "ok");
    assert!(outcome.duration_us.is_some());
    assert_eq!(outcome.error, None);
}

#[test]
fn run_records_the_tools_failure_and_returns_it_as_a_tool_error() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder().ledger(ledger.clone()).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let mut call = None;

    let result = task.run(
        ToolCall::new("restart_service", json!({"service": "api"})),
        |w| {
            call = Some(w.call_id());
            Err::<(), _>("the service did not come back")
        },
    );

    match result {
        Err(RunError::Tool(error)) => assert_eq!(error, "the service did not come back"),
        other => panic!("expected the tool's error, got {other:?}"),
    }
    let completed = records_of(&ledger, call.unwrap()).pop().unwrap();
    let outcome = completed.outcome.unwrap();
    assert_eq!(outcome.status, "error");
    assert_eq!(
        outcome.error.as_deref(),
        Some("the service did not come back")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn run_async_calls_the_tool_only_under_a_warrant_and_records_what_outcome_reads() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder().ledger(ledger.clone()).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let read = |result: &Result<(), &str>| match result {
        Ok(()) => Outcome::ok(),
        Err(error) => Outcome::error(*error),
    };
    let mut call = None;
    let result = task
        .run_async(
            ToolCall::new("restart_service", json!({"service": "api"})),
            &task.guard_approver(),
            |w| {
                call = Some(w.call_id());
                async { Err("the service did not come back") }
            },
            read,
        )
        .await;
    assert_eq!(result, Ok(Err("the service did not come back")));
    let outcome = records_of(&ledger, call.unwrap())
        .pop()
        .unwrap()
        .outcome
        .unwrap();
    assert_eq!(outcome.status, "error");
    assert_eq!(
        outcome.error.as_deref(),
        Some("the service did not come back")
    );

    // Needs approval and the guard has no approver: refused, and the tool is never called
    // (not even to create its future).
    let called = AtomicBool::new(false);
    let refusal = task
        .run_async(
            ToolCall::new("read_secret", json!({"path": "db/main"})),
            &task.guard_approver(),
            |_| {
                called.store(true, Ordering::SeqCst);
                async { Ok(()) }
            },
            read,
        )
        .await
        .unwrap_err();
    assert!(refusal.has(&ReasonCode::ApprovalUnavailable), "{refusal}");
    assert!(!called.load(Ordering::SeqCst));
}

#[test]
fn a_warrant_dropped_without_completion_is_recorded_as_abandoned() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder().ledger(ledger.clone()).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    let warrant = task
        .authorize(ToolCall::new("read_logs", json!({"service": "api"})))
        .unwrap();
    let call = warrant.call_id();
    drop(warrant);

    let records = records_of(&ledger, call);
    let seen: Vec<_> = records
        .iter()
        .map(|r| (r.kind.as_str(), status(r)))
        .collect();
    assert_eq!(
        seen,
        [("call.decided", "allowed"), ("call.completed", "abandoned")]
    );
}

#[test]
fn a_tool_that_panics_is_recorded_as_abandoned() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder().ledger(ledger.clone()).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        task.run(
            ToolCall::new("read_logs", json!({"service": "api"})),
            |_| {
                if true {
                    panic!("the tool crashed");
                }
                Ok::<(), String>(())
            },
        )
    }));

    assert!(panicked.is_err());
    let last = ledger.records().pop().unwrap();
    assert_eq!(
        (last.kind.as_str(), status(&last)),
        ("call.completed", "abandoned")
    );
}

#[test]
fn nested_calls_are_one_deeper_than_their_parent_and_depth_five_is_denied() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder().ledger(ledger.clone()).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let args = || json!({"service": "api"});

    let w1 = task.authorize(ToolCall::new("read_logs", args())).unwrap();
    let w2 = task
        .authorize(ToolCall::new("read_logs", args()).child_of(w1.call_id()))
        .unwrap();
    let w3 = task
        .authorize(ToolCall::new("read_logs", args()).child_of(w2.call_id()))
        .unwrap();
    let w4 = task
        .authorize(ToolCall::new("read_logs", args()).child_of(w3.call_id()))
        .unwrap();
    assert_eq!(
        [w1.depth(), w2.depth(), w3.depth(), w4.depth()],
        [1, 2, 3, 4]
    );
    let decided = records_of(&ledger, w2.call_id()).remove(0);
    assert_eq!(
        decided.parent_call_id,
        Some(w1.call_id().to_string()),
        "the ledger names the parent"
    );

    let refusal = task
        .authorize(ToolCall::new("read_logs", args()).child_of(w4.call_id()))
        .unwrap_err();
    assert_eq!(refusal.kind, RefusalKind::Denied);
    assert_eq!(refusal.codes(), ["depth_exceeded"]);

    // A sibling at depth 2 is still fine: depth is per branch, not per task.
    let sibling = task
        .authorize(ToolCall::new("read_logs", args()).child_of(w1.call_id()))
        .unwrap();
    assert_eq!(sibling.depth(), 2);
}

#[test]
fn the_depth_limit_comes_from_the_policy_limits() {
    let guard = builder()
        .limits(Limits {
            max_depth: Some(2),
            ..Limits::default()
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let args = || json!({"service": "api"});
    let w1 = task.authorize(ToolCall::new("read_logs", args())).unwrap();
    let w2 = task
        .authorize(ToolCall::new("read_logs", args()).child_of(w1.call_id()))
        .unwrap();

    let refusal = task
        .authorize(ToolCall::new("read_logs", args()).child_of(w2.call_id()))
        .unwrap_err();

    assert!(refusal.has(&ReasonCode::DepthExceeded), "{refusal:?}");
}

#[test]
fn limits_set_on_the_guard_join_the_limits_of_the_policy_data() {
    // The policy's data says one call per task; the guard's limits set only the depth.
    let policy = agentwarrant::Policy::default_bundle()
        .with_data(json!({"limits": {"max_calls": 1}}))
        .unwrap();
    let guard = builder()
        .policy(policy)
        .limits(Limits {
            max_depth: Some(9),
            ..Limits::default()
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let logs = || ToolCall::new("read_logs", json!({"service": "api"}));
    task.authorize(logs())
        .unwrap()
        .complete(Outcome::ok())
        .unwrap();

    let refusal = task.authorize(logs()).unwrap_err();

    assert!(refusal.has(&ReasonCode::CallBudgetExceeded), "{refusal:?}");
}

#[test]
fn a_parent_that_is_not_an_authorized_call_of_the_task_is_an_invalid_call() {
    let guard = builder().build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let other = guard.begin(ops(), anything()).unwrap();
    let args = || json!({"service": "api"});
    let refused = task
        .authorize(ToolCall::new("read_secret", json!({"path": "x"})))
        .unwrap_err();
    let elsewhere = other.authorize(ToolCall::new("read_logs", args())).unwrap();

    for parent in [CallId::new(), refused.call_id, elsewhere.call_id()] {
        let refusal = task
            .authorize(ToolCall::new("read_logs", args()).child_of(parent))
            .unwrap_err();
        assert_eq!(refusal.kind, RefusalKind::Denied);
        assert_eq!(refusal.codes(), ["invalid_call"], "parent {parent}");
        assert!(refusal.decision.is_none(), "refused before the policy");
    }
}

#[test]
fn the_refusal_message_for_the_agent_carries_codes_but_no_details_or_args() {
    let guard = builder()
        .approver(|_: &ApprovalRequest| {
            Ok(ApprovalAnswer::Denied {
                by: Some(BOB.into()),
                reason: Some("internal ticket SEC-991".into()),
            })
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    let refusal = task
        .authorize(ToolCall::new(
            "read_secret",
            json!({"path": "vault/hunter2"}),
        ))
        .unwrap_err();

    let message = refusal.to_string();
    assert!(message.contains("secret_access"), "{message}");
    assert!(message.contains("approval_denied"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!message.contains("SEC-991"), "{message}");
    // What a framework adapter hands the model: the same text, told not to retry unchanged.
    let for_agent = refusal.agent_message();
    assert_eq!(
        for_agent,
        format!("{message} Do not retry this call unchanged.")
    );
    assert!(!for_agent.contains("hunter2") && !for_agent.contains("SEC-991"));
}

#[test]
fn an_ended_task_refuses_new_calls_while_issued_warrants_still_complete() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder().ledger(ledger.clone()).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let in_flight = task
        .authorize(ToolCall::new("read_logs", json!({"service": "api"})))
        .unwrap();

    assert!(!task.is_ended());
    task.end().unwrap();
    task.end().unwrap();
    assert!(task.is_ended());
    let refusal = task
        .authorize(ToolCall::new("read_logs", json!({"service": "api"})))
        .unwrap_err();
    assert!(refusal.has(&ReasonCode::GrantInvalid), "{refusal}");

    let call = in_flight.call_id();
    in_flight.complete(Outcome::ok()).unwrap();
    let completed = records_of(&ledger, call);
    assert_eq!(completed.last().map(status), Some("ok"));
}

#[test]
fn a_tool_declared_after_the_task_began_is_callable() {
    let guard = builder().build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    guard
        .declare_tool(
            agentwarrant::ToolSpec::builder("late_tool", agentwarrant::Impact::Low)
                .build()
                .unwrap(),
        )
        .unwrap();
    assert!(task
        .authorize(ToolCall::new("late_tool", json!({})))
        .is_ok());
}

#[test]
fn declaring_an_equal_spec_again_is_a_no_op_and_another_spec_under_the_name_is_refused() {
    let guard = builder().build().unwrap();
    guard.declare_tool(read_logs()).unwrap();
    assert_eq!(guard.tool("read_logs"), Some(read_logs()));

    let riskier = ToolSpec::builder("read_logs", Impact::High)
        .scope("logs.read:{service}")
        .build()
        .unwrap();
    assert_eq!(
        guard.declare_tool(riskier).unwrap_err().code(),
        "duplicate_tool"
    );
    // A property the caller might forget to compare (here: result labels) still counts.
    let labelled = ToolSpec::builder("read_logs", Impact::Low)
        .scope("logs.read:{service}")
        .result_labels(["untrusted"])
        .build()
        .unwrap();
    assert_eq!(
        guard.declare_tool(labelled).unwrap_err().code(),
        "duplicate_tool"
    );
    assert_eq!(guard.tool("read_logs"), Some(read_logs()));
}

#[test]
fn a_builder_given_an_equal_spec_twice_declares_it_once_and_refuses_a_conflict() {
    let guard = builder().tool(read_logs()).build().unwrap();
    assert_eq!(guard.tool("read_logs"), Some(read_logs()));
    let names: Vec<String> = guard.tools().iter().map(|t| t.name().to_owned()).collect();
    let mut expected: Vec<String> = all_tools().iter().map(|t| t.name().to_owned()).collect();
    expected.sort();
    assert_eq!(names, expected);

    let riskier = ToolSpec::builder("read_logs", Impact::High)
        .build()
        .unwrap();
    let err = builder().tool(riskier).build().unwrap_err();
    assert_eq!(err.code(), "duplicate_tool");
}

#[test]
fn explain_shows_the_decision_bands_and_input_without_spending_or_recording_anything() {
    let ledger = Arc::new(MemoryLedger::new());
    let asked = Requests::default();
    let seen = asked.clone();
    let guard = builder()
        .ledger(ledger.clone())
        .limits(Limits {
            max_calls: Some(1),
            ..Limits::default()
        })
        .approver(move |request: &ApprovalRequest| {
            seen.push(request);
            Ok(ApprovalAnswer::Denied {
                by: None,
                reason: None,
            })
        })
        .build()
        .unwrap();
    let intent = agentwarrant::Intent::builder("read the logs")
        .scopes(["logs.read:*"])
        .build()
        .unwrap();
    let task = guard.begin(ops(), intent).unwrap();
    let records = ledger.records().len();
    let secret = ToolCall::new("read_secret", json!({"path": "db/main"}));

    for _ in 0..3 {
        let why = task.explain(&secret);
        assert_eq!(why.effect(), Effect::Approval);
        let codes: Vec<&str> = why
            .decision
            .as_ref()
            .unwrap()
            .reasons
            .iter()
            .map(|r| r.code.as_str())
            .collect();
        assert_eq!(codes, ["secret_access", "scope_drift"]);
        assert_eq!(why.scopes, [("secrets.read:db/main".to_owned(), "drift")]);
        let input = why.input.unwrap();
        assert_eq!(input["call"]["tool"], json!("read_secret"));
        assert_eq!(input["chain"]["calls"], json!(0));
        assert!(why.refused.is_none());
    }
    let unknown = task.explain(&ToolCall::new("drop_db", json!({})));
    assert_eq!(unknown.effect(), Effect::Deny);
    assert_eq!(unknown.refused.unwrap().code, ReasonCode::UnknownTool);

    // Nothing was counted (max_calls 1 still allows a call), asked or recorded.
    assert!(asked.all().is_empty());
    assert_eq!(ledger.records().len(), records);
    let logs = ToolCall::new("read_logs", json!({"service": "api"}));
    task.authorize(logs)
        .unwrap()
        .complete(Outcome::ok())
        .unwrap();
}
