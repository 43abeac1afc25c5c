//! [`PostgresRevocations`]: the kill switch and token revocations shared by every guard of a
//! fleet, pushed to each process with `LISTEN/NOTIFY` and re-read by a bounded poll.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use agentwarrant::{RevocationError, RevocationStore};
use postgres::{Client, Config, NoTls};
use serde_json::json;
use time::OffsetDateTime;

use crate::error::BuildError;
use crate::sql::describe;
use crate::{listen, sql};

/// How often each process re-reads the store when no notification arrives, by default.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How old the pushed state may grow before calls are refused, by default.
const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(5);
/// How far back each poll re-reads revocations, so one committed out of order is still seen.
const POLL_OVERLAP_S: i64 = 60;
/// A revoked token id is forgotten this long after its token expired (as in the core).
const KEEP_AFTER_EXPIRY: time::Duration = time::Duration::HOUR;
/// The longest notification payload sent; longer ones ask listeners to re-read instead.
const MAX_PAYLOAD_BYTES: usize = 7_900;

/// A fleet's shared [`RevocationStore`] on PostgreSQL: identities switched off with
/// [`Guard::disable_identity`](agentwarrant::Guard::disable_identity) in one process are
/// refused in every process that shares the store, and revoked grant tokens are refused by
/// every verifier.
///
/// Writes go to two tables in the configured schema (`disabled_identities`,
/// `revoked_tokens`, created when missing) and are announced with `NOTIFY`. Each process keeps
/// the state in memory, updated by a background thread that `LISTEN`s and also re-reads the
/// tables every poll interval (a lost notification is caught by the next poll). Calls are
/// answered from that state, never with a round trip; once it is older than the staleness
/// bound (PostgreSQL unreachable, the listener stuck), every call is refused with
/// `store_unavailable` until the store catches up: fail closed.
///
/// ```no_run
/// use std::time::Duration;
/// use agentwarrant::Guard;
/// use agentwarrant_postgres::PostgresRevocations;
///
/// let store = PostgresRevocations::builder("postgresql://guard:secret@db.internal/agents")
///     .schema("agentwarrant")
///     .build()?;
/// store.wait_until_synced(Duration::from_secs(10))?;
/// let guard = Guard::builder().revocations(store).build()?;
/// // In any process of the fleet:
/// guard.try_disable_identity("agent://acme/support-bot")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PostgresRevocations {
    shared: Arc<Shared>,
}

/// What the store and its listener thread share.
struct Shared {
    config: Config,
    schema: String,
    channel: String,
    poll_interval: Duration,
    max_staleness: Duration,
    state: RwLock<State>,
    /// When the state was last known current, in nanoseconds since `epoch` (0: never).
    synced_at: AtomicU64,
    epoch: Instant,
    /// Why the listener last failed, for the refusal's detail.
    last_error: Mutex<Option<String>>,
    /// The connection writes go through.
    writer: Mutex<Option<Client>>,
    stop: AtomicBool,
}

#[derive(Default)]
struct State {
    disabled: HashSet<String>,
    revoked: HashMap<String, OffsetDateTime>,
}

impl fmt::Debug for PostgresRevocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresRevocations")
            .field("schema", &self.shared.schema)
            .field("poll_interval", &self.shared.poll_interval)
            .field("max_staleness", &self.shared.max_staleness)
            .finish_non_exhaustive()
    }
}

/// Configures a [`PostgresRevocations`].
#[derive(Clone)]
pub struct PostgresRevocationsBuilder {
    connection: String,
    schema: String,
    poll_interval: Duration,
    max_staleness: Duration,
    connect_timeout: Option<Duration>,
}

impl fmt::Debug for PostgresRevocationsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresRevocationsBuilder")
            .field("schema", &self.schema)
            .field("poll_interval", &self.poll_interval)
            .field("max_staleness", &self.max_staleness)
            .finish_non_exhaustive()
    }
}

impl PostgresRevocations {
    /// Starts configuring a store that connects with `connection` (a URL or a `key=value`
    /// string).
    pub fn builder(connection: impl Into<String>) -> PostgresRevocationsBuilder {
        PostgresRevocationsBuilder {
            connection: connection.into(),
            schema: "agentwarrant".to_owned(),
            poll_interval: DEFAULT_POLL_INTERVAL,
            max_staleness: DEFAULT_MAX_STALENESS,
            connect_timeout: None,
        }
    }

    /// Waits until the store has read the shared state once (or again, after losing it), at
    /// most `timeout`: until then every call is refused (`store_unavailable`).
    pub fn wait_until_synced(&self, timeout: Duration) -> Result<(), RevocationError> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.shared.fresh() {
                Ok(()) => return Ok(()),
                Err(error) if Instant::now() >= deadline => return Err(error),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

impl Drop for PostgresRevocations {
    fn drop(&mut self) {
        // The listener sees this within one poll interval and closes its connection.
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

impl RevocationStore for PostgresRevocations {
    fn revoke(&self, jti: &str, until: OffsetDateTime) -> Result<(), RevocationError> {
        let payload = json!({"revoked": jti, "until": until.unix_timestamp()}).to_string();
        let insert = format!(
            "INSERT INTO {} AS kept (jti, until) VALUES ($1, to_timestamp($2)) \
             ON CONFLICT (jti) DO UPDATE SET until = GREATEST(kept.until, EXCLUDED.until), revoked_at = now()",
            self.shared.table("revoked_tokens"),
        );
        let seconds = until.unix_timestamp() as f64;
        self.shared.write("revoke a token", &payload, |tx| {
            tx.execute(insert.as_str(), &[&jti, &seconds]).map(|_| ())
        })?;
        let mut state = self.shared.state.write().unwrap_or_else(|p| p.into_inner());
        state.revoked.insert(jti.to_owned(), until);
        Ok(())
    }

    fn is_revoked(&self, jti: &str) -> Result<bool, RevocationError> {
        self.shared.fresh()?;
        let state = self.shared.state.read().unwrap_or_else(|p| p.into_inner());
        Ok(state.revoked.contains_key(jti))
    }

    fn set_identity_disabled(&self, identity: &str, disabled: bool) -> Result<(), RevocationError> {
        let table = self.shared.table("disabled_identities");
        let (statement, payload) = if disabled {
            (
                format!(
                    "INSERT INTO {table} (identity) VALUES ($1) ON CONFLICT (identity) DO NOTHING"
                ),
                json!({"disabled": identity}),
            )
        } else {
            (
                format!("DELETE FROM {table} WHERE identity = $1"),
                json!({"enabled": identity}),
            )
        };
        self.shared
            .write("write the kill switch", &payload.to_string(), |tx| {
                tx.execute(statement.as_str(), &[&identity]).map(|_| ())
            })?;
        let mut state = self.shared.state.write().unwrap_or_else(|p| p.into_inner());
        if disabled {
            state.disabled.insert(identity.to_owned());
        } else {
            state.disabled.remove(identity);
        }
        Ok(())
    }

    fn is_identity_disabled(&self, identity: &str) -> Result<bool, RevocationError> {
        self.shared.fresh()?;
        let state = self.shared.state.read().unwrap_or_else(|p| p.into_inner());
        Ok(state.disabled.contains(identity))
    }
}

impl Shared {
    /// `schema.name`, quoted.
    fn table(&self, name: &str) -> String {
        sql::qualified(&self.schema, name)
    }

    /// Whether the pushed state is recent enough to answer from.
    fn fresh(&self) -> Result<(), RevocationError> {
        let synced = self.synced_at.load(Ordering::SeqCst);
        let why = || {
            let last = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
            last.as_ref()
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default()
        };
        if synced == 0 {
            return Err(RevocationError(format!(
                "the PostgreSQL store has not been read yet{}",
                why()
            )));
        }
        let age = self
            .epoch
            .elapsed()
            .saturating_sub(Duration::from_nanos(synced));
        if age > self.max_staleness {
            return Err(RevocationError(format!(
                "the PostgreSQL store was last read {} ms ago, more than its bound of {} ms{}",
                age.as_millis(),
                self.max_staleness.as_millis(),
                why()
            )));
        }
        Ok(())
    }

    fn mark_synced(&self) {
        let nanos = u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.synced_at.store(nanos.max(1), Ordering::SeqCst);
    }

    fn connect(&self) -> Result<Client, postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        install(&mut client, &self.schema)?;
        Ok(client)
    }

    /// Runs `work` and announces `payload` in one transaction (the notification goes out only
    /// if the write commits).
    fn write(
        &self,
        what: &str,
        payload: &str,
        work: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<(), postgres::Error>,
    ) -> Result<(), RevocationError> {
        let payload = if payload.len() > MAX_PAYLOAD_BYTES {
            json!({"reload": true}).to_string()
        } else {
            payload.to_owned()
        };
        let mut slot = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_none_or(Client::is_closed) {
            *slot = None;
            let client = self.connect().map_err(|error| {
                RevocationError(format!(
                    "could not {what}: PostgreSQL is unreachable: {}",
                    describe(&error)
                ))
            })?;
            *slot = Some(client);
        }
        let Some(client) = slot.as_mut() else {
            return Err(RevocationError(format!("could not {what}: no connection")));
        };
        let result = (|| {
            let mut tx = client.transaction()?;
            work(&mut tx)?;
            tx.execute(
                "SELECT pg_catalog.pg_notify($1, $2)",
                &[&self.channel, &payload],
            )?;
            tx.commit()
        })();
        if client.is_closed() {
            *slot = None;
        }
        result.map_err(|error| RevocationError(format!("could not {what}: {}", describe(&error))))
    }

    /// The listener: connects, `LISTEN`s, re-reads the tables every poll interval and applies
    /// notifications in between; reconnects after any error; stops when the store is dropped.
    fn listen(self: Arc<Self>) {
        let mut since: Option<OffsetDateTime> = None;
        while !self.stop.load(Ordering::SeqCst) {
            if let Err(error) = self.listen_once(&mut since) {
                tracing::warn!(target: "agentwarrant::revocation", error = %describe(&error), "the PostgreSQL kill switch listener lost its connection");
                *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(describe(&error));
                self.sleep(self.poll_interval.min(Duration::from_secs(1)));
            }
        }
    }

    fn listen_once(&self, since: &mut Option<OffsetDateTime>) -> Result<(), postgres::Error> {
        let mut client = self.connect()?;
        listen::listen(&mut client, &self.channel)?;
        // A fresh connection may have missed notifications: read everything once.
        *since = None;
        while !self.stop.load(Ordering::SeqCst) {
            self.reload(&mut client, since)?;
            let deadline = Instant::now() + self.poll_interval;
            loop {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() || self.stop.load(Ordering::SeqCst) {
                    break;
                }
                match listen::next(&mut client, deadline)? {
                    Some(payload) => {
                        if self.apply(&payload) {
                            // The connection is alive and delivers in order: current now.
                            self.mark_synced();
                        } else {
                            break;
                        }
                    }
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// Re-reads the kill switch and the revocations made since the last poll (with overlap).
    fn reload(
        &self,
        client: &mut Client,
        since: &mut Option<OffsetDateTime>,
    ) -> Result<(), postgres::Error> {
        let mut tx = client.build_transaction().read_only(true).start()?;
        let now: std::time::SystemTime = tx.query_one("SELECT now()", &[])?.try_get(0)?;
        let now = OffsetDateTime::from(now);
        let disabled = tx
            .query(
                format!("SELECT identity FROM {}", self.table("disabled_identities")).as_str(),
                &[],
            )?
            .iter()
            .map(|row| row.try_get::<_, String>(0))
            .collect::<Result<HashSet<_>, _>>()?;
        let from = since.map_or(OffsetDateTime::UNIX_EPOCH, |s| {
            s - time::Duration::seconds(POLL_OVERLAP_S)
        });
        let rows = tx.query(
            format!(
                "SELECT jti, extract(epoch FROM until)::float8 FROM {} \
                 WHERE revoked_at >= to_timestamp($1) AND until > now() - interval '1 hour'",
                self.table("revoked_tokens")
            )
            .as_str(),
            &[&(from.unix_timestamp() as f64)],
        )?;
        let mut revoked = Vec::with_capacity(rows.len());
        for row in &rows {
            let jti: String = row.try_get(0)?;
            let until: f64 = row.try_get(1)?;
            revoked.push((jti, unix(until)));
        }
        tx.commit()?;
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        state.disabled = disabled;
        if since.is_none() {
            state.revoked.clear();
        }
        state.revoked.extend(revoked);
        let forget = now - KEEP_AFTER_EXPIRY;
        state.revoked.retain(|_, until| *until > forget);
        drop(state);
        *since = Some(now);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.mark_synced();
        Ok(())
    }

    /// Applies one notification; `false` when it asks for a re-read.
    fn apply(&self, payload: &str) -> bool {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(payload) else {
            return false;
        };
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        if let Some(identity) = message["disabled"].as_str() {
            state.disabled.insert(identity.to_owned());
        } else if let Some(identity) = message["enabled"].as_str() {
            state.disabled.remove(identity);
        } else if let (Some(jti), Some(until)) =
            (message["revoked"].as_str(), message["until"].as_i64())
        {
            let until =
                OffsetDateTime::from_unix_timestamp(until).unwrap_or(OffsetDateTime::now_utc());
            state.revoked.insert(jti.to_owned(), until);
        } else {
            return false;
        }
        true
    }

    /// Sleeps `duration`, waking early when the store is dropped.
    fn sleep(&self, duration: Duration) {
        let deadline = Instant::now() + duration;
        while !self.stop.load(Ordering::SeqCst) {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return;
            }
            std::thread::sleep(remaining.min(Duration::from_millis(50)));
        }
    }
}

fn unix(seconds: f64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds as i64).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Creates the schema and the tables when missing.
fn install(client: &mut Client, schema: &str) -> Result<(), postgres::Error> {
    sql::install(
        client,
        schema,
        &[
            "CREATE TABLE IF NOT EXISTS {schema}.\"disabled_identities\" (\
             identity text PRIMARY KEY, disabled_at timestamptz NOT NULL DEFAULT now())",
            "CREATE TABLE IF NOT EXISTS {schema}.\"revoked_tokens\" (\
             jti text PRIMARY KEY, until timestamptz NOT NULL, \
             revoked_at timestamptz NOT NULL DEFAULT now())",
            "CREATE INDEX IF NOT EXISTS \"revoked_tokens_revoked_at\" \
             ON {schema}.\"revoked_tokens\" (revoked_at)",
        ],
    )
}

impl PostgresRevocationsBuilder {
    /// The schema of the store's tables (default `agentwarrant`; created when missing). Every
    /// guard of one fleet uses the same one.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// How often each process re-reads the tables when no notification arrives (default 1 s):
    /// the longest a lost notification goes unnoticed.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How old the pushed state may grow before every call is refused (`store_unavailable`),
    /// default 5 s; more than the poll interval.
    pub fn max_staleness(mut self, bound: Duration) -> Self {
        self.max_staleness = bound;
        self
    }

    /// How long a connection attempt may take (default 5 s, unless the connection string sets
    /// `connect_timeout`).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Checks the configuration and starts the listener thread; does not wait for it (see
    /// [`PostgresRevocations::wait_until_synced`]).
    pub fn build(self) -> Result<PostgresRevocations, BuildError> {
        let config = sql::config(
            &self.connection,
            self.connect_timeout,
            Some("agentwarrant-postgres revocations"),
        )?;
        let channel = format!("agentwarrant.{}", self.schema);
        if let Some(problem) = sql::identifier_problem(&self.schema)
            .or_else(|| sql::identifier_problem(&channel).map(|_| "it is longer than 50 bytes"))
        {
            return Err(BuildError::InvalidStore {
                problem: format!("schema `{}`: {problem}", self.schema.escape_debug()),
            });
        }
        if self.poll_interval.is_zero() || self.poll_interval >= self.max_staleness {
            return Err(BuildError::InvalidStore {
                problem: format!(
                    "the poll interval ({} ms) must be above zero and below the staleness bound ({} ms)",
                    self.poll_interval.as_millis(),
                    self.max_staleness.as_millis()
                ),
            });
        }
        let shared = Arc::new(Shared {
            config,
            schema: self.schema,
            channel,
            poll_interval: self.poll_interval,
            max_staleness: self.max_staleness,
            state: RwLock::new(State::default()),
            synced_at: AtomicU64::new(0),
            epoch: Instant::now(),
            last_error: Mutex::new(None),
            writer: Mutex::new(None),
            stop: AtomicBool::new(false),
        });
        let listener = shared.clone();
        std::thread::Builder::new()
            .name("agentwarrant-postgres listener".to_owned())
            .spawn(move || listener.listen())
            .map_err(|error| BuildError::InvalidStore {
                problem: format!("could not start the listener thread: {error}"),
            })?;
        Ok(PostgresRevocations { shared })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_that_could_not_work_is_refused_at_build() {
        let url = "postgresql://u@127.0.0.1:1/db";
        let error = PostgresRevocations::builder(url)
            .poll_interval(Duration::from_secs(5))
            .max_staleness(Duration::from_secs(5))
            .build()
            .unwrap_err();
        assert_eq!(error.code(), "postgres_invalid_store");
        let error = PostgresRevocations::builder(url)
            .schema("x".repeat(60))
            .build()
            .unwrap_err();
        assert_eq!(error.code(), "postgres_invalid_store");
        assert!(PostgresRevocations::builder(url)
            .schema("s\0")
            .build()
            .is_err());
    }

    #[test]
    fn notifications_apply_or_ask_for_a_reread() {
        let store = PostgresRevocations::builder("postgresql://u@127.0.0.1:1/db")
            .build()
            .unwrap();
        let shared = &store.shared;
        assert!(shared.apply(r#"{"disabled": "agent://a"}"#));
        assert!(shared.apply(r#"{"revoked": "j", "until": 4102444800}"#));
        assert!(shared.state.read().unwrap().disabled.contains("agent://a"));
        assert!(shared.state.read().unwrap().revoked.contains_key("j"));
        assert!(shared.apply(r#"{"enabled": "agent://a"}"#));
        assert!(shared.state.read().unwrap().disabled.is_empty());
        assert!(!shared.apply(r#"{"reload": true}"#));
        assert!(!shared.apply("not json"));
    }
}
