//! [`PostgresApprovals`]: deferred approval requests in a table, answered from any process.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use agentwarrant::{
    ApprovalAnswer, ApprovalStore, ApprovalStoreError, ApprovalStoreErrorKind, TaskId, Ticket,
    TicketId, TicketState,
};
use postgres::{Client, Config, NoTls};

use crate::error::BuildError;
use crate::sql;

/// An [`ApprovalStore`] on a PostgreSQL table, shared by every process of a fleet: a call
/// paused in one process (`Task::submit`) is listed and answered from any other (a CLI, a web
/// page), and the run resumes where it paused (`Task::resume`). Answering sends a `NOTIFY` on
/// the channel `agentwarrant.approvals.<schema>` with the ticket id, for a waiter that
/// `LISTEN`s.
///
/// The first answer stands: two people answering at once, one wins (the update is
/// conditional on the ticket having no answer). The store only files answers; the engine
/// checks every answer when the run resumes, so the table cannot approve a call on its own.
/// PostgreSQL unreachable: the operation fails with `approval_store_unavailable`, and a call
/// that needed to file its request is refused.
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
        let statement = format!(
            "SELECT task_id, answer, closed_at IS NOT NULL FROM {} WHERE ticket = $1",
            self.table()
        );
        let id = ticket.to_string();
        let row = self.with_client("read a ticket", |client| {
            client
                .query_opt(statement.as_str(), &[&id])?
                .map(|row| {
                    Ok::<_, postgres::Error>((
                        row.try_get::<_, String>(0)?,
                        row.try_get::<_, Option<String>>(1)?,
                        row.try_get::<_, bool>(2)?,
                    ))
                })
                .transpose()
        })?;
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
            .map_err(|error| {
                unavailable(format!("ticket {ticket}'s answer is damaged: {error}"))
            })?;
        Ok(TicketState::Open { task_id, answer })
    }

    fn close(&self, ticket: TicketId) -> Result<(), ApprovalStoreError> {
        let statement = format!(
            "UPDATE {} SET closed_at = now() WHERE ticket = $1 AND closed_at IS NULL",
            self.table()
        );
        let id = ticket.to_string();
        self.with_client("close a ticket", |client| {
            client.execute(statement.as_str(), &[&id])
        })?;
        Ok(())
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

    /// Checks the configuration; does not connect.
    pub fn build(self) -> Result<PostgresApprovals, BuildError> {
        let mut config: Config = self.connection.parse().map_err(|error: postgres::Error| {
            BuildError::InvalidConnection {
                message: error.to_string(),
            }
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
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

fn error(kind: ApprovalStoreErrorKind, message: String) -> ApprovalStoreError {
    ApprovalStoreError { message, kind }
}

fn unavailable(message: String) -> ApprovalStoreError {
    error(ApprovalStoreErrorKind::Unavailable, message)
}

fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}
