//! The fixed benchmark workload, shared by the criterion benches (`benches/pipeline.rs`) and the
//! bench report (`crates/agentwarrant-bench`), so both measure exactly the same thing.
//!
//! The default bundle, one executor identity, ten tools (reads, writes and external sinks), and a
//! task of 50 calls (25 reads, 15 writes, 10 sinks) whose args are about 1 KiB of JSON each.
//! Every call is allowed without approval: the guard measured is the path every routine call
//! takes. The call budget and cumulative-impact limits are raised so that long runs (1,000 calls
//! per task for the memory figure, millions under criterion) stay on that path.
#![allow(dead_code)] // each includer uses its own part of the workload

use std::sync::Barrier;
use std::time::{Duration, Instant};

use agentwarrant::{
    Guard, Identity, Impact, Intent, Ledger, Limits, Outcome, Role, ToolCall, ToolSpec,
};
use serde_json::{json, Value};

/// Calls in one task of the workload.
pub(crate) const CALLS_PER_TASK: usize = 50;

/// The identity every task runs as.
pub(crate) fn identity() -> Identity {
    Identity::builder(
        "agent://acme/bench-executor",
        Role::Executor,
        "alice@acme.com",
    )
    .ceiling([
        "files.read:*",
        "files.write:*",
        "code.search:*",
        "tickets.read:*",
        "tickets.write:*",
        "db.read:*",
        "git.write:*",
        "email.send:*",
        "http.post:*",
    ])
    .attribute("team", "platform")
    .build()
    .unwrap_or_else(|e| unreachable!("the workload identity is valid: {e}"))
}

/// The intent of every task: covers every scope the calls need, so nothing drifts.
pub(crate) fn intent() -> Intent {
    Intent::builder("triage the nightly build failures and report to the team")
        .scopes([
            "files.read:*",
            "files.write:src/*",
            "code.search:acme/*",
            "tickets.read:*",
            "tickets.write:BUILD-*",
            "db.read:*",
            "git.write:acme/*",
            "email.send:*@acme.com",
            "http.post:https://hooks.acme.com/*",
        ])
        .max_impact(Impact::Medium)
        .build()
        .unwrap_or_else(|e| unreachable!("the workload intent is valid: {e}"))
}

/// The ten tools.
pub(crate) fn tools() -> Vec<ToolSpec> {
    let low = |name: &str, scope: &str| ToolSpec::builder(name, Impact::Low).scope(scope);
    let medium = |name: &str, scope: &str| ToolSpec::builder(name, Impact::Medium).scope(scope);
    [
        low("read_file", "files.read:{path}"),
        low("list_dir", "files.read:{path}"),
        low("search_code", "code.search:{repo}"),
        low("read_ticket", "tickets.read:{ticket}").reads(["pii"]),
        low("query_db", "db.read:{table}"),
        medium("write_file", "files.write:{path}"),
        medium("update_ticket", "tickets.write:{ticket}"),
        medium("create_branch", "git.write:{repo}"),
        medium("send_email", "email.send:{to:email}")
            .external(true)
            .sink(true)
            .destination_arg("to")
            .sensitive_args(["body"]),
        medium("post_webhook", "http.post:{url:url}")
            .external(true)
            .sink(true)
            .destination_arg("url")
            .sensitive_args(["payload"]),
    ]
    .into_iter()
    .map(|b| {
        b.build()
            .unwrap_or_else(|e| unreachable!("the workload tools are valid: {e}"))
    })
    .collect()
}

/// The default bundle's limits, raised so that long runs stay allowed.
pub(crate) fn limits() -> Limits {
    Limits {
        max_calls: Some(1 << 40),
        max_impact_total: Some(1 << 28),
        ..Limits::default()
    }
}

/// A guard on the default bundle with the workload's tools and `ledger`, no approver.
pub(crate) fn guard(ledger: impl Ledger + 'static) -> Guard {
    build(builder().ledger(ledger))
}

/// The workload guard's builder, before its ledger.
pub(crate) fn builder() -> agentwarrant::GuardBuilder {
    Guard::builder()
        .default_policy()
        .limits(limits())
        .tools(tools())
}

/// Builds a workload guard.
pub(crate) fn build(builder: agentwarrant::GuardBuilder) -> Guard {
    builder
        .build()
        .unwrap_or_else(|e| unreachable!("the workload guard builds: {e}"))
}

/// Deterministic prose of exactly `len` bytes.
fn text(seed: usize, len: usize) -> String {
    const WORDS: [&str; 16] = [
        "build", "failed", "on", "the", "nightly", "runner", "after", "linking", "crate",
        "timeout", "retry", "cache", "miss", "artifact", "upload", "step",
    ];
    let mut out = String::with_capacity(len + 16);
    let mut i = seed;
    while out.len() < len {
        out.push_str(WORDS[i % WORDS.len()]);
        out.push(' ');
        i = i.wrapping_mul(31).wrapping_add(7);
    }
    out.truncate(len);
    out
}

/// Fields every call carries besides its own: about 300 bytes of nested metadata.
fn meta(i: usize) -> Value {
    json!({
        "request_id": format!("req-{i:06}-7f3a9c"),
        "attempt": i % 3 + 1,
        "labels": ["nightly", "ci", format!("shard-{}", i % 4)],
        "origin": {"agent": "bench-executor", "step": i, "trace": "4bf92f3577b34da6a3ce929d0e0e4736"},
        "dry_run": false,
    })
}

/// Call `i` of the 50: reads, writes and sinks interleaved, args about 1 KiB each.
pub(crate) fn call(i: usize) -> ToolCall {
    let i = i % CALLS_PER_TASK;
    // 25 reads, 15 writes, 10 sinks, in a fixed interleaving.
    let (tool, args) = match i % 10 {
        0 | 3 | 6 | 9 | 1 => match i % 5 {
            0 => (
                "read_file",
                json!({"path": format!("src/module_{i}.rs"), "range": {"start": 1, "end": 400}, "note": text(i, 620)}),
            ),
            1 => (
                "search_code",
                json!({"repo": "acme/platform", "query": text(i, 600), "limit": 20}),
            ),
            2 => (
                "read_ticket",
                json!({"ticket": format!("BUILD-{}", 1000 + i), "fields": ["title", "body", "comments"], "note": text(i, 600)}),
            ),
            3 => (
                "query_db",
                json!({"table": "ci_runs", "sql": text(i, 620), "params": [i, "nightly"]}),
            ),
            _ => (
                "list_dir",
                json!({"path": format!("src/dir_{i}"), "recursive": true, "note": text(i, 620)}),
            ),
        },
        2 | 5 | 8 => match i % 3 {
            0 => (
                "write_file",
                json!({"path": format!("src/fix_{i}.rs"), "content": text(i, 640)}),
            ),
            1 => (
                "update_ticket",
                json!({"ticket": format!("BUILD-{}", 1000 + i), "comment": text(i, 620), "status": "investigating"}),
            ),
            _ => (
                "create_branch",
                json!({"repo": "acme/platform", "branch": format!("fix/nightly-{i}"), "description": text(i, 600)}),
            ),
        },
        _ => match i % 2 {
            0 => (
                "send_email",
                json!({"to": format!("team{}@acme.com", i % 5), "subject": "nightly build report", "body": text(i, 620)}),
            ),
            _ => (
                "post_webhook",
                json!({"url": format!("https://hooks.acme.com/ci/{}", i % 3), "payload": {"text": text(i, 600), "channel": "#ci"}}),
            ),
        },
    };
    let mut args = args;
    if let Value::Object(map) = &mut args {
        map.insert("meta".into(), meta(i));
    }
    ToolCall::new(tool, args)
}

/// The 50 calls of one task.
pub(crate) fn calls() -> Vec<ToolCall> {
    (0..CALLS_PER_TASK).map(call).collect()
}

/// The 50 input documents the guard builds for the task's calls, in steady state (after one
/// pass over the task), as regorus values: what the floor evaluates.
pub(crate) fn documents() -> Vec<regorus::Value> {
    let guard = guard(agentwarrant::MemoryLedger::new());
    let task = guard
        .begin(identity(), intent())
        .unwrap_or_else(|e| unreachable!("the workload task begins: {e}"));
    for call in calls() {
        if let Ok(warrant) = task.authorize(call) {
            let _ = warrant.complete(agentwarrant::Outcome::ok());
        }
    }
    calls()
        .iter()
        .map(|call| {
            let prepared = task
                .bench_prepare(call)
                .unwrap_or_else(|| unreachable!("every workload call passes validation"));
            task.bench_input(&prepared)
        })
        .collect()
}

/// The policy's `data`, exactly as the guard compiles it.
fn policy_data() -> regorus::Value {
    regorus::Value::from(agentwarrant::bench::policy_data(&limits()))
}

/// A regorus engine holding the default bundle, the engine's wrapper module and the data.
fn floor_engine() -> regorus::Engine {
    floor_engine_with(agentwarrant::DEFAULT_BUNDLE)
}

/// A regorus engine holding `bundle`, the engine's wrapper module and the data.
fn floor_engine_with(bundle: &str) -> regorus::Engine {
    let mut engine = regorus::Engine::new();
    let added = engine
        .add_policy("agentwarrant.rego".into(), bundle.into())
        .and_then(|_| {
            engine.add_policy(
                "agentwarrant_engine.rego".into(),
                agentwarrant::bench::ENGINE_MODULE.into(),
            )
        })
        .and_then(|_| engine.add_data(policy_data()));
    if let Err(e) = added {
        unreachable!("the default bundle loads: {e}");
    }
    engine
}

/// The floor: a bare regorus VM running the same compiled program as the guard, without
/// limits, timers or anything around it.
pub(crate) fn floor_vm() -> regorus::rvm::vm::RegoVM {
    floor_vm_with(agentwarrant::DEFAULT_BUNDLE)
}

/// A bare regorus VM running `bundle` (a policy in `package agentwarrant`) the way the floor
/// runs the default bundle.
pub(crate) fn floor_vm_with(bundle: &str) -> regorus::rvm::vm::RegoVM {
    let mut engine = floor_engine_with(bundle);
    let entry = agentwarrant::bench::ENTRY_POINT;
    let program = engine
        .compile_with_entrypoint(&entry.into())
        .map_err(|e| e.to_string())
        .and_then(|policy| {
            regorus::languages::rego::compiler::Compiler::compile_from_policy(&policy, &[entry])
                .map_err(|e| e.to_string())
        })
        .unwrap_or_else(|e| unreachable!("the default bundle compiles to the RVM: {e}"));
    let mut vm = regorus::rvm::vm::RegoVM::new();
    vm.load_program(program);
    if let Err(e) = vm.set_data(policy_data()) {
        unreachable!("the data loads: {e}");
    }
    vm
}

/// One floor evaluation.
pub(crate) fn floor_eval(vm: &mut regorus::rvm::vm::RegoVM, document: &regorus::Value) -> bool {
    vm.set_input(document.clone());
    vm.execute().is_ok()
}

/// The interpreter on the same policy (for reference: what the RVM saves).
pub(crate) fn floor_interpreter() -> regorus::Engine {
    floor_engine()
}

/// One interpreter evaluation.
pub(crate) fn interpreter_eval(engine: &mut regorus::Engine, document: &regorus::Value) -> bool {
    engine.set_input(document.clone());
    engine
        .eval_rule(agentwarrant::bench::ENTRY_POINT.to_owned())
        .is_ok()
}

/// Starts `threads` threads together: each prepares its work with `prepare(thread index)`, all
/// wait at one barrier, then run it. Returns the time from the start until the last finishes.
pub(crate) fn timed_threads<W, P>(threads: usize, prepare: P) -> Duration
where
    W: FnOnce(),
    P: Fn(usize) -> W + Sync,
{
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, prepare) = (&barrier, &prepare);
                scope.spawn(move || {
                    let work = prepare(t);
                    barrier.wait();
                    work();
                    Instant::now()
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        let ended = handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .max()
            .unwrap_or(started);
        ended - started
    })
}

/// Runs `per_thread` workload calls on each of `threads` threads, one task each, on one shared
/// guard; the time until the last finishes.
pub(crate) fn guard_threads(guard: &Guard, threads: usize, per_thread: usize) -> Duration {
    let calls = calls();
    timed_threads(threads, |t| {
        let task = guard
            .begin(identity(), intent())
            .expect("the workload's task begins");
        let batch: Vec<ToolCall> = (0..per_thread)
            .map(|k| calls[(k + t * 7) % calls.len()].clone())
            .collect();
        move || {
            for call in batch {
                let warrant = task.authorize(call).expect("the workload is allowed");
                warrant.complete(Outcome::ok()).expect("the ledger records");
            }
        }
    })
}
