//! The reason-code table in `docs/reasons.md` and the `ReasonCode` enum cannot drift apart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

use std::collections::BTreeSet;

use agentwarrant::ReasonCode;

#[test]
fn reason_table_lists_exactly_the_builtin_codes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/reasons.md");
    let table = std::fs::read_to_string(path).unwrap();
    let documented: BTreeSet<&str> = table
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .collect();
    let builtin: BTreeSet<&str> = ReasonCode::BUILTIN.iter().map(ReasonCode::as_str).collect();
    assert_eq!(documented, builtin);
}

#[test]
fn slugs_round_trip_and_unknown_codes_stay_custom() {
    for code in ReasonCode::BUILTIN {
        assert_eq!(&ReasonCode::from_slug(code.as_str()), code);
    }
    assert_eq!(
        ReasonCode::from_slug("my_rule"),
        ReasonCode::Custom("my_rule".into())
    );
}
