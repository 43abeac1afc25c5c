//! The bench report: `cargo run --release -p agentwarrant-bench` (`-- ledger` for the ledger
//! throughput table alone).
//!
//! Runs a short version of the criterion benches' workload (`crates/agentwarrant/benches`),
//! the floor (bare regorus) and the guard interleaved in the same run, and prints one table:
//! medians, p99, calls per second, and the ratios the performance targets are stated in; with
//! valgrind installed, also the instructions per call of the floor and the guard (callgrind).
//! Figures only: nothing here asserts a timing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a report that cannot set itself up should stop

mod alloc;
#[path = "../../agentwarrant/benches/workload/mod.rs"]
mod workload;

use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use agentwarrant::{
    Backend, Durability, FileLedger, Guard, GuardBuilder, Ledger, MemoryLedger, Outcome, Policy,
    Redaction, ToolCall,
};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// Interleaved rounds of the latency benches.
const ROUNDS: usize = 7;
/// Timed calls per bench per round (after `WARMUP` untimed ones).
const CALLS: usize = 2_000;
const WARMUP: usize = 200;
/// Calls per thread in the throughput runs.
const THREAD_CALLS: usize = 10_000;
/// Calls per ledger throughput run (two records each); `Sync` syncs every record, so fewer.
const LEDGER_CALLS: usize = 5_000;
const LEDGER_SYNC_CALLS: usize = 300;

/// Per-call latencies of one bench, in nanoseconds.
#[derive(Default)]
struct Samples(Vec<u64>);

impl Samples {
    fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = f();
        self.0
            .push(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX));
        out
    }

    fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return f64::NAN;
        }
        let at = ((sorted.len() - 1) as f64 * q).round() as usize;
        sorted[at.min(sorted.len() - 1)] as f64 / 1_000.0
    }

    fn median_us(&self) -> f64 {
        self.quantile(0.5)
    }

    fn p99_us(&self) -> f64 {
        self.quantile(0.99)
    }
}

/// A guard, its ledger's temp dir (if any), and a task on it.
struct Rig {
    task: agentwarrant::Task,
    guard: Guard,
    _dir: Option<tempfile::TempDir>,
}

fn rig(durability: Option<Durability>) -> Rig {
    rig_with(durability, true)
}

/// A rig whose guard records (or not) each decision's policy input.
fn rig_with(durability: Option<Durability>, inputs: bool) -> Rig {
    rig_on(workload::builder().record_policy_inputs(inputs), durability)
}

/// A custom rule as users write one, its amount's type checked: it passes the vetting, so the
/// default bundle with it runs on the RVM.
const CUSTOM_VETTED: &str = include_str!("../../agentwarrant/policies/tests/amount_checked.rego");

/// The same rule through `to_number`, which can raise: the policy runs on the interpreter.
const CUSTOM_RAISING: &str = include_str!("../../agentwarrant/policies/tests/amount_raising.rego");

/// A memory-ledger rig on the default bundle plus `module`, on the evaluator it gets.
fn custom_rig(module: &str, expected: Backend) -> Rig {
    let policy = Policy::default_bundle().with_module("custom.rego", module);
    let rig = rig_on(workload::builder().policy(policy), None);
    assert_eq!(rig.guard.policy().backend(), expected, "{module}");
    rig
}

/// A rig on `builder` with a memory ledger, or a file ledger of `durability`.
fn rig_on(builder: GuardBuilder, durability: Option<Durability>) -> Rig {
    let (ledger, dir): (Arc<dyn Ledger>, _) = match durability {
        None => (Arc::new(MemoryLedger::new()), None),
        Some(durability) => {
            let dir = tempfile::tempdir().unwrap();
            let ledger = FileLedger::open_with(dir.path().join("ledger.jsonl"), durability);
            (Arc::new(ledger.unwrap()), Some(dir))
        }
    };
    let guard = workload::build(builder.ledger(ledger));
    let task = guard
        .begin(workload::identity(), workload::intent())
        .unwrap();
    Rig {
        task,
        guard,
        _dir: dir,
    }
}

/// Runs `calls` workload calls (authorize + complete) on `rig`, timing each into `samples`.
fn guarded(rig: &Rig, calls: &[ToolCall], n: usize, samples: Option<&mut Samples>) {
    let batch: Vec<ToolCall> = (0..n).map(|i| calls[i % calls.len()].clone()).collect();
    let run = |call: ToolCall| {
        let warrant = rig.task.authorize(call).expect("the workload is allowed");
        warrant.complete(Outcome::ok()).unwrap();
    };
    match samples {
        Some(samples) => batch.into_iter().for_each(|c| samples.time(|| run(c))),
        None => batch.into_iter().for_each(run),
    }
}

/// Throughput (calls per second) of `threads` threads, one task each, on one shared guard.
fn throughput(threads: usize) -> f64 {
    let guard = workload::guard(MemoryLedger::new());
    let elapsed = workload::guard_threads(&guard, threads, THREAD_CALLS);
    (threads * THREAD_CALLS) as f64 / elapsed.as_secs_f64()
}

/// Throughput (evaluations per second) of the floor on `threads` threads, each with its own
/// VM, program and documents: what the machine allows the guard's scaling to reach.
fn floor_throughput(threads: usize) -> f64 {
    let elapsed = workload::timed_threads(threads, |_| {
        let documents = workload::documents();
        let mut vm = workload::floor_vm();
        move || {
            for doc in documents.iter().cycle().take(THREAD_CALLS) {
                black_box(workload::floor_eval(&mut vm, doc));
            }
        }
    });
    (threads * THREAD_CALLS) as f64 / elapsed.as_secs_f64()
}

/// Records per second through the guard's record path (redaction, sealing, the file) into a
/// file ledger of `durability`: the two records of an allowed call, `LEDGER_CALLS` times.
fn ledger_throughput(durability: Durability, redaction: Redaction) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let ledger = FileLedger::open_with(dir.path().join("ledger.jsonl"), durability).unwrap();
    let guard = Guard::builder()
        .default_policy()
        .limits(workload::limits())
        .tools(workload::tools())
        .ledger(ledger)
        .redaction(redaction)
        .build()
        .unwrap();
    let task = guard
        .begin(workload::identity(), workload::intent())
        .unwrap();
    let prepared: Vec<_> = workload::calls()
        .iter()
        .map(|c| task.bench_prepare(c).unwrap())
        .collect();
    let n = if durability == Durability::Sync {
        LEDGER_SYNC_CALLS
    } else {
        LEDGER_CALLS
    };
    let batch: Vec<_> = (0..n)
        .map(|i| {
            let call = &prepared[i % prepared.len()];
            (call, agentwarrant::Task::bench_args(call))
        })
        .collect();
    let started = Instant::now();
    for (call, args) in batch {
        assert!(task.bench_ledger(call, args), "the ledger records");
    }
    (2 * n) as f64 / started.elapsed().as_secs_f64()
}

/// The ledger throughput table: records per second per durability, redaction on and off
/// (best of three runs each). Also `agentwarrant-bench ledger` on its own.
fn ledger_table() {
    let modes = [
        ("os", Durability::Os),
        ("batch", Durability::Batch),
        ("sync", Durability::Sync),
    ];
    println!("  ledger throughput (records/s, file ledger, 1 thread, the record path of a call)");
    println!(
        "  {:<34} {:>14} {:>14}",
        "durability", "redaction on", "redaction off"
    );
    for (label, durability) in modes {
        let (mut on, mut off) = (0.0f64, 0.0f64);
        for _ in 0..3 {
            on = on.max(ledger_throughput(durability, Redaction::default()));
            off = off.max(ledger_throughput(durability, Redaction::off()));
        }
        println!("  {label:<34} {on:>14.0} {off:>14.0}");
    }
}

/// The system's load averages, to tell a quiet run from a busy one.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Live bytes a task retains after 1,000 calls (still open), with the given ledger.
fn retained_per_task(durability: Option<Durability>) -> isize {
    let rig = rig(durability);
    let calls = workload::calls();
    guarded(&rig, &calls, 100, None); // the pools and caches every guard warms up
    let (identity, intent) = (workload::identity(), workload::intent());
    alloc::counting(true);
    let before = alloc::live();
    let task = rig.guard.begin(identity, intent).unwrap();
    for i in 0..1_000 {
        // The call is built (and consumed) inside the measured region: only what stays counts.
        let call = calls[i % calls.len()].clone();
        let warrant = task.authorize(call).expect("the workload is allowed");
        warrant.complete(Outcome::ok()).unwrap();
    }
    let after = alloc::live();
    alloc::counting(false);
    drop(task);
    after - before
}

/// Live bytes of a guard built and warmed up (one call), then idle.
fn idle_guard() -> isize {
    let tools = workload::tools();
    alloc::counting(true);
    let before = alloc::live();
    let guard = Guard::builder()
        .default_policy()
        .limits(workload::limits())
        .tools(tools)
        .ledger(FileLedger::open("/dev/null").unwrap())
        .build()
        .unwrap();
    {
        let task = guard
            .begin(workload::identity(), workload::intent())
            .unwrap();
        let warrant = task.authorize(workload::call(0)).unwrap();
        warrant.complete(Outcome::ok()).unwrap();
    }
    let after = alloc::live();
    alloc::counting(false);
    drop(guard);
    after - before
}

fn kib(bytes: isize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn row(name: &str, samples: &Samples) {
    row_counted(name, samples, None);
}

/// A row, with the instructions per call callgrind counted (when it ran).
fn row_counted(name: &str, samples: &Samples, instructions: Option<u64>) {
    let median = samples.median_us();
    let counted = instructions.map_or_else(String::new, |n| format!("{n:>14}"));
    println!(
        "  {name:<34} {median:>9.2} {:>9.2} {:>12.0}{counted}",
        samples.p99_us(),
        1e6 / median
    );
}

/// Calls of the shorter and the longer callgrind run: multiples of the task's 50 calls, so
/// both runs see the same mix.
const COUNTED_CALLS: (usize, usize) = (500, 1_500);

/// Instructions of one `profile WHAT N` run of this binary under callgrind; `None` when
/// valgrind is not installed or the run fails.
fn callgrind_run(what: &str, n: usize) -> Option<u64> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args(["profile", what, &n.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    // `==PID== I   refs:      1,234,567`
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|line| line.split_once("I   refs:"))
        .and_then(|(_, count)| count.trim().replace(',', "").parse().ok())
}

/// Instructions per call of `profile WHAT`, counted by callgrind: the difference between a
/// run of 1,500 calls and one of 500, over 1,000, so that the setup both share cancels out.
/// Instruction counts do not depend on the machine's load, unlike the medians.
fn instructions_per_call(what: &str) -> Option<u64> {
    let (short, long) = COUNTED_CALLS;
    let (a, b) = (callgrind_run(what, short)?, callgrind_run(what, long)?);
    Some(b.saturating_sub(a) / u64::try_from(long - short).ok()?)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores, {}", std::env::consts::OS)
}

/// Runs the Python binding's overhead bench when the package is importable.
fn python() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../bindings/python/bench/overhead.py");
    let importable = Command::new("python3")
        .args(["-c", "import agentwarrant"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !importable {
        println!("  skipped: the Python package is not installed (`pip install bindings/python`)");
        return;
    }
    let output = if script.exists() {
        Command::new("python3").arg(&script).output()
    } else {
        Command::new("python3")
            .args(["-c", PYTHON_FALLBACK])
            .output()
    };
    match output {
        Ok(out) if out.status.success() => {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                println!("  {line}");
            }
            println!("  (target: guarded no-op call with the file ledger ≤ 15 µs median)");
        }
        Ok(out) => println!(
            "  the Python bench failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => println!("  could not run python3: {e}"),
    }
}

/// A guarded no-op with the file ledger, timed from Python, when the binding has no bench.
const PYTHON_FALLBACK: &str = r#"
import statistics, tempfile, time, pathlib
import agentwarrant as aw
with tempfile.TemporaryDirectory() as tmp:
    guard = aw.Guard(ledger=aw.FileLedger(pathlib.Path(tmp) / "a.jsonl"))
    tool = guard.tool(impact="low", scopes=["logs.read:{service}"])(lambda service: service)
    with guard.task(aw.Identity("agent://bench/a", owner="o@example.com", ceiling=["logs.read:*"]),
                    aw.Intent("bench", scopes=["logs.read:*"])):
        samples = []
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(150):
                tool("api")
            samples.append((time.perf_counter() - t) / 150 * 1e6)
print(f"guarded no-op, file ledger: {statistics.median(samples):.2f} µs median per call")
"#;

/// Sets up a bare VM for one variant of the floor.
type Configure = fn(&mut regorus::rvm::vm::RegoVM);

/// The guard's evaluation limits (instruction limit, timer checked every 256 units).
fn guard_limits(vm: &mut regorus::rvm::vm::RegoVM) {
    vm.set_max_instructions(2_000_000);
    vm.set_execution_timer_config(Some(regorus::utils::limits::ExecutionTimerConfig {
        limit: std::time::Duration::from_millis(250),
        check_interval: std::num::NonZeroU32::new(256).unwrap_or(std::num::NonZeroU32::MIN),
    }));
}

/// `agentwarrant-bench profile WHAT [N]`: only one loop, for a profiler (callgrind, perf).
fn profile(what: &str, n: usize, args: &[String]) {
    let calls = workload::calls();
    match what {
        "floor" => {
            let documents = workload::documents();
            let mut vm = workload::floor_vm();
            for doc in documents.iter().cycle().take(n) {
                black_box(workload::floor_eval(&mut vm, doc));
            }
        }
        "bundle" => {
            // `profile bundle FILE N`: a policy of one's own on the floor, for its cost.
            let Some(source) = args.first().and_then(|p| std::fs::read_to_string(p).ok()) else {
                return eprintln!("profile bundle FILE [N]: FILE must be a readable .rego file");
            };
            let n = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(n);
            let documents = workload::documents();
            let mut vm = workload::floor_vm_with(&source);
            for doc in documents.iter().cycle().take(n) {
                black_box(workload::floor_eval(&mut vm, doc));
            }
        }
        "guard_memory" | "guard_file" => {
            let rig = rig((what == "guard_file").then_some(Durability::Os));
            guarded(&rig, &calls, n, None);
        }
        "guard_memory_plain" => {
            // What the guard did before it redacted secrets and recorded policy inputs.
            let builder = workload::builder()
                .record_policy_inputs(false)
                .redaction(Redaction::off());
            guarded(&rig_on(builder, None), &calls, n, None);
        }
        "guard_custom" => guarded(&custom_rig(CUSTOM_VETTED, Backend::Vm), &calls, n, None),
        "guard_custom_interpreted" => guarded(
            &custom_rig(CUSTOM_RAISING, Backend::Interpreter),
            &calls,
            n,
            None,
        ),
        "floor_variants" => {
            let documents = workload::documents();
            let configs: [(&str, Configure); 4] = [
                ("bare", |_| {}),
                ("strict", |vm| vm.set_strict_builtin_errors(true)),
                ("limits", guard_limits),
                ("strict+limits", |vm| {
                    vm.set_strict_builtin_errors(true);
                    guard_limits(vm);
                }),
            ];
            for _ in 0..3 {
                for (name, configure) in &configs {
                    let mut vm = workload::floor_vm();
                    configure(&mut vm);
                    let mut samples = Samples::default();
                    for doc in documents.iter().cycle().take(n) {
                        samples.time(|| black_box(workload::floor_eval(&mut vm, doc)));
                    }
                    println!("{name:>14}: {:.2} us median", samples.median_us());
                }
            }
        }
        "input" => {
            let rig = rig(None);
            guarded(&rig, &calls, 100, None);
            let prepared: Vec<_> = calls
                .iter()
                .map(|c| rig.task.bench_prepare(c).unwrap())
                .collect();
            for p in prepared.iter().cycle().take(n) {
                black_box(rig.task.bench_input(p));
            }
        }
        "chain" => {
            // The chain stage alone, timed as a whole (no per-call clock reads): the mean.
            let rig = rig(None);
            guarded(&rig, &calls, 100, None);
            let prepared: Vec<_> = calls
                .iter()
                .map(|c| rig.task.bench_prepare(c).unwrap())
                .collect();
            for _ in 0..3 {
                let started = Instant::now();
                for p in prepared.iter().cycle().take(n) {
                    black_box(rig.task.bench_chain(p));
                }
                let ns = started.elapsed().as_nanos() as f64 / n as f64;
                println!("chain stage: {ns:.0} ns per call (mean of {n})");
            }
        }
        "validate" => {
            let rig = rig(None);
            guarded(&rig, &calls, 100, None);
            for call in calls.iter().cycle().take(n) {
                black_box(rig.task.bench_validate(call));
            }
        }
        "threads" => {
            for _ in 0..n / THREAD_CALLS {
                black_box(throughput(2));
            }
        }
        other => eprintln!(
            "unknown profile `{other}`: floor, floor_variants, bundle, guard_memory, guard_memory_plain, guard_file, guard_custom, guard_custom_interpreted, input, validate, chain, threads"
        ),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("profile") {
        let what = args.get(2).map_or("guard_memory", String::as_str);
        if what == "bundle" {
            return profile(what, 10_000, args.get(3..).unwrap_or_default());
        }
        let n = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(10_000);
        return profile(what, n, &[]);
    }
    if args.get(1).map(String::as_str) == Some("ledger") {
        return ledger_table();
    }
    let started = Instant::now();
    let calls = workload::calls();
    let documents = workload::documents();
    let args_bytes: usize = calls
        .iter()
        .map(|c| serde_json::to_vec(c.args()).map_or(0, |v| v.len()))
        .sum::<usize>()
        / calls.len();
    let backend = workload::guard(MemoryLedger::new()).policy().backend();

    println!("agentwarrant bench report");
    println!(
        "  workload: default bundle on the {backend}, executor identity, {} tools, a task of {} calls \
         (reads, writes, sinks), args {args_bytes} bytes on average",
        workload::tools().len(),
        calls.len()
    );
    println!("  machine: {}; load average at start {}", machine(), load());
    println!(
        "  {ROUNDS} interleaved rounds of {CALLS} timed calls per bench ({WARMUP} warm-up calls each)"
    );
    println!();

    // --- Latency: the floor and the guard side by side, interleaved round by round.
    let mut floor = Samples::default();
    let mut interpreter = Samples::default();
    let mut memory = Samples::default();
    let mut no_inputs = Samples::default();
    let mut custom = Samples::default();
    let mut custom_interpreted = Samples::default();
    let file_modes = [("os", Durability::Os), ("batch", Durability::Batch)];
    let mut file: Vec<Samples> = file_modes.iter().map(|_| Samples::default()).collect();
    let mut vm = workload::floor_vm();
    let mut engine = workload::floor_interpreter();
    for _ in 0..ROUNDS {
        for (i, doc) in documents.iter().cycle().take(WARMUP + CALLS).enumerate() {
            if i < WARMUP {
                black_box(workload::floor_eval(&mut vm, doc));
            } else {
                floor.time(|| black_box(workload::floor_eval(&mut vm, doc)));
            }
        }
        for doc in documents.iter().cycle().take(CALLS / 10) {
            interpreter.time(|| black_box(workload::interpreter_eval(&mut engine, doc)));
        }
        let memory_rig = rig(None);
        guarded(&memory_rig, &calls, WARMUP, None);
        guarded(&memory_rig, &calls, CALLS, Some(&mut memory));
        let no_inputs_rig = rig_with(None, false);
        guarded(&no_inputs_rig, &calls, WARMUP, None);
        guarded(&no_inputs_rig, &calls, CALLS, Some(&mut no_inputs));
        let vetted_rig = custom_rig(CUSTOM_VETTED, Backend::Vm);
        guarded(&vetted_rig, &calls, WARMUP, None);
        guarded(&vetted_rig, &calls, CALLS, Some(&mut custom));
        let interpreted_rig = custom_rig(CUSTOM_RAISING, Backend::Interpreter);
        guarded(&interpreted_rig, &calls, WARMUP / 10, None);
        guarded(
            &interpreted_rig,
            &calls,
            CALLS / 10,
            Some(&mut custom_interpreted),
        );
        for ((_, durability), samples) in file_modes.iter().zip(&mut file) {
            let file_rig = rig(Some(*durability));
            guarded(&file_rig, &calls, WARMUP, None);
            guarded(&file_rig, &calls, CALLS, Some(samples));
        }
    }

    // --- Stages, each on its own.
    let stage_rig = rig(None);
    guarded(&stage_rig, &calls, WARMUP, None);
    let task = &stage_rig.task;
    let prepared: Vec<_> = calls
        .iter()
        .map(|c| task.bench_prepare(c).unwrap())
        .collect();
    let inputs: Vec<_> = prepared.iter().map(|p| task.bench_input(p)).collect();
    let n = CALLS * 3;
    let mut validate = Samples::default();
    let mut chain = Samples::default();
    let mut input = Samples::default();
    let mut policy = Samples::default();
    let mut ledger = Samples::default();
    for i in 0..n {
        let k = i % calls.len();
        validate.time(|| black_box(task.bench_validate(&calls[k])));
        chain.time(|| task.bench_chain(&prepared[k]));
        input.time(|| black_box(task.bench_input(&prepared[k])));
        policy.time(|| black_box(task.bench_policy(inputs[k].clone())));
        let args = agentwarrant::Task::bench_args(&prepared[k]);
        ledger.time(|| black_box(task.bench_ledger(&prepared[k], args)));
    }
    drop(stage_rig);

    // --- Task begin + end.
    let mut begin_end = Samples::default();
    {
        let guard = workload::guard(MemoryLedger::new());
        let (identity, intent) = (workload::identity(), workload::intent());
        for _ in 0..CALLS {
            let (identity, intent) = (identity.clone(), intent.clone());
            begin_end.time(|| guard.begin(identity, intent).unwrap().end().unwrap());
        }
    }

    // --- Throughput on 1 and 2 threads: best of three runs each, alternated; the floor's
    // own scaling is the ceiling the machine allows.
    let (mut one, mut two, mut floor_one, mut floor_two) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for _ in 0..3 {
        one = one.max(throughput(1));
        two = two.max(throughput(2));
        floor_one = floor_one.max(floor_throughput(1));
        floor_two = floor_two.max(floor_throughput(2));
    }

    // --- Memory.
    let per_task_file = retained_per_task(Some(Durability::Os));
    let per_task_memory = retained_per_task(None);
    let idle = idle_guard();

    // --- Instructions per call, when valgrind is installed (about a minute).
    let counting = Instant::now();
    let floor_instructions = instructions_per_call("floor");
    let guard_instructions = floor_instructions.and_then(|_| instructions_per_call("guard_memory"));
    let counting = counting.elapsed();

    println!(
        "  {:<34} {:>9} {:>9} {:>12} {:>13}",
        "bench", "median µs", "p99 µs", "calls/s", "instr/call"
    );
    row_counted("floor: bare regorus RVM", &floor, floor_instructions);
    row("floor: regorus interpreter (ref.)", &interpreter);
    row_counted("guard_memory", &memory, guard_instructions);
    row("guard_memory, no inputs recorded", &no_inputs);
    row("+ custom module (vetted, RVM)", &custom);
    row("+ custom module (raising, interp.)", &custom_interpreted);
    for ((label, _), samples) in file_modes.iter().zip(&file) {
        row(&format!("guard_file ({label})"), samples);
    }
    row("stage: validate + credential", &validate);
    row("stage: chain (begin + commit)", &chain);
    row("stage: input document", &input);
    row("stage: policy (guard's evaluator)", &policy);
    row("stage: ledger (2 records, memory)", &ledger);
    row("begin_end (grant issue + revoke)", &begin_end);
    println!("  {:<34} {:>9} {:>9} {:>12.0}", "threads: 1", "", "", one);
    println!("  {:<34} {:>9} {:>9} {:>12.0}", "threads: 2", "", "", two);
    println!(
        "  {:<34} {:>9} {:>9} {:>12.0}",
        "floor threads: 1 (evaluations/s)", "", "", floor_one
    );
    println!(
        "  {:<34} {:>9} {:>9} {:>12.0}",
        "floor threads: 2 (evaluations/s)", "", "", floor_two
    );
    println!();

    let ratio = |s: &Samples| s.median_us() / floor.median_us();
    println!("  ratios (medians, same run)                     value   target");
    println!(
        "  {:<44} {:>7.2}   ≤ 1.25",
        "guard_memory / floor",
        ratio(&memory)
    );
    println!(
        "  {:<44} {:>7.2}",
        "guard_memory / guard_memory, no inputs",
        memory.median_us() / no_inputs.median_us()
    );
    println!(
        "  {:<44} {:>7.2}   ≤ 1.3",
        "custom module (vetted, RVM) / guard_memory",
        custom.median_us() / memory.median_us()
    );
    println!(
        "  {:<44} {:>7.2}",
        "custom module (interpreter) / guard_memory",
        custom_interpreted.median_us() / memory.median_us()
    );
    for ((label, _), samples) in file_modes.iter().zip(&file) {
        let target = if *label == "os" { "≤ 1.6" } else { "" };
        println!(
            "  {:<44} {:>7.2}   {target}",
            format!("guard_file({label}) / floor"),
            ratio(samples)
        );
    }
    println!(
        "  {:<44} {:>7.2}   ≥ 1.8",
        "2-thread / 1-thread throughput",
        two / one
    );
    println!(
        "  {:<44} {:>7.2}   (the machine's ceiling)",
        "floor: 2-thread / 1-thread throughput",
        floor_two / floor_one
    );
    println!(
        "  {:<44} {:>7.0}",
        "guard_memory calls per second (1 thread)",
        1e6 / memory.median_us()
    );
    match (floor_instructions, guard_instructions) {
        (Some(floor), Some(guard)) => println!(
            "  {:<44} {:>7.2}   (callgrind, {} − {} calls, {:.0?})",
            "guard_memory / floor, instructions",
            guard as f64 / floor as f64,
            COUNTED_CALLS.1,
            COUNTED_CALLS.0,
            counting
        ),
        _ => println!("  (instructions per call: valgrind is not installed, or its run failed)"),
    }
    println!();
    ledger_table();
    println!();
    println!("  memory");
    println!(
        "  {:<44} {:>10}   ≤ 64 KiB",
        "retained per task after 1,000 calls (file)",
        kib(per_task_file)
    );
    println!(
        "  {:<44} {:>10}   (the memory ledger keeps every record)",
        "same, with the memory ledger",
        kib(per_task_memory)
    );
    println!("  {:<44} {:>10}", "idle guard (warmed up)", kib(idle));
    println!();
    println!("  python binding");
    python();
    println!();
    println!(
        "  finished in {:.0?}; load average at end {} (ratios are only meaningful on an \
         otherwise idle machine)",
        started.elapsed(),
        load()
    );
}
