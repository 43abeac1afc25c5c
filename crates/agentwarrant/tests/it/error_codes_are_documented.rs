//! Every library error code is in the table of `docs/errors.md`, and every row of that table
//! that names a Rust type is a code the library has: docs and code cannot drift apart.

use std::collections::BTreeSet;
use std::path::PathBuf;

use agentwarrant::{
    ApprovalStoreError, ApprovalStoreErrorKind, BuildError, Impact, JwtError, LedgerError, Role,
    TaskError, TokenError,
};

fn repo_file(path: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One value of every variant of every library error with a code. `BuildError`, `LedgerError`
/// and `TaskError` are `#[non_exhaustive]`, so a new variant cannot break this list at compile
/// time; [`codes_in_source`] catches it instead.
fn every_library_code() -> BTreeSet<&'static str> {
    let build = [
        BuildError::PolicyCompile {
            path: "p.rego".into(),
            line: 1,
            message: "m".into(),
        },
        BuildError::PolicyNotVetted {
            path: "p.rego".into(),
            line: 1,
            message: "m".into(),
        },
        BuildError::PolicyRead {
            path: "p".into(),
            message: "m".into(),
            kind: std::io::ErrorKind::NotFound,
        },
        BuildError::PolicyData {
            message: "m".into(),
        },
        BuildError::PolicyPackageMissing,
        BuildError::InvalidIdentity {
            id: "i".into(),
            problem: "p".into(),
        },
        BuildError::InvalidIntent {
            problem: "p".into(),
        },
        BuildError::InvalidTool {
            tool: "t".into(),
            problem: "p".into(),
        },
        BuildError::DuplicateTool { tool: "t".into() },
        BuildError::InvalidLimits {
            limit: "grant_ttl".into(),
            problem: "p".into(),
        },
        BuildError::InvalidEnvironment {
            env: "production".into(),
            problem: "p".into(),
        },
        BuildError::InvalidRedaction {
            kind: "k".into(),
            problem: "p".into(),
        },
    ];
    let ledger = [
        LedgerError::other("l", "m"),
        LedgerError::Broken {
            path: "l".into(),
            line: 1,
            problem: "p".into(),
        },
        LedgerError::Locked { path: "l".into() },
        LedgerError::Encode {
            message: "m".into(),
        },
    ];
    let task = [
        TaskError::Ended { task: "t".into() },
        TaskError::Suspended {
            identity: "agent://a/b".into(),
            problem: "p".into(),
        },
        TaskError::CredentialUnavailable {
            identity: "agent://a/b".into(),
            problem: "p".into(),
        },
        TaskError::ChainTokenInvalid {
            problem: "p".into(),
        },
        TaskError::CredentialNotRevoked {
            task: "t".into(),
            credential: "c".into(),
            problem: "p".into(),
        },
        TaskError::Ledger {
            task: "t".into(),
            source: LedgerError::Locked { path: "l".into() },
        },
    ];
    let token = [
        TokenError::Malformed("m".into()),
        TokenError::BadSignature,
        TokenError::Expired,
    ];
    let store = [
        ApprovalStoreErrorKind::UnknownTicket,
        ApprovalStoreErrorKind::Closed,
        ApprovalStoreErrorKind::AlreadyAnswered,
        ApprovalStoreErrorKind::Unavailable,
    ]
    .map(|kind| {
        ApprovalStoreError {
            message: String::new(),
            kind,
        }
        .code()
    });
    let jwt = [
        JwtError::Malformed("m".into()),
        JwtError::UnsupportedAlgorithm("none".into()),
        JwtError::UnknownKey("k".into()),
        JwtError::BadSignature,
        JwtError::WrongType("t".into()),
        JwtError::WrongIssuer("i".into()),
        JwtError::WrongAudience("a".into()),
        JwtError::Expired,
        JwtError::NotYetValid,
        JwtError::Revoked("j".into()),
        JwtError::ScopeNotCovered("a:b".into()),
        JwtError::InvalidRequiredScope("ab".into()),
        JwtError::CallMismatch("c".into()),
        JwtError::RevocationUnavailable("r".into()),
        JwtError::InvalidJwks("j".into()),
    ];
    let parse = [
        "urgent".parse::<Impact>().unwrap_err().code(),
        "admin".parse::<Role>().unwrap_err().code(),
    ];
    build
        .iter()
        .map(BuildError::code)
        .chain(ledger.iter().map(LedgerError::code))
        .chain(task.iter().map(TaskError::code))
        .chain(token.iter().map(TokenError::code))
        .chain(store)
        .chain(jwt.iter().map(JwtError::code))
        .chain(parse)
        .collect()
}

/// The string literals in the body of every `fn code` of the library's sources: a variant
/// added with a new code shows up here even if [`every_library_code`] forgot it.
fn codes_in_source() -> BTreeSet<String> {
    let files = crate::fixtures::library_sources();
    let mut codes = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        for (at, _) in source.match_indices("fn code(&self) -> &'static str {") {
            let body = &source[at..];
            let body = &body[..body.find("\n    }\n").unwrap()];
            codes.extend(body.split('"').skip(1).step_by(2).map(str::to_owned));
        }
    }
    codes
}

/// The codes of the table's rows whose "raised by" names a Rust type (a Python-only row
/// starts with `Python`).
fn documented_library_codes() -> BTreeSet<String> {
    repo_file("docs/errors.md")
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let raised_by = cells.get(2)?;
            (!raised_by.starts_with("Python")).then(|| code.to_owned())
        })
        .collect()
}

#[test]
fn every_library_error_code_is_in_the_table_and_every_rust_row_is_a_code() {
    let enumerated: BTreeSet<String> = every_library_code()
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        enumerated,
        codes_in_source(),
        "a `code()` variant is missing from this test"
    );
    assert_eq!(
        enumerated,
        documented_library_codes(),
        "docs/errors.md and the library differ"
    );
}
