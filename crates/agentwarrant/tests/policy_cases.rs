//! Every default-bundle rule fires where it should and stays silent where it should not:
//! `policies/tests/cases.json` (merge patches over `base_input.json`) on both evaluators. A
//! case with `build_error` names the error code a policy with its `data` fails to build with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

use std::collections::BTreeSet;
use std::path::PathBuf;

use agentwarrant::{Backend, Effect, Limits, Policy};
use serde_json::Value;

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn load(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("policies/tests")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn codes(values: &Value) -> BTreeSet<String> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn run_cases(backend: Backend) {
    let base = load("base_input.json");
    let cases = load("cases.json");
    let mut failures = Vec::new();
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut input = base.clone();
        merge(&mut input, &case["patch"]);
        let mut policy = Policy::default_bundle();
        if let Some(data) = case.get("data") {
            policy = policy.with_data(data.clone()).unwrap();
        }
        let compiled = policy.compile_with(backend, &Limits::default());
        if let Some(code) = case.get("build_error").and_then(Value::as_str) {
            match compiled {
                Err(e) if e.code() == code => {}
                Err(e) => failures.push(format!("{name}: expected a `{code}` error, got {e}")),
                Ok(_) => failures.push(format!("{name}: expected a `{code}` error, it built")),
            }
            continue;
        }
        let engine = compiled.unwrap();
        let decision = engine.decide_json(&input);
        let deny = codes(&case["deny"]);
        let approval = codes(&case["require_approval"]);
        let reasons: BTreeSet<String> = decision
            .reasons
            .iter()
            .map(|r| r.code.to_string())
            .collect();
        let also: BTreeSet<String> = decision.also.iter().map(|r| r.code.to_string()).collect();
        let (got_deny, got_approval) = match decision.effect {
            Effect::Deny => (reasons, also),
            Effect::Approval => (BTreeSet::new(), reasons),
            Effect::Allow => (BTreeSet::new(), BTreeSet::new()),
        };
        let allow = case["allow"].as_bool().unwrap();
        if got_deny != deny
            || got_approval != approval
            || (decision.effect != Effect::Deny) != allow
        {
            failures.push(format!(
                "{name}: expected deny {deny:?} approval {approval:?} allow {allow}, got {:?} deny {got_deny:?} approval {got_approval:?}",
                decision.effect
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bundle_cases_hold_on_the_rvm() {
    run_cases(Backend::Vm);
}

#[test]
fn bundle_cases_hold_on_the_interpreter() {
    run_cases(Backend::Interpreter);
}

#[test]
fn every_bundle_reason_code_is_exercised_by_a_case() {
    let cases = load("cases.json");
    let fired: BTreeSet<String> = cases
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.get("build_error").is_none())
        .flat_map(|c| {
            codes(&c["deny"])
                .into_iter()
                .chain(codes(&c["require_approval"]))
        })
        .collect();
    let source = agentwarrant::DEFAULT_BUNDLE;
    for code in agentwarrant::ReasonCode::BUILTIN {
        let slug = code.as_str();
        if source.contains(&format!("\"{slug}")) {
            assert!(fired.contains(slug), "no case makes `{slug}` fire");
        }
    }
}

#[test]
fn only_vetted_policies_run_on_the_rvm_by_default() {
    let bundle =
        Policy::default_bundle().with_data(serde_json::json!({"limits": {"max_depth": 2}}));
    assert_eq!(bundle.unwrap().compile().unwrap().backend(), Backend::Vm);
    let extended =
        Policy::default_bundle().with_module("ours.rego", "package agentwarrant\n\nx := 1\n");
    assert_eq!(extended.compile().unwrap().backend(), Backend::Vm);
    let raising = Policy::default_bundle().with_module(
        "ours.rego",
        "package agentwarrant\n\nx := to_number(input.call.args.n)\n",
    );
    assert_eq!(raising.compile().unwrap().backend(), Backend::Interpreter);
}
