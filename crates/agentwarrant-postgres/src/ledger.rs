//! [`PostgresLedger`]: the ledger's records in a table, one hash chain per writer, and
//! [`verify_ledger`], which checks every chain of the table with the library's verifier.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::sync::Mutex;
use std::time::Duration;

use agentwarrant::ledger::{
    verify_reader, CheckpointKey, Head, Report, SealedRecord, Sink, SinkLedger, VerifyingKey,
    GENESIS,
};
use agentwarrant::LedgerError;
use fallible_iterator::FallibleIterator;
use postgres::error::SqlState;
use postgres::{Client, Config, NoTls, Statement};

use crate::error::BuildError;
use crate::sql;

/// The longest writer id taken, in bytes.
const MAX_WRITER_BYTES: usize = 256;
/// How long opening waits for a writer another connection holds.
const LOCK_WAIT: Duration = Duration::from_secs(2);
/// Rows fetched per round trip while verifying.
const VERIFY_BATCH: i32 = 1024;

/// The table's definition.
const DDL: &str = "CREATE TABLE IF NOT EXISTS {schema}.\"ledger\" (\
    writer text NOT NULL, seq bigint NOT NULL, line text NOT NULL, hash text NOT NULL, \
    recorded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (writer, seq))";

/// When a committed record is acknowledged: the trade between what a crash of the server may
/// lose and how many records a second one writer stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Commit {
    /// `synchronous_commit = on`: a record is acknowledged (and the call it records goes on)
    /// only once its commit is flushed to the server's disk (and to synchronous standbys, when
    /// the server has any). A crash of the server loses no acknowledged record.
    #[default]
    Synchronous,
    /// `synchronous_commit = off`: a record is acknowledged once committed, before its commit
    /// reaches the disk. A crash of the server (not of this process, and not a lost
    /// connection) may lose the last acknowledged records, up to three times the server's
    /// `wal_writer_delay` (600 ms by default): the tail of the chain, never a record inside it,
    /// so what remains still verifies. A ledger still writing then refuses its next record
    /// (its chain no longer continues the table's), and [`Ledger::flush`] reports the loss.
    /// A call whose policy asks for a synced ledger (`ledger_sync`) is still made durable
    /// before it runs: `flush` waits for the disk.
    ///
    /// [`Ledger::flush`]: agentwarrant::ledger::Ledger::flush
    Asynchronous,
}

/// A [`Sink`] storing a guard's ledger in the PostgreSQL table `ledger` (in the configured
/// schema, created when missing): one row per record, holding the writer id, the record's
/// `seq`, its canonical line (the exact bytes the library sealed), its hash and when it was
/// recorded. Wrap it in a [`SinkLedger`] ([`PostgresLedger::open`] does): the library seals
/// every record into a hash chain and signs checkpoints exactly as for a file ledger, and
/// [`verify_ledger`] (or `agentwarrant verify postgresql://...`) checks the table.
///
/// **One chain per writer.** Each process (each guard) writes under a writer id of its own;
/// the writers of a fleet share the table and never interleave. While a ledger is open, its
/// connection holds a PostgreSQL advisory lock on its writer id (a session lock: use a
/// direct connection, or a pooler in session mode): opening a second ledger on the same id,
/// in this or another process, waits two seconds for it and is then refused, until the first
/// is dropped. A record
/// is stored only if it continues the table's chain of its writer (its `seq` is free and the
/// row before it holds its `prev` hash), so even a writer whose lock was lost with its
/// connection cannot fork the chain: its record is refused instead.
///
/// **Fail closed.** A record that cannot be stored (PostgreSQL unreachable, the chain moved
/// on elsewhere) is an error, and the guard refuses the call it records (`ledger_error`).
/// After the connection drops, the next record reconnects (and takes the writer's lock
/// again); a record whose commit was cut off with the connection is looked up once
/// reconnected, so a record stored but not acknowledged is not stored twice.
///
/// ```no_run
/// use agentwarrant::ledger::CheckpointKey;
/// use agentwarrant::Guard;
/// use agentwarrant_postgres::{Commit, PostgresLedger};
///
/// let key = CheckpointKey::generate(); // keep it (and its public key) somewhere safe
/// let ledger = PostgresLedger::builder("postgresql://guard:secret@db.internal/agents")
///     .writer("billing-worker-1")
///     .commit(Commit::Synchronous)
///     .build()?
///     .open()? // a SinkLedger: the chain continues from the writer's last row
///     .with_checkpoints(key, 1000);
/// let guard = Guard::builder().ledger(ledger).build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PostgresLedger {
    config: Config,
    schema: String,
    writer: String,
    commit: Commit,
    /// `schema.ledger`, quoted.
    table: String,
    /// What errors name: the table and the writer.
    label: String,
    state: Mutex<State>,
}

/// The connection, and how far this ledger's records reached.
#[derive(Default)]
struct State {
    /// The connection, holding the writer's advisory lock.
    client: Option<Client>,
    /// The insert, prepared on that connection.
    insert: Option<Statement>,
    /// The last record this ledger stored: `seq` and hash.
    stored: Option<(u64, String)>,
}

impl fmt::Debug for PostgresLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLedger")
            .field("schema", &self.schema)
            .field("writer", &self.writer)
            .field("commit", &self.commit)
            .finish_non_exhaustive()
    }
}

/// Configures a [`PostgresLedger`].
#[derive(Clone)]
pub struct PostgresLedgerBuilder {
    connection: String,
    schema: String,
    writer: String,
    commit: Commit,
}

impl fmt::Debug for PostgresLedgerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLedgerBuilder")
            .field("schema", &self.schema)
            .field("writer", &self.writer)
            .field("commit", &self.commit)
            .finish_non_exhaustive()
    }
}

impl PostgresLedgerBuilder {
    /// The schema of the `ledger` table (default `agentwarrant`; created when missing).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The writer id whose chain this ledger continues (default `default`): give each
    /// process of a fleet its own, stable across restarts (a host name, a worker number).
    pub fn writer(mut self, writer: impl Into<String>) -> Self {
        self.writer = writer.into();
        self
    }

    /// When a record is acknowledged (default [`Commit::Synchronous`]).
    pub fn commit(mut self, commit: Commit) -> Self {
        self.commit = commit;
        self
    }

    /// Checks the configuration; does not connect (the first record, or
    /// [`SinkLedger::open`], does).
    pub fn build(self) -> Result<PostgresLedger, BuildError> {
        let config = sql::config(&self.connection, None, None)?;
        if let Some(problem) = sql::identifier_problem(&self.schema) {
            return Err(BuildError::InvalidStore {
                problem: format!("schema `{}`: {problem}", self.schema.escape_debug()),
            });
        }
        if let Some(problem) = writer_problem(&self.writer) {
            return Err(BuildError::InvalidStore {
                problem: format!("writer `{}`: {problem}", self.writer.escape_debug()),
            });
        }
        let table = sql::qualified(&self.schema, "ledger");
        Ok(PostgresLedger {
            label: label(&table, &self.writer),
            table,
            config,
            schema: self.schema,
            writer: self.writer,
            commit: self.commit,
            state: Mutex::new(State::default()),
        })
    }
}

impl PostgresLedger {
    /// Starts configuring a ledger that connects with `connection` (a URL or a `key=value`
    /// string).
    pub fn builder(connection: impl Into<String>) -> PostgresLedgerBuilder {
        PostgresLedgerBuilder {
            connection: connection.into(),
            schema: "agentwarrant".to_owned(),
            writer: "default".to_owned(),
            commit: Commit::default(),
        }
    }

    /// Connects, takes the writer's lock and reads the writer's last row: the [`SinkLedger`]
    /// whose records continue this writer's chain. Add checkpoints with
    /// [`SinkLedger::with_checkpoints`]. Refused when PostgreSQL is unreachable or another
    /// open ledger holds the writer.
    pub fn open(self) -> Result<SinkLedger<Self>, LedgerError> {
        SinkLedger::open(self)
    }

    /// [`PostgresLedger::open`] with a checkpoint signed by `key` every `every` records.
    pub fn open_with_checkpoints(
        self,
        key: CheckpointKey,
        every: u64,
    ) -> Result<SinkLedger<Self>, LedgerError> {
        Ok(SinkLedger::open(self)?.with_checkpoints(key, every))
    }

    /// The writer id.
    pub fn writer(&self) -> &str {
        &self.writer
    }

    /// The schema of the table.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// When records are acknowledged.
    pub fn commit_mode(&self) -> Commit {
        self.commit
    }

    fn error(&self, message: impl Into<String>) -> LedgerError {
        LedgerError::other(&self.label, message)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection that holds the writer's lock: the open one, or a new one.
    fn attach<'a>(
        &self,
        state: &'a mut State,
        what: &str,
    ) -> Result<(&'a mut Client, Statement), LedgerError> {
        if state.client.as_ref().is_none_or(Client::is_closed) || state.insert.is_none() {
            state.client = None;
            let (client, insert) = self.connect().map_err(|error| match error {
                Attach::Db(error) => self.error(format!(
                    "could not {what}: PostgreSQL is unreachable: {}",
                    sql::describe(&error)
                )),
                Attach::Held => self.error(format!(
                    "could not {what}: writer `{}` is held by another open ledger (in this or \
                     another process); give each ledger its own writer id, or drop the other \
                     first",
                    self.writer.escape_debug()
                )),
            })?;
            state.client = Some(client);
            state.insert = Some(insert);
        }
        match (state.client.as_mut(), state.insert.clone()) {
            (Some(client), Some(insert)) => Ok((client, insert)),
            _ => Err(self.error(format!("could not {what}: no connection"))),
        }
    }

    fn connect(&self) -> Result<(Client, Statement), Attach> {
        let mut client = self.config.connect(NoTls).map_err(Attach::Db)?;
        sql::install(&mut client, &self.schema, &[DDL]).map_err(Attach::Db)?;
        let mode = match self.commit {
            Commit::Synchronous => "on",
            Commit::Asynchronous => "off",
        };
        client
            .execute(
                "SELECT pg_catalog.set_config('synchronous_commit', $1, false)",
                &[&mode],
            )
            .map_err(Attach::Db)?;
        // Waits a little for the lock, so a connection of this writer that just went away
        // (its server session still ending) does not refuse the writer's own reconnection.
        let locked = (|| {
            let mut tx = client.transaction()?;
            tx.execute(
                "SELECT pg_catalog.set_config('lock_timeout', $1, true)",
                &[&format!("{}ms", LOCK_WAIT.as_millis())],
            )?;
            tx.execute(
                "SELECT pg_catalog.pg_advisory_lock(pg_catalog.hashtextextended($1, 0))",
                &[&lock_name(&self.schema, &self.writer)],
            )?;
            tx.commit()
        })();
        match locked {
            Ok(()) => {}
            Err(error) if error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                return Err(Attach::Held)
            }
            Err(error) => return Err(Attach::Db(error)),
        }
        // INVARIANT: stored only when its seq is free and the row before it holds its `prev`,
        // so two ledgers on one writer (one having lost its lock with its connection) cannot
        // fork the chain.
        let insert = client
            .prepare(
                format!(
                    "INSERT INTO {t} (writer, seq, line, hash) \
                     SELECT $1::text, $2::int8, $3::text, $4::text \
                     WHERE $2::int8 = 1 OR EXISTS (SELECT 1 FROM {t} \
                         WHERE writer = $1::text AND seq = $2::int8 - 1 AND hash = $5::text) \
                     ON CONFLICT (writer, seq) DO NOTHING",
                    t = self.table
                )
                .as_str(),
            )
            .map_err(Attach::Db)?;
        Ok((client, insert))
    }

    /// The writer's last row in the table.
    fn table_head(&self, client: &mut Client) -> Result<Head, postgres::Error> {
        let row = client.query_opt(
            format!(
                "SELECT seq, hash FROM {} WHERE writer = $1 ORDER BY seq DESC LIMIT 1",
                self.table
            )
            .as_str(),
            &[&self.writer],
        )?;
        Ok(match row {
            Some(row) => Head {
                records: u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0),
                hash: row.try_get(1)?,
            },
            None => Head {
                records: 0,
                hash: GENESIS.to_owned(),
            },
        })
    }

    /// Inserts the record if it continues the writer's chain; whether it did.
    fn insert(
        &self,
        client: &mut Client,
        statement: &Statement,
        sealed: &Sealed<'_>,
    ) -> Result<bool, postgres::Error> {
        let inserted = client.execute(
            statement,
            &[
                &self.writer,
                &sealed.seq,
                &sealed.line,
                &sealed.hash,
                &sealed.prev,
            ],
        )?;
        Ok(inserted == 1)
    }

    /// The hash stored at `seq` of the writer's chain, if any.
    fn stored_hash(
        &self,
        client: &mut Client,
        seq: i64,
    ) -> Result<Option<String>, postgres::Error> {
        client
            .query_opt(
                format!(
                    "SELECT hash FROM {} WHERE writer = $1 AND seq = $2",
                    self.table
                )
                .as_str(),
                &[&self.writer, &seq],
            )?
            .map(|row| row.try_get(0))
            .transpose()
    }

    /// Why a record that does not continue the table's chain was refused.
    fn diverged(&self, client: &mut Client, sealed: &Sealed<'_>) -> LedgerError {
        let head = match self.table_head(client) {
            Ok(head) => head,
            Err(error) => {
                return self.error(format!(
                    "could not store record {}: {}",
                    sealed.seq,
                    sql::describe(&error)
                ))
            }
        };
        self.error(format!(
            "record {} was refused: it does not continue the table's chain of writer `{}`, \
             which ends at seq {} (hash {}): another ledger wrote this writer's chain, rows \
             were removed, or a record whose acknowledgement was lost was stored; open the \
             ledger again to continue from the table",
            sealed.seq,
            self.writer.escape_debug(),
            head.records,
            head.hash
        ))
    }
}

/// Why a connection could not be attached.
enum Attach {
    Db(postgres::Error),
    Held,
}

/// A sealed record in the table's types.
struct Sealed<'a> {
    seq: i64,
    line: &'a str,
    hash: &'a str,
    prev: &'a str,
}

impl Sink for PostgresLedger {
    fn head(&self) -> Result<Head, LedgerError> {
        let mut state = self.state();
        let (client, _) = self.attach(&mut state, "open the ledger")?;
        let head = self.table_head(client);
        if client.is_closed() {
            state.client = None;
        }
        let head = head.map_err(|error| {
            self.error(format!(
                "could not read the writer's last record: {}",
                sql::describe(&error)
            ))
        })?;
        state.stored = (head.records > 0).then(|| (head.records, head.hash.clone()));
        Ok(head)
    }

    fn store(&self, sealed: SealedRecord<'_>) -> Result<(), LedgerError> {
        let record = sealed.record;
        let seq = i64::try_from(record.seq)
            .map_err(|_| self.error(format!("record {} is past the table's seq", record.seq)))?;
        let row = Sealed {
            seq,
            line: sealed.line,
            hash: &record.hash,
            prev: &record.prev,
        };
        let what = format!("store record {}", record.seq);
        let mut state = self.state();
        let (client, insert) = self.attach(&mut state, &what)?;
        let stored = match self.insert(client, &insert, &row) {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.diverged(client, &row)),
            Err(error) if client.is_closed() || error.as_db_error().is_none() => {
                // The connection went away (or is going), perhaps after the commit: reconnect,
                // and store the record only if it is not there already.
                state.client = None;
                let first = sql::describe(&error);
                let (client, insert) = self.attach(&mut state, &what).map_err(|again| {
                    self.error(format!(
                        "could not {what}: {first}; reconnecting failed: {again}"
                    ))
                })?;
                match self.stored_hash(client, seq) {
                    Ok(Some(hash)) if hash == record.hash => Ok(()),
                    Ok(Some(_)) => Err(self.diverged(client, &row)),
                    Ok(None) => match self.insert(client, &insert, &row) {
                        Ok(true) => Ok(()),
                        Ok(false) => Err(self.diverged(client, &row)),
                        Err(error) => {
                            Err(self.error(format!("could not {what}: {}", sql::describe(&error))))
                        }
                    },
                    Err(error) => {
                        Err(self.error(format!("could not {what}: {}", sql::describe(&error))))
                    }
                }
            }
            Err(error) => Err(self.error(format!("could not {what}: {}", sql::describe(&error)))),
        };
        if state.client.as_ref().is_some_and(Client::is_closed) {
            state.client = None;
        }
        if stored.is_ok() {
            state.stored = Some((record.seq, record.hash.clone()));
        }
        stored
    }

    /// With [`Commit::Asynchronous`], waits until every record stored so far is on the
    /// server's disk, and checks that the table still ends on this ledger's last record (a
    /// crash of the server may have lost it). With [`Commit::Synchronous`], each record
    /// already was.
    fn flush(&self) -> Result<(), LedgerError> {
        if self.commit == Commit::Synchronous {
            return Ok(());
        }
        let mut state = self.state();
        let stored = state.stored.clone();
        let (client, _) = self.attach(&mut state, "flush the ledger")?;
        // A transaction with an id commits with a WAL record; committed synchronously, it
        // returns once the WAL up to it (every earlier commit included) is on disk.
        let result = (|| {
            let mut tx = client.transaction()?;
            tx.execute("SET LOCAL synchronous_commit = on", &[])?;
            tx.execute("SELECT pg_catalog.txid_current()", &[])?;
            tx.commit()?;
            self.table_head(client)
        })();
        if client.is_closed() {
            state.client = None;
        }
        let head = result.map_err(|error| {
            self.error(format!(
                "could not flush the ledger: {}",
                sql::describe(&error)
            ))
        })?;
        match stored {
            Some((seq, hash)) if head.records != seq || head.hash != hash => {
                Err(self.error(format!(
                    "the table's chain of writer `{}` ends at seq {}, not at this ledger's last \
                     record {seq}: acknowledged records were lost (a crash of the server under \
                     asynchronous commit) or another ledger wrote this writer's chain",
                    self.writer.escape_debug(),
                    head.records
                )))
            }
            _ => Ok(()),
        }
    }
}

/// What verifying one writer's chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriterVerdict {
    /// The writer id.
    pub writer: String,
    /// The chain's report; or [`LedgerError::Broken`] whose `line` is the `seq` of the row
    /// where the chain breaks and whose `problem` names the writer and that `seq`.
    pub outcome: Result<Report, LedgerError>,
}

/// Verifies the chains of the `ledger` table in `schema`: every writer's (or only `writer`'s,
/// when given), each streamed in `seq` order through the library's verifier
/// ([`verify_reader`]), exactly as a ledger file is verified: every row's line parses, `seq`
/// counts up from 1, each `prev` is the previous record's hash, each hash matches the stored
/// bytes, and with `key` each checkpoint's signature verifies under it. A row edited, deleted,
/// moved or copied breaks its writer's chain at that row.
///
/// One verdict per writer, in writer order (a named writer with no rows gets an empty
/// report); a chain that does not verify is a verdict, not an error. `Err` is for a table
/// that cannot be read (PostgreSQL unreachable, no such table). Reads only; takes no lock, so
/// it may run while the writers write (each chain is read in one snapshot).
///
/// ```no_run
/// use agentwarrant_postgres::verify_ledger;
///
/// for verdict in verify_ledger("postgresql://auditor:secret@db.internal/agents", "agentwarrant", None, None)? {
///     match verdict.outcome {
///         Ok(report) => println!("{}: {} records, head {}", verdict.writer, report.head.records, report.head.hash),
///         Err(broken) => println!("{}: {broken}", verdict.writer),
///     }
/// }
/// # Ok::<(), agentwarrant::LedgerError>(())
/// ```
pub fn verify_ledger(
    connection: &str,
    schema: &str,
    writer: Option<&str>,
    key: Option<&VerifyingKey>,
) -> Result<Vec<WriterVerdict>, LedgerError> {
    let table = sql::qualified(schema, "ledger");
    let fail = |message: String| LedgerError::other(&table, message);
    if let Some(problem) = sql::identifier_problem(schema) {
        return Err(fail(format!(
            "schema `{}`: {problem}",
            schema.escape_debug()
        )));
    }
    if let Some(problem) = writer.and_then(writer_problem) {
        return Err(fail(format!("writer: {problem}")));
    }
    let mut config: Config = connection.parse().map_err(|error: postgres::Error| {
        fail(format!("the connection string does not parse: {error}"))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    let mut client = config.connect(NoTls).map_err(|error| {
        fail(format!(
            "PostgreSQL is unreachable: {}",
            sql::describe(&error)
        ))
    })?;
    let read =
        |error: postgres::Error| fail(format!("cannot read the table: {}", sql::describe(&error)));
    let writers: Vec<String> = match writer {
        Some(writer) => vec![writer.to_owned()],
        // Each distinct writer by one index probe (the primary key), not a scan of every row.
        None => client
            .query(
                format!(
                    "WITH RECURSIVE w(writer) AS (\
                       SELECT min(writer) FROM {table} \
                       UNION ALL SELECT (SELECT min(writer) FROM {table} WHERE writer > w.writer) \
                       FROM w WHERE w.writer IS NOT NULL) \
                     SELECT writer FROM w WHERE writer IS NOT NULL"
                )
                .as_str(),
                &[],
            )
            .map_err(read)?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(read)?,
    };
    let mut verdicts = Vec::with_capacity(writers.len());
    for writer in writers {
        let outcome = verify_writer(&mut client, &table, &writer, key).map_err(read)?;
        verdicts.push(WriterVerdict { writer, outcome });
    }
    Ok(verdicts)
}

/// One writer's chain through the verifier; `Err` only when the table cannot be read.
fn verify_writer(
    client: &mut Client,
    table: &str,
    writer: &str,
    key: Option<&VerifyingKey>,
) -> Result<Result<Report, LedgerError>, postgres::Error> {
    let mut tx = client
        .build_transaction()
        .read_only(true)
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .start()?;
    let statement = tx.prepare(
        format!("SELECT seq, line FROM {table} WHERE writer = $1 ORDER BY seq").as_str(),
    )?;
    let portal = tx.bind(&statement, &[&writer])?;
    let mut rows = Rows {
        tx: &mut tx,
        portal: &portal,
        buffer: Vec::new(),
        at: 0,
        seq: 0,
        pending: VecDeque::new(),
        done: false,
        error: None,
    };
    let verdict = verify_reader(&mut rows, key);
    let (seq, error) = (rows.seq, rows.error.take());
    if let Some(error) = error {
        return Err(error);
    }
    drop(portal);
    tx.commit()?;
    Ok(verdict.map_err(|(line, problem)| {
        // `line` counts the rows read; `seq` is the table's seq of the last row read, the one
        // holding the broken line.
        let at = if line == u64::try_from(seq).unwrap_or(0) {
            String::new()
        } else {
            format!(" (row {line} of the chain)")
        };
        LedgerError::Broken {
            path: label(table, writer).into(),
            line: u64::try_from(seq).unwrap_or(0),
            problem: format!(
                "writer `{}` seq {seq}{at}: {problem}",
                writer.escape_debug()
            ),
        }
    }))
}

/// A writer's rows as the lines of a ledger file: each row's line and a newline, fetched
/// from a portal a batch at a time, so verifying holds one batch, not the table.
struct Rows<'t, 'c> {
    tx: &'t mut postgres::Transaction<'c>,
    portal: &'t postgres::Portal,
    /// The current row's line and newline.
    buffer: Vec<u8>,
    /// How much of `buffer` was read.
    at: usize,
    /// The `seq` column of the row in `buffer`.
    seq: i64,
    /// The rows of the batch fetched, not yet read: `seq` and line.
    pending: VecDeque<(i64, String)>,
    /// The portal has no more rows.
    done: bool,
    /// Why the table could not be read (reported as such, not as a broken chain).
    error: Option<postgres::Error>,
}

impl Rows<'_, '_> {
    /// Moves to the next row (fetching the next batch when the last is used up); `false` at
    /// the end.
    fn next_row(&mut self) -> io::Result<bool> {
        if self.pending.is_empty() && !self.done {
            let fetched = self
                .tx
                .query_portal_raw(self.portal, VERIFY_BATCH)
                .and_then(|rows| {
                    rows.map(|row| Ok((row.try_get::<_, i64>(0)?, row.try_get::<_, String>(1)?)))
                        .collect::<Vec<_>>()
                });
            match fetched {
                Ok(fetched) => {
                    self.done = fetched.len() < VERIFY_BATCH as usize;
                    self.pending.extend(fetched);
                }
                Err(error) => {
                    let message = sql::describe(&error);
                    self.error = Some(error);
                    return Err(io::Error::other(message));
                }
            }
        }
        let Some((seq, line)) = self.pending.pop_front() else {
            return Ok(false);
        };
        self.seq = seq;
        self.buffer.clear();
        self.buffer.extend_from_slice(line.as_bytes());
        self.buffer.push(b'\n');
        self.at = 0;
        Ok(true)
    }
}

impl Read for Rows<'_, '_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Rows<'_, '_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at >= self.buffer.len() && !self.next_row()? {
            return Ok(&[]);
        }
        Ok(&self.buffer[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.buffer.len());
    }
}

/// The name the writer's advisory lock is hashed from: unambiguous for any schema and id.
fn lock_name(schema: &str, writer: &str) -> String {
    format!("agentwarrant.ledger:{}:{schema}:{writer}", schema.len())
}

/// What errors name: the table and the writer.
fn label(table: &str, writer: &str) -> String {
    format!("{table} writer `{}`", writer.escape_debug())
}

/// Why `writer` cannot be a writer id, if it cannot.
fn writer_problem(writer: &str) -> Option<&'static str> {
    if writer.is_empty() {
        Some("it is empty")
    } else if writer.len() > MAX_WRITER_BYTES {
        Some("it is longer than 256 bytes")
    } else if writer.contains('\0') {
        Some("it contains NUL, which PostgreSQL text cannot hold")
    } else {
        None
    }
}
