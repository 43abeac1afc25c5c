//! The ledger in a table: a guard's records land in it hash-chained and checkpoint-signed, one
//! chain per writer, and verify; a row edited, deleted or copied by hand is found and named;
//! PostgreSQL going away refuses the calls it cannot record and loses nothing acknowledged.

use std::sync::Arc;

use agentwarrant::ledger::{CheckpointKey, Ledger, Sink, VerifyingKey};
use agentwarrant::{
    Guard, Identity, Impact, Intent, LedgerError, Outcome, Role, ToolCall, ToolSpec,
};
use agentwarrant_postgres::{verify_ledger, Commit, PostgresLedger, WriterVerdict};
use serde_json::json;

use crate::support::*;

/// A schema of the test's own, dropped at the end.
struct Scratch {
    url: String,
    schema: String,
}

impl Scratch {
    fn new(url: &str, suffix: &str) -> Self {
        Self {
            url: url.to_owned(),
            schema: format!("aw_ledger_{}{suffix}", nonce()),
        }
    }

    fn table(&self) -> String {
        format!("{}.\"ledger\"", quote(&self.schema))
    }

    fn ledger(&self, writer: &str) -> PostgresLedger {
        self.ledger_at(&self.url, writer, Commit::Synchronous)
    }

    fn ledger_at(&self, url: &str, writer: &str, commit: Commit) -> PostgresLedger {
        PostgresLedger::builder(url)
            .schema(&self.schema)
            .writer(writer)
            .commit(commit)
            .build()
            .unwrap()
    }

    fn verify(&self, writer: Option<&str>, key: Option<&VerifyingKey>) -> Vec<WriterVerdict> {
        verify_ledger(&self.url, &self.schema, writer, key).unwrap()
    }

    fn rows(&self, writer: &str) -> i64 {
        admin(&self.url)
            .query_one(
                &format!("SELECT count(*) FROM {} WHERE writer = $1", self.table()),
                &[&writer],
            )
            .unwrap()
            .get(0)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.url, postgres::NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {} CASCADE",
                quote(&self.schema)
            ));
        }
    }
}

fn key() -> CheckpointKey {
    CheckpointKey::from_bytes([5; 32])
}

fn guard_on(ledger: impl Ledger + 'static) -> Guard {
    Guard::builder()
        .tool(
            ToolSpec::builder("query_orders", Impact::Low)
                .scope("db.read:{table}")
                .build()
                .unwrap(),
        )
        .ledger(ledger)
        .build()
        .unwrap()
}

fn agent() -> Identity {
    Identity::builder("agent://acme/reports", Role::Executor, "alice@acme.com")
        .ceiling(["db.read:*"])
        .build()
        .unwrap()
}

fn query() -> ToolCall {
    ToolCall::new("query_orders", json!({"table": "sales.orders"}))
}

/// A task of `agent()` reading the sales tables.
fn orders_task(guard: &Guard) -> agentwarrant::Task {
    guard
        .begin(
            agent(),
            Intent::builder("orders")
                .scopes(["db.read:sales.*"])
                .build()
                .unwrap(),
        )
        .unwrap()
}

/// One task of `calls` guarded calls, each completed; the calls granted.
fn run(guard: &Guard, calls: usize) -> usize {
    let task = orders_task(guard);
    let mut granted = 0;
    for _ in 0..calls {
        if let Ok(warrant) = task.authorize(query()) {
            warrant.complete(Outcome::ok()).unwrap();
            granted += 1;
        }
    }
    task.end().unwrap();
    granted
}

fn only(verdicts: Vec<WriterVerdict>) -> WriterVerdict {
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    verdicts.into_iter().next().unwrap()
}

/// The seq and problem of a broken verdict.
fn broken(verdict: &WriterVerdict) -> (u64, String) {
    match &verdict.outcome {
        Err(LedgerError::Broken { line, problem, .. }) => (*line, problem.clone()),
        other => panic!("the chain of `{}` verified: {other:?}", verdict.writer),
    }
}

#[test]
fn a_guarded_tasks_records_land_in_the_table_chained_signed_and_verified() {
    let url = server!();
    let scratch = Scratch::new(&url, "");
    let ledger = scratch
        .ledger("worker-1")
        .open_with_checkpoints(key(), 4)
        .unwrap();
    let guard = guard_on(ledger);
    assert_eq!(run(&guard, 5), 5);

    // Still being written: it verifies, its tail not yet signed.
    let open = only(scratch.verify(None, Some(&key().verifying_key())));
    let report = open.outcome.unwrap();
    assert_eq!(open.writer, "worker-1");
    assert!(!report.closed && report.checkpoints >= 2);
    drop(guard); // the ledger closes on a signed checkpoint

    let closed = only(scratch.verify(Some("worker-1"), Some(&key().verifying_key())));
    let report = closed.outcome.unwrap();
    assert!(report.closed && report.unsigned_tail == 0, "{report:?}");
    assert_eq!(report.head.records as i64, scratch.rows("worker-1"));
    // The row's columns are the record's: seq, the exact line, its hash.
    let row = admin(&url)
        .query_one(
            &format!(
                "SELECT seq, line, hash FROM {} WHERE writer = 'worker-1' ORDER BY seq DESC LIMIT 1",
                scratch.table()
            ),
            &[],
        )
        .unwrap();
    let (seq, line, hash): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(seq as u64, report.head.records);
    assert_eq!(hash, report.head.hash);
    assert!(line.contains(&format!("\"hash\":\"{hash}\"")) && line.contains("ledger.checkpoint"));

    // Another key's checkpoints do not verify.
    let other = CheckpointKey::from_bytes([6; 32]).verifying_key();
    let (_, problem) = broken(&only(scratch.verify(None, Some(&other))));
    assert!(problem.contains("signed by key"), "{problem}");
}

#[test]
fn a_row_edited_by_hand_is_found_and_named_by_writer_and_seq() {
    let url = server!();
    let scratch = Scratch::new(&url, "");
    run(&guard_on(scratch.ledger("w").open().unwrap()), 2);
    assert!(only(scratch.verify(None, None)).outcome.is_ok());

    admin(&url)
        .execute(
            &format!(
                "UPDATE {} SET line = replace(line, 'alice@acme.com', 'mallory@acme.com') \
                 WHERE writer = 'w' AND seq = 3",
                scratch.table()
            ),
            &[],
        )
        .unwrap();
    let verdict = only(scratch.verify(None, None));
    let (seq, problem) = broken(&verdict);
    assert_eq!(seq, 3);
    assert!(
        problem.contains("writer `w` seq 3") && problem.contains("edited"),
        "{problem}"
    );
    assert_eq!(verdict.outcome.unwrap_err().code(), "ledger_broken");
}

#[test]
fn a_deleted_row_and_a_copied_row_break_the_chain_where_they_are() {
    let url = server!();
    let scratch = Scratch::new(&url, "");
    run(&guard_on(scratch.ledger("w").open().unwrap()), 2);
    let records = scratch.rows("w");
    let mut admin = admin(&url);

    // A copy of row 2 appended as the next record.
    admin
        .execute(
            &format!(
                "INSERT INTO {t} (writer, seq, line, hash) \
                 SELECT writer, $1, line, hash FROM {t} WHERE writer = 'w' AND seq = 2",
                t = scratch.table()
            ),
            &[&(records + 1)],
        )
        .unwrap();
    let (seq, problem) = broken(&only(scratch.verify(None, None)));
    assert_eq!(seq as i64, records + 1);
    assert!(
        problem.contains(&format!("expected seq {}", records + 1)),
        "{problem}"
    );

    // Row 4 deleted: the chain breaks at the row after it.
    admin
        .execute(
            &format!(
                "DELETE FROM {} WHERE writer = 'w' AND seq = 4",
                scratch.table()
            ),
            &[],
        )
        .unwrap();
    let (seq, problem) = broken(&only(scratch.verify(None, None)));
    assert_eq!(seq, 5);
    assert!(
        problem.contains("writer `w` seq 5 (row 4 of the chain)")
            && problem.contains("expected seq 4"),
        "{problem}"
    );
}

#[test]
fn two_writers_keep_two_chains_and_each_verifies_on_its_own() {
    let url = server!();
    let scratch = Scratch::new(&url, "");
    let (a, b) = (
        guard_on(scratch.ledger("a").open().unwrap()),
        guard_on(scratch.ledger("b").open().unwrap()),
    );
    for _ in 0..3 {
        run(&a, 1);
        run(&b, 2);
    }
    let verdicts = scratch.verify(None, None);
    assert_eq!(
        verdicts
            .iter()
            .map(|v| v.writer.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(verdicts.iter().all(|v| v.outcome.is_ok()), "{verdicts:?}");

    admin(&url)
        .execute(
            &format!(
                "UPDATE {} SET line = line || ' ' WHERE writer = 'b' AND seq = 2",
                scratch.table()
            ),
            &[],
        )
        .unwrap();
    let verdicts = scratch.verify(None, None);
    assert!(verdicts[0].outcome.is_ok());
    assert_eq!(broken(&verdicts[1]).0, 2);
    assert!(only(scratch.verify(Some("a"), None)).outcome.is_ok());
}

#[test]
fn a_writer_held_by_an_open_ledger_is_refused_and_continued_once_free() {
    let url = server!();
    let scratch = Scratch::new(&url, "");
    let first = guard_on(scratch.ledger("w").open_with_checkpoints(key(), 3).unwrap());
    run(&first, 2);

    let refused = scratch.ledger("w").open().unwrap_err();
    assert_eq!(refused.code(), "ledger_io");
    assert!(
        refused.to_string().contains("held by another open ledger"),
        "{refused}"
    );

    drop(first);
    let before = scratch.rows("w");
    let second = guard_on(scratch.ledger("w").open_with_checkpoints(key(), 3).unwrap());
    run(&second, 2);
    drop(second);
    let report = only(scratch.verify(Some("w"), Some(&key().verifying_key())))
        .outcome
        .unwrap();
    assert!(
        report.head.records as i64 > before && report.closed,
        "{report:?}"
    );
}

#[test]
fn a_ledger_whose_chain_moved_on_in_the_table_refuses_its_next_record() {
    let url = server!();
    let scratch = Scratch::new(&url, "");
    let ledger = scratch.ledger("w").open().unwrap();
    let guard = guard_on(ledger);
    let task = orders_task(&guard);
    admin(&url)
        .execute(
            &format!(
                "DELETE FROM {t} WHERE writer = 'w' AND seq = (SELECT max(seq) FROM {t})",
                t = scratch.table()
            ),
            &[],
        )
        .unwrap();
    let refusal = task.authorize(query()).unwrap_err();
    assert_eq!(refusal.codes(), ["ledger_error"]);
    let detail = refusal.reasons[0].detail.clone().unwrap_or_default();
    assert!(
        detail.contains("does not continue the table's chain"),
        "{detail}"
    );
}

#[test]
fn an_unreachable_server_refuses_the_ledger_at_open() {
    let url = server!();
    let scratch = Scratch::new(&url, "");
    let relay = Relay::to(&url);
    relay.cut();
    let error = scratch
        .ledger_at(&relay.url(&url), "w", Commit::Synchronous)
        .open()
        .unwrap_err();
    assert_eq!(error.code(), "ledger_io");
    assert!(
        error.to_string().contains("PostgreSQL is unreachable"),
        "{error}"
    );
    assert!(verify_ledger(&relay.url(&url), &scratch.schema, None, None).is_err());
}

#[test]
fn postgresql_going_away_mid_run_refuses_the_calls_and_loses_nothing_acknowledged() {
    let url = server!();
    for commit in [Commit::Synchronous, Commit::Asynchronous] {
        let scratch = Scratch::new(&url, "");
        let relay = Relay::to(&url);
        let ledger = Arc::new(
            scratch
                .ledger_at(&relay.url(&url), "w", commit)
                .open()
                .unwrap(),
        );
        let guard = guard_on(ledger.clone());
        let task = orders_task(&guard);
        let mut granted = 0;
        for _ in 0..3 {
            task.authorize(query())
                .unwrap()
                .complete(Outcome::ok())
                .unwrap();
            granted += 1;
        }
        relay.cut();
        let refusal = task.authorize(query()).unwrap_err();
        assert_eq!(refusal.codes(), ["ledger_error"], "{commit:?}");
        relay.restore();
        for _ in 0..2 {
            task.authorize(query())
                .unwrap()
                .complete(Outcome::ok())
                .unwrap();
            granted += 1;
        }
        ledger.flush().unwrap();
        let report = only(scratch.verify(None, None)).outcome.unwrap();
        // Every granted call's decision is in the table, and the chain has no gap.
        let decided: i64 = admin(&url)
            .query_one(
                &format!(
                    "SELECT count(*) FROM {} WHERE line LIKE '%\"kind\":\"call.decided\"%' \
                     AND line LIKE '%\"effect\":\"allow\"%'",
                    scratch.table()
                ),
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(decided, granted, "{commit:?}");
        assert_eq!(report.head.records as i64, scratch.rows("w"));
        drop(task);
    }
}

#[test]
fn asynchronous_commit_stores_records_that_verify_and_flush_makes_them_durable() {
    let url = server!();
    let scratch = Scratch::new(&url, "");
    let sink = scratch.ledger_at(&url, "w", Commit::Asynchronous);
    assert_eq!(sink.commit_mode(), Commit::Asynchronous);
    let ledger = sink.open_with_checkpoints(key(), 2).unwrap();
    assert!(ledger.flush().is_ok());
    let guard = guard_on(ledger);
    run(&guard, 3);
    drop(guard);
    let report = only(scratch.verify(None, Some(&key().verifying_key())))
        .outcome
        .unwrap();
    assert!(report.closed);
}

#[test]
fn hostile_schema_and_writer_ids_are_data() {
    let url = server!();
    let scratch = Scratch::new(&url, "'s\";--");
    let writer = "w'); DROP TABLE ledger; --\"\\";
    run(&guard_on(scratch.ledger(writer).open().unwrap()), 1);
    let verdict = only(scratch.verify(None, None));
    assert_eq!(verdict.writer, writer);
    assert!(verdict.outcome.is_ok());
    assert!(scratch.rows(writer) > 0);
    let verdict = only(scratch.verify(Some(writer), None));
    assert!(verdict.outcome.unwrap().head.records > 0);
}

#[test]
fn unusable_writer_ids_and_schemas_are_refused_at_build() {
    for (schema, writer) in [("agentwarrant", ""), ("agentwarrant", "a\0b"), ("", "w")] {
        let error = PostgresLedger::builder("postgresql://u@127.0.0.1/db")
            .schema(schema)
            .writer(writer)
            .build()
            .unwrap_err();
        assert_eq!(error.code(), "postgres_invalid_store");
    }
    let long = "w".repeat(257);
    assert!(PostgresLedger::builder("postgresql://u@127.0.0.1/db")
        .writer(long)
        .build()
        .is_err());
    let error = PostgresLedger::builder("not a url=").build().unwrap_err();
    assert_eq!(error.code(), "postgres_invalid_connection");
    assert!(verify_ledger("postgresql://u@127.0.0.1/db", "", None, None).is_err());
}

/// The sink on its own answers for the writer's last row.
#[test]
fn the_sink_reads_its_writers_head() {
    let url = server!();
    let scratch = Scratch::new(&url, "");
    run(&guard_on(scratch.ledger("w").open().unwrap()), 1);
    let head = scratch.ledger("w").head().unwrap();
    assert_eq!(head.records as i64, scratch.rows("w"));
    assert_eq!(scratch.ledger("none").head().unwrap().records, 0);
}

#[test]
fn verifying_a_schema_without_a_ledger_table_is_an_error_not_a_verdict() {
    let url = server!();
    let scratch = Scratch::new(&url, "");
    let error = verify_ledger(&url, &scratch.schema, None, None).unwrap_err();
    assert_eq!(error.code(), "ledger_io");
    assert!(
        error.to_string().contains("cannot read the table"),
        "{error}"
    );
}

#[test]
fn flush_under_asynchronous_commit_reports_acknowledged_records_missing_from_the_table() {
    let url = server!();
    let scratch = Scratch::new(&url, "");
    let ledger = Arc::new(
        scratch
            .ledger_at(&url, "w", Commit::Asynchronous)
            .open()
            .unwrap(),
    );
    let guard = guard_on(ledger.clone());
    run(&guard, 1);
    assert!(ledger.flush().is_ok());
    // As a crash of the server under asynchronous commit would: the tail is gone.
    admin(&url)
        .execute(
            &format!(
                "DELETE FROM {t} WHERE seq = (SELECT max(seq) FROM {t})",
                t = scratch.table()
            ),
            &[],
        )
        .unwrap();
    let error = ledger.flush().unwrap_err();
    assert_eq!(error.code(), "ledger_io");
    assert!(
        error.to_string().contains("acknowledged records were lost"),
        "{error}"
    );
}
