//! Token parsing and verification never panic, and never verify under a key that did not sign.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    if let Ok(token) = agentwarrant::UnverifiedToken::parse(data) {
        let key = agentwarrant::SigningKey::from_bytes([1; 32]);
        assert!(token.verify(&key).is_err());
    }
});
