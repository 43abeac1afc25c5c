//! A task's chain tracker holds bounded memory however many calls the task makes: a million
//! calls, each to a new tool name, a new destination and new args, through one task.
//!
//! Its own test binary so that nothing else runs in the process while it measures the
//! resident set. Each call goes through the tracker as the pipeline drives it (`begin_call`,
//! the call's signals, `commit` with its history entry and count) through the `bench` hooks,
//! cycling through 5,000 distinct validated calls; validation and the policy are not run per
//! call, which is what lets a million calls run in a debug build.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

use agentwarrant::{Guard, Identity, Impact, Intent, Role, ToolCall, ToolSpec};
use serde_json::json;

const CALLS: usize = 1_000_000;

/// Distinct calls: more than the tracker remembers destinations of (`history_window`, 1,024).
const DISTINCT: usize = 5_000;

/// The resident set of this process in bytes, where the platform tells it.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn a_million_calls_through_one_task_keep_the_tracker_bounded() {
    // Undeclared tools run under the default tool: every call can have a tool name of its
    // own, the worst case for the per-tool counts.
    let any = ToolSpec::builder("any", Impact::Low)
        .reads(["pii"])
        .scope("mail.send:{to:email}")
        .destination_arg("to")
        .build()
        .unwrap();
    let guard = Guard::builder().default_tool(any).build().unwrap();
    let identity = Identity::builder("agent://acme/bulk", Role::Executor, "alice@acme.com")
        .ceiling(["mail.send:*"])
        .build()
        .unwrap();
    let intent = Intent::builder("mail everyone")
        .scopes(["mail.send:*"])
        .build()
        .unwrap();
    let task = guard.begin(identity, intent).unwrap();

    // More distinct calls than any structure of the tracker may hold (tool names, destinations,
    // args), validated once and then cycled through.
    let prepared: Vec<_> = (0..DISTINCT)
        .map(|n| {
            let call = ToolCall::new(
                format!("tool_{}", n % 1000),
                json!({"to": format!("user{n}@example.com"), "n": n}),
            );
            task.bench_prepare(&call).expect("the call validates")
        })
        .collect();
    let mut signals = 0;
    let mut run = |from: usize, to: usize| {
        for n in from..to {
            signals += task.bench_chain(&prepared[n % DISTINCT]);
        }
    };
    run(0, 100_000);
    let early = task.bench_chain_footprint();
    let early_resident = resident_bytes();
    run(100_000, CALLS);
    let late = task.bench_chain_footprint();
    let late_resident = resident_bytes();

    // Every structure stopped growing long before the millionth call.
    assert_eq!(early, late, "the tracker kept growing");
    let limits = agentwarrant::Limits::default();
    let bound = |name: &str| match name {
        "destinations" | "parents" => limits.history_window,
        "history" | "history_list" | "repeats" => 16,
        "counts" => 65,
        "times" => limits.burst_calls as usize,
        _ => 4,
    };
    for (name, len) in &late {
        assert!(*len <= bound(name), "`{name}` holds {len} entries");
    }
    // The signals were computed for every call: each one is part of a burst, and most send
    // to a destination past the ones the tracker remembers.
    assert!(signals >= CALLS, "{signals} signals");
    // What stays resident does not grow with the calls: 900,000 calls that each allocate a
    // history entry, a count and a destination would leave hundreds of megabytes behind if
    // any of it were kept. The margin is for the allocator's own bookkeeping.
    if let (Some(early), Some(late)) = (early_resident, late_resident) {
        let grown = late.saturating_sub(early);
        assert!(grown < 32 << 20, "the resident set grew by {grown} bytes");
    }
}
