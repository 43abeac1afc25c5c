//! [`PostgresApprovals`]: deferred approval requests in a table, answered from any process.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use agentwarrant::{
    ApprovalAnswer, ApprovalStore, ApprovalStoreError, ApprovalStoreErrorKind, TaskId, Ticket,
    TicketId, TicketState,
};
use postgres::{Client, Config, NoTls};

use crate::error::BuildError;
use crate::sql::describe;
use crate::{listen, sql};

/// How often a waiter re-reads its ticket when no notification arrives, by default.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// An [`ApprovalStore`] on a PostgreSQL table, shared by every process of a fleet: a call
/// paused in one process (`Task::submit`) is listed and answered from any other (a CLI, a web
/// page), and the run resumes where it paused (`Task::resume`). Answering sends a `NOTIFY` on
/// the channel `agentwarrant.approvals.<schema>` with the ticket id, for a waiter that
/// `LISTEN`s.
///
/// The first answer stands: two people answering at once, one wins (the update is
/// conditional on the ticket having no answer). A ticket is claimed once: the run that takes
/// it up closes it with a conditional update that returns its answer, so of two workers
/// resuming it, in one process or two, one gets the answer and the other finds it closed. The
/// store only files answers; the engine checks every answer when the run resumes, so the
/// table cannot approve a call on its own. PostgreSQL unreachable: the operation fails with
/// `approval_store_unavailable`, and a call that needed to file its request is refused.
///
/// [`ApprovalStore::wait`] (behind `Task::wait_for`) holds a connection of its own that
/// `LISTEN`s on the channel: an answer (or a close) filed from any process wakes it at once,
/// and it re-reads the ticket every poll interval (default 1 s) in case a notification is lost.
/// If that connection is lost while waiting, the wait fails (`approval_store_unavailable`) and
/// the waiting call is refused with `store_unavailable`: it never assumes an answer.
///
/// ```no_run
/// use agentwarrant::{ApprovalStore, Guard};
/// use agentwarrant_postgres::PostgresApprovals;
///
/// let url = "postgresql://guard:secret@db.internal/agents";
/// let guard = Guard::builder()
///     .approval_store(PostgresApprovals::builder(url).build()?)
///     .build()?;
/// // Anywhere else:
/// let desk = PostgresApprovals::builder(url).build()?;
/// for ticket in desk.waiting()? {
///     desk.approve(ticket.id(), &["bob@acme.com"])?;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PostgresApprovals {
    config: Config,
    schema: String,
    channel: String,
    poll_interval: Duration,
    client: Mutex<Option<Client>>,
}

impl fmt::Debug for PostgresApprovals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresApprovals")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// Configures a [`PostgresApprovals`].
#[derive(Clone)]
pub struct PostgresApprovalsBuilder {
    connection: String,
    schema: String,
    poll_interval: Duration,
}

impl fmt::Debug for PostgresApprovalsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresApprovalsBuilder")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresApprovals {
    /// Starts configuring a store that connects with `connection` (a URL or a `key=value`
    /// string).
    pub fn builder(connection: impl Into<String>) -> PostgresApprovalsBuilder {
        PostgresApprovalsBuilder {
            connection: connection.into(),
            schema: "agentwarrant".to_owned(),
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }

    fn table(&self) -> String {
        sql::qualified(&self.schema, "approvals")
    }

    fn with_client<T>(
        &self,
        what: &str,
        work: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, ApprovalStoreError> {
        let mut slot = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_none_or(Client::is_closed) {
            *slot = None;
            let client = self
                .config
                .connect(NoTls)
                .and_then(|mut client| install(&mut client, &self.schema).map(|()| client))
                .map_err(|error| {
                    unavailable(format!(
                        "could not {what}: PostgreSQL is unreachable: {}",
                        describe(&error)
                    ))
                })?;
            *slot = Some(client);
        }
        let Some(client) = slot.as_mut() else {
            return Err(unavailable(format!("could not {what}: no connection")));
        };
        let result = work(client);
        if client.is_closed() {
            *slot = None;
        }
        result.map_err(|error| unavailable(format!("could not {what}: {}", describe(&error))))
    }
}

impl PostgresApprovals {
    /// Closes `ticket` if it is open, announcing it to waiters: `Some(answer)` when this call
    /// closed it, `None` when it was already closed or is unknown.
    // INVARIANT: conditional on `closed_at IS NULL` and returning the row, so exactly one of
    // any number of concurrent closers gets `Some` (PostgreSQL re-checks the condition on the
    // row's latest version after waiting for a concurrent update of it).
    fn close_returning(
        &self,
        ticket: TicketId,
        what: &str,
    ) -> Result<Option<Option<String>>, ApprovalStoreError> {
        let statement = format!(
            "UPDATE {} SET closed_at = now() WHERE ticket = $1 AND closed_at IS NULL RETURNING answer",
            self.table()
        );
        let id = ticket.to_string();
        self.with_client(what, |client| {
            let mut tx = client.transaction()?;
            let row = tx.query_opt(statement.as_str(), &[&id])?;
            let closed = row
                .map(|row| row.try_get::<_, Option<String>>(0))
                .transpose()?;
            if closed.is_some() {
                tx.execute("SELECT pg_catalog.pg_notify($1, $2)", &[&self.channel, &id])?;
            }
            tx.commit()?;
            Ok(closed)
        })
    }
}

impl ApprovalStore for PostgresApprovals {
    fn open(&self, ticket: &Ticket) -> Result<(), ApprovalStoreError> {
        let body = serde_json::to_string(ticket)
            .map_err(|error| unavailable(format!("could not encode ticket: {error}")))?;
        let statement = format!(
            "INSERT INTO {} (ticket, task_id, body) VALUES ($1, $2, $3)",
            self.table()
        );
        let (id, task) = (
            ticket.id().to_string(),
            ticket.request().task_id.to_string(),
        );
        self.with_client("file an approval request", |client| {
            client.execute(statement.as_str(), &[&id, &task, &body])
        })?;
        Ok(())
    }

    fn answer(&self, ticket: TicketId, answer: ApprovalAnswer) -> Result<(), ApprovalStoreError> {
        let answer = serde_json::to_string(&answer)
            .map_err(|error| unavailable(format!("could not encode the answer: {error}")))?;
        // INVARIANT: conditional on no answer and not closed, so the first answer stands even
        // when two people answer at once from two processes.
        let statement = format!(
            "UPDATE {} SET answer = $2, answered_at = now() \
             WHERE ticket = $1 AND answer IS NULL AND closed_at IS NULL",
            self.table()
        );
        let id = ticket.to_string();
        let filed = self.with_client("file an answer", |client| {
            let mut tx = client.transaction()?;
            let filed = tx.execute(statement.as_str(), &[&id, &answer])?;
            if filed == 1 {
                tx.execute("SELECT pg_catalog.pg_notify($1, $2)", &[&self.channel, &id])?;
            }
            tx.commit()?;
            Ok(filed)
        })?;
        if filed == 1 {
            return Ok(());
        }
        Err(match self.state(ticket)? {
            TicketState::Unknown => error(
                ApprovalStoreErrorKind::UnknownTicket,
                format!("no open approval request has ticket {ticket}"),
            ),
            TicketState::Closed { .. } => error(
                ApprovalStoreErrorKind::Closed,
                format!("ticket {ticket} was already taken up or abandoned"),
            ),
            _ => error(
                ApprovalStoreErrorKind::AlreadyAnswered,
                format!("ticket {ticket} already has its answer; the first answer stands"),
            ),
        })
    }

    fn state(&self, ticket: TicketId) -> Result<TicketState, ApprovalStoreError> {
        let row = self.with_client("read a ticket", |client| {
            read_state(client, &self.table(), ticket)
        })?;
        parse_state(ticket, row)
    }

    fn close(&self, ticket: TicketId) -> Result<(), ApprovalStoreError> {
        self.close_returning(ticket, "close a ticket")?;
        Ok(())
    }

    fn claim(&self, ticket: TicketId) -> Result<Option<ApprovalAnswer>, ApprovalStoreError> {
        match self.close_returning(ticket, "claim a ticket")? {
            Some(answer) => answer
                .map(|text| serde_json::from_str::<ApprovalAnswer>(&text))
                .transpose()
                .map_err(|error| {
                    unavailable(format!("ticket {ticket}'s answer is damaged: {error}"))
                }),
            None => Err(match self.state(ticket)? {
                TicketState::Unknown => error(
                    ApprovalStoreErrorKind::UnknownTicket,
                    format!("no open approval request has ticket {ticket}"),
                ),
                _ => error(
                    ApprovalStoreErrorKind::Closed,
                    format!("ticket {ticket} was already taken up or abandoned"),
                ),
            }),
        }
    }

    fn wait(&self, ticket: TicketId, timeout: Duration) -> Result<TicketState, ApprovalStoreError> {
        let deadline = Instant::now() + timeout;
        let lost = |error: postgres::Error| {
            unavailable(format!(
                "the connection waiting for ticket {ticket} was lost: {}",
                describe(&error)
            ))
        };
        let mut config = self.config.clone();
        config.application_name("agentwarrant-postgres approvals wait");
        let mut client = config.connect(NoTls).map_err(|error| {
            unavailable(format!(
                "could not wait for ticket {ticket}: PostgreSQL is unreachable: {}",
                describe(&error)
            ))
        })?;
        install(&mut client, &self.schema).map_err(lost)?;
        // Listening before the first read: an answer filed in between is seen by one or the
        // other, never by neither.
        listen::listen(&mut client, &self.channel).map_err(lost)?;
        let (table, id) = (self.table(), ticket.to_string());
        loop {
            let state = parse_state(
                ticket,
                read_state(&mut client, &table, ticket).map_err(lost)?,
            )?;
            let now = Instant::now();
            if !state.is_waiting() || now >= deadline {
                return Ok(state);
            }
            // Until a notification about this ticket, or the next poll.
            let poll = deadline.min(now + self.poll_interval);
            while let Some(payload) = listen::next(&mut client, poll).map_err(lost)? {
                if payload == id {
                    break;
                }
            }
        }
    }

    fn waiting(&self) -> Result<Vec<Ticket>, ApprovalStoreError> {
        let statement = format!(
            "SELECT body FROM {} WHERE answer IS NULL AND closed_at IS NULL ORDER BY seq",
            self.table()
        );
        let bodies: Vec<String> = self.with_client("list waiting tickets", |client| {
            client
                .query(statement.as_str(), &[])?
                .iter()
                .map(|row| row.try_get::<_, String>(0))
                .collect()
        })?;
        bodies
            .iter()
            .map(|body| {
                serde_json::from_str::<Ticket>(body)
                    .map_err(|error| unavailable(format!("a waiting ticket is damaged: {error}")))
            })
            .collect()
    }
}

impl PostgresApprovalsBuilder {
    /// The schema of the `approvals` table (default `agentwarrant`; created when missing).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// How often a waiter re-reads its ticket when no notification arrives (default 1 s): the
    /// longest a lost notification delays a waiting run.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Checks the configuration; does not connect.
    pub fn build(self) -> Result<PostgresApprovals, BuildError> {
        let config = sql::config(
            &self.connection,
            None,
            Some("agentwarrant-postgres approvals"),
        )?;
        if self.poll_interval.is_zero() {
            return Err(BuildError::InvalidStore {
                problem: "the poll interval must be above zero".to_owned(),
            });
        }
        let channel = format!("agentwarrant.approvals.{}", self.schema);
        if let Some(problem) = sql::identifier_problem(&self.schema)
            .or_else(|| sql::identifier_problem(&channel).map(|_| "it is longer than 40 bytes"))
        {
            return Err(BuildError::InvalidStore {
                problem: format!("schema `{}`: {problem}", self.schema.escape_debug()),
            });
        }
        Ok(PostgresApprovals {
            config,
            schema: self.schema,
            channel,
            poll_interval: self.poll_interval,
            client: Mutex::new(None),
        })
    }
}

fn install(client: &mut Client, schema: &str) -> Result<(), postgres::Error> {
    sql::install(
        client,
        schema,
        &["CREATE TABLE IF NOT EXISTS {schema}.\"approvals\" (\
           seq bigserial, ticket text PRIMARY KEY, task_id text NOT NULL, body text NOT NULL, \
           opened_at timestamptz NOT NULL DEFAULT now(), answer text, answered_at timestamptz, \
           closed_at timestamptz)"],
    )
}

/// The row of `ticket`: its task, its answer and whether it is closed.
fn read_state(
    client: &mut Client,
    table: &str,
    ticket: TicketId,
) -> Result<Option<(String, Option<String>, bool)>, postgres::Error> {
    let statement =
        format!("SELECT task_id, answer, closed_at IS NOT NULL FROM {table} WHERE ticket = $1");
    client
        .query_opt(statement.as_str(), &[&ticket.to_string()])?
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
        .transpose()
}

fn parse_state(
    ticket: TicketId,
    row: Option<(String, Option<String>, bool)>,
) -> Result<TicketState, ApprovalStoreError> {
    let Some((task_id, answer, closed)) = row else {
        return Ok(TicketState::Unknown);
    };
    let task_id: TaskId = task_id
        .parse()
        .map_err(|error| unavailable(format!("ticket {ticket} is damaged: {error}")))?;
    if closed {
        return Ok(TicketState::Closed { task_id });
    }
    let answer = answer
        .map(|text| serde_json::from_str::<ApprovalAnswer>(&text))
        .transpose()
        .map_err(|error| unavailable(format!("ticket {ticket}'s answer is damaged: {error}")))?;
    Ok(TicketState::Open { task_id, answer })
}

fn error(kind: ApprovalStoreErrorKind, message: String) -> ApprovalStoreError {
    ApprovalStoreError { message, kind }
}

fn unavailable(message: String) -> ApprovalStoreError {
    error(ApprovalStoreErrorKind::Unavailable, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_that_could_not_work_is_refused_at_build() {
        let url = "postgresql://u@127.0.0.1:1/db";
        let error = PostgresApprovals::builder(url)
            .poll_interval(Duration::ZERO)
            .build()
            .unwrap_err();
        assert_eq!(error.code(), "postgres_invalid_store");
        let error = PostgresApprovals::builder(url)
            .schema("x".repeat(41))
            .build()
            .unwrap_err();
        assert_eq!(error.code(), "postgres_invalid_store");
        assert!(PostgresApprovals::builder("not a url").build().is_err());
    }
}
