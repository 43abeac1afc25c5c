"""Overhead of a guarded Python call over an unguarded one (figures only, no asserts).

Run: python bindings/python/bench/overhead.py [--calls N]

Each guarded call: bind args, authorize (policy evaluation in Rust, GIL released, `call.decided`
appended to the ledger) and complete (`call.completed` appended). With the file ledger each
record is one write(2) to the OS (Durability::Os), hash-chained. The "native calls only" row
makes the same two native calls without the Python layer (no binding, no contextvars): the
difference to the row above it is what the Python layer costs. An async guarded call is decided
inline whether or not an approver is configured: only a call that needs approval waits for it
(off the event loop), so the two async rows should be within a few percent of each other; the
last line prints their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, List

import agentwarrant as aw

IDENTITY = aw.Identity("agent://bench/agent", owner="owner@example.com", ceiling=["logs.read:*"])
INTENT = aw.Intent("benchmark", scopes=["logs.read:*"])


def per_call_us(fn: Callable[[], object], calls: int, rounds: int = 5) -> List[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return samples


def read_logs(service: str, lines: int = 10) -> str:
    return service


def native_call(task: aw.Task) -> Callable[[], None]:
    """The guarded call's two native calls, made directly (the engine and the binding's glue)."""
    core, args = task._core, {"service": "api", "lines": 10}

    def call() -> None:
        core.authorize("read_logs", args).complete()

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    calls = parser.parse_args().calls

    rows = []
    base = per_call_us(lambda: read_logs("api"), calls)
    rows.append(("unguarded call", base))
    with tempfile.TemporaryDirectory() as tmp:
        for label, ledger in (("guarded, file ledger", Path(tmp) / "audit.jsonl"), ("guarded, memory ledger", None)):
            guard = aw.Guard(ledger=aw.FileLedger(ledger) if ledger else aw.MemoryLedger(), limits={"max_calls": 10_000_000})
            guarded = guard.tool(impact="low", scopes=["logs.read:{service}"])(read_logs)
            with guard.task(IDENTITY, INTENT) as task:
                guarded("api")  # warm up
                rows.append((label, per_call_us(lambda: guarded("api"), calls)))
                if ledger is not None:
                    rows.append(("  native calls only", per_call_us(native_call(task), calls)))

        for label, approver in (("guarded async, file ledger", None), ("  same, approver configured", lambda request: False)):
            guard = aw.Guard(
                ledger=aw.FileLedger(Path(tmp) / f"async{len(rows)}.jsonl"), approver=approver, limits={"max_calls": 10_000_000}
            )

            async def aread_logs(service: str) -> str:
                return service

            guarded_async = guard.tool(impact="low", scopes=["logs.read:{service}"])(aread_logs)

            async def run_async() -> List[float]:
                async with guard.task(IDENTITY, INTENT):
                    samples = []
                    for _ in range(5):
                        started = time.perf_counter()
                        for _ in range(calls):
                            await guarded_async("api")
                        samples.append((time.perf_counter() - started) / calls * 1e6)
                    return samples

            rows.append((label, asyncio.run(run_async())))

    unguarded = statistics.median(base)
    print(f"{'':28} {'median µs/call':>15} {'min':>8} {'overhead µs':>12} {'× unguarded':>12}")
    for label, samples in rows:
        median = statistics.median(samples)
        print(f"{label:28} {median:15.2f} {min(samples):8.2f} {median - unguarded:12.2f} {median / unguarded:12.0f}")
    print(f"({calls} calls per round, 5 rounds; default policy bundle)")
    medians = {label: statistics.median(samples) for label, samples in rows}
    ratio = medians["  same, approver configured"] / medians["guarded async, file ledger"]
    print(f"async call with an approver configured / without one: {ratio:.2f}x")


if __name__ == "__main__":
    main()
