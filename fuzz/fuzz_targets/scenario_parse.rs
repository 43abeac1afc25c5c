//! Arbitrary scenario text is either rejected with an error or played: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = agentwarrant::testing::run_str(text, "fuzz.json", &Default::default());
    }
});
