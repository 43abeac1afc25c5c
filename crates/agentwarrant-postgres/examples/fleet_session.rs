//! One guarded session across three processes sharing a PostgreSQL database.
//!
//! ```text
//! bash scripts/fleet-demo.sh
//! ```
//!
//! (or, with a server of your own and the CLI built with `--features postgres`:
//! `cargo run -p agentwarrant-postgres --example fleet_session -- URL [PATH_TO_agentwarrant]`)
//!
//! 1. A **worker** process begins a task: `PostgresBroker` mints it a login role of its own
//!    that may read `demo_shop.orders` and insert into `demo_shop.refunds`, nothing else. Its
//!    refund needs approval (high impact): `task.submit` files the request in
//!    `PostgresApprovals`, and `task.wait_for` waits, woken by `NOTIFY`.
//! 2. A second process, the `agentwarrant` CLI, lists the waiting request and approves it as
//!    bob@acme.com. The worker wakes, claims the ticket, gets its warrant and inserts the refund
//!    with its own login role. It goes on reading orders.
//! 3. A third process throws the kill switch for the worker's identity
//!    (`Guard::try_disable_identity` through `PostgresRevocations`). The worker's next call is
//!    refused; its task ends and its login role is dropped.
//!
//! The worker's ledger is kept in PostgreSQL too (`PostgresLedger`, writer `worker`). At the
//! end the coordinator checks it with `agentwarrant verify postgresql://...`, prints its
//! records, one per step, and the fleet's shared state: the ticket with its answer and when it
//! was claimed, and the kill switch.

use std::error::Error;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use agentwarrant::{
    Authorization, Guard, Identity, Impact, Intent, Outcome, Role, ToolCall, ToolSpec,
};
use agentwarrant_postgres::{
    Object, PostgresApprovals, PostgresBroker, PostgresLedger, PostgresRevocations, Privilege,
};
use postgres::{Client, NoTls};
use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The shop the worker's tools reach.
const SHOP: &str = "demo_shop";
/// The fleet's shared state: approvals, the kill switch and the ledger.
const FLEET: &str = "demo_fleet";
const AGENT: &str = "agent://acme/refunds";
/// How long the worker waits for its approval.
const APPROVAL_WAIT: Duration = Duration::from_secs(120);

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: fleet_session POSTGRES_URL [PATH_TO_agentwarrant]")?;
    match std::env::var("FLEET_ROLE").as_deref() {
        Ok("worker") => worker(&url),
        Ok("switch") => switch(&url),
        _ => {
            let cli = match args.next() {
                Some(path) => PathBuf::from(path),
                None => default_cli()?,
            };
            coordinator(&url, &cli)
        }
    }
}

/// `target/<profile>/agentwarrant`, next to this example's own directory.
fn default_cli() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot find the target directory")?;
    Ok(profile.join(format!("agentwarrant{}", std::env::consts::EXE_SUFFIX)))
}

fn coordinator(url: &str, cli: &Path) -> Result<()> {
    if !cli.exists() {
        return Err(format!(
            "`{}` not found: build it with `cargo build -p agentwarrant-cli --features postgres`",
            cli.display()
        )
        .into());
    }
    let mut admin = Client::connect(url, NoTls)?;
    admin.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {SHOP} CASCADE; CREATE SCHEMA {SHOP};
         CREATE TABLE {SHOP}.orders (id int PRIMARY KEY, total int);
         INSERT INTO {SHOP}.orders VALUES (17, 20), (18, 35);
         CREATE TABLE {SHOP}.refunds (order_id int, amount int, approved_by text);
         DROP SCHEMA IF EXISTS {FLEET} CASCADE;"
    ))?;
    say("coordinator", "starting the worker process");
    let mut worker = Command::new(std::env::current_exe()?)
        .arg(url)
        .env("FLEET_ROLE", "worker")
        .stdout(Stdio::piped())
        .spawn()?;
    let lines = echo(&mut worker, "worker")?;

    let ticket = wait_for_line(&lines, "waiting for approval of ticket ")?;
    say(
        "coordinator",
        "a person answers from the CLI, in another process",
    );
    run(
        cli,
        &["approvals", "--db", url, "--schema", FLEET, "list"],
        "cli",
    )?;
    run(
        cli,
        &[
            "approvals",
            "--db",
            url,
            "--schema",
            FLEET,
            "approve",
            &ticket,
            "--as",
            "bob@acme.com",
        ],
        "cli",
    )?;

    wait_for_line(&lines, "refund issued")?;
    say(
        "coordinator",
        "a third process throws the kill switch for the worker's identity",
    );
    let status = Command::new(std::env::current_exe()?)
        .arg(url)
        .env("FLEET_ROLE", "switch")
        .status()?;
    if !status.success() {
        return Err("the kill switch process failed".into());
    }
    wait_for_line(&lines, "task ended")?;
    if !worker.wait()?.success() {
        return Err("the worker failed".into());
    }

    say("coordinator", "the ledger in PostgreSQL:");
    run(cli, &["verify", url, "--schema", FLEET], "ledger")?;
    say("coordinator", "the worker's records, one per step:");
    for row in admin.query(
        &format!("SELECT line FROM {FLEET}.ledger WHERE writer = 'worker' ORDER BY seq"),
        &[],
    )? {
        let record: serde_json::Value = serde_json::from_str(&row.try_get::<_, String>(0)?)?;
        let text = |key: &str| record[key].as_str().unwrap_or("").to_owned();
        let status = record["outcome"]["status"].as_str().unwrap_or("");
        say(
            "ledger",
            &format!(
                "  #{:<2} {:<18} {:<13} {:<15} {}",
                record["seq"],
                text("kind"),
                text("tool"),
                status,
                record["approver"]
                    .as_array()
                    .map(|who| who
                        .iter()
                        .filter_map(|w| w.as_str())
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            ),
        );
    }
    say("coordinator", "the fleet's shared state in PostgreSQL:");
    for row in admin.query(
        &format!(
            "SELECT ticket, answer::json #>> '{{approved,0,approver}}', opened_at, answered_at, closed_at \
             FROM {FLEET}.approvals ORDER BY seq"
        ),
        &[],
    )? {
        let at = |i: usize| -> Result<String> {
            let t: Option<std::time::SystemTime> = row.try_get(i)?;
            Ok(t.map_or("-".to_owned(), |t| {
                time::OffsetDateTime::from(t)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default()
            }))
        };
        let by: Option<String> = row.try_get(1)?;
        say(
            "postgres",
            &format!(
                "approvals: ticket {} approved by {} (opened {}, answered {}, claimed {})",
                row.try_get::<_, String>(0)?,
                by.as_deref().unwrap_or("?"),
                at(2)?,
                at(3)?,
                at(4)?
            ),
        );
    }
    for row in admin.query(
        &format!("SELECT identity, disabled_at FROM {FLEET}.disabled_identities"),
        &[],
    )? {
        let at: std::time::SystemTime = row.try_get(1)?;
        say(
            "postgres",
            &format!(
                "kill switch: {} (its canonical form) disabled at {}",
                row.try_get::<_, String>(0)?,
                time::OffsetDateTime::from(at)
                    .format(&time::format_description::well_known::Rfc3339)?
            ),
        );
    }
    let leftover: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'aw_demo_%'",
            &[],
        )?
        .try_get(0)?;
    say(
        "postgres",
        &format!("login roles of the worker's task left: {leftover}"),
    );
    admin.batch_execute(&format!(
        "DROP SCHEMA {SHOP} CASCADE; DROP SCHEMA {FLEET} CASCADE"
    ))?;
    Ok(())
}

/// The worker: one task with its own login role; a refund that waits for a person; reads
/// until the kill switch stops it.
fn worker(url: &str) -> Result<()> {
    let revocations = PostgresRevocations::builder(url).schema(FLEET).build()?;
    revocations.wait_until_synced(Duration::from_secs(10))?;
    let broker = PostgresBroker::builder(url)
        .role_prefix("aw_demo_")
        .grant(
            format!("db.read:{SHOP}.orders"),
            [Privilege::Select],
            Object::table(SHOP, "orders"),
        )
        .grant(
            format!("db.write:{SHOP}.refunds"),
            [Privilege::Insert],
            Object::table(SHOP, "refunds"),
        )
        .build()?;
    let guard = Guard::builder()
        .tool(
            ToolSpec::builder("read_orders", Impact::Low)
                .scope("db.read:{table}")
                .build()?,
        )
        .tool(
            ToolSpec::builder("issue_refund", Impact::High)
                .scope("db.write:{table}")
                .build()?,
        )
        .credential_broker(broker)
        .revocations(revocations)
        .approval_store(PostgresApprovals::builder(url).schema(FLEET).build()?)
        .ledger(
            PostgresLedger::builder(url)
                .schema(FLEET)
                .writer("worker")
                .build()?
                .open()?,
        )
        .build()?;
    let identity = Identity::builder(AGENT, Role::Executor, "alice@acme.com")
        .ceiling(["db.read:*", "db.write:*"])
        .build()?;
    let intent = Intent::builder("refund order 17")
        .scopes([
            format!("db.read:{SHOP}.*"),
            format!("db.write:{SHOP}.refunds"),
        ])
        .build()?;
    let task = guard.begin(identity, intent)?;
    let login = task.credential().ok_or("the task got no credential")?;
    println!("task {} began with login role {}", task.id(), login.id());
    let dsn = format!(
        "{} password={}",
        login.attributes()["dsn"].as_str().unwrap_or_default(),
        login.secret()
    );

    let refund = ToolCall::new(
        "issue_refund",
        json!({"table": format!("{SHOP}.refunds"), "order": 17, "amount": 20}),
    );
    let warrant = match task.submit(refund.clone()) {
        Ok(Authorization::Granted(warrant)) => warrant,
        Ok(Authorization::Pending(ticket)) => {
            println!("waiting for approval of ticket {}", ticket.id());
            match task.wait_for(ticket.id(), refund, APPROVAL_WAIT) {
                Ok(Authorization::Granted(warrant)) => warrant,
                Ok(Authorization::Pending(_)) => return Err("nobody answered in time".into()),
                Err(refusal) => return Err(format!("refund refused: {refusal}").into()),
            }
        }
        Err(refusal) => return Err(format!("refund refused: {refusal}").into()),
    };
    let approved_by = warrant.approvers().join(", ");
    let mut db = Client::connect(&dsn, NoTls)?;
    db.execute(
        &format!("INSERT INTO {SHOP}.refunds VALUES (17, 20, $1)"),
        &[&approved_by],
    )?;
    warrant.complete(Outcome::ok())?;
    println!(
        "refund issued as {} (approved by {approved_by})",
        login.id()
    );
    // The task's login holds what its scopes map to, and nothing more.
    if let Err(error) = db.execute("DROP TABLE demo_shop.orders", &[]) {
        println!(
            "the same login cannot drop a table: {}",
            error.as_db_error().map_or("refused", |e| e.message())
        );
    }

    let read = ToolCall::new("read_orders", json!({"table": format!("{SHOP}.orders")}));
    let refusal = loop {
        match task.authorize(read.clone()) {
            Ok(warrant) => {
                let total: i64 = db
                    .query_one(&format!("SELECT sum(total)::int8 FROM {SHOP}.orders"), &[])?
                    .try_get(0)?;
                warrant.complete(Outcome::ok())?;
                println!("read the orders: total {total}");
                std::thread::sleep(Duration::from_millis(300));
            }
            Err(refusal) => break refusal,
        }
        if task.grant().expires_at() <= time::OffsetDateTime::now_utc() {
            return Err("the kill switch never arrived".into());
        }
    };
    println!(
        "next call refused: {refusal} ({})",
        refusal.codes().join(", ")
    );
    drop(db);
    task.end()?;
    println!("task ended; login role {} dropped", login.id());
    Ok(())
}

/// The third process: an operator throws the kill switch from their own guard.
fn switch(url: &str) -> Result<()> {
    let store = PostgresRevocations::builder(url).schema(FLEET).build()?;
    store.wait_until_synced(Duration::from_secs(10))?;
    let guard = Guard::builder().revocations(store).build()?;
    guard.try_disable_identity(AGENT)?;
    say("switch", &format!("{AGENT} disabled for the whole fleet"));
    Ok(())
}

/// Prints `child`'s output as it comes, prefixed with `who`, and hands each line on.
fn echo(child: &mut Child, who: &'static str) -> Result<mpsc::Receiver<String>> {
    let out = child.stdout.take().ok_or("no stdout")?;
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out)
            .lines()
            .map_while(std::result::Result::ok)
        {
            say(who, &line);
            if send.send(line).is_err() {
                break;
            }
        }
    });
    Ok(lines)
}

/// Waits for a line starting with `start` and returns the rest of it.
fn wait_for_line(lines: &mpsc::Receiver<String>, start: &str) -> Result<String> {
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(180))
            .map_err(|_| format!("the worker stopped before saying `{start}`"))?;
        if let Some(rest) = line.strip_prefix(start) {
            return Ok(rest.trim().to_owned());
        }
    }
}

/// Runs the CLI, printing its output prefixed with `who`.
fn run(cli: &Path, args: &[&str], who: &str) -> Result<()> {
    let shown: Vec<&str> = args
        .iter()
        .map(|a| {
            if a.starts_with("postgresql://") {
                "$URL"
            } else {
                a
            }
        })
        .collect();
    say(who, &format!("$ agentwarrant {}", shown.join(" ")));
    let output = Command::new(cli).args(args).output()?;
    for line in String::from_utf8_lossy(&output.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&output.stderr).lines())
    {
        say(who, &format!("  {line}"));
    }
    if !output.status.success() {
        return Err(format!("`agentwarrant {}` failed", shown.join(" ")).into());
    }
    Ok(())
}

fn say(who: &str, line: &str) {
    println!("[{who:>11}] {line}");
}
