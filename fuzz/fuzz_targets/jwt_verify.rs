//! JWT verification never panics, and never accepts a token that the guard's key did not sign.
#![no_main]

use std::sync::LazyLock;

use agentwarrant::{JwtKeys, JwtSigningKey, JwtVerifier, MemoryRevocations};
use libfuzzer_sys::fuzz_target;

static VERIFIER: LazyLock<JwtVerifier> = LazyLock::new(|| {
    let keys = JwtKeys::new(JwtSigningKey::from_seed([1; 32]).with_kid("k1"));
    JwtVerifier::new(keys.jwks(), MemoryRevocations::new())
});

fuzz_target!(|data: &str| {
    assert!(VERIFIER.verify_grant(data, "a:b").is_err());
    assert!(VERIFIER
        .verify_call(data, "t", &serde_json::Value::Null)
        .is_err());
});
