//! Scope and pattern parsing and matching never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: (&str, &str)| {
    let (pattern, scope) = data;
    if let (Ok(pattern), Ok(scope)) = (
        agentwarrant::ScopePattern::parse(pattern),
        agentwarrant::Scope::parse(scope),
    ) {
        let _ = pattern.matches(&scope);
    }
});
