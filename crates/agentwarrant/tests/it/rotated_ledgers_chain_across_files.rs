//! A file ledger rotated by size or time: the chain and the checkpoints go on across files,
//! `verify` and `read` take the directory or the active file, and files out of order or
//! missing are named, never a panic, and nothing is written by reading.

use std::path::{Path, PathBuf};
use std::time::Duration;

use agentwarrant::ledger::{
    read, verify, verify_signed, CheckpointKey, Record, RecordFilter, RecordKind,
};
use agentwarrant::{FileLedger, Ledger, LedgerError};

fn record(n: usize) -> Record {
    Record {
        schema: 0,
        seq: 0,
        ts: "2026-11-29T14:57:28Z".into(),
        kind: RecordKind::TaskBegun,
        task_id: format!("task-{n}"),
        call_id: None,
        parent_call_id: None,
        identity: "agent://acme/ops".into(),
        owner: "alice@acme.com".into(),
        intent: "keep the service healthy".into(),
        tool: None,
        args: None,
        args_digest: None,
        decision: None,
        approver: None,
        outcome: None,
        detail: None,
        prev: String::new(),
        hash: String::new(),
    }
}

/// The ledger files of `dir`, sorted by name.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A ledger of `n` records rotated every ~1 KiB; returns its directory and active path.
fn rotated(n: usize) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let ledger = FileLedger::options()
        .rotate_bytes(1024)
        .open(&path)
        .unwrap();
    for i in 0..n {
        ledger.append(record(i)).unwrap();
    }
    (dir, path)
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_ledger_rotated_by_size_chains_across_its_numbered_files() {
    let (dir, path) = rotated(20);
    let names = files(dir.path());
    assert!(names.len() >= 3, "{names:?}");
    assert_eq!(names[0], "ledger.000001.jsonl");
    assert_eq!(names[1], "ledger.000002.jsonl");
    assert_eq!(names.last().unwrap(), "ledger.jsonl");
    for name in &names[..names.len() - 1] {
        assert!(std::fs::metadata(dir.path().join(name)).unwrap().len() <= 1024);
    }

    let first = lines(&dir.path().join("ledger.000001.jsonl"));
    let second = lines(&dir.path().join("ledger.000002.jsonl"));
    let last = first.last().unwrap();
    assert_eq!(second[0]["prev"], last["hash"]);
    assert_eq!(second[0]["seq"], last["seq"].as_u64().unwrap() + 1);

    for target in [dir.path(), path.as_path()] {
        assert_eq!(verify(target).unwrap().records, 20, "{}", target.display());
        let read: Vec<Record> = read(target, &RecordFilter::new())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let seqs: Vec<u64> = read.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=20).collect::<Vec<u64>>());
    }
}

#[test]
fn a_reopened_ledger_continues_the_chain_of_its_last_rotated_file() {
    let (dir, path) = rotated(20);
    // The active file moved aside as a rotation does, and nothing written after it yet.
    let next = files(dir.path()).len();
    std::fs::rename(&path, dir.path().join(format!("ledger.{next:06}.jsonl"))).unwrap();
    let ledger = FileLedger::options()
        .rotate_bytes(1024)
        .open(&path)
        .unwrap();
    assert_eq!(ledger.append(record(20)).unwrap(), 21);
    drop(ledger);
    assert_eq!(verify(dir.path()).unwrap().records, 21);
}

#[test]
fn a_ledger_rotated_by_time_starts_a_new_file_once_the_period_is_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let ledger = FileLedger::options()
        .rotate_every(Duration::from_millis(20))
        .open(&path)
        .unwrap();
    for i in 0..3 {
        ledger.append(record(i)).unwrap();
        std::thread::sleep(Duration::from_millis(30));
    }
    drop(ledger);
    assert_eq!(
        files(dir.path()),
        ["audit.000001.jsonl", "audit.000002.jsonl", "audit.jsonl"]
    );
    assert_eq!(verify(&path).unwrap().records, 3);
}

#[test]
fn checkpoints_go_on_across_files_and_the_last_one_closes_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let key = CheckpointKey::generate();
    let ledger = FileLedger::options()
        .checkpoints(key.clone(), 4)
        .rotate_bytes(2048)
        .open(&path)
        .unwrap();
    for i in 0..30 {
        ledger.append(record(i)).unwrap();
    }
    drop(ledger);
    assert!(files(dir.path()).len() >= 3);
    let report = verify_signed(dir.path(), &key.verifying_key()).unwrap();
    assert!(report.closed);
    assert!(report.checkpoints >= 7);
}

fn broken(result: Result<impl std::fmt::Debug, LedgerError>) -> (PathBuf, u64, String) {
    match result.unwrap_err() {
        LedgerError::Broken {
            path,
            line,
            problem,
        } => (path, line, problem),
        other => panic!("expected a broken ledger, got {other}"),
    }
}

#[test]
fn rotated_files_out_of_order_are_named_with_the_break() {
    let (dir, _) = rotated(20);
    let one = dir.path().join("ledger.000001.jsonl");
    let two = dir.path().join("ledger.000002.jsonl");
    let swap = dir.path().join("swap");
    std::fs::rename(&one, &swap).unwrap();
    std::fs::rename(&two, &one).unwrap();
    std::fs::rename(&swap, &two).unwrap();
    std::fs::remove_file(dir.path().join("swap")).ok();
    let (path, line, problem) = broken(verify(dir.path()));
    assert_eq!(path, one);
    assert_eq!(line, 1);
    assert!(problem.contains("expected seq 1"), "{problem}");
}

#[test]
fn a_rotated_file_missing_in_the_middle_is_named() {
    let (dir, path) = rotated(20);
    let before = files(dir.path());
    std::fs::remove_file(dir.path().join("ledger.000002.jsonl")).unwrap();
    for target in [dir.path(), path.as_path()] {
        let (at, _, problem) = broken(verify(target));
        assert_eq!(at, dir.path().join("ledger.000003.jsonl"), "{problem}");
        assert!(problem.contains("ledger.000002.jsonl"), "{problem}");
        assert!(problem.contains("missing"), "{problem}");
        let error = read(target, &RecordFilter::new()).map(|_| ()).unwrap_err();
        assert_eq!(error.code(), "ledger_broken");
    }
    // A file whose content was replaced by the next one's is a break between two files.
    std::fs::copy(
        dir.path().join("ledger.000003.jsonl"),
        dir.path().join("ledger.000002.jsonl"),
    )
    .unwrap();
    let (at, line, problem) = broken(verify(dir.path()));
    assert_eq!((at, line), (dir.path().join("ledger.000002.jsonl"), 1));
    assert!(problem.contains("does not continue"), "{problem}");
    assert!(problem.contains("ledger.000001.jsonl"), "{problem}");
    // Reading wrote nothing.
    assert_eq!(files(dir.path()), before);
    let _ = path;
}

#[test]
fn a_directory_of_two_ledgers_or_of_none_is_refused_by_name() {
    let (dir, _) = rotated(5);
    std::fs::write(dir.path().join("other.jsonl"), "").unwrap();
    let error = verify(dir.path()).unwrap_err().to_string();
    assert!(
        error.contains("ledger") && error.contains("other"),
        "{error}"
    );
    let empty = tempfile::tempdir().unwrap();
    let error = verify(empty.path()).unwrap_err().to_string();
    assert!(error.contains("no ledger"), "{error}");
    assert!(files(empty.path()).is_empty());
}
