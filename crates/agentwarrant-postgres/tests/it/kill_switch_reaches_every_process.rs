//! The kill switch of a fleet on PostgreSQL: thrown through one guard, it refuses the next
//! calls of every other process sharing the store, pushed by `NOTIFY`; a notification that never
//! came is caught by the poll; a store that cannot be read refuses calls (`store_unavailable`)
//! and recovers when PostgreSQL is back.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agentwarrant::{
    Guard, Identity, Impact, Intent, Outcome, Principal, ReasonCode, RevocationStore, Role, Task,
    ToolCall, ToolSpec,
};
use agentwarrant_postgres::PostgresRevocations;
use serde_json::json;

use crate::support::*;

const OPS: &str = "agent://acme/ops";

fn store(url: &str, schema: &str, poll: Duration) -> PostgresRevocations {
    let store = PostgresRevocations::builder(url)
        .schema(schema)
        .poll_interval(poll)
        .max_staleness(poll * 4 + Duration::from_millis(500))
        .build()
        .unwrap();
    store.wait_until_synced(Duration::from_secs(20)).unwrap();
    store
}

fn fleet_guard(store: PostgresRevocations) -> Guard {
    Guard::builder()
        .tool(
            ToolSpec::builder("read_logs", Impact::Low)
                .scope("logs.read:{service}")
                .build()
                .unwrap(),
        )
        .revocations(store)
        // The tests call until a change arrives: no budget or refusal limit may end them first.
        .limits(agentwarrant::Limits {
            max_calls: Some(u64::MAX),
            max_refusals: None,
            max_tool_refusals: None,
            ..agentwarrant::Limits::default()
        })
        .build()
        .unwrap()
}

fn ops_task(guard: &Guard, id: &str) -> Task {
    let identity = Identity::builder(id, Role::Executor, "alice@acme.com")
        .ceiling(["logs.read:*"])
        .build()
        .unwrap();
    guard
        .begin(
            identity,
            Intent::builder("watch the logs")
                .scopes(["logs.read:*"])
                .build()
                .unwrap(),
        )
        .unwrap()
}

/// One call: `Ok` when it ran, the refusal's codes when not.
fn call(task: &Task) -> Result<(), Vec<ReasonCode>> {
    match task.authorize(ToolCall::new("read_logs", json!({"service": "api"}))) {
        Ok(warrant) => {
            warrant.complete(Outcome::ok()).unwrap();
            Ok(())
        }
        Err(refusal) => Err(refusal.reasons.iter().map(|r| r.code.clone()).collect()),
    }
}

/// Calls until one is refused with `code` (at most `bound`): how long the change took to arrive.
fn until_refused(task: &Task, code: ReasonCode, bound: Duration) -> Duration {
    let started = Instant::now();
    loop {
        match call(task) {
            Err(codes) if codes.contains(&code) => return started.elapsed(),
            _ if started.elapsed() > bound => panic!("no `{code}` refusal within {bound:?}"),
            _ => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Calls until one runs (at most `bound`).
fn until_allowed(task: &Task, bound: Duration) {
    let started = Instant::now();
    while let Err(codes) = call(task) {
        assert!(
            started.elapsed() < bound,
            "calls still refused after {bound:?}: {codes:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Process B: a worker with its own guard on the shared store. Run by the test below as a child
/// process of this test binary; it does nothing when run on its own.
#[test]
#[ignore = "a child process of the two-process test"]
fn fleet_worker() {
    let (Ok(url), Ok(schema)) = (
        std::env::var("AW_FLEET_URL"),
        std::env::var("AW_FLEET_SCHEMA"),
    ) else {
        return;
    };
    // A poll too slow to matter: only a notification can refuse the next call in time.
    let guard = fleet_guard(store(&url, &schema, Duration::from_secs(60)));
    let task = ops_task(&guard, OPS);
    call(&task).unwrap();
    let mut out = std::io::stdout();
    writeln!(out, "ready").unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    // The kill switch was thrown in process A before it wrote this line.
    let took = until_refused(&task, ReasonCode::GrantInvalid, Duration::from_secs(20));
    writeln!(out, "refused after {} us", took.as_micros()).unwrap();
}

#[test]
fn a_kill_switch_thrown_in_one_process_refuses_the_next_calls_of_another() {
    let url = server!();
    let schema = format!("aw_fleet_{}", nonce());
    let here = fleet_guard(store(&url, &schema, Duration::from_secs(60)));

    let mut worker = Command::new(std::env::current_exe().unwrap())
        .args([
            "kill_switch_reaches_every_process::fleet_worker",
            "--exact",
            "--ignored",
            "--nocapture",
            "--quiet",
        ])
        .env("AW_FLEET_URL", &url)
        .env("AW_FLEET_SCHEMA", &schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(worker.stdout.take().unwrap()).lines();
    let mut next = || loop {
        let line = lines.next().expect("the worker ended early").unwrap();
        if line == "ready" || line.starts_with("refused") {
            return line;
        }
    };
    assert_eq!(next(), "ready");

    here.try_disable_identity(OPS).unwrap();
    writeln!(worker.stdin.as_mut().unwrap(), "go").unwrap();
    let said = next();
    assert!(said.starts_with("refused after"), "{said}");
    assert!(worker.wait().unwrap().success());
    drop_schema(&url, &schema);
}

#[test]
fn a_lost_notification_is_caught_by_the_poll() {
    let url = server!();
    let schema = format!("aw_fleet_{}", nonce());
    let guard = fleet_guard(store(&url, &schema, Duration::from_millis(100)));
    let id = "agent://acme/poller";
    let task = ops_task(&guard, id);
    call(&task).unwrap();
    // Written behind the store's back: no NOTIFY is sent.
    admin(&url)
        .execute(
            &format!(
                "INSERT INTO {}.disabled_identities (identity) VALUES ($1)",
                quote(&schema)
            ),
            &[&Principal::new(id).as_str()],
        )
        .unwrap();
    until_refused(&task, ReasonCode::GrantInvalid, Duration::from_secs(20));
    admin(&url)
        .execute(
            &format!(
                "DELETE FROM {}.disabled_identities WHERE identity = $1",
                quote(&schema)
            ),
            &[&Principal::new(id).as_str()],
        )
        .unwrap();
    until_allowed(&task, Duration::from_secs(20));
    drop_schema(&url, &schema);
}

#[test]
fn an_unreachable_store_refuses_calls_until_it_is_back() {
    let url = server!();
    let schema = format!("aw_fleet_{}", nonce());
    let relay = Relay::to(&url);
    let guard = fleet_guard(store(&relay.url(&url), &schema, Duration::from_millis(100)));
    let task = ops_task(&guard, "agent://acme/cut-off");
    call(&task).unwrap();

    relay.cut();
    until_refused(&task, ReasonCode::StoreUnavailable, Duration::from_secs(20));
    // The switch cannot be thrown for the fleet: said, and still thrown here.
    assert!(guard.try_disable_identity("agent://acme/other").is_err());

    relay.restore();
    until_allowed(&task, Duration::from_secs(30));
    guard.try_enable_identity("agent://acme/other").unwrap();
    drop_schema(&url, &schema);
}

#[test]
fn a_store_that_was_never_reached_refuses_every_call() {
    let url = server!();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port = url.parse::<postgres::Config>().unwrap().get_ports()[0];
    let store =
        PostgresRevocations::builder(url.replace(&format!(":{port}/"), &format!(":{closed}/")))
            .schema("aw_never")
            .build()
            .unwrap();
    let error = store.is_identity_disabled(OPS).unwrap_err();
    assert!(error.to_string().contains("not been read"), "{error}");
    let guard = fleet_guard(store);
    let task = ops_task(&guard, OPS);
    let codes = call(&task).unwrap_err();
    assert!(codes.contains(&ReasonCode::StoreUnavailable), "{codes:?}");
}

#[test]
fn hostile_identities_and_revoked_tokens_reach_every_store() {
    let url = server!();
    let schema = format!("aw_fleet_{}'\"; DROP SCHEMA public; --", nonce());
    let (one, two) = (
        store(&url, &schema, Duration::from_secs(60)),
        store(&url, &schema, Duration::from_secs(60)),
    );
    let hostile = "agent://acme/x';drop_table_agentwarrant.disabled_identities;--\"";
    one.set_identity_disabled(hostile, true).unwrap();
    let until = time::OffsetDateTime::now_utc() + time::Duration::minutes(10);
    one.revoke("jti'; DELETE FROM revoked_tokens; --", until)
        .unwrap();
    // Revoked again (a retry, another process): kept, with the later expiry.
    one.revoke(
        "jti'; DELETE FROM revoked_tokens; --",
        until + time::Duration::MINUTE,
    )
    .unwrap();
    let started = Instant::now();
    while !(two.is_identity_disabled(hostile).unwrap()
        && two
            .is_revoked("jti'; DELETE FROM revoked_tokens; --")
            .unwrap())
    {
        assert!(started.elapsed() < Duration::from_secs(20), "not pushed");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!two.is_identity_disabled("agent://acme/x").unwrap());
    // A third process starting later reads both from the tables.
    let three = store(&url, &schema, Duration::from_secs(60));
    assert!(three.is_identity_disabled(hostile).unwrap());
    assert!(three
        .is_revoked("jti'; DELETE FROM revoked_tokens; --")
        .unwrap());
    drop_schema(&url, &schema);
}

fn drop_schema(url: &str, schema: &str) {
    admin(url)
        .batch_execute(&format!("DROP SCHEMA {} CASCADE", quote(schema)))
        .unwrap();
}
