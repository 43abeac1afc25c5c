//! Properties: scope matching agrees with a plain reference glob, parsing never panics,
//! the ledger verifies exactly when it was not touched, and a JWT verifier never panics and
//! never accepts a token that was changed.

use agentwarrant::ledger::{self, DecisionRecord, OutcomeRecord, Record, RecordKind};
use agentwarrant::{Ledger, MemoryLedger, Scope, ScopePattern, ScopeSet};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::Value;

/// `cases` cases; failing seeds are kept next to this file (cargo runs tests in the crate root).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/it/properties.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Scopes

/// The reference: `*` matches any run of characters, by dynamic programming over chars.
fn glob(pattern: &[char], text: &[char]) -> bool {
    // matched[j]: the pattern so far matches text[..j].
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for &p in pattern {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            next[j] = if p == '*' {
                matched[j] || (j > 0 && next[j - 1])
            } else {
                j > 0 && matched[j - 1] && text[j - 1] == p
            };
        }
        matched = next;
    }
    matched[text.len()]
}

/// DESIGN.md: split at the first `:` into two non-empty halves, no whitespace.
fn halves(text: &str) -> Option<(Vec<char>, Vec<char>)> {
    if text.chars().any(char::is_whitespace) {
        return None;
    }
    let (action, resource) = text.split_once(':')?;
    if action.is_empty() || resource.is_empty() {
        return None;
    }
    Some((action.chars().collect(), resource.chars().collect()))
}

fn reference(pattern: &str, scope: &str) -> Option<bool> {
    let (pa, pr) = halves(pattern)?;
    let (sa, sr) = halves(scope)?;
    Some(glob(&pa, &sa) && glob(&pr, &sr))
}

/// Strings over the characters that matter to scopes.
fn scopeish(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => Just('*'),
            3 => Just(':'),
            1 => Just('/'),
            1 => Just('.'),
            1 => Just('@'),
            4 => Just('a'),
            4 => Just('b'),
            1 => Just('é'),
            1 => Just(' '),
        ],
        0..max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// `action:resource` with non-empty halves, so that most cases reach the matcher.
fn well_formed() -> impl Strategy<Value = String> {
    ("[*/.@ab]{1,5}", "[*:/.@abé]{1,8}").prop_map(|(a, r)| format!("{a}:{r}"))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn scope_matching_agrees_with_a_reference_glob(
        pattern in well_formed(),
        scope in well_formed(),
    ) {
        let parsed = ScopePattern::parse(&pattern).unwrap();
        let concrete = Scope::parse(&scope).unwrap();
        prop_assert_eq!(
            Some(parsed.matches(&concrete)),
            reference(&pattern, &scope),
            "`{}` vs `{}`", pattern, scope
        );
    }

    #[test]
    fn scope_parsing_and_matching_agree_with_the_reference_on_any_string(
        pattern in scopeish(12),
        scope in scopeish(12),
    ) {
        let parsed = ScopePattern::parse(&pattern);
        let concrete = Scope::parse(&scope);
        prop_assert_eq!(parsed.is_ok(), halves(&pattern).is_some(), "pattern `{}`", pattern);
        prop_assert_eq!(concrete.is_ok(), halves(&scope).is_some(), "scope `{}`", scope);
        if let (Ok(parsed), Ok(concrete)) = (parsed, concrete) {
            prop_assert_eq!(Some(parsed.matches(&concrete)), reference(&pattern, &scope));
            let (action, resource) = scope.split_once(':').unwrap();
            prop_assert_eq!((concrete.action(), concrete.resource()), (action, resource));
        }
    }

    #[test]
    fn a_pattern_matches_the_scope_it_spells(scope in well_formed()) {
        // Every literal text matches itself, wildcards and all.
        let pattern = ScopePattern::parse(&scope).unwrap();
        prop_assert!(pattern.matches(&Scope::parse(&scope).unwrap()));
    }

    #[test]
    fn a_scope_set_contains_what_any_of_its_patterns_matches(
        patterns in proptest::collection::vec(well_formed(), 0..4),
        scope in well_formed(),
    ) {
        let set = ScopeSet::parse(&patterns).unwrap();
        let concrete = Scope::parse(&scope).unwrap();
        let expected = patterns.iter().any(|p| reference(p, &scope) == Some(true));
        prop_assert_eq!(set.contains(&concrete), expected);
        prop_assert_eq!(set.to_strings(), patterns);
    }

    #[test]
    fn scope_parsing_never_panics(text in any::<String>()) {
        let pattern = ScopePattern::parse(&text);
        let scope = Scope::parse(&text);
        prop_assert_eq!(pattern.is_ok(), scope.is_ok());
        if let (Ok(pattern), Ok(scope)) = (pattern, scope) {
            prop_assert_eq!(pattern.as_str(), text.as_str());
            prop_assert_eq!(scope.to_string(), text.clone());
            let _ = pattern.matches(&scope);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The ledger

/// Text with the characters JSON escapes, in every way it escapes them.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ./:@\"\\\\\u{1}\u{8}\u{a}\u{b}\u{1b}\u{1f}\u{7f}é😀]{0,10}"
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Large and tiny floats are written with an exponent.
        prop_oneof![any::<f64>(), Just(1e300), Just(-2.5e-300)].prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config(512))]

    /// A decision's recorded input reads back as the document it holds, floats included
    /// (replay evaluates what it reads).
    #[test]
    fn a_recorded_input_reads_back_every_float_exactly(
        x in any::<f64>().prop_filter("JSON has finite numbers only", |x| x.is_finite()),
    ) {
        let document = serde_json::json!({"x": x});
        let recorded = ledger::RecordedInput::from_json(&document);
        prop_assert_eq!(recorded.to_json(), document);
    }
}

fn kind() -> impl Strategy<Value = RecordKind> {
    prop_oneof![
        Just(RecordKind::TaskBegun),
        Just(RecordKind::GrantIssued),
        Just(RecordKind::CallDecided),
        Just(RecordKind::ApprovalRequested),
        Just(RecordKind::ApprovalAnswered),
        Just(RecordKind::CallCompleted),
        Just(RecordKind::GrantRevoked),
        Just(RecordKind::TaskEnded),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    let who = (text(), text(), text(), text(), kind());
    let call = (
        proptest::option::of(text()),
        proptest::option::of(json_value()),
        proptest::option::of(proptest::collection::vec(text(), 0..3)),
        proptest::option::of((
            text(),
            proptest::collection::vec(text(), 0..3),
            any::<u64>(),
        )),
        proptest::option::of((
            text(),
            proptest::option::of(any::<u64>()),
            proptest::option::of(text()),
        )),
        proptest::option::of(json_value()),
    );
    (who, call).prop_map(
        |(
            (ts, task_id, identity, intent, kind),
            (tool, args, approver, decision, outcome, detail),
        )| {
            Record {
                schema: 0,
                seq: 0,
                ts,
                kind,
                task_id,
                call_id: tool.as_ref().map(|_| "call".to_owned()),
                parent_call_id: None,
                identity,
                owner: "alice@acme.com".into(),
                intent,
                tool,
                args_digest: args
                    .as_ref()
                    .map(|a| ledger::sha256_hex(&ledger::canonical_json(a))),
                args,
                decision: decision.map(|(effect, reasons, eval_us)| DecisionRecord {
                    effect,
                    reasons,
                    policy_digest: None,
                    eval_us,
                    input: None,
                }),
                approver,
                outcome: outcome.map(|(status, duration_us, error)| OutcomeRecord {
                    status,
                    duration_us,
                    labels: Vec::new(),
                    error,
                }),
                detail,
                prev: String::new(),
                hash: String::new(),
            }
        },
    )
}

fn written(records: &[Record]) -> String {
    let ledger = MemoryLedger::new();
    for record in records {
        ledger.append(record.clone()).unwrap();
    }
    ledger.to_jsonl()
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn any_sequence_of_records_verifies(records in proptest::collection::vec(record(), 0..6)) {
        let jsonl = written(&records);
        let head = ledger::verify_str(&jsonl).unwrap();
        prop_assert_eq!(head.records, records.len() as u64);
        prop_assert_eq!(jsonl.lines().count(), records.len());
    }

    #[test]
    fn flipping_any_bit_breaks_verification_at_its_line(
        records in proptest::collection::vec(record(), 1..5),
        at in any::<prop::sample::Index>(),
    ) {
        let jsonl = written(&records);
        let index = at.index(jsonl.len());
        let line = jsonl.as_bytes()[..index].iter().filter(|b| **b == b'\n').count() as u64 + 1;
        for bit in 0..8 {
            let mut bytes = jsonl.clone().into_bytes();
            bytes[index] ^= 1 << bit;
            // Bytes that are not UTF-8 are refused by `ledger::verify` before any parsing.
            let Ok(text) = String::from_utf8(bytes) else { continue };
            match ledger::verify_str(&text) {
                Ok(head) => prop_assert!(
                    false,
                    "bit {} of byte {} ({:?}) flipped unnoticed, {} records",
                    bit, index, char::from(jsonl.as_bytes()[index]), head.records
                ),
                Err((broken, _)) => prop_assert_eq!(broken, line),
            }
        }
    }

    #[test]
    fn verify_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = ledger::verify_str(&text);
    }

    #[test]
    fn verify_never_panics_on_spliced_ledgers(
        records in proptest::collection::vec(record(), 1..4),
        cut in any::<prop::sample::Index>(),
        junk in "[{}\\[\\]\":,0-9a-z\n]{0,16}",
    ) {
        let jsonl = written(&records);
        let mut at = cut.index(jsonl.len() + 1);
        while !jsonl.is_char_boundary(at) {
            at -= 1;
        }
        let spliced = format!("{}{}{}", &jsonl[..at], junk, &jsonl[at..]);
        let verdict = ledger::verify_str(&spliced);
        if !junk.is_empty() {
            prop_assert!(verdict.is_err(), "junk `{}` at {} went unnoticed", junk, at);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Grant tokens (JWT)

/// A guard with a fixed key, one of its tasks, and that task's grant token: built once.
fn minted() -> &'static (agentwarrant::Guard, agentwarrant::Task, String) {
    static MINTED: std::sync::LazyLock<(agentwarrant::Guard, agentwarrant::Task, String)> =
        std::sync::LazyLock::new(mint);
    &MINTED
}

fn mint() -> (agentwarrant::Guard, agentwarrant::Task, String) {
    use agentwarrant::{Guard, Identity, Intent, JwtKeys, JwtSigningKey, Role};
    let guard = Guard::builder()
        .jwt_keys(JwtKeys::new(JwtSigningKey::from_seed([5; 32])))
        .build()
        .unwrap();
    let me = Identity::builder("agent://acme/bot", Role::Executor, "alice@acme.com")
        .ceiling(["logs.read:*"])
        .build()
        .unwrap();
    let intent = Intent::builder("read")
        .scopes(["logs.read:*"])
        .build()
        .unwrap();
    let task = guard.begin(me, intent).unwrap();
    let token = task.grant_token().unwrap();
    (guard, task, token)
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn the_jwt_verifier_never_panics_on_arbitrary_text(
        text in any::<String>(),
        dotted in "[A-Za-z0-9_=+/!-]{0,40}\\.[A-Za-z0-9_=+/!-]{0,40}\\.[A-Za-z0-9_=+/!-]{0,90}",
    ) {
        let (guard, _task, _) = minted();
        let verifier = guard.jwt_verifier();
        for token in [&text, &dotted] {
            prop_assert!(verifier.verify_grant(token, "logs.read:api").is_err());
            prop_assert!(verifier.verify_call(token, "t", &Value::Null).is_err());
        }
    }

    #[test]
    fn a_changed_grant_token_never_verifies(
        at in any::<prop::sample::Index>(),
        replacement in any::<char>(),
        insert in any::<bool>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let (guard, _task, token) = minted();
        let token = token.as_str();
        let verifier = guard.jwt_verifier();
        prop_assert!(verifier.verify_grant(token, "logs.read:api").is_ok());
        // Replace (or insert) one character, and maybe cut the tail.
        let chars: Vec<char> = token.chars().collect();
        let i = at.index(chars.len());
        let mut changed: Vec<char> = chars.clone();
        if insert {
            changed.insert(i, replacement);
        } else {
            changed[i] = replacement;
        }
        let mut changed: String = changed.into_iter().collect();
        if cut.index(4) == 0 {
            let keep = cut.index(changed.len());
            let mut keep = keep.min(changed.len());
            while !changed.is_char_boundary(keep) {
                keep -= 1;
            }
            changed.truncate(keep);
        }
        if changed != *token {
            let verdict = verifier.verify_grant(&changed, "logs.read:api");
            prop_assert!(verdict.is_err(), "{} verified", changed);
        }
    }
}
