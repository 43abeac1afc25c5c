//! The chain: labels, impact, counts and depth across a task and the tasks delegated from it.

use std::sync::Arc;

use agentwarrant::{
    DenyAll, Effect, Identity, Impact, Intent, Limits, MemoryLedger, Outcome, ReasonCode,
    RefusalKind, Role, ToolCall, ToolSpec,
};
use serde_json::json;

use crate::fixtures::*;

fn secret() -> ToolCall {
    ToolCall::new("read_secret", json!({"path": "db/main"}))
}

fn email(to: &str) -> ToolCall {
    ToolCall::new("send_email", json!({"to": to, "body": "hello"}))
}

fn logs(service: &str) -> ToolCall {
    ToolCall::new("read_logs", json!({"service": service}))
}

fn helper(ceiling: &[&str]) -> Identity {
    Identity::builder("agent://acme/helper", Role::Executor, CAROL)
        .ceiling(ceiling.iter().copied())
        .build()
        .unwrap()
}

#[test]
fn labels_of_an_approved_call_count_from_the_next_call_on() {
    // Reads a secret and posts it outside in one go: the read is not yet in the chain.
    let both = ToolSpec::builder("read_and_post", Impact::Low)
        .reads(["secret"])
        .external(true)
        .sink(true)
        .build()
        .unwrap();
    let guard = builder()
        .tool(both)
        .approver(approve_as(BOB))
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let call = || ToolCall::new("read_and_post", json!({}));

    let first = task.authorize(call()).unwrap();
    assert!(first.approved());
    assert!(!first.decision().has(&ReasonCode::Exfiltration));
    first.complete(Outcome::ok()).unwrap();

    let refusal = task.authorize(call()).unwrap_err();
    assert_eq!(refusal.kind, RefusalKind::Denied);
    assert!(refusal.has(&ReasonCode::Exfiltration));
}

#[test]
fn a_secret_read_then_an_external_send_is_exfiltration_whoever_approves() {
    let guard = builder().approver(approve_as(BOB)).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let _ = task.authorize(email("bob@acme.com")).unwrap();

    task.authorize(secret())
        .unwrap()
        .complete(Outcome::ok())
        .unwrap();
    let refusal = task.authorize(email("x@evil.com")).unwrap_err();

    assert_eq!(refusal.kind, RefusalKind::Denied);
    assert_eq!(refusal.codes(), ["exfiltration"]);
    // A sink that stays inside is still fine.
    let _ = task.authorize(logs("api")).unwrap();
}

#[test]
fn labels_of_a_refused_call_do_not_count() {
    for approver in [None, Some(DenyAll)] {
        let mut builder = builder();
        if let Some(approver) = approver {
            builder = builder.approver(approver);
        }
        let guard = builder.build().unwrap();
        let task = guard.begin(ops(), anything()).unwrap();

        let _ = task.authorize(secret()).unwrap_err();
        let warrant = task.authorize(email("x@evil.com")).unwrap();

        assert_eq!(warrant.decision().effect, Effect::Allow);
    }
}

#[test]
fn result_labels_arm_untrusted_input_for_later_calls() {
    let guard = builder().approver(approve_as(BOB)).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let fetch = || ToolCall::new("fetch_url", json!({"url": "https://example.com/page"}));
    let restart = || ToolCall::new("restart_service", json!({"service": "api"}));

    // Before: no friction.
    assert!(!task.authorize(email("bob@acme.com")).unwrap().approved());
    assert!(!task.authorize(restart()).unwrap().approved());
    // A fetch whose result is not labelled, or that is abandoned, adds nothing.
    task.authorize(fetch())
        .unwrap()
        .complete(Outcome::ok())
        .unwrap();
    drop(task.authorize(fetch()).unwrap());
    assert!(!task.authorize(email("bob@acme.com")).unwrap().approved());

    task.authorize(fetch())
        .unwrap()
        .complete(Outcome::ok().with_labels(["untrusted"]))
        .unwrap();

    for call in [email("bob@acme.com"), restart()] {
        let warrant = task.authorize(call).unwrap();
        assert!(warrant.approved());
        assert!(warrant.decision().has(&ReasonCode::UntrustedInput));
    }
    // A low-impact read that sends nothing is not affected.
    assert!(!task.authorize(logs("api")).unwrap().approved());
}

/// A guard whose default bundle lets `untrusted_input` bite only on targets nobody named.
fn naming_guard() -> agentwarrant::Guard {
    builder()
        .policy(unnamed_targets_policy())
        .approver(approve_as(BOB))
        .build()
        .unwrap()
}

/// The decision's reason codes, sorted.
fn codes(decision: &agentwarrant::Decision) -> Vec<String> {
    let mut codes: Vec<String> = decision
        .reasons
        .iter()
        .map(|r| r.code.to_string())
        .collect();
    codes.sort();
    codes
}

#[test]
fn untrusted_input_bites_on_targets_the_person_did_not_name() {
    let guard = naming_guard();
    // The person asked for a mail to bob, literally; restarts of any service.
    let intent = Intent::builder("tell bob@acme.com the api is back")
        .scopes(["email.send:bob@acme.com", "svc.restart:*", "web.fetch:*"])
        .build()
        .unwrap();
    let task = guard.begin(ops(), intent).unwrap();
    read_untrusted(&task);

    // The target the person named: the content read cannot have chosen it.
    let to_bob = task.authorize(email("bob@acme.com")).unwrap();
    assert!(!to_bob.approved(), "{:?}", to_bob.decision());
    // One the agent chose after reading untrusted content: outside the intent, and tainted.
    let to_eve = task.authorize(email("eve@evil.com")).unwrap();
    assert_eq!(codes(to_eve.decision()), ["scope_drift", "untrusted_input"]);
    // A medium change inside the intent sends nothing anywhere: not affected.
    let restart = ToolCall::new("restart_service", json!({"service": "api"}));
    assert!(!task.authorize(restart).unwrap().approved());
    // By default (`any_read`), the send to bob asks too.
    let default = builder().approver(approve_as(BOB)).build().unwrap();
    let task = default
        .begin(
            ops(),
            Intent::builder("tell bob@acme.com")
                .scopes(["email.send:bob@acme.com", "web.fetch:*"])
                .build()
                .unwrap(),
        )
        .unwrap();
    read_untrusted(&task);
    assert_eq!(
        codes(task.authorize(email("bob@acme.com")).unwrap().decision()),
        ["untrusted_input"]
    );
}

#[test]
fn a_fixed_scope_names_no_target_even_when_the_intent_lists_it() {
    // An event in the user's own calendar: the scope is the same whatever the agent writes,
    // so listing it in the intent does not make what the event says the user's choice.
    let event = ToolSpec::builder("create_event", Impact::Low)
        .sink(true)
        .scope("calendar.create:own")
        .build()
        .unwrap();
    let guard = builder()
        .tool(event)
        .policy(unnamed_targets_policy())
        .approver(approve_as(BOB))
        .build()
        .unwrap();
    let identity = Identity::builder("agent://acme/assistant", Role::Executor, ALICE)
        .ceiling(["calendar.create:*", "web.fetch:*"])
        .build()
        .unwrap();
    let intent = Intent::builder("add the meeting from the page to my calendar")
        .scopes(["calendar.create:own", "web.fetch:*"])
        .build()
        .unwrap();
    let task = guard.begin(identity, intent).unwrap();
    read_untrusted(&task);

    let warrant = task
        .authorize(ToolCall::new("create_event", json!({"title": "sync"})))
        .unwrap();
    assert_eq!(codes(warrant.decision()), ["untrusted_input"]);
}

#[test]
fn a_call_asked_about_anyway_carries_the_warning_when_its_target_was_not_named() {
    let guard = naming_guard();
    let task = guard.begin(ops(), anything()).unwrap();
    read_untrusted(&task);

    let drop = task
        .authorize(ToolCall::new("drop_table", json!({"table": "orders"})))
        .unwrap();
    assert!(drop.decision().has(&ReasonCode::UntrustedInput));
    assert!(drop.decision().has(&ReasonCode::Irreversible));
}

#[test]
fn a_sub_task_inherits_the_names_of_the_task_it_serves_and_adds_none() {
    let guard = naming_guard();
    let intent = Intent::builder("tell bob@acme.com the api is back")
        .scopes([
            "email.send:*@acme.com",
            "email.send:bob@acme.com",
            "web.fetch:*",
        ])
        .build()
        .unwrap();
    let task = guard.begin(ops(), intent).unwrap();
    read_untrusted(&task);
    // The delegating agent narrows the sub-task to a literal target of its own choosing.
    let sub = task
        .delegate(
            helper(&["email.send:*"]),
            Some(
                Intent::builder("mail them")
                    .scopes(["email.send:bob@acme.com", "email.send:carol@acme.com"])
                    .build()
                    .unwrap(),
            ),
        )
        .unwrap();

    assert!(!sub.authorize(email("bob@acme.com")).unwrap().approved());
    let to_carol = sub.authorize(email("carol@acme.com")).unwrap();
    assert_eq!(codes(to_carol.decision()), ["untrusted_input"]);
}

#[test]
fn a_tools_result_labels_join_the_outcome_of_every_completed_call() {
    let web = ToolSpec::builder("web_fetch", Impact::Low)
        .scope("web.fetch:{url:url}")
        .result_labels(["untrusted"])
        .build()
        .unwrap();
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder()
        .tool(web)
        .ledger(ledger.clone())
        .approver(approve_as(BOB))
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let fetch = || ToolCall::new("web_fetch", json!({"url": "https://example.com/page"}));

    // An abandoned call adds nothing: its result never came.
    drop(task.authorize(fetch()).unwrap());
    assert!(!task.authorize(email("bob@acme.com")).unwrap().approved());

    // A completed call adds the spec's labels without the caller naming them, once.
    let warrant = task.authorize(fetch()).unwrap();
    let call = warrant.call_id();
    warrant
        .complete(Outcome::ok().with_labels(["pii", "untrusted"]))
        .unwrap();
    let completed = records_of(&ledger, call);
    let labels = &completed.last().unwrap().outcome.as_ref().unwrap().labels;
    assert_eq!(labels, &["pii", "untrusted"]);

    let warrant = task.authorize(email("bob@acme.com")).unwrap();
    assert!(warrant.decision().has(&ReasonCode::UntrustedInput));
}

#[test]
fn a_default_tools_result_labels_join_the_outcomes_of_undeclared_tools() {
    let default = ToolSpec::builder("any", Impact::Low)
        .result_labels(["untrusted"])
        .build()
        .unwrap();
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder()
        .default_tool(default)
        .ledger(ledger.clone())
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let warrant = task.authorize(ToolCall::new("browse", json!({}))).unwrap();
    let call = warrant.call_id();
    warrant.complete(Outcome::error("timed out")).unwrap();
    let completed = records_of(&ledger, call);
    let outcome = completed.last().unwrap().outcome.clone().unwrap();
    assert_eq!(
        (outcome.status.as_str(), outcome.labels),
        ("error", vec!["untrusted".to_owned()])
    );
}

#[test]
fn a_result_labelled_secret_arms_exfiltration() {
    let guard = builder().build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    task.authorize(logs("vault"))
        .unwrap()
        .complete(Outcome::error("partial read").with_labels(["secret"]))
        .unwrap();

    assert!(task
        .authorize(email("x@evil.com"))
        .unwrap_err()
        .has(&ReasonCode::Exfiltration));
}

#[test]
fn a_delegated_sub_task_shares_labels_with_its_parent() {
    let guard = builder().approver(approve_as(BOB)).build().unwrap();
    let parent = guard.begin(ops(), anything()).unwrap();
    let delegation = parent.authorize(logs("plan")).unwrap();
    let sub = parent
        .delegate(helper(&["secrets.read:*", "logs.read:*"]), None)
        .unwrap();

    // The sub-agent reads the secret, nested under the delegating call.
    let read = sub
        .authorize(secret().child_of(delegation.call_id()))
        .unwrap();
    assert_eq!(read.depth(), 2);
    read.complete(Outcome::ok()).unwrap();

    // The parent then tries to send it out.
    let refusal = parent.authorize(email("x@evil.com")).unwrap_err();
    assert!(refusal.has(&ReasonCode::Exfiltration), "{refusal:?}");
}

#[test]
fn a_sub_task_is_bounded_by_its_own_ceiling_whatever_its_parent_may_do() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder()
        .ledger(ledger.clone())
        .approver(approve_as(BOB))
        .build()
        .unwrap();
    let parent = guard.begin(ops(), anything()).unwrap();
    let sub = parent.delegate(helper(&["logs.read:*"]), None).unwrap();

    let refusal = sub.authorize(secret()).unwrap_err();

    assert_eq!(refusal.kind, RefusalKind::Denied);
    assert_eq!(refusal.codes(), ["outside_ceiling"]);
    assert_eq!(
        refusal.reasons[0].detail.as_deref(),
        Some("secrets.read:db/main")
    );
    assert_eq!(sub.grant().scopes(), ["logs.read:*"]);
    assert!(parent.authorize(secret()).unwrap().approved());
    let _ = sub.authorize(logs("api")).unwrap();
}

#[test]
fn a_sub_task_never_holds_more_than_its_parent() {
    let guard = builder().approver(approve_as(BOB)).build().unwrap();
    let narrow = Identity::builder("agent://acme/reader", Role::Orchestrator, ALICE)
        .ceiling(["logs.read:*"])
        .build()
        .unwrap();
    let parent = guard.begin(narrow, anything()).unwrap();
    let sub = parent
        .delegate(helper(&EVERYTHING), Some(anything()))
        .unwrap();

    let refusal = sub.authorize(secret()).unwrap_err();

    assert_eq!(refusal.codes(), ["outside_ceiling"]);
    assert_eq!(sub.grant().scopes(), ["logs.read:*"]);
}

#[test]
fn a_sub_task_outside_its_own_intent_drifts() {
    let guard = builder().approver(approve_as(BOB)).build().unwrap();
    let parent = guard.begin(ops(), anything()).unwrap();
    let only_api = Intent::builder("read the api logs")
        .scopes(["logs.read:api"])
        .build()
        .unwrap();
    let sub = parent
        .delegate(helper(&["logs.read:*"]), Some(only_api))
        .unwrap();

    assert!(!sub.authorize(logs("api")).unwrap().approved());
    let drifted = sub.authorize(logs("billing")).unwrap();

    assert!(drifted.approved());
    assert_eq!(
        drifted.decision().reasons[0].detail.as_deref(),
        Some("logs.read:billing")
    );
    assert!(drifted.decision().has(&ReasonCode::ScopeDrift));
}

#[test]
fn ending_the_parent_revokes_the_sub_tasks_grant_but_not_the_reverse() {
    let guard = builder().build().unwrap();
    let parent = guard.begin(ops(), anything()).unwrap();
    let first = parent.delegate(helper(&["logs.read:*"]), None).unwrap();
    let second = parent.delegate(helper(&["logs.read:*"]), None).unwrap();

    first.end().unwrap();
    let _ = parent.authorize(logs("api")).unwrap();
    let _ = second.authorize(logs("api")).unwrap();
    drop(parent);

    let refusal = second.authorize(logs("api")).unwrap_err();
    assert_eq!(refusal.codes(), ["grant_invalid"]);
}

#[test]
fn refused_calls_count_toward_the_call_budget() {
    let guard = builder()
        .limits(Limits {
            max_calls: Some(3),
            ..Limits::default()
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    let _ = task.authorize(logs("api")).unwrap();
    let _ = task
        .authorize(ToolCall::new("nope", json!({})))
        .unwrap_err();
    let _ = task.authorize(secret()).unwrap_err();
    let refusal = task.authorize(logs("api")).unwrap_err();

    assert_eq!(refusal.codes(), ["call_budget_exceeded"]);
}

#[test]
fn parallel_calls_on_one_task_are_all_counted() {
    const PER_THREAD: u64 = 25;
    let guard = builder()
        .limits(Limits {
            max_calls: Some(2 * PER_THREAD),
            ..Limits::default()
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    std::thread::scope(|s| {
        for n in 0..2 {
            let task = &task;
            s.spawn(move || {
                for _ in 0..PER_THREAD {
                    let warrant = task.authorize(logs(&format!("svc{n}"))).unwrap();
                    warrant.complete(Outcome::ok()).unwrap();
                }
            });
        }
    });

    // Every one of the budget's calls was allowed, and not one more.
    let refusal = task.authorize(logs("api")).unwrap_err();
    assert_eq!(refusal.codes(), ["call_budget_exceeded"]);
}

#[test]
fn impact_adds_up_only_for_calls_that_ran() {
    let guard = builder().approver(approve_as(BOB)).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let restart = || ToolCall::new("restart_service", json!({"service": "api"}));

    // Denied medium calls add nothing: after a secret read, external sends are exfiltration.
    task.authorize(secret())
        .unwrap()
        .complete(Outcome::ok())
        .unwrap();
    for _ in 0..3 {
        let refusal = task.authorize(email("x@evil.com")).unwrap_err();
        assert!(refusal.has(&ReasonCode::Exfiltration));
    }
    // Six medium calls make six; the seventh would pass the default limit of six.
    for _ in 0..6 {
        assert!(!task.authorize(restart()).unwrap().approved());
    }
    let seventh = task.authorize(restart()).unwrap();

    assert!(seventh.decision().has(&ReasonCode::CumulativeImpact));
}

#[test]
fn a_call_above_the_intents_impact_is_impact_drift() {
    let guard = builder().approver(approve_as(BOB)).build().unwrap();
    let reads_only = Intent::builder("look around")
        .scopes(EVERYTHING)
        .max_impact(Impact::Low)
        .build()
        .unwrap();
    let task = guard.begin(ops(), reads_only).unwrap();

    assert!(!task.authorize(logs("api")).unwrap().approved());
    let warrant = task
        .authorize(ToolCall::new("restart_service", json!({"service": "api"})))
        .unwrap();

    assert_eq!(warrant.decision().reasons.len(), 1);
    assert!(warrant.decision().has(&ReasonCode::ImpactDrift));
}

#[test]
fn a_task_can_have_limits_of_its_own_shared_by_its_sub_tasks() {
    use agentwarrant::{Limits, ManualClock, TaskLimits};
    let clock = std::sync::Arc::new(ManualClock::new(
        time::macros::datetime!(2026-03-01 12:00 UTC),
    ));
    let guard = builder()
        .limits(Limits {
            max_calls: Some(2),
            ..patient()
        })
        .clock(clock.clone())
        .build()
        .unwrap();
    let logs = || ToolCall::new("read_logs", json!({"service": "api"}));
    let run = |task: &agentwarrant::Task| task.authorize(logs()).map(|w| w.complete(Outcome::ok()));

    // The guard's budget: two calls.
    let plain = guard.begin(ops(), anything()).unwrap();
    assert!(run(&plain).is_ok() && run(&plain).is_ok());
    assert!(run(&plain)
        .unwrap_err()
        .has(&ReasonCode::CallBudgetExceeded));

    // A long-running task's own budget, over the guard's, shared with its sub-agents.
    let nightly = TaskLimits::new()
        .max_calls(4)
        .grant_ttl(std::time::Duration::from_secs(3600));
    let long = guard.begin_with(ops(), anything(), nightly).unwrap();
    let helper = long
        .delegate(agent("agent://acme/helper", Role::Executor, ALICE), None)
        .unwrap();
    for task in [&long, &helper, &long, &helper] {
        assert!(run(task).is_ok());
    }
    assert!(run(&helper)
        .unwrap_err()
        .has(&ReasonCode::CallBudgetExceeded));
    // Its grant outlives the guard's 15 minutes, and ends at its own hour.
    assert_eq!(
        long.grant().expires_at() - long.grant().issued_at(),
        time::Duration::hours(1)
    );
    clock.advance(time::Duration::minutes(61));
    let expired = long.authorize(logs()).unwrap_err();
    assert!(expired.has(&ReasonCode::GrantInvalid), "{expired:?}");

    // A tighter impact total asks sooner.
    let careful = guard
        .begin_with(ops(), anything(), TaskLimits::new().max_impact_total(1))
        .unwrap();
    let restart = || ToolCall::new("restart_service", json!({"service": "api"}));
    careful
        .authorize(restart())
        .unwrap()
        .complete(Outcome::ok())
        .unwrap();
    let second = careful.authorize(restart()).unwrap_err();
    assert!(second.has(&ReasonCode::CumulativeImpact), "{second:?}");

    let never = TaskLimits::new().grant_ttl(std::time::Duration::ZERO);
    let error = guard.begin_with(ops(), anything(), never).unwrap_err();
    assert_eq!(error.code(), "invalid_limits");
}

#[test]
fn result_labels_in_another_case_or_spacing_still_arm_the_rules() {
    for label in ["Secret", " secret", "SECRET\u{200b}", "ｓｅｃｒｅｔ"] {
        let guard = builder().build().unwrap();
        let task = guard.begin(ops(), anything()).unwrap();
        task.authorize(logs("vault"))
            .unwrap()
            .complete(Outcome::ok().with_labels([label]))
            .unwrap();

        let refusal = task.authorize(email("x@evil.com")).unwrap_err();
        assert!(refusal.has(&ReasonCode::Exfiltration), "{label:?}");
    }
}

#[test]
fn a_tool_spec_with_a_label_the_rules_would_miss_is_refused_at_build() {
    for label in ["Secret", " secret", "secret ", "se cret", ""] {
        let reads = ToolSpec::builder("read", Impact::Low)
            .reads([label])
            .build();
        let tags = ToolSpec::builder("grant", Impact::Low)
            .tags([label])
            .build();
        let results = ToolSpec::builder("fetch", Impact::Low)
            .result_labels([label])
            .build();
        for built in [reads, tags, results] {
            assert_eq!(built.unwrap_err().code(), "invalid_tool", "{label:?}");
        }
    }
}

#[test]
fn the_input_carries_the_history_of_calls_that_ran_and_the_signals_of_this_call() {
    let guard = builder().approver(approve_as(BOB)).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();

    // Before any call: an empty history and no signals.
    let first = task.explain(&logs("api")).input.unwrap();
    assert_eq!(
        first["chain"]["history"],
        json!({"recent": [], "counts": {}})
    );
    assert_eq!(first["chain"]["signals"], json!([]));

    task.authorize(logs("api"))
        .unwrap()
        .complete(Outcome::ok().with_labels(["PII"]))
        .unwrap();
    task.authorize(secret())
        .unwrap()
        .complete(Outcome::ok())
        .unwrap();
    let _ = task.authorize(email("x@evil.com")).unwrap_err();

    let input = task.explain(&email("y@evil.com")).input.unwrap();
    assert_eq!(
        input["chain"]["history"],
        json!({
            "recent": [
                {"tool": "read_logs", "effect": "allow", "labels": ["pii"], "destinations": []},
                {"tool": "read_secret", "effect": "approval", "labels": ["secret"],
                 "destinations": []},
            ],
            "counts": {"read_logs": 1, "read_secret": 1},
        })
    );
    assert_eq!(
        input["chain"]["signals"],
        json!([{"kind": "new_destination", "detail": {"destination": "y@evil.com"}}])
    );
}

#[test]
fn explaining_a_call_raises_its_signals_without_remembering_it() {
    let guard = builder().build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    for _ in 0..5 {
        let input = task.explain(&logs("api")).input.unwrap();
        assert_eq!(input["chain"]["signals"], json!([]));
    }
    for _ in 0..2 {
        let _ = task.authorize(logs("api")).unwrap();
    }
    let input = task.explain(&logs("api")).input.unwrap();
    assert_eq!(
        input["chain"]["signals"],
        json!([{"kind": "repeated_call", "detail": {"tool": "read_logs", "earlier": 2}}])
    );
}

#[test]
fn signal_thresholds_out_of_range_are_refused_at_build() {
    for limits in [
        Limits {
            repeated_calls: 0,
            ..Limits::default()
        },
        Limits {
            repeated_calls: 16,
            ..Limits::default()
        },
        Limits {
            burst_calls: 0,
            ..Limits::default()
        },
        Limits {
            burst_calls: Limits::MAX_BURST_CALLS + 1,
            ..Limits::default()
        },
        Limits {
            burst_window: std::time::Duration::ZERO,
            ..Limits::default()
        },
    ] {
        let error = builder().limits(limits).build().unwrap_err();
        assert_eq!(error.code(), "invalid_limits", "{limits:?}");
    }
}

#[test]
fn sequence_rules_over_a_missing_or_empty_history_do_not_fire_and_do_not_fail() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let engine = agentwarrant::Policy::default_bundle()
        .with_dir(root.join("../../examples/policies/sequence"))
        .unwrap()
        .compile()
        .unwrap();
    let base: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("policies/tests/base_input.json")).unwrap(),
    )
    .unwrap();
    let decide = |history: serde_json::Value| {
        let mut input = base.clone();
        input["call"]["tool"] = json!("delete_ticket");
        match history {
            serde_json::Value::Null => {
                input["chain"].as_object_mut().unwrap().remove("history");
            }
            history => input["chain"]["history"] = history,
        }
        engine.decide_json(&input)
    };

    for history in [
        serde_json::Value::Null,
        json!({"recent": [], "counts": {}}),
        json!({"recent": null, "counts": "none"}),
        json!({"counts": {"bulk_export": "many"}}),
    ] {
        let decision = decide(history.clone());
        assert_eq!(decision.effect, Effect::Allow, "{history}: {decision:?}");
    }
    let after_export = decide(json!({"recent": [], "counts": {"bulk_export": 1}}));
    assert_eq!(after_export.effect, Effect::Deny);
    assert_eq!(after_export.reasons[0].code.as_str(), "delete_after_export");
}
