//! The default bundle, alone and with custom rules that pass the vetting for the RVM, decides
//! every input document the same way on regorus's RVM and on its interpreter: effect, reasons,
//! the approval reasons a deny also carries, and obligations. A policy runs on the RVM only
//! because no rule of it can raise; a rule that did would be skipped there and fail here, and
//! this target would find the input.
#![no_main]

use std::sync::OnceLock;

use agentwarrant::{Backend, Limits, Policy, PolicyEngine};
use libfuzzer_sys::fuzz_target;

/// Custom rules that pass the vetting (the bundle differential test runs them too).
const VETTED: &str = include_str!("../../crates/agentwarrant/policies/tests/vetted_custom.rego");

/// (RVM, interpreter) for the default bundle, and for the bundle with [`VETTED`].
fn engines() -> &'static [(PolicyEngine, PolicyEngine); 2] {
    static ENGINES: OnceLock<[(PolicyEngine, PolicyEngine); 2]> = OnceLock::new();
    ENGINES.get_or_init(|| {
        [
            Policy::default_bundle(),
            Policy::default_bundle().with_module("vetted_custom.rego", VETTED),
        ]
        .map(|policy| {
            let compile = |backend| {
                policy
                    .compile_with(backend, &Limits::default())
                    .unwrap_or_else(|e| panic!("the policy compiles on the {backend}: {e}"))
            };
            (compile(Backend::Vm), compile(Backend::Interpreter))
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for (vm, interpreter) in engines() {
        agree(
            vm.decide_json(&document),
            interpreter.decide_json(&document),
            &document,
        );
    }
});

fn agree(a: agentwarrant::Decision, b: agentwarrant::Decision, document: &serde_json::Value) {
    // A limit hit is timing-dependent: only decisions both evaluators reached are compared.
    // Any other policy error (a rule that raised) must be the same on both.
    let limited = |d: &agentwarrant::Decision| {
        d.reasons.iter().any(|r| {
            r.code == agentwarrant::ReasonCode::PolicyError
                && r.detail
                    .as_deref()
                    .is_some_and(|d| d.to_lowercase().contains("limit"))
        })
    };
    if limited(&a) || limited(&b) {
        return;
    }
    assert_eq!(a.effect, b.effect, "{document}");
    if a.reasons
        .iter()
        .any(|r| r.code == agentwarrant::ReasonCode::PolicyError)
    {
        // The same refusal; the two evaluators word their errors differently.
        return;
    }
    assert_eq!(a.reasons, b.reasons, "{document}");
    assert_eq!(a.also, b.also, "{document}");
    assert_eq!(a.obligations, b.obligations, "{document}");
}
