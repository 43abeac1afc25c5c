//! The server, the schemas, the guard and the logins the behaviour modules share.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use agentwarrant::{Clock, Credential, Guard, GuardBuilder, Identity, Intent, ManualClock, Role};
use agentwarrant_postgres::{PostgresBroker, PostgresBrokerBuilder};
use postgres::{Client, NoTls};

/// The superuser URL of the test server, or `None` (with the reason printed) when there is
/// none outside CI.
pub(crate) fn server_url() -> Option<String> {
    match std::env::var("AGENTWARRANT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!(
            "CI is set but AGENTWARRANT_TEST_POSTGRES_URL is not: the PostgreSQL tests need a \
             server (scripts/postgres.sh start)"
        ),
        _ => {
            // Written to stderr itself, not through the test harness's capture, so a run
            // without a server says that it skipped these tests (once).
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: the PostgreSQL tests need AGENTWARRANT_TEST_POSTGRES_URL; start a \
                     server with `scripts/postgres.sh start` and export \
                     AGENTWARRANT_TEST_POSTGRES_URL=$(scripts/postgres.sh url)"
                );
            });
            None
        }
    }
}

/// The test server's URL, or returns from the test when there is none.
macro_rules! server {
    () => {
        match crate::support::server_url() {
            Some(url) => url,
            None => return,
        }
    };
}

/// A superuser session.
pub(crate) fn admin(url: &str) -> Client {
    Client::connect(url, NoTls).unwrap()
}

/// 8 random hex digits.
pub(crate) fn nonce() -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A role prefix of the test's own, so tests running side by side never reap or revoke each
/// other's roles.
pub(crate) fn prefix() -> String {
    format!("aw_t{}_", nonce())
}

/// A schema of the test's own (its name ends with `suffix`), with three tables and a few
/// rows, dropped with everything in it at the end of the test.
pub(crate) struct Shop {
    url: String,
    pub(crate) schema: String,
}

impl Shop {
    pub(crate) fn new(url: &str, suffix: &str) -> Self {
        let schema = format!("aw_test_{}{suffix}", nonce());
        let mut admin = admin(url);
        let s = quote(&schema);
        admin
            .batch_execute(&format!(
                "CREATE SCHEMA {s};
                 CREATE TABLE {s}.orders (id int PRIMARY KEY, total int);
                 INSERT INTO {s}.orders VALUES (1, 20), (2, 35);
                 CREATE TABLE {s}.customers (id int PRIMARY KEY, email text, country text);
                 INSERT INTO {s}.customers VALUES (1, 'ann@example.com', 'FR');
                 CREATE TABLE {s}.payroll (name text, salary int);
                 INSERT INTO {s}.payroll VALUES ('ann', 100);"
            ))
            .unwrap();
        Self {
            url: url.to_owned(),
            schema,
        }
    }

    /// `schema.table`, quoted.
    pub(crate) fn table(&self, table: &str) -> String {
        format!("{}.{}", quote(&self.schema), quote(table))
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(&self.url, NoTls) {
            let _ = admin.batch_execute(&format!("DROP SCHEMA {} CASCADE", quote(&self.schema)));
        }
    }
}

/// An identifier quoted the way the tests' own SQL needs it (test code, not the broker's).
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A broker on the server at `url` whose roles' names start with `prefix` (see [`prefix`]).
pub(crate) fn broker(url: &str, prefix: &str) -> PostgresBrokerBuilder {
    PostgresBroker::builder(url).role_prefix(prefix)
}

/// A guard whose tasks get their credentials from `broker`.
pub(crate) fn guard(broker: PostgresBrokerBuilder) -> Guard {
    with_broker(Guard::builder(), broker)
}

/// A guard on `clock` whose tasks get their credentials from `broker`.
pub(crate) fn guard_at(clock: impl Clock + 'static, broker: PostgresBrokerBuilder) -> Guard {
    with_broker(Guard::builder().clock(clock), broker)
}

fn with_broker(builder: GuardBuilder, broker: PostgresBrokerBuilder) -> Guard {
    builder
        .credential_broker(broker.build().unwrap())
        .build()
        .unwrap()
}

/// A clock an hour behind the server's: the grants a guard on it issues, and so the roles of
/// their credentials, expired before they were made (PostgreSQL checks a role's validity on
/// its own clock).
pub(crate) fn an_hour_behind() -> ManualClock {
    ManualClock::new(time::OffsetDateTime::now_utc() - time::Duration::HOUR)
}

/// A reporting agent that may read and write anything under `db.`.
pub(crate) fn reporter() -> Identity {
    Identity::builder("agent://acme/reports", Role::Executor, "alice@acme.com")
        .ceiling(["db.read:*", "db.write:*"])
        .build()
        .unwrap()
}

/// An intent needing `scopes`.
pub(crate) fn intent(scopes: &[String]) -> Intent {
    Intent::builder("report on orders")
        .scopes(scopes)
        .build()
        .unwrap()
}

/// Logs in with a task's credential, as its tool would.
pub(crate) fn login(credential: &Credential) -> Result<Client, postgres::Error> {
    let dsn = credential.attributes()["dsn"].as_str().unwrap();
    Client::connect(&format!("{dsn} password={}", credential.secret()), NoTls)
}

/// The SQLSTATE of a failed statement.
pub(crate) fn sqlstate(error: &postgres::Error) -> &str {
    error.code().map(|c| c.code()).unwrap_or("")
}

/// Whether `role` exists.
pub(crate) fn role_exists(url: &str, role: &str) -> bool {
    admin(url)
        .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&role])
        .unwrap()
        .is_some()
}

/// A TCP relay in front of the server that can be cut (every connection through it closed,
/// new ones refused) and restored: PostgreSQL going away and coming back, for one broker.
pub(crate) struct Relay {
    pub(crate) port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    pub(crate) fn to(url: &str) -> Self {
        let config: postgres::Config = url.parse().unwrap();
        let target = format!("127.0.0.1:{}", config.get_ports()[0]);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (accept_up, accept_open) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !accept_up.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let mut open = accept_open.lock().unwrap();
                for (from, to) in [(&client, &server), (&server, &client)] {
                    let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else {
                        continue;
                    };
                    std::thread::spawn(move || pipe(from, to));
                }
                open.push(client);
                open.push(server);
            }
        });
        Self { port, up, open }
    }

    /// PostgreSQL goes away: open connections are closed, new ones refused.
    pub(crate) fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// PostgreSQL is back.
    pub(crate) fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }

    /// `url` with the relay's port in place of the server's.
    pub(crate) fn url(&self, url: &str) -> String {
        let config: postgres::Config = url.parse().unwrap();
        let port = config.get_ports()[0];
        url.replace(&format!(":{port}/"), &format!(":{}/", self.port))
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buffer) {
        if n == 0 || to.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

/// Why logging in with `credential` fails; panics if it succeeds.
pub(crate) fn login_error(credential: &Credential) -> postgres::Error {
    match login(credential) {
        Ok(_) => panic!("`{}` still logs in", credential.id()),
        Err(error) => error,
    }
}

/// A guard whose `read_secret` calls need approval, filed in `store`.
pub(crate) fn guard_on(store: agentwarrant_postgres::PostgresApprovals) -> Guard {
    Guard::builder()
        .tool(
            agentwarrant::ToolSpec::builder("read_secret", agentwarrant::Impact::Low)
                .reads(["secret"])
                .scope("secrets.read:{path}")
                .build()
                .unwrap(),
        )
        .approval_store(store)
        .build()
        .unwrap()
}
