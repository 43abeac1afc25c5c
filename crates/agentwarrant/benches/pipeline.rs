//! The cost of the guard against the policy evaluation it wraps, on the fixed workload of
//! `workload/mod.rs` (default bundle, executor identity, 10 tools, 50 calls of ~1 KiB args).
//!
//! - `floor/rvm`: bare regorus, the same compiled program on the same input documents;
//!   `floor/interpreter` for reference;
//! - `guard_memory`, `guard_file/os`, `guard_file/batch`: `authorize` + `complete`;
//! - `stage/*`: validate, chain, input, policy, ledger on their own;
//! - `threads/1`, `threads/2`: calls on one shared guard, one task per thread (throughput);
//! - `begin_end`: a task's begin and end (grant issue and revoke).
//!
//! `cargo bench -p agentwarrant --bench pipeline`; the short report with ratios is
//! `cargo run --release -p agentwarrant-bench`.
#![allow(missing_docs)] // criterion's macros generate undocumented items
#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench that cannot set up should stop

mod workload;

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentwarrant::{Durability, FileLedger, Guard, Ledger, MemoryLedger, Outcome, Task, ToolCall};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Calls per guard before it is replaced (outside the timed region), so that a memory ledger
/// or a ledger file does not grow without bound over a long run.
const ROTATE: u64 = 20_000;

/// A guard, a task on it, and where the task is in the workload.
struct Rig {
    _guard: Guard,
    task: Task,
    next: usize,
    done: u64,
    _dir: Option<tempfile::TempDir>,
}

impl Rig {
    fn new(ledger: &dyn Fn(Option<&PathBuf>) -> Arc<dyn Ledger>, file: bool) -> Self {
        let dir = file.then(|| tempfile::tempdir().unwrap());
        let path = dir.as_ref().map(|d| d.path().join("ledger.jsonl"));
        let guard = workload::guard(ledger(path.as_ref()));
        let task = guard
            .begin(workload::identity(), workload::intent())
            .unwrap();
        Self {
            _guard: guard,
            task,
            next: 0,
            done: 0,
            _dir: dir,
        }
    }
}

/// Times `authorize` + `complete` of the workload's calls, cycling through the task's 50.
fn bench_guard(
    c: &mut Criterion,
    name: &str,
    file: bool,
    ledger: impl Fn(Option<&PathBuf>) -> Arc<dyn Ledger>,
) {
    let calls = workload::calls();
    c.bench_function(name, |b| {
        let mut rig = Rig::new(&ledger, file);
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                if rig.done >= ROTATE {
                    rig = Rig::new(&ledger, file);
                }
                let n = left.min(ROTATE - rig.done);
                let batch: Vec<ToolCall> = (0..n)
                    .map(|k| calls[(rig.next + k as usize) % calls.len()].clone())
                    .collect();
                let started = Instant::now();
                for call in batch {
                    let warrant = rig.task.authorize(call).expect("the workload is allowed");
                    warrant.complete(Outcome::ok()).unwrap();
                }
                total += started.elapsed();
                rig.next += n as usize;
                rig.done += n;
                left -= n;
            }
            total
        });
    });
}

fn memory(_: Option<&PathBuf>) -> Arc<dyn Ledger> {
    Arc::new(MemoryLedger::new())
}

fn file_os(path: Option<&PathBuf>) -> Arc<dyn Ledger> {
    Arc::new(FileLedger::open_with(path.unwrap(), Durability::Os).unwrap())
}

fn floor(c: &mut Criterion) {
    let documents = workload::documents();
    let mut group = c.benchmark_group("floor");
    group.bench_function("rvm", |b| {
        let mut vm = workload::floor_vm();
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % documents.len();
            black_box(workload::floor_eval(&mut vm, &documents[i]))
        });
    });
    group.bench_function("interpreter", |b| {
        let mut engine = workload::floor_interpreter();
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % documents.len();
            black_box(workload::interpreter_eval(&mut engine, &documents[i]))
        });
    });
    group.finish();
}

fn guards(c: &mut Criterion) {
    bench_guard(c, "guard_memory", false, memory);
    bench_guard(c, "guard_file/os", true, file_os);
    bench_guard(c, "guard_file/batch", true, |path| {
        Arc::new(FileLedger::open_with(path.unwrap(), Durability::Batch).unwrap())
    });
}

fn stages(c: &mut Criterion) {
    let calls = workload::calls();
    let guard = workload::guard(MemoryLedger::new());
    let task = guard
        .begin(workload::identity(), workload::intent())
        .unwrap();
    let prepared: Vec<_> = calls
        .iter()
        .map(|call| task.bench_prepare(call).unwrap())
        .collect();
    let documents: Vec<_> = prepared.iter().map(|p| task.bench_input(p)).collect();
    let mut group = c.benchmark_group("stage");
    let mut i = 0;
    group.bench_function("validate", |b| {
        b.iter(|| {
            i = (i + 1) % calls.len();
            black_box(task.bench_validate(&calls[i]))
        });
    });
    group.bench_function("chain", |b| {
        b.iter(|| {
            i = (i + 1) % calls.len();
            task.bench_chain(&prepared[i]);
        });
    });
    group.bench_function("input", |b| {
        b.iter(|| {
            i = (i + 1) % calls.len();
            black_box(task.bench_input(&prepared[i]))
        });
    });
    group.bench_function("policy", |b| {
        b.iter(|| {
            i = (i + 1) % calls.len();
            black_box(task.bench_policy(documents[i].clone()))
        });
    });
    for (name, file) in [("ledger_memory", false), ("ledger_file_os", true)] {
        group.bench_function(name, |b| {
            let ledger: &dyn Fn(Option<&PathBuf>) -> Arc<dyn Ledger> =
                if file { &file_os } else { &memory };
            let mut rig = Rig::new(ledger, file);
            let mut prepared: Vec<_> = calls
                .iter()
                .map(|call| rig.task.bench_prepare(call).unwrap())
                .collect();
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    if rig.done >= ROTATE {
                        rig = Rig::new(ledger, file);
                        prepared = calls
                            .iter()
                            .map(|call| rig.task.bench_prepare(call).unwrap())
                            .collect();
                    }
                    let n = left.min(ROTATE - rig.done);
                    let batch: Vec<_> = (0..n as usize)
                        .map(|k| {
                            let call = &prepared[(rig.next + k) % prepared.len()];
                            (call, Task::bench_args(call))
                        })
                        .collect();
                    let started = Instant::now();
                    for (call, args) in batch {
                        black_box(rig.task.bench_ledger(call, args));
                    }
                    total += started.elapsed();
                    rig.next += n as usize;
                    rig.done += n;
                    left -= n;
                }
                total
            });
        });
    }
    group.finish();
}

fn threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("threads");
    for threads in [1usize, 2] {
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_function(threads.to_string(), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    // A fresh guard (and memory ledger) per chunk bounds the ledger's growth.
                    let guard = workload::guard(MemoryLedger::new());
                    let n = left.min(ROTATE / threads as u64);
                    total += workload::guard_threads(&guard, threads, n as usize);
                    left -= n;
                }
                total
            });
        });
    }
    group.finish();
}

fn begin_end(c: &mut Criterion) {
    let identity = workload::identity();
    let intent = workload::intent();
    c.bench_function("begin_end", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let guard = workload::guard(MemoryLedger::new());
                let n = left.min(ROTATE);
                let inputs: Vec<_> = (0..n).map(|_| (identity.clone(), intent.clone())).collect();
                let started = Instant::now();
                for (identity, intent) in inputs {
                    guard.begin(identity, intent).unwrap().end().unwrap();
                }
                total += started.elapsed();
                left -= n;
            }
            total
        });
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = floor, guards, stages, threads, begin_end
}
criterion_main!(benches);
