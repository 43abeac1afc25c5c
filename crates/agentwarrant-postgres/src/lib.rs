//! PostgreSQL for agentwarrant: just-in-time database credentials, the kill switch and token
//! revocations shared by a fleet of guards, deferred approvals, and the ledger in a table.
//!
//! [`PostgresBroker`] is a [`CredentialBroker`](agentwarrant::CredentialBroker): every task a
//! guard begins gets a PostgreSQL login role of its own, with a random password, valid until
//! the task's grant expires and holding only the privileges its scopes map to (a mapping you
//! configure: scope → `GRANT` on schemas, tables or columns). Ending the task terminates the
//! role's sessions and drops it; [`PostgresBroker::reap`] removes roles a crashed process left
//! behind. If PostgreSQL cannot be reached, the task does not begin
//! (`credential_unavailable`); a role that cannot be dropped is kept by the guard and dropped
//! by a later [`Guard::retry_revocations`](agentwarrant::Guard::retry_revocations).
//!
//! ```no_run
//! use agentwarrant::{Guard, Identity, Intent, Role};
//! use agentwarrant_postgres::{Object, PostgresBroker, Privilege};
//!
//! let broker = PostgresBroker::builder("postgresql://broker:secret@127.0.0.1:5432/shop")
//!     .grant("db.read:sales.orders", [Privilege::Select], Object::table("sales", "orders"))
//!     .grant(
//!         "db.read:sales.customers",
//!         [Privilege::Select],
//!         Object::columns("sales", "customers", ["id", "country"]),
//!     )
//!     .build()?;
//! let guard = Guard::builder().credential_broker(broker).build()?;
//!
//! let identity = Identity::builder("agent://acme/reports", Role::Executor, "alice@acme.com")
//!     .ceiling(["db.read:*"])
//!     .build()?;
//! let intent = Intent::builder("orders per country").scopes(["db.read:sales.*"]).build()?;
//! let task = guard.begin(identity, intent)?;
//! if let Some(login) = task.credential() {
//!     // `dsn` names the host, port, database and role; the secret is the password.
//!     let dsn = format!("{} password={}", login.attributes()["dsn"].as_str().unwrap_or(""), login.secret());
//!     # let _ = dsn;
//! }
//! task.end()?; // the role is gone, and so are its sessions
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`PostgresRevocations`] is a [`RevocationStore`](agentwarrant::RevocationStore) shared by
//! every process of a fleet: an identity switched off with
//! [`Guard::disable_identity`](agentwarrant::Guard::disable_identity) in one process is refused
//! in all of them, pushed by `LISTEN/NOTIFY` and re-read by a bounded poll; while the store
//! cannot be read, calls are refused (`store_unavailable`).
//!
//! [`PostgresApprovals`] is an [`ApprovalStore`](agentwarrant::ApprovalStore) on a table: a call
//! paused in one process is answered from any other (`agentwarrant approvals`), a run waiting
//! for the answer (`Task::wait_for`) is woken by `NOTIFY` and re-reads on a bounded poll, and a
//! ticket is claimed by exactly one worker. See `docs/scaling.md` and `scripts/fleet-demo.sh`,
//! one session across three processes.
//!
//! [`PostgresLedger`] is a [`Sink`](agentwarrant::ledger::Sink) storing the ledger in a table,
//! one row per record and one hash chain per writer (each process its own writer id). It is
//! wrapped in a [`SinkLedger`](agentwarrant::ledger::SinkLedger), which seals every record and
//! signs checkpoints exactly as a file ledger does; [`PostgresLedger::open`] returns it. A
//! record that cannot be stored refuses the call it records. [`verify_ledger`] checks every
//! writer's chain with the library's verifier, and so does
//! `agentwarrant verify postgresql://...` (the CLI's `postgres` feature).
//!
//! ```no_run
//! use agentwarrant::ledger::{CheckpointKey, VerifyingKey};
//! use agentwarrant::Guard;
//! use agentwarrant_postgres::{verify_ledger, Commit, PostgresLedger};
//!
//! let url = "postgresql://guard:secret@db.internal/agents";
//! let key = CheckpointKey::generate();
//! let public: VerifyingKey = key.verifying_key();
//! let ledger = PostgresLedger::builder(url)
//!     .writer("worker-1")
//!     .commit(Commit::Synchronous)
//!     .build()?
//!     .open_with_checkpoints(key, 1000)?;
//! let guard = Guard::builder().ledger(ledger).build()?;
//! // ... tasks run; later, anywhere:
//! for verdict in verify_ledger(url, "agentwarrant", None, Some(&public))? {
//!     assert!(verdict.outcome.is_ok(), "{}: {:?}", verdict.writer, verdict.outcome);
//! }
//! # drop(guard);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod approvals;
mod broker;
mod error;
mod ledger;
mod listen;
mod privilege;
mod revocations;
mod sql;

pub use approvals::{PostgresApprovals, PostgresApprovalsBuilder};
pub use broker::{PostgresBroker, PostgresBrokerBuilder, Reaper};
pub use error::BuildError;
pub use ledger::{verify_ledger, Commit, PostgresLedger, PostgresLedgerBuilder, WriterVerdict};
pub use privilege::{Object, Privilege};
pub use revocations::{PostgresRevocations, PostgresRevocationsBuilder};
