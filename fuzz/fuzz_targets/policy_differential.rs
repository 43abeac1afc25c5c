//! The default bundle decides every input document the same way on regorus's RVM and on its
//! interpreter: effect, reasons, the approval reasons a deny also carries, and obligations.
//! The bundle runs on the RVM only because no rule of it can raise; a rule that did would be
//! skipped there and fail here, and this target would find the input.
#![no_main]

use std::sync::OnceLock;

use agentwarrant::{Backend, Limits, Policy, PolicyEngine};
use libfuzzer_sys::fuzz_target;

fn engines() -> &'static (PolicyEngine, PolicyEngine) {
    static ENGINES: OnceLock<(PolicyEngine, PolicyEngine)> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let compile = |backend| {
            Policy::default_bundle()
                .compile_with(backend, &Limits::default())
                .unwrap_or_else(|e| panic!("the default bundle compiles: {e}"))
        };
        (compile(Backend::Vm), compile(Backend::Interpreter))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let (vm, interpreter) = engines();
    let (a, b) = (vm.decide_json(&document), interpreter.decide_json(&document));
    // A limit hit is timing-dependent: only decisions both evaluators reached are compared.
    let limited = |d: &agentwarrant::Decision| {
        d.reasons.iter().any(|r| r.code == agentwarrant::ReasonCode::PolicyError)
    };
    if limited(&a) || limited(&b) {
        return;
    }
    assert_eq!(a.effect, b.effect, "{document}");
    assert_eq!(a.reasons, b.reasons, "{document}");
    assert_eq!(a.also, b.also, "{document}");
    assert_eq!(a.obligations, b.obligations, "{document}");
});
