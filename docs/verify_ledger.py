#!/usr/bin/env python3
"""Verifies an agentwarrant ledger's hash chain with nothing but the Python standard library.

Usage: python3 docs/verify_ledger.py LEDGER.jsonl

For every line: the record's `hash` must be the SHA-256 (lowercase hex) of the record's
canonical JSON without `hash` (keys sorted, no whitespace, non-ASCII as is), its `prev` the
previous record's `hash` (64 zeros for the first), its `seq` one more than the previous (1
first). Prints the record count and the head hash, or the first broken record; exit 1 if broken.
Signatures of checkpoints are checked by `agentwarrant verify --key`, not here.
"""

import hashlib
import json
import sys


def canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def main(path: str) -> int:
    prev, seq = "0" * 64, 1
    with open(path, encoding="utf-8") as ledger:
        for number, line in enumerate(ledger, 1):
            record = json.loads(line)
            claimed = record.pop("hash", None)
            problems = []
            if hashlib.sha256(canonical(record)).hexdigest() != claimed:
                problems.append("its hash does not match its content")
            if record.get("prev") != prev:
                problems.append("its prev is not the previous record's hash")
            if record.get("seq") != seq:
                problems.append(f"its seq is {record.get('seq')}, expected {seq}")
            if problems:
                print(f"record {number} is broken: {'; '.join(problems)}")
                return 1
            prev, seq = claimed, seq + 1
    print(f"{seq - 1} records, head {prev}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
