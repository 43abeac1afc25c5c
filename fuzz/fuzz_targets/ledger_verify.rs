//! `verify_str` never panics, and accepts only what a ledger could have written.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = agentwarrant::ledger::verify_str(text);
    }
});
