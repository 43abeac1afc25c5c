"""The `agentwarrant` command ships in the package: `python -m agentwarrant` and the
`agentwarrant` console script run the Rust CLI's subcommands (demo, verify, check, test)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

REPO = Path(__file__).resolve().parents[3]


def run(args: List[str], cwd: Path) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "agentwarrant", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_demo_writes_a_ledger_that_verify_accepts_until_a_byte_changes(tmp_path: Path) -> None:
    ledger = tmp_path / "demo.jsonl"
    demo = run(["demo", "--ledger", str(ledger)], tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "exfiltration" in demo.stdout and "approved" in demo.stdout
    assert run(["verify", str(ledger)], tmp_path).returncode == 0

    data = bytearray(ledger.read_bytes())
    data[data.index(b"\n") + 20] ^= 1
    ledger.write_bytes(bytes(data))
    broken = run(["verify", str(ledger)], tmp_path)
    assert broken.returncode == 1
    assert "record 2" in broken.stdout


def test_test_runs_the_scenario_corpus(tmp_path: Path) -> None:
    done = run(["test", str(REPO / "tests" / "scenarios" / "005_exfiltration_after_secret_read.json")], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 0 failed" in done.stdout


def test_check_prints_the_decision_as_json(tmp_path: Path) -> None:
    document = REPO / "crates" / "agentwarrant" / "policies" / "tests" / "base_input.json"
    done = run(["check", "--input", str(document)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["effect"] == "allow"


def test_bad_arguments_exit_2_with_clap_usage_and_help_exits_0(tmp_path: Path) -> None:
    bad = run(["no-such-command"], tmp_path)
    assert bad.returncode == 2
    assert "Usage: agentwarrant" in bad.stderr
    helped = run(["--help"], tmp_path)
    assert helped.returncode == 0
    for command in ("demo", "verify", "check", "test"):
        assert command in helped.stdout


def test_main_returns_the_status_for_the_console_script(tmp_path: Path) -> None:
    from agentwarrant.__main__ import main

    missing = tmp_path / "missing.jsonl"
    assert main(["verify", str(missing)]) == 2


def test_console_script_is_installed() -> None:
    script = shutil.which("agentwarrant")
    if script is None:
        # CI installs the wheel with its scripts: a missing script there is a broken package.
        if os.environ.get("CI"):
            pytest.fail("the `agentwarrant` script is not on PATH, but CI installs the wheel with it")
        pytest.skip("the `agentwarrant` script is not on PATH (package not installed with its scripts)")
    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.startswith("agentwarrant ")
