//! Secrets found by their shape never reach the ledger: a corpus of real-looking (fake)
//! secrets is redacted, a corpus of look-alikes is left alone, the digest still binds the
//! args as given, and long or binary-looking text is scanned in bounded time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentwarrant::ledger::{canonical_json, sha256_hex, RecordKind};
use agentwarrant::{MemoryLedger, Redaction, RunError, ToolCall};
use serde_json::json;

use crate::fixtures::{anything, builder, ops};

/// Each fake secret, in some context, and the kind its marker must name.
const SECRETS: &[(&str, &str)] = &[
    (
        "key: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7vFakeFakeFake0123\nQWERTYfake==\n-----END RSA PRIVATE KEY----- done",
        "private_key",
    ),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----",
        "private_key",
    ),
    ("token ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8 pushed", "github_token"),
    (
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS",
        "github_token",
    ),
    ("slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "slack_token"),
    ("xoxp-0123456789-abcdefABCDEF", "slack_token"),
    ("stripe sk_live_FAKE0123456789abcdefABCD", "stripe_key"),
    ("rk_live_51HfakeFAKEfake0123456789", "stripe_key"),
    ("OPENAI_API_KEY=sk-proj-Abc123Def456Ghi789Jkl012Mno345Pqr678", "openai_key"),
    ("sk-T3BlbkFJabcdefGHIJKLmnopQRSTuvwx0123456789ABcd", "openai_key"),
    ("x-api-key: sk-ant-api03-Abc123_def456-GHI789jklMNO", "anthropic_key"),
    ("maps AIzaSyD-FAKE0123456789abcdefghijklmnopq loaded", "google_api_key"),
    ("id AKIAIOSFODNN7EXAMPLE here", "aws_access_key_id"),
    ("ASIAY34FZKBOKMUTVV7A", "aws_access_key_id"),
    (
        "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_access_key",
    ),
    (
        "AWS_SECRET_ACCESS_KEY: \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"",
        "aws_secret_access_key",
    ),
    (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "jwt",
    ),
    ("Authorization: Bearer abcdef0123456789ABCDEF.xyz", "bearer_token"),
    ("postgres://admin:s3cr3t-P4ss@db.internal:5432/app", "url_password"),
    ("redis://:hunter2@cache:6379/0", "url_password"),
    ("card 4111 1111 1111 1111 exp 12/29", "card_number"),
    ("5555555555554444", "card_number"),
    ("amex 3782 822463 10005", "card_number"),
    ("4111-1111-1111-1111", "card_number"),
];

/// Text that looks like a secret at a glance and must be left as it is.
const LOOK_ALIKES: &[&str] = &[
    "order 4111111111111112 shipped", // 16 digits, fails Luhn
    "ticket 1234567890123452",        // passes Luhn, but no card network starts with 1
    "we use sk-learn and the sk-means estimator",
    "sk-this-is-not-a-real-key-just-words",
    "https://alice@example.com/repo.git",
    "http://localhost:8080/health",
    "ssh://git@github.com:22/acme/app",
    "SGVsbG8gd29ybGQsIHRoaXMgaXMgYmFzZTY0IHRleHQhIQ==",
    "SHAKIAIOSFODNN7EXAMPLE",
    "AKIA is the prefix of an access key id",
    "eyJhbGciOiJIUzI1NiJ9",
    "the bearer of bad news",
    "3f786850e387550fdab836ed7e6dc881de23001b",
    "494648d9-d1ca-48a4-b142-0fc799055c5f",
    "2026-11-29T14:57:28.325461979Z",
    "ghp_short",
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
    "aws_secret_access_key=changeme",
    "sk_live_short",
    "call +1 415 555 0123",
];

#[test]
fn every_secret_of_the_corpus_is_replaced_by_its_marker() {
    let redaction = Redaction::default();
    for (text, kind) in SECRETS {
        let redacted = redaction.redact(text);
        let marker = format!("[REDACTED:{kind}]");
        assert!(
            redacted.contains(&marker),
            "{kind} not found in {text:?}: {redacted:?}"
        );
        assert_eq!(
            redacted.matches("[REDACTED:").count(),
            1,
            "{text:?} -> {redacted:?}"
        );
    }
}

#[test]
fn the_context_of_a_secret_stays_readable() {
    let redaction = Redaction::default();
    assert_eq!(
        redaction.redact("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        "aws_secret_access_key=[REDACTED:aws_secret_access_key]"
    );
    assert_eq!(
        redaction.redact("Authorization: Bearer abcdef0123456789ABCDEF.xyz"),
        "Authorization: Bearer [REDACTED:bearer_token]"
    );
    assert_eq!(
        redaction.redact(
            "key: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY----- done"
        ),
        "key: [REDACTED:private_key] done"
    );
}

#[test]
fn look_alikes_are_left_alone() {
    let redaction = Redaction::default();
    for text in LOOK_ALIKES {
        assert_eq!(redaction.redact(text), *text, "{text:?} was changed");
    }
}

#[test]
fn the_ledger_holds_the_markers_and_the_digest_of_the_args_as_given() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder().ledger(ledger.clone()).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let args = json!({
        "service": "api",
        "note": "rotate ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8 today",
        "env": {"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
        "card": 4111111111111111u64,
    });
    let result = task.run(ToolCall::new("restart_service", args.clone()), |_| {
        Err::<(), _>("login failed for postgres://ops:pa55word@db/main")
    });
    assert!(matches!(result, Err(RunError::Tool(_))));

    let records = ledger.records();
    let decided = records
        .iter()
        .find(|r| r.kind == RecordKind::CallDecided)
        .unwrap();
    assert_eq!(
        decided.args.as_ref().unwrap(),
        &json!({
            "service": "api",
            "note": "rotate [REDACTED:github_token] today",
            "env": {"aws_secret_access_key": "[REDACTED:aws_secret_access_key]"},
            "card": "[REDACTED:card_number]",
        })
    );
    assert_eq!(
        decided.args_digest.as_deref(),
        Some(sha256_hex(&canonical_json(&args)).as_str()),
        "the digest covers the args as given"
    );
    let completed = records
        .iter()
        .find(|r| r.kind == RecordKind::CallCompleted)
        .unwrap();
    assert_eq!(
        completed.outcome.as_ref().unwrap().error.as_deref(),
        Some("login failed for postgres://ops:[REDACTED:url_password]@db/main")
    );
    // The policy input the decision keeps for replay holds the same, redacted args.
    let input = decided
        .decision
        .as_ref()
        .unwrap()
        .input
        .as_ref()
        .unwrap()
        .to_json();
    assert_eq!(&input["call"]["args"], decided.args.as_ref().unwrap());
    assert!(!ledger.to_jsonl().contains("ghp_A1b2"));
    agentwarrant::ledger::verify_str(&ledger.to_jsonl()).unwrap();
}

#[test]
fn redaction_can_be_turned_off_and_patterns_added() {
    let ledger = Arc::new(MemoryLedger::new());
    let redaction = Redaction::off()
        .pattern("ticket", r"\bT-[0-9]{4}\b")
        .unwrap();
    let guard = builder()
        .ledger(ledger.clone())
        .redaction(redaction)
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let args = json!({"service": "api", "note": "T-1234 ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"});
    let _warrant = task.authorize(ToolCall::new("read_logs", args)).unwrap();
    let decided = ledger
        .records()
        .into_iter()
        .find(|r| r.kind == RecordKind::CallDecided)
        .unwrap();
    assert_eq!(
        decided.args.unwrap()["note"],
        "[REDACTED:ticket] ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    );
}

#[test]
fn a_bad_pattern_is_a_build_error_with_its_code() {
    for (kind, pattern) in [("ticket", "(unclosed"), ("Ticket!", "T-1"), ("empty", "x*")] {
        let error = Redaction::default().pattern(kind, pattern).unwrap_err();
        assert_eq!(
            error.code(),
            "invalid_redaction",
            "{kind} {pattern}: {error}"
        );
    }
}

/// Scans `text` and returns how long it took; no access key id after a dot survives.
fn scan(text: &str) -> Duration {
    let started = Instant::now();
    let redacted = Redaction::default().redact(text);
    let elapsed = started.elapsed();
    assert!(!redacted.contains(".AKIAIOSFODNN7EXAMPLE"));
    elapsed
}

#[test]
fn ten_megabytes_of_text_or_of_secrets_are_scanned_without_a_panic_in_bounded_time() {
    const SIZE: usize = 10 << 20;
    // Binary-looking text: every byte value, as the lossy UTF-8 a tool's output becomes.
    let bytes: Vec<u8> = (0..SIZE)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let binary = String::from_utf8_lossy(&bytes).into_owned();
    // Secrets and near-misses back to back, and one long run of token characters.
    let dense: String = SECRETS
        .iter()
        .map(|(text, _)| *text)
        .chain(LOOK_ALIKES.iter().copied())
        .cycle()
        .take_while({
            let mut total = 0;
            move |text| {
                total += text.len() + 1;
                total < SIZE
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let run = "a".repeat(SIZE);
    let begins = "-----BEGIN PRIVATE KEY-----x".repeat(SIZE / 28);
    // Starts of secrets inside runs that an earlier, unfinished candidate could span.
    let nested = "a.AKIAIOSFODNN7EXAMPLE-eyJhbGci-sk-abc-".repeat(SIZE / 39);
    let urls = "x://a:b:c".repeat(SIZE / 9);
    // Generous bounds for an unoptimised build on a busy machine: a quadratic scan of 10 MB
    // would take hours, not seconds.
    for (name, text) in [
        ("binary", &binary),
        ("dense", &dense),
        ("run", &run),
        ("begins", &begins),
        ("nested", &nested),
        ("urls", &urls),
    ] {
        let took = scan(text);
        assert!(took < Duration::from_secs(120), "{name}: {took:?}");
    }
}
