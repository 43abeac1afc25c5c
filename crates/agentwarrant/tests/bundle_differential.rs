//! The default bundle decides exactly as the bundle it replaced: `policies/tests/reference.rego`
//! (the bundle as first written, with helper rules and functions) and `policies/agentwarrant.rego`
//! (shaped for the RVM's cost model) give the same effect, reasons, details and obligations on
//! generated input documents, well-formed and malformed (absent fields, nulls, other types, odd
//! limits), under each of several `data` documents, on both evaluators; and on every per-rule
//! case.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

use std::path::PathBuf;
use std::sync::OnceLock;

use agentwarrant::{Backend, Decision, Limits, Policy, PolicyEngine};
use proptest::prelude::*;
use serde_json::{json, Value};

fn file(path: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(path).unwrap()
}

fn load(name: &str) -> Value {
    serde_json::from_str(&file(&format!("policies/tests/{name}"))).unwrap()
}

/// The `data` documents the bundles are compared under: none, null limits, partial and full
/// limits, zero limits, and a member the bundle does not read.
fn data_variants() -> Vec<Value> {
    vec![
        json!({}),
        json!({"limits": null}),
        json!({"limits": {"max_depth": 2}}),
        json!({"limits": {"max_calls": 10, "max_impact_total": 2}}),
        json!({"limits": {"max_depth": 0, "max_calls": 0, "max_impact_total": 0}}),
        json!({"limits": {"max_depth": 6, "max_calls": 205, "max_impact_total": 10, "other": "x"}}),
        json!({"team": {"name": "platform"}}),
        json!({"untrusted_input": "any_read"}),
        json!({"untrusted_input": "unnamed_targets", "limits": {"max_depth": 2}}),
    ]
}

/// For each data variant and evaluator: (reference engine, default-bundle engine).
type Pairs = Vec<[(PolicyEngine, PolicyEngine); 2]>;

fn engines() -> &'static Pairs {
    static ENGINES: OnceLock<Pairs> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let reference = file("policies/tests/reference.rego");
        data_variants()
            .into_iter()
            .map(|data| {
                [Backend::VmUnvetted, Backend::Interpreter].map(|backend| {
                    let old = Policy::empty()
                        .with_module("reference.rego", reference.clone())
                        .with_data(data.clone())
                        .unwrap()
                        .compile_with(backend, &Limits::default())
                        .unwrap();
                    let new = Policy::default_bundle()
                        .with_data(data.clone())
                        .unwrap()
                        .compile_with(backend, &Limits::default())
                        .unwrap();
                    (old, new)
                })
            })
            .collect()
    })
}

/// What a decision says, without its timing, digest and input.
fn said(decision: &Decision) -> String {
    format!(
        "{:?} {:?} also {:?} {:?}",
        decision.effect, decision.reasons, decision.also, decision.obligations
    )
}

/// The first disagreement between the two bundles on `input`, if any.
fn disagreement(input: &Value) -> Option<String> {
    for (variant, pairs) in engines().iter().enumerate() {
        for (old, new) in pairs {
            let (before, after) = (old.decide_json(input), new.decide_json(input));
            if said(&before) != said(&after) {
                return Some(format!(
                    "data variant {variant} on the {}: reference {} but bundle {}",
                    new.backend(),
                    said(&before),
                    said(&after)
                ));
            }
        }
    }
    None
}

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

#[test]
fn the_bundles_agree_on_every_per_rule_case() {
    let base = load("base_input.json");
    for case in load("cases.json").as_array().unwrap() {
        let mut input = base.clone();
        merge(&mut input, &case["patch"]);
        if let Some(found) = disagreement(&input) {
            panic!("{}: {found}", case["name"]);
        }
    }
}

#[test]
fn the_bundles_agree_on_documents_that_are_not_objects() {
    for input in [
        json!(null),
        json!("agentwarrant/v1"),
        json!([]),
        json!(1),
        json!({}),
    ] {
        if let Some(found) = disagreement(&input) {
            panic!("{input}: {found}");
        }
    }
}

/// Strings the bundles look for, and a few they do not.
fn word() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        "low",
        "medium",
        "high",
        "critical",
        "extreme",
        "prod",
        "dev",
        "secret",
        "untrusted",
        "pii",
        "rbac",
        "financial",
        "executor",
        "orchestrator",
        "intent",
        "drift",
        "outside_ceiling",
        "agentwarrant/v1",
        "",
    ])
    .prop_map(Value::from)
}

/// A value of any type: what a hand-built or corrupted document may hold anywhere.
fn odd() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..8).prop_map(Value::from),
        prop::sample::select(vec![-0.5, 0.0, 2.5, 1e12]).prop_map(Value::from),
        word(),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop::sample::select(vec!["a", "max_depth", "max_calls", "impact", "secret"]),
                inner,
                0..3
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect())),
        ]
    })
}

fn words(pool: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::sample::subsequence(pool, 0..=pool.len()).prop_map(Value::from)
}

fn impact() -> impl Strategy<Value = Value> {
    prop::sample::select(vec!["low", "medium", "high", "critical"]).prop_map(Value::from)
}

fn count(around: i64) -> impl Strategy<Value = Value> {
    prop_oneof![(0i64..8), (around - 3..around + 3)].prop_map(Value::from)
}

/// The scopes the generated documents require, name and band.
const SCOPES: [&str; 4] = ["a.b:c", "email.send:x@evil.com", "admin.delete:db", ""];

fn bands() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        prop::sample::select(SCOPES.to_vec()),
        prop_oneof![
            3 => prop::sample::select(vec!["intent", "drift", "outside_ceiling"]).prop_map(Value::from),
            1 => odd(),
        ],
        0..4,
    )
    .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect()))
}

fn limits() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        prop::sample::select(vec!["max_depth", "max_calls", "max_impact_total"]),
        prop_oneof![(0i64..8).prop_map(Value::from), odd()],
        0..3,
    )
    .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect()))
}

/// One field of the document and the strategy for its typical values.
fn field(path: &'static str, typical: BoxedStrategy<Value>) -> BoxedStrategy<Edit> {
    prop_oneof![
        4 => typical.prop_map(move |v| (path, Some(v))),
        2 => odd().prop_map(move |v| (path, Some(v))),
        1 => Just((path, None)),
    ]
    .boxed()
}

/// A dotted path in the document and its new value (`None`: removed).
type Edit = (&'static str, Option<Value>);

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        field("version", Just(json!("agentwarrant/v1")).boxed()),
        field("identity", Just(json!({"role": "executor"})).boxed()),
        field("identity.role", word().boxed()),
        field("grant", Just(json!({"expires_in_s": 60})).boxed()),
        field("grant.revoked", any::<bool>().prop_map(Value::from).boxed()),
        field(
            "grant.expires_in_s",
            (-3i64..3).prop_map(Value::from).boxed()
        ),
        field("task", Just(json!({"env": "prod"})).boxed()),
        field("task.env", word().boxed()),
        field(
            "task.production",
            any::<bool>().prop_map(Value::from).boxed()
        ),
        field("task.limits", limits().boxed()),
        field("task.intent", Just(json!({})).boxed()),
        field("task.intent.max_impact", impact().boxed()),
        field("call", Just(json!({"spec": {}})).boxed()),
        field("call.scope_bands", bands().boxed()),
        field("call.required_scopes", words(&SCOPES).boxed()),
        field("call.named_scopes", words(&SCOPES).boxed()),
        field("call.spec", Just(json!({"impact": "high"})).boxed()),
        field("call.spec.impact", impact().boxed()),
        field(
            "call.spec.reversible",
            any::<bool>().prop_map(Value::from).boxed()
        ),
        field(
            "call.spec.external",
            any::<bool>().prop_map(Value::from).boxed()
        ),
        field(
            "call.spec.sink",
            any::<bool>().prop_map(Value::from).boxed()
        ),
        field(
            "call.spec.reads",
            words(&["secret", "pii", "untrusted"]).boxed()
        ),
        field(
            "call.spec.tags",
            words(&["rbac", "financial", "email"]).boxed()
        ),
        field(
            "call.spec.roles",
            words(&["executor", "orchestrator"]).boxed()
        ),
        field("chain", Just(json!({"depth": 1, "calls": 0})).boxed()),
        field("chain.depth", count(4).boxed()),
        field("chain.calls", count(200).boxed()),
        field("chain.impact_total", count(6).boxed()),
        field(
            "chain.labels",
            words(&["secret", "untrusted", "pii"]).boxed()
        ),
    ]
}

/// Sets (or removes) `path` in `doc`, making the objects on the way when they are missing
/// and replacing a non-object on the way with one.
fn apply(doc: &mut Value, path: &str, value: Option<Value>) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap();
    let mut at = doc;
    for part in parts {
        if !at.is_object() {
            *at = json!({});
        }
        at = at
            .as_object_mut()
            .unwrap()
            .entry(part)
            .or_insert_with(|| json!({}));
    }
    if !at.is_object() {
        *at = json!({});
    }
    let object = at.as_object_mut().unwrap();
    match value {
        Some(value) => {
            object.insert(last.into(), value);
        }
        None => {
            object.remove(last);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn the_bundles_agree_on_generated_documents(edits in prop::collection::vec(edit(), 0..10)) {
        let mut input = load("base_input.json");
        for (path, value) in edits {
            apply(&mut input, path, value);
        }
        if let Some(found) = disagreement(&input) {
            prop_assert!(false, "{found}\ninput: {input}");
        }
    }
}

/// Custom rules that pass the vetting for the RVM.
fn vetted_module() -> String {
    file("policies/tests/vetted_custom.rego")
}

/// The default bundle with [`vetted_module`] on the RVM (which requires the vetting to pass)
/// and on the interpreter.
fn custom_engines() -> &'static [PolicyEngine; 2] {
    static ENGINES: OnceLock<[PolicyEngine; 2]> = OnceLock::new();
    ENGINES.get_or_init(|| {
        [Backend::Vm, Backend::Interpreter].map(|backend| {
            Policy::default_bundle()
                .with_module("vetted_custom.rego", vetted_module())
                .compile_with(backend, &Limits::default())
                .unwrap()
        })
    })
}

fn arg_edit() -> impl Strategy<Value = Edit> {
    let amount = prop_oneof![(0i64..2000).prop_map(Value::from), word()];
    let address = prop::sample::select(vec!["bob@acme.com", "x@EVIL.com", "y@evil.com", ""]);
    prop_oneof![
        field("call.args.amount", amount.boxed()),
        field(
            "call.args.to",
            prop::collection::vec(address.prop_map(Value::from), 0..3)
                .prop_map(Value::from)
                .boxed()
        ),
        field(
            "call.args.cmd",
            prop::sample::select(vec!["rm", "ls", "dd"])
                .prop_map(Value::from)
                .boxed()
        ),
        field(
            "call.args.service",
            prop::sample::select(vec!["prod-api", "prod-", "dev-api"])
                .prop_map(Value::from)
                .boxed()
        ),
        field(
            "call.args.items",
            prop::collection::vec((0i64..5).prop_map(Value::from), 0..4)
                .prop_map(Value::from)
                .boxed()
        ),
        field("call.args", odd().boxed()),
        field("chain.calls", count(5).boxed()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn vetted_custom_rules_decide_alike_on_both_evaluators(
        edits in prop::collection::vec(prop_oneof![edit(), arg_edit(), arg_edit()], 0..10)
    ) {
        let mut input = load("base_input.json");
        for (path, value) in edits {
            apply(&mut input, path, value);
        }
        let [vm, interpreter] = custom_engines();
        let (fast, slow) = (vm.decide_json(&input), interpreter.decide_json(&input));
        prop_assert_eq!(said(&fast), said(&slow), "input: {}", input);
    }
}
