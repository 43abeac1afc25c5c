//! The PostgreSQL broker against a real server. `scripts/postgres.sh start` starts one and
//! `scripts/test.sh` exports its URL as `AGENTWARRANT_TEST_POSTGRES_URL`; without it the tests
//! say so and pass, except under CI (`CI` set), where a missing server fails them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

// The server, schemas, guard and logins the modules share; not a test module.
#[macro_use]
mod support;

// A login reads and writes exactly what its grant's scopes map to.
mod credentials_reach_only_what_their_scopes_map_to;

// Ending a task terminates its sessions and drops its role; renewing moves its validity.
mod ended_tasks_lose_their_logins_and_sessions;

// An expired grant's role cannot log in.
mod expired_grants_cannot_log_in;

// Roles a killed process left behind are reaped once they expire, and nothing else is.
mod roles_left_behind_are_reaped;

// Quotes, semicolons and SQL in ids, scopes and names are data, never statements.
mod hostile_names_stay_inert;

// PostgreSQL down at a task's start or end: refused closed, revoked later, nothing lost.
mod an_unreachable_server_fails_closed;

// The kill switch and revoked tokens of a fleet: pushed to every process by NOTIFY, caught by
// the poll when a notification is lost, refused closed while the store cannot be read.
mod kill_switch_reaches_every_process;

// Deferred approvals in a table: answered from another process, the first answer standing.
mod approvals_are_answered_from_anywhere;

// Waiting for an approval: woken by NOTIFY, caught by the poll when a notification is lost,
// refused when the waiter's connection is killed; a ticket taken up by exactly one worker.
mod approval_waiters_are_woken_and_claim_once;
// The ledger in a table: chained, signed and verified per writer; rows edited by hand found;
// PostgreSQL going away refuses the calls it cannot record.
mod the_ledger_in_a_table_verifies_and_shows_edits;
