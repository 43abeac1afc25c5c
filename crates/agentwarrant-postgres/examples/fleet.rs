//! A fleet of guarded agents on one PostgreSQL database, and what it costs.
//!
//! ```text
//! bash scripts/postgres.sh start
//! cargo run --release -p agentwarrant-postgres --example fleet -- "$(bash scripts/postgres.sh url)" [WORKERS] [TASKS]
//! ```
//!
//! The coordinator creates a small `fleet_shop` schema, then starts WORKERS processes (this
//! program again). Each runs TASKS tasks: the task gets its own login role from the broker,
//! reads the orders table with it through a guarded call, and ends (the role is dropped). All
//! share one kill switch: after the workers finish, the coordinator measures how long a switch
//! thrown through one store takes to reach another (through PostgreSQL's `NOTIFY`), and what
//! the shared check adds to a call's authorization compared with the in-process default.
//! Last, it measures how many ledger records per second reach the `ledger` table
//! (`PostgresLedger`) in each commit mode: one writer, then WORKERS writers at once (threads,
//! each with its own writer id and connection).

use std::error::Error;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agentwarrant::ledger::{Ledger, Record};
use agentwarrant::{
    Guard, Identity, Impact, Intent, Limits, Outcome, RevocationStore, Role, Task, ToolCall,
    ToolSpec,
};
use agentwarrant_postgres::{
    Commit, Object, PostgresBroker, PostgresLedger, PostgresRevocations, Privilege,
};
use postgres::{Client, NoTls};
use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const SCHEMA: &str = "fleet_shop";
const STORE: &str = "fleet_state";
const LEDGER: &str = "fleet_ledger";
/// Records each writer appends per measurement.
const LEDGER_RECORDS: usize = 2_000;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: fleet POSTGRES_URL [WORKERS] [TASKS]")?;
    let workers: usize = args.next().map_or(Ok(4), |n| n.parse())?;
    let tasks: usize = args.next().map_or(Ok(25), |n| n.parse())?;
    if let Ok(id) = std::env::var("FLEET_WORKER") {
        return worker(&url, &id, tasks);
    }
    coordinator(&url, workers, tasks)
}

fn coordinator(url: &str, workers: usize, tasks: usize) -> Result<()> {
    let mut admin = Client::connect(url, NoTls)?;
    admin.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};
         CREATE TABLE {SCHEMA}.orders (id int PRIMARY KEY, total int);
         INSERT INTO {SCHEMA}.orders SELECT i, i % 97 FROM generate_series(1, 1000) i;
         DROP SCHEMA IF EXISTS {STORE} CASCADE;"
    ))?;

    println!("{workers} worker processes x {tasks} tasks, each with its own login role");
    let started = Instant::now();
    let children = (0..workers)
        .map(|i| {
            Command::new(std::env::current_exe()?)
                .args([url, "0", &tasks.to_string()])
                .env("FLEET_WORKER", i.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(Into::into)
        })
        .collect::<Result<Vec<_>>>()?;
    for mut child in children {
        if let Some(out) = child.stdout.take() {
            for line in BufReader::new(out).lines() {
                println!("  {}", line?);
            }
        }
        if !child.wait()?.success() {
            return Err("a worker failed".into());
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{} tasks in {:.1} s: {:.0} tasks/s across the fleet",
        workers * tasks,
        elapsed.as_secs_f64(),
        (workers * tasks) as f64 / elapsed.as_secs_f64()
    );

    propagation(url)?;
    hot_path(url)?;
    ledger_rates(url, workers.max(1))?;
    admin.batch_execute(&format!(
        "DROP SCHEMA {SCHEMA} CASCADE; DROP SCHEMA {STORE} CASCADE; DROP SCHEMA {LEDGER} CASCADE"
    ))?;
    Ok(())
}

/// One worker process: `tasks` tasks, each minting a role, reading through it, ending.
fn worker(url: &str, id: &str, tasks: usize) -> Result<()> {
    let store = PostgresRevocations::builder(url).schema(STORE).build()?;
    store.wait_until_synced(Duration::from_secs(10))?;
    let broker = PostgresBroker::builder(url)
        .role_prefix("aw_fleet_")
        .grant(
            format!("db.read:{SCHEMA}.orders"),
            [Privilege::Select],
            Object::table(SCHEMA, "orders"),
        )
        .build()?;
    let guard = guard(store, Some(broker))?;
    let (mut begin, mut authorize, mut end) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut total = 0i64;
    for _ in 0..tasks {
        let t = Instant::now();
        let task = guard.begin(agent(&format!("agent://acme/worker-{id}"))?, intent()?)?;
        begin += t.elapsed();
        let login = task.credential().ok_or("no credential")?;
        let dsn = login.attributes()["dsn"].as_str().unwrap_or_default();
        let t = Instant::now();
        let warrant = task
            .authorize(query())
            .map_err(|refusal| format!("refused: {refusal}"))?;
        authorize += t.elapsed();
        let mut tool = Client::connect(&format!("{dsn} password={}", login.secret()), NoTls)?;
        total += tool
            .query_one(
                &format!("SELECT sum(total)::int8 FROM {SCHEMA}.orders"),
                &[],
            )?
            .try_get::<_, i64>(0)?;
        drop(tool);
        warrant.complete(Outcome::ok())?;
        let t = Instant::now();
        task.end()?;
        end += t.elapsed();
    }
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / tasks.max(1) as f64;
    println!(
        "worker {id}: {tasks} tasks, read {total}; per task: begin (mint a role) {:.1} ms, \
         authorize {:.2} ms, end (drop the role) {:.1} ms",
        per(begin),
        per(authorize),
        per(end)
    );
    Ok(())
}

/// How long a kill switch thrown through one store takes to be seen by another.
fn propagation(url: &str) -> Result<()> {
    let (here, there) = (store(url)?, store(url)?);
    let mut took = Vec::new();
    for i in 0..200 {
        let id = format!("agent://acme/propagation-{i}");
        let t = Instant::now();
        here.set_identity_disabled(&id, true)?;
        while !there.is_identity_disabled(&id)? {
            if t.elapsed() > Duration::from_secs(10) {
                return Err("a kill switch did not arrive within 10 s".into());
            }
            std::hint::spin_loop();
        }
        took.push(t.elapsed());
    }
    took.sort();
    let at = |q: f64| took[((took.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    println!(
        "kill switch, thrown through one store until seen by another (200 switches): \
         p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (write + commit + NOTIFY + delivery)",
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(())
}

/// What the shared check adds to one call's authorization: the check on its own, and whole
/// calls on the in-process and on the shared store (alternating rounds, medians).
fn hot_path(url: &str) -> Result<()> {
    let local_store = std::sync::Arc::new(agentwarrant::MemoryRevocations::new());
    let shared_store = std::sync::Arc::new(store(url)?);
    let checks = 1_000_000;
    let mut check_ns = [0.0; 2];
    for (i, store) in [
        local_store.clone() as std::sync::Arc<dyn RevocationStore>,
        shared_store.clone(),
    ]
    .into_iter()
    .enumerate()
    {
        let t = Instant::now();
        for _ in 0..checks {
            std::hint::black_box(
                store.is_identity_disabled(std::hint::black_box("agent://acme/hot"))?,
            );
        }
        check_ns[i] = t.elapsed().as_secs_f64() * 1e9 / checks as f64;
    }
    let local = guard(local_store, None)?;
    let shared = guard(shared_store, None)?;
    let calls = 5_000;
    let mut rounds: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..7 {
        for (i, guard) in [&local, &shared].into_iter().enumerate() {
            let task = guard.begin(agent("agent://acme/hot")?, intent()?)?;
            rounds[i].push(time_calls(&task, calls)?);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (local_us, shared_us) = (median(&mut rounds[0]), median(&mut rounds[1]));
    println!(
        "kill-switch check on its own: {:.0} ns in-process, {:.0} ns shared (pushed state, no \
         round trip)",
        check_ns[0], check_ns[1]
    );
    println!(
        "authorize, one call (median of 7 rounds of {calls}): {local_us:.1} us with the \
         in-process store, {shared_us:.1} us with the shared store ({:.2}x measured; the check \
         itself adds {:.4}x)",
        shared_us / local_us,
        1.0 + (check_ns[1] - check_ns[0]).max(0.0) / (local_us * 1000.0)
    );
    Ok(())
}

/// Ledger records per second into the table, per commit mode: one writer, then `writers`
/// writers at once, each appending `LEDGER_RECORDS` records of a typical size.
fn ledger_rates(url: &str, writers: usize) -> Result<()> {
    Client::connect(url, NoTls)?
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {LEDGER} CASCADE"))?;
    let record = sample_record()?;
    println!(
        "ledger records into the table ({LEDGER_RECORDS} per writer, call.decided-sized, one \
         INSERT and commit per record):"
    );
    for (mode, commit) in [
        ("synchronous_commit on ", Commit::Synchronous),
        ("synchronous_commit off", Commit::Asynchronous),
    ] {
        let mut rates = Vec::new();
        for count in [1, writers] {
            let ledgers = (0..count)
                .map(|i| {
                    PostgresLedger::builder(url)
                        .schema(LEDGER)
                        .writer(format!("{mode}-{count}-{i}"))
                        .commit(commit)
                        .build()?
                        .open()
                        .map_err(Into::into)
                })
                .collect::<Result<Vec<_>>>()?;
            let t = Instant::now();
            std::thread::scope(|scope| {
                let runs: Vec<_> = ledgers
                    .iter()
                    .map(|ledger| {
                        let record = record.clone();
                        scope.spawn(move || -> std::result::Result<(), String> {
                            for _ in 0..LEDGER_RECORDS {
                                ledger.append(record.clone()).map_err(|e| e.to_string())?;
                            }
                            ledger.flush().map_err(|e| e.to_string())
                        })
                    })
                    .collect();
                runs.into_iter()
                    .try_for_each(|run| run.join().map_err(|_| "a writer panicked".to_owned())?)
            })?;
            let elapsed = t.elapsed().as_secs_f64();
            rates.push(format!(
                "{count} writer(s) {:.0} records/s ({:.2} ms per record per writer)",
                (count * LEDGER_RECORDS) as f64 / elapsed,
                elapsed * 1000.0 / LEDGER_RECORDS as f64
            ));
        }
        println!("  {mode}: {}", rates.join("; "));
    }
    let verdicts = agentwarrant_postgres::verify_ledger(url, LEDGER, None, None)?;
    let t = Instant::now();
    let again = agentwarrant_postgres::verify_ledger(url, LEDGER, None, None)?;
    let records: u64 = again
        .iter()
        .map(|v| v.outcome.as_ref().map_or(0, |r| r.head.records))
        .sum();
    if verdicts.iter().chain(&again).any(|v| v.outcome.is_err()) {
        return Err("a writer's chain does not verify".into());
    }
    let bytes: f64 = Client::connect(url, NoTls)?
        .query_one(
            &format!("SELECT avg(octet_length(line))::float8 FROM {LEDGER}.ledger"),
            &[],
        )?
        .try_get(0)?;
    println!(
        "  (each record's line is {bytes:.0} bytes) verify_ledger: {} chains, {records} records in {:.0} ms ({:.0} records/s)",
        again.len(),
        t.elapsed().as_secs_f64() * 1000.0,
        records as f64 / t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A `call.decided`-sized record (the ledger sets `seq`, `prev` and `hash`).
fn sample_record() -> Result<Record> {
    Ok(serde_json::from_value(json!({
        "seq": 0, "ts": "2026-01-01T00:00:00Z", "kind": "call.decided",
        "task_id": "3511ab4c-906b-4eb7-a761-17387791ffca",
        "call_id": "8895f88b-ec81-4f03-9b43-a13b44392b76",
        "identity": "agent://acme/reports", "owner": "alice@acme.com",
        "intent": "total of the orders", "tool": "query_orders",
        "args": {"table": format!("{SCHEMA}.orders")},
        "args_digest": "29121c568ae3f2b0b0a812228b7385a1035074b5c7dab469931141265c6a89b9",
        "detail": {"note": "x".repeat(200)},
        "prev": "", "hash": ""
    }))?)
}

fn time_calls(task: &Task, calls: usize) -> Result<f64> {
    let t = Instant::now();
    for _ in 0..calls {
        task.authorize(query())
            .map_err(|refusal| format!("refused: {refusal}"))?
            .complete(Outcome::ok())?;
    }
    Ok(t.elapsed().as_secs_f64() * 1e6 / calls as f64)
}

fn store(url: &str) -> Result<PostgresRevocations> {
    let store = PostgresRevocations::builder(url).schema(STORE).build()?;
    store.wait_until_synced(Duration::from_secs(10))?;
    Ok(store)
}

fn guard(store: impl RevocationStore + 'static, broker: Option<PostgresBroker>) -> Result<Guard> {
    let mut builder = Guard::builder()
        .tool(
            ToolSpec::builder("query_orders", Impact::Low)
                .scope("db.read:{table}")
                .build()?,
        )
        .revocations(store)
        .limits(Limits {
            max_calls: Some(u64::MAX),
            ..Limits::default()
        });
    if let Some(broker) = broker {
        builder = builder.credential_broker(broker);
    }
    Ok(builder.build()?)
}

fn agent(id: &str) -> Result<Identity> {
    Ok(Identity::builder(id, Role::Executor, "alice@acme.com")
        .ceiling(["db.read:*"])
        .build()?)
}

fn intent() -> Result<Intent> {
    Ok(Intent::builder("total of the orders")
        .scopes([format!("db.read:{SCHEMA}.*")])
        .build()?)
}

fn query() -> ToolCall {
    ToolCall::new("query_orders", json!({"table": format!("{SCHEMA}.orders")}))
}
