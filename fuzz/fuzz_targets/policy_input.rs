//! Any JSON input document gets a decision from the default bundle: never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn engine() -> &'static agentwarrant::PolicyEngine {
    static ENGINE: OnceLock<agentwarrant::PolicyEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        agentwarrant::Policy::default_bundle()
            .compile()
            .unwrap_or_else(|e| panic!("the default bundle compiles: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = engine().decide_json(&document);
    }
});
