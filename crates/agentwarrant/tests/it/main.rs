//! The integration suite of `agentwarrant`: one binary, one module per behaviour.
//!
//! Every test drives the public API the way a user would (a real `Guard`, the real regorus
//! engine, real ledgers and files) and is named after the behaviour it pins.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

// Shared tools, identities and approvers; not a test module.
mod fixtures;

// Custom modules: on the RVM when nothing in them can raise, else on the interpreter.
mod custom_rules_run_fast_and_fail_closed;

// One call through the whole pipeline: allow, approve, refuse, run, abandon, nest.
mod pipeline_flows;

// Malformed calls, broken policies, runaway policies and dead grants are refusals, never panics.
mod bad_input_fails_closed;

// The engine's own checks on approvals, which no policy can weaken.
mod approval_is_bound_and_checked;

// Deferred approvals: the run pauses with a ticket, a human answers later, the run resumes.
mod approvals_wait_for_people;

// Escalation: a separate, approved, time-boxed grant under an escalation identity.
mod escalation_is_approved_and_time_boxed;

// Grant renewal: through the policy, and a human where it asks; never for a dead grant.
mod grants_are_renewed_through_the_policy;

// Just-in-time credentials: minted for one task's grant, revoked at its end, never dropped.
mod credentials_are_minted_for_one_task;

// Declassification: a label goes only by an explicit, approved, ledgered call.
mod labels_clear_only_by_approved_declassification;

// Standing approvals: later calls like an approved one, bounded by count, time and scope.
mod standing_approvals_are_bounded;

// The hash-chained ledger: what it records, and that every kind of tampering is found.
mod ledger_is_tamper_evident;

// Secrets found by their shape are redacted before a record is written; look-alikes are not.
mod secrets_are_redacted_before_they_are_recorded;

// A file ledger rotated by size or time: one chain across numbered files, verified and read
// from the directory or the active file; files out of order or missing are named.
mod rotated_ledgers_chain_across_files;

// Labels, delegation, revocation and call counts across a task tree.
mod chain_tracks_the_task_tree;

// Chain tokens: a task's chain continued by a guard in another process, depth, scopes, labels
// and the identities above carried over; bad tokens refused.
mod chain_continues_across_processes;

// Tasks and calls as OpenTelemetry GenAI spans, decisions and approvals as metric events.
mod spans_follow_tasks_and_calls;

// Every error code of the library is documented in `docs/errors.md`, and only those.
mod error_codes_are_documented;

// Grants and warrants as EdDSA JWTs: minted, verified with the JWKS, rotated, revoked, and
// every bad token refused with its code.
mod grant_tokens_are_standard_jwts;

// Property tests: scope matching against a reference glob, ledger verification.
mod properties;

// The library's modules import only from the layers below their own (docs/architecture.md).
mod modules_import_only_from_below;

// Ways around the guard, each refused: state changing while a human decides, look-alike
// people, the delegation chain, parallel calls, nested delegation, misconfiguration.
mod nothing_gets_past_the_guard;

// The kill switch through a revocation store shared by several guards (processes): thrown in
// one, it refuses the others' calls; a store that cannot answer refuses them too.
mod kill_switch_is_shared_through_the_store;
