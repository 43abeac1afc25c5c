//! [`PostgresBroker`]: a fresh `LOGIN` role for each task, holding only what its grant's
//! scopes map to, expiring with the grant, dropped when the task ends.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use agentwarrant::{BrokerError, Credential, CredentialBroker, CredentialRequest, Scope, ScopeSet};
use postgres::config::Host;
use postgres::{Client, Config, NoTls};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::BuildError;
use crate::privilege::{Object, Privilege};
use crate::sql;
use crate::sql::describe;

/// The role prefix when none is configured.
const DEFAULT_PREFIX: &str = "aw_task_";
/// How long the broker waits for PostgreSQL to accept a connection, unless the connection
/// string says otherwise.
/// How many sessions a task's role may hold at once, unless configured.
const DEFAULT_CONNECTION_LIMIT: u32 = 8;
/// How long revoking waits for each of the role's sessions to end, in milliseconds.
const TERMINATE_TIMEOUT_MS: i64 = 5_000;
/// The advisory lock every broker, in every process, holds while it grants or revokes.
///
/// INVARIANT: `GRANT` and `DROP OWNED` rewrite the access list of the shared object (the
/// database, a schema, a table) in place; two transactions doing it at once fail with `tuple
/// concurrently updated`. Holding this lock for the length of the transaction serializes them
/// across processes (the transactions are short: a few statements).
const GRANT_LOCK: i64 = 0x6177_5f67_7261_6e74; // "aw_grant"

/// One entry of the mapping: a grant holding `scope` gets `privileges` on `object`.
#[derive(Debug, Clone)]
struct Mapping {
    scope: Scope,
    privileges: Vec<Privilege>,
    object: Object,
}

/// Mints each task a PostgreSQL login role of its own.
///
/// When a task begins, the broker creates a role named after the task (`aw_task_` and the
/// task id's 32 hex digits), with a random password, `VALID UNTIL` the grant's expiry, and the
/// privileges of every mapping entry whose scope the grant holds. Renewing the grant moves
/// `VALID UNTIL`; ending the task stops new logins, terminates the role's open sessions,
/// hands anything it created to the broker's own role, revokes its privileges and drops it.
/// [`PostgresBroker::reap`] drops the roles a crashed process left behind once they expired.
///
/// The credential's secret is the password; its attributes are `role`, `host`, `port`,
/// `dbname` and `dsn` (a `key=value` connection string without the password).
///
/// The broker connects as a role that may create roles (`CREATEROLE`), terminate their
/// sessions (`pg_signal_backend`) and grant the mapped privileges (it owns the objects or
/// holds them `WITH GRANT OPTION`); PostgreSQL 14 or later.
///
/// ```no_run
/// use agentwarrant::{Guard, Identity, Intent, Role};
/// use agentwarrant_postgres::{Object, PostgresBroker, Privilege};
///
/// let broker = PostgresBroker::builder("postgresql://broker:secret@127.0.0.1:5432/shop")
///     .grant("db.read:sales.orders", [Privilege::Select], Object::table("sales", "orders"))
///     .grant(
///         "db.write:sales.orders",
///         [Privilege::Insert, Privilege::Update],
///         Object::table("sales", "orders"),
///     )
///     .build()?;
/// let guard = Guard::builder().credential_broker(broker).build()?;
///
/// let identity = Identity::builder("agent://acme/reports", Role::Executor, "alice@acme.com")
///     .ceiling(["db.read:*"])
///     .build()?;
/// let task = guard.begin(identity, Intent::builder("weekly report").scopes(["db.read:sales.*"]).build()?)?;
/// let login = task.credential().expect("the broker minted one");
/// // A tool connects with `login.attributes()["dsn"]` and `login.secret()`: it may read
/// // sales.orders and nothing else, until the task ends.
/// task.end()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PostgresBroker {
    config: Config,
    prefix: String,
    mappings: Vec<Mapping>,
    connection_limit: u32,
    login_host: Option<(String, u16)>,
    /// The broker's own connection, opened on first use and again after it broke.
    client: Mutex<Option<Client>>,
}

impl fmt::Debug for PostgresBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection string may hold the broker's password: not printed.
        f.debug_struct("PostgresBroker")
            .field("prefix", &self.prefix)
            .field("mappings", &self.mappings.len())
            .field("connection_limit", &self.connection_limit)
            .finish_non_exhaustive()
    }
}

/// A [`PostgresBroker::reap`] running every interval on a thread of its own; dropping it
/// stops the thread (after the round in progress, if any).
#[must_use = "dropping the Reaper stops it"]
pub struct Reaper {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for Reaper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reaper")
            .field("running", &self.thread.is_some())
            .finish()
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Configures a [`PostgresBroker`]; nothing connects until the first task begins.
#[derive(Clone)]
pub struct PostgresBrokerBuilder {
    connection: String,
    prefix: String,
    mappings: Vec<(String, Vec<Privilege>, Object)>,
    connection_limit: u32,
    connect_timeout: Option<Duration>,
    login_host: Option<(String, u16)>,
}

impl fmt::Debug for PostgresBrokerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresBrokerBuilder")
            .field("prefix", &self.prefix)
            .field("mappings", &self.mappings)
            .finish_non_exhaustive()
    }
}

impl PostgresBroker {
    /// Starts configuring a broker that connects with `connection`: a URL
    /// (`postgresql://user:password@host:port/db`) or a `key=value` string.
    pub fn builder(connection: impl Into<String>) -> PostgresBrokerBuilder {
        PostgresBrokerBuilder {
            connection: connection.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            mappings: Vec::new(),
            connection_limit: DEFAULT_CONNECTION_LIMIT,
            connect_timeout: None,
            login_host: None,
        }
    }

    /// The role prefix: every role this broker mints, and the only roles it revokes or
    /// reaps, start with it.
    pub fn role_prefix(&self) -> &str {
        &self.prefix
    }

    /// Runs [`reap`](Self::reap) on a thread of its own every `interval` (at least one
    /// second), until the returned [`Reaper`] is dropped. Give it a broker of its own, built
    /// like the guard's (same connection and prefix): one process of the fleet runs it. A
    /// round that fails (PostgreSQL unreachable, a role that could not be dropped) is
    /// reported through `tracing` at `warn` and tried again at the next round. `Err` when the
    /// thread cannot be started.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use agentwarrant_postgres::PostgresBroker;
    ///
    /// let url = "postgresql://broker:secret@127.0.0.1:5432/shop";
    /// let reaper = PostgresBroker::builder(url).build()?.reap_every(Duration::from_secs(60))?;
    /// // ... the fleet runs; dropping `reaper` stops it.
    /// # drop(reaper);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reap_every(self, interval: Duration) -> std::io::Result<Reaper> {
        let interval = interval.max(Duration::from_secs(1));
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("agentwarrant-postgres reaper".into())
            .spawn(move || loop {
                match self.reap() {
                    Ok(dropped) if !dropped.is_empty() => {
                        tracing::info!(roles = ?dropped, "reaped expired task login roles");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "reaping expired task login roles failed"),
                }
                // A message or a dropped sender both mean the Reaper is gone.
                if !matches!(
                    stopped.recv_timeout(interval),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout)
                ) {
                    return;
                }
            })?;
        Ok(Reaper {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Drops the roles of this broker's prefix whose validity has passed: those a process
    /// left behind when it was killed before its tasks ended. A role still valid is left
    /// alone (its task may be running in another process); it is reaped once it expires,
    /// which is when its grant expired. Returns the roles dropped.
    ///
    /// `VALID UNTIL` stops new logins only: a session opened before the expiry lives on until
    /// the role is revoked or reaped, which terminates it. Run the reaper periodically (every
    /// minute, say) from one process of the fleet: [`reap_every`](Self::reap_every).
    ///
    /// Every expired role is tried; if some could not be dropped, the error names them and
    /// the others are gone.
    pub fn reap(&self) -> Result<Vec<String>, BrokerError> {
        let candidates: Vec<String> = self.with_client("list expired roles", |client| {
            let rows = client.query(
                "SELECT rolname::text FROM pg_catalog.pg_roles \
                 WHERE left(rolname, length($1)) = $1 AND rolvaliduntil < now() \
                 ORDER BY rolname",
                &[&self.prefix],
            )?;
            rows.iter().map(|row| row.try_get::<_, String>(0)).collect()
        })?;
        let mut dropped = Vec::new();
        let mut failed = Vec::new();
        for role in candidates.into_iter().filter(|r| self.is_own_role(r)) {
            match self.drop_role(&role) {
                Ok(_) => dropped.push(role),
                Err(error) => failed.push(format!("`{role}` ({error})")),
            }
        }
        if failed.is_empty() {
            Ok(dropped)
        } else {
            Err(BrokerError::new(format!(
                "could not drop expired roles {}",
                failed.join(", ")
            )))
        }
    }

    /// The role name of a task: the prefix and the task id's 32 hex digits.
    ///
    /// INVARIANT: only the prefix (validated at build) and hex digits, so the name is a plain
    /// identifier within PostgreSQL's 63 bytes; it is still quoted wherever it is used.
    fn role_name(&self, request: &CredentialRequest) -> String {
        format!("{}{}", self.prefix, request.task_id.to_uuid().simple())
    }

    /// Whether `role` has the shape of a role this broker mints.
    ///
    /// SECURITY: revoke and reap drop roles; a credential id or a catalog row that is not
    /// exactly `prefix` + 32 hex digits is never dropped, so neither a forged credential nor a
    /// stranger's role that shares the prefix can make the broker drop someone else's role.
    fn is_own_role(&self, role: &str) -> bool {
        role.strip_prefix(self.prefix.as_str()).is_some_and(|id| {
            id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
    }

    /// Runs `work` on the broker's connection, connecting first when it has none or it broke.
    fn with_client<T>(
        &self,
        what: &str,
        work: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, BrokerError> {
        let mut slot = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_none_or(Client::is_closed) {
            *slot = None;
            let client = self.config.connect(NoTls).map_err(|error| {
                BrokerError::new(format!(
                    "could not {what}: PostgreSQL is unreachable: {}",
                    describe(&error)
                ))
            })?;
            *slot = Some(client);
        }
        let Some(client) = slot.as_mut() else {
            return Err(BrokerError::new(format!("could not {what}: no connection")));
        };
        let result = work(client);
        if client.is_closed() {
            *slot = None;
        }
        result.map_err(|error| BrokerError::new(format!("could not {what}: {}", describe(&error))))
    }

    /// Stops new logins of `role`, ends its sessions, hands what it owns to the broker's role,
    /// revokes its privileges and drops it. Returns whether the role existed.
    fn drop_role(&self, role: &str) -> Result<bool, BrokerError> {
        let quoted = sql::ident(role);
        self.with_client(&format!("drop role `{role}`"), |client| {
            let exists = client.query_opt(
                "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
                &[&role],
            )?;
            if exists.is_none() {
                return Ok(Ok(false));
            }
            // First no new session, then none of the old ones: after this nothing logged in as
            // the role is left to act, even before it is dropped.
            client.execute(format!("ALTER ROLE {quoted} NOLOGIN").as_str(), &[])?;
            let ended = client.query(
                "SELECT pg_catalog.pg_terminate_backend(pid, $2) FROM pg_catalog.pg_stat_activity \
                 WHERE usename = $1 AND pid <> pg_catalog.pg_backend_pid()",
                &[&role, &TERMINATE_TIMEOUT_MS],
            )?;
            let lingering = ended
                .iter()
                .filter(|row| !row.try_get::<_, bool>(0).unwrap_or(false))
                .count();
            if lingering > 0 {
                return Ok(Err(format!(
                    "{lingering} session(s) of the role did not end within {TERMINATE_TIMEOUT_MS} ms"
                )));
            }
            let mut tx = client.transaction()?;
            tx.execute("SELECT pg_catalog.pg_advisory_xact_lock($1)", &[&GRANT_LOCK])?;
            tx.execute(format!("REASSIGN OWNED BY {quoted} TO CURRENT_USER").as_str(), &[])?;
            tx.execute(format!("DROP OWNED BY {quoted}").as_str(), &[])?;
            tx.execute(format!("DROP ROLE {quoted}").as_str(), &[])?;
            tx.commit()?;
            Ok(Ok(true))
        })?
        .map_err(|problem| BrokerError::new(format!("could not drop role `{role}`: {problem}")))
    }

    /// The host and port a task's tools connect to.
    fn login_address(&self) -> (String, u16) {
        if let Some(address) = &self.login_host {
            return address.clone();
        }
        let host = match self.config.get_hosts().first() {
            Some(Host::Tcp(host)) => host.clone(),
            #[cfg(unix)]
            Some(Host::Unix(path)) => path.display().to_string(),
            None => "localhost".to_owned(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        (host, port)
    }

    /// What a tool needs besides the password.
    fn attributes(&self, role: &str, dbname: &str) -> serde_json::Value {
        let (host, port) = self.login_address();
        let dsn = format!(
            "host={} port={port} dbname={} user={}",
            dsn_value(&host),
            dsn_value(dbname),
            dsn_value(role)
        );
        json!({"role": role, "host": host, "port": port, "dbname": dbname, "dsn": dsn})
    }
}

impl CredentialBroker for PostgresBroker {
    fn mint(&self, request: &CredentialRequest) -> Result<Credential, BrokerError> {
        let held = ScopeSet::parse(&request.scopes).map_err(|error| {
            BrokerError::new(format!("the grant's scopes do not parse: {error}"))
        })?;
        let role = self.role_name(request);
        let password = random_password()?;
        // SECURITY: the server receives a SCRAM verifier, never the password: statement logs
        // and `pg_authid` hold nothing a tool could log in with.
        let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
        let until = valid_until(request.expires_at)?;
        let quoted = sql::ident(&role);
        let comment = json!({
            "agentwarrant": "task login",
            "task": request.task_id.to_string(),
            "grant": request.grant_id.to_string(),
            "identity": request.identity,
            "owner": request.owner,
        })
        .to_string();

        let mut statements = vec![
            format!(
                "CREATE ROLE {quoted} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION \
                 NOBYPASSRLS CONNECTION LIMIT {} PASSWORD {} VALID UNTIL {}",
                self.connection_limit,
                sql::literal(&verifier),
                sql::literal(&until.text)
            ),
            format!("COMMENT ON ROLE {quoted} IS {}", sql::literal(&comment)),
        ];
        let applicable = self.mappings.iter().filter(|m| held.contains(&m.scope));
        let mut schemas: Vec<&str> = Vec::new();
        for mapping in applicable.clone() {
            let schema = mapping.object.schema_name();
            if mapping.object.needs_schema_usage() && !schemas.contains(&schema) {
                schemas.push(schema);
            }
        }
        for schema in schemas {
            statements.push(format!(
                "GRANT USAGE ON SCHEMA {} TO {quoted}",
                sql::ident(schema)
            ));
        }
        for mapping in applicable {
            statements.push(mapping.object.grant_sql(&mapping.privileges, &role));
        }

        let dbname = self.with_client(&format!("create role `{role}`"), |client| {
            let mut tx = client.transaction()?;
            tx.execute(
                "SELECT pg_catalog.pg_advisory_xact_lock($1)",
                &[&GRANT_LOCK],
            )?;
            let dbname: String = tx
                .query_one("SELECT current_database()::text", &[])?
                .try_get(0)?;
            // SECURITY: one statement per `execute` (the extended protocol refuses a second
            // statement in the text), every name and value quoted by `sql`.
            for statement in &statements {
                tx.execute(statement.as_str(), &[])?;
            }
            tx.execute(
                format!(
                    "GRANT CONNECT ON DATABASE {} TO {quoted}",
                    sql::ident(&dbname)
                )
                .as_str(),
                &[],
            )?;
            tx.commit()?;
            Ok(dbname)
        })?;
        tracing::debug!(target: "agentwarrant::credential", role = %role, task = %request.task_id, "minted a PostgreSQL login role");
        Ok(Credential::new(role.clone(), password, until.at)
            .with_attributes(self.attributes(&role, &dbname)))
    }

    fn renew(
        &self,
        credential: &Credential,
        until: OffsetDateTime,
    ) -> Result<Credential, BrokerError> {
        let role = credential.id();
        if !self.is_own_role(role) {
            return Err(not_own_role(role));
        }
        let until = valid_until(until)?;
        let statement = format!(
            "ALTER ROLE {} VALID UNTIL {}",
            sql::ident(role),
            sql::literal(&until.text)
        );
        self.with_client(&format!("renew role `{role}`"), |client| {
            client.execute(statement.as_str(), &[])
        })?;
        Ok(Credential::new(role, credential.secret(), until.at)
            .with_attributes(credential.attributes().clone()))
    }

    fn revoke(&self, credential: &Credential) -> Result<(), BrokerError> {
        let role = credential.id();
        if !self.is_own_role(role) {
            return Err(not_own_role(role));
        }
        // A role already gone (a retry after a reply was lost, or the reaper) is revoked.
        self.drop_role(role).map(|_| ())
    }
}

impl PostgresBrokerBuilder {
    /// Names roles `prefix` + the task id's 32 hex digits (default `aw_task_`). The prefix is
    /// 1 to 31 lowercase ASCII letters, digits and `_`, starting with a letter or `_`, and not
    /// `pg_` (reserved by PostgreSQL). Give each deployment its own prefix: revoke and reap
    /// touch only roles with it.
    pub fn role_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Maps `scope` to `privileges` on `object`: a task whose grant holds `scope` (one of its
    /// patterns matches it) gets them. `scope` is a concrete scope, the one a tool touching
    /// the object requires, e.g. `db.read:sales.orders` for a tool declared with the scope
    /// template `db.read:{table}`; the credential can then do in the database what the guard
    /// would let the task's calls do.
    pub fn grant(
        mut self,
        scope: impl Into<String>,
        privileges: impl IntoIterator<Item = Privilege>,
        object: Object,
    ) -> Self {
        self.mappings
            .push((scope.into(), privileges.into_iter().collect(), object));
        self
    }

    /// How many sessions one task's role may hold at once (default 8).
    pub fn connection_limit(mut self, limit: u32) -> Self {
        self.connection_limit = limit;
        self
    }

    /// How long the broker waits to connect (default 5 s, unless the connection string sets
    /// `connect_timeout`): past it, the task is refused (`credential_unavailable`).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The host and port the task's tools connect to, when not the broker's own (a pooler,
    /// another interface).
    pub fn login_host(mut self, host: impl Into<String>, port: u16) -> Self {
        self.login_host = Some((host.into(), port));
        self
    }

    /// Checks the configuration: the connection string parses, the prefix is usable, every
    /// scope parses and every mapped privilege applies to its object. Does not connect.
    pub fn build(self) -> Result<PostgresBroker, BuildError> {
        let config = sql::config(
            &self.connection,
            self.connect_timeout,
            Some("agentwarrant-postgres broker"),
        )?;
        if let Some(problem) = prefix_problem(&self.prefix) {
            return Err(BuildError::InvalidRolePrefix {
                prefix: self.prefix,
                problem: problem.to_owned(),
            });
        }
        let mut mappings = Vec::with_capacity(self.mappings.len());
        for (scope, privileges, object) in self.mappings {
            let parsed = Scope::parse(&scope).map_err(|error| BuildError::InvalidScope {
                scope: scope.clone(),
                message: error.to_string(),
            })?;
            if let Some(problem) = object.problem(&privileges) {
                return Err(BuildError::InvalidGrant { scope, problem });
            }
            mappings.push(Mapping {
                scope: parsed,
                privileges,
                object,
            });
        }
        Ok(PostgresBroker {
            config,
            prefix: self.prefix,
            mappings,
            connection_limit: self.connection_limit,
            login_host: self.login_host,
            client: Mutex::new(None),
        })
    }
}

/// Why `prefix` cannot prefix role names, if it cannot.
fn prefix_problem(prefix: &str) -> Option<&'static str> {
    let mut bytes = prefix.bytes();
    match bytes.next() {
        None => return Some("it is empty"),
        Some(b'a'..=b'z' | b'_') => {}
        Some(_) => return Some("it must start with a lowercase letter or `_`"),
    }
    if !bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_')) {
        return Some("only lowercase ASCII letters, digits and `_` are allowed");
    }
    if prefix.len() > 31 {
        return Some("it is longer than 31 bytes (with 32 hex digits, PostgreSQL keeps 63)");
    }
    if prefix.starts_with("pg_") {
        return Some("`pg_` names are reserved by PostgreSQL");
    }
    None
}

/// A role's validity: the grant's expiry rounded down to the second, so the role never
/// outlives the grant, and its SQL text.
struct ValidUntil {
    at: OffsetDateTime,
    text: String,
}

fn valid_until(expires_at: OffsetDateTime) -> Result<ValidUntil, BrokerError> {
    let at = expires_at
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|error| {
            BrokerError::new(format!("the grant's expiry is out of range: {error}"))
        })?;
    let text = at.format(&Rfc3339).map_err(|error| {
        BrokerError::new(format!("the grant's expiry is out of range: {error}"))
    })?;
    Ok(ValidUntil { at, text })
}

/// 32 bytes from the operating system's CSPRNG, as 64 hex digits.
fn random_password() -> Result<String, BrokerError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| BrokerError::new(format!("no randomness for a password: {error}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A value of a `key=value` connection string: single-quoted, `\` and `'` escaped.
fn dsn_value(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

fn not_own_role(role: &str) -> BrokerError {
    BrokerError::new(format!(
        "credential `{}` is not a role this broker mints",
        role.escape_debug()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_that_could_collide_or_need_quoting_are_refused() {
        assert!(prefix_problem("aw_task_").is_none());
        assert!(prefix_problem("_x").is_none());
        for bad in [
            "",
            "Aw",
            "1aw",
            "aw-task",
            "aw\"",
            "pg_task_",
            &"a".repeat(32),
        ] {
            assert!(prefix_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn validity_is_rounded_down_to_the_second() {
        let at = time::macros::datetime!(2026-11-29 19:30:05.999 +01:00);
        let until = valid_until(at).unwrap();
        assert_eq!(until.text, "2026-11-29T18:30:05Z");
        assert!(until.at <= at);
    }

    #[test]
    fn passwords_are_fresh_and_long() {
        let a = random_password().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_password().unwrap());
    }

    #[test]
    fn connection_string_values_are_quoted() {
        assert_eq!(dsn_value("db"), "'db'");
        assert_eq!(dsn_value("a'b\\c"), "'a\\'b\\\\c'");
    }

    #[test]
    fn bad_configuration_fails_at_build() {
        let url = "postgresql://u@127.0.0.1/db";
        let error = PostgresBroker::builder("postgresql://u@[bad")
            .build()
            .unwrap_err();
        assert_eq!(error.code(), "postgres_invalid_connection");
        let error = PostgresBroker::builder(url)
            .role_prefix("PG")
            .build()
            .unwrap_err();
        assert_eq!(error.code(), "postgres_invalid_role_prefix");
        let error = PostgresBroker::builder(url)
            .grant("no colon", [Privilege::Select], Object::table("s", "t"))
            .build()
            .unwrap_err();
        assert_eq!(error.code(), "postgres_invalid_scope");
        let error = PostgresBroker::builder(url)
            .grant("db.read:t", [Privilege::Usage], Object::table("s", "t"))
            .build()
            .unwrap_err();
        assert_eq!(error.code(), "postgres_invalid_grant");
        let broker = PostgresBroker::builder("postgresql://u:hunter2@127.0.0.1/db")
            .build()
            .unwrap();
        assert!(!format!("{broker:?}").contains("hunter2"));
    }
}
