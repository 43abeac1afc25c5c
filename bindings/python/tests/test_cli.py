"""The `agentwarrant` command ships in the package: `python -m agentwarrant` and the
`agentwarrant` console script run the Rust CLI's subcommands (demo, verify, check, test).
`demo --interactive` is played at a real prompt, under a pseudo-terminal."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

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


def console_script() -> str:
    """The installed `agentwarrant` script; skips the test without it, fails it under CI."""
    script = shutil.which("agentwarrant")
    if script is None:
        # CI installs the wheel with its scripts: a missing script there is a broken package.
        if os.environ.get("CI"):
            pytest.fail("the `agentwarrant` script is not on PATH, but CI installs the wheel with it")
        pytest.skip("the `agentwarrant` script is not on PATH (package not installed with its scripts)")
    return script


def test_console_script_is_installed() -> None:
    script = console_script()
    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.startswith("agentwarrant ")


# `agentwarrant demo --interactive`, answered at its prompt through a pseudo-terminal.

PROMPT = b"approve as (email, empty to refuse): "
END = b"verify it with: "
WAIT_S = 10.0  # for each prompt, and for the end of the session
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


def _take_the_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is the pseudo-terminal
    (standard input), so that Ctrl-C typed there interrupts it as at a real one."""
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A command run with a pseudo-terminal as its controlling terminal and standard input,
    output and error: what it wrote so far, and what is typed at it."""

    def __init__(self, args: Sequence[str], cwd: Path) -> None:
        import pty

        self.master, slave = pty.openpty()
        try:
            self.child = subprocess.Popen(
                list(args),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                cwd=cwd,
                close_fds=True,
                preexec_fn=_take_the_terminal,
            )
        except BaseException:
            os.close(self.master)
            raise
        finally:
            os.close(slave)
        self.output = b""
        self.ended = False

    def text(self) -> str:
        return self.output.decode(errors="replace").replace("\r\n", "\n")

    def _read(self, deadline: float) -> None:
        """Reads what the command wrote, waiting until `deadline` at most."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"the demo stopped writing for {WAIT_S} s; it wrote:\n{self.text()}")
        ready, _, _ = select.select([self.master], [], [], remaining)
        if not ready:
            return
        try:
            data = os.read(self.master, 4096)
        except OSError:  # EIO on Linux: every holder of the terminal's other end has exited
            data = b""
        if data:
            self.output += data
        else:
            self.ended = True

    def expect(self, wanted: Sequence[bytes], start: int) -> Tuple[bytes, int]:
        """Waits (WAIT_S at most) until one of `wanted` appears after `start`; returns the first
        to appear and the position after it."""
        deadline = time.monotonic() + WAIT_S
        while True:
            found = [(at, w) for w in wanted for at in [self.output.find(w, start)] if at >= 0]
            if found:
                at, which = min(found)
                return which, at + len(which)
            if self.ended:
                raise AssertionError(f"the demo ended before any of {list(wanted)}; it wrote:\n{self.text()}")
            self._read(deadline)

    def type(self, line: bytes) -> None:
        os.write(self.master, line)

    def finish(self) -> int:
        """Reads to the end of the output and returns the exit status."""
        deadline = time.monotonic() + WAIT_S
        while not self.ended:
            self._read(deadline)
        return self.child.wait(timeout=WAIT_S)

    def close(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        os.close(self.master)


Answer = Callable[[int, str], bytes]


def interactive_demo(ledger: Path) -> Terminal:
    return Terminal([console_script(), "demo", "--interactive", "--ledger", str(ledger)], ledger.parent)


def play_interactive(ledger: Path, answer: Answer) -> Tuple[int, str, List[str]]:
    """Runs `agentwarrant demo --interactive` at a pseudo-terminal and answers its prompts
    with `answer(i, request)` (the i-th request, as shown); returns the exit status, all the
    demo wrote, and each request shown."""
    terminal = interactive_demo(ledger)
    requests: List[str] = []
    try:
        at = 0
        while True:
            which, end = terminal.expect([PROMPT, END], at)
            if which == END:
                break
            shown = terminal.output[at:end].decode(errors="replace").replace("\r\n", "\n")
            request = shown[shown.rfind("approval needed:") :]
            requests.append(request)
            terminal.type(answer(len(requests) - 1, request))
            at = end
        status = terminal.finish()
        return status, terminal.text(), requests
    finally:
        terminal.close()


def answered(ledger: Path) -> List[Dict[str, Any]]:
    records = [json.loads(line) for line in ledger.read_text().splitlines()]
    return [r for r in records if r["kind"] == "approval.answered"]


def verify_with_printed_key(output: str, ledger: Path) -> None:
    key = re.search(r"--key ([0-9a-f]{64})", output)
    assert key, output
    verified = subprocess.run(
        [console_script(), "verify", str(ledger), "--key", key.group(1)], capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "closed" in verified.stdout


@posix_only
def test_interactive_demo_shows_each_request_and_records_who_answered_at_the_prompt(tmp_path: Path) -> None:
    ledger = tmp_path / "demo.jsonl"
    status, output, requests = play_interactive(ledger, lambda i, _: b"bob@acme.com\n" if i == 0 else b"\n")

    assert status == 0, output
    assert len(requests) >= 2, output
    first = requests[0]
    assert "approval needed: `update_config`" in first
    assert "owner alice@acme.com" in first and '"pool_size": 64' in first
    assert "production_change: a change in production" in first  # the reason, described
    assert "=> approved by bob@acme.com" in output

    records = answered(ledger)
    assert len(records) == len(requests)
    assert records[0]["tool"] == "update_config"
    assert records[0]["approver"] == ["bob@acme.com"]
    assert records[0]["detail"] == {"answer": "approved"}
    for refused in records[1:]:
        assert refused["approver"] is None
        assert refused["outcome"]["status"] == "approval_denied"
        assert refused["detail"] == {"answer": "refused", "reason": "approval_denied: refused at the terminal"}
    # The table is the scripted demo's, with the answers given at the prompt.
    assert re.search(r"update_config\s+approved\s+production_change\s+bob@acme\.com", output), output
    assert re.search(r"read_secret\s+approval_denied\s+secret_access, approval_denied\s+\(refused\)", output), output
    verify_with_printed_key(output, ledger)


@posix_only
def test_interactive_demo_the_agents_owner_cannot_approve_a_four_eyes_call(tmp_path: Path) -> None:
    # `grant_role` is tagged `rbac`: four eyes, so alice, who owns the agent, may not approve it.
    ledger = tmp_path / "demo.jsonl"
    status, output, requests = play_interactive(
        ledger, lambda _, request: b"alice@acme.com\n" if "`grant_role`" in request else b"\n"
    )

    assert status == 0, output
    (asked,) = [r for r in requests if "`grant_role`" in r]
    assert "not alice@acme.com" in asked  # the request names who may not approve
    assert "approval_invalid (four eyes: `alice@acme.com` may not approve this call)" in output
    (record,) = [r for r in answered(ledger) if r["tool"] == "grant_role"]
    assert record["approver"] == ["alice@acme.com"]
    assert record["detail"]["reason"].startswith("approval_invalid: four eyes")
    assert re.search(r"grant_role\s+approval_denied\s+.*approval_invalid\s+alice@acme\.com \(rejected\)", output), output
    verify_with_printed_key(output, ledger)


@posix_only
def test_interactive_demo_refuses_every_request_after_end_of_input(tmp_path: Path) -> None:
    ledger = tmp_path / "demo.jsonl"
    # Ctrl-D at the second prompt: that request and every later one are refused, fail closed.
    status, output, requests = play_interactive(ledger, lambda i, _: b"bob@acme.com\n" if i == 0 else b"\x04")

    assert status == 0, output
    assert len(requests) >= 2, output
    assert "(end of input: refused)" in output
    records = answered(ledger)
    assert records[0]["approver"] == ["bob@acme.com"]
    for refused in records[1:]:
        assert refused["detail"]["reason"].startswith("approval_unavailable")
    verify_with_printed_key(output, ledger)


@posix_only
def test_ctrl_c_at_the_interactive_prompt_ends_the_command(tmp_path: Path) -> None:
    # The console script runs the native command inside Python: Ctrl-C must still end it there
    # at once, as it ends the Rust binary, not when the whole session is over.
    terminal = interactive_demo(tmp_path / "demo.jsonl")
    try:
        terminal.expect([PROMPT], 0)
        terminal.type(b"\x03")
        assert terminal.child.wait(timeout=WAIT_S) == -signal.SIGINT, terminal.text()
    finally:
        terminal.close()


def test_interactive_demo_without_a_terminal_fails_at_once(tmp_path: Path) -> None:
    ledger = tmp_path / "demo.jsonl"
    done = subprocess.run(
        [console_script(), "demo", "--interactive", "--ledger", str(ledger)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "--interactive needs a terminal; run without it for the scripted session" in done.stderr
    assert done.stdout == "" and not ledger.exists()


def test_the_standalone_ledger_check_agrees_with_verify(tmp_path):
    """docs/verify_ledger.py checks the chain with the standard library alone."""
    script = Path(__file__).resolve().parents[3] / "docs" / "verify_ledger.py"
    ledger = tmp_path / "demo.jsonl"
    demo = subprocess.run([sys.executable, "-m", "agentwarrant", "demo", "--ledger", str(ledger)], capture_output=True, text=True)
    assert demo.returncode == 0, demo.stderr
    verified = subprocess.run([sys.executable, "-m", "agentwarrant", "verify", str(ledger)], capture_output=True, text=True)
    checked = subprocess.run([sys.executable, str(script), str(ledger)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout
    head = checked.stdout.split("head ")[1].strip()
    assert head in verified.stdout
    lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    assert "checkout" in lines[4]
    lines[4] = lines[4].replace("checkout", "checkOut", 1)
    ledger.write_text("".join(lines), encoding="utf-8")
    broken = subprocess.run([sys.executable, str(script), str(ledger)], capture_output=True, text=True)
    assert broken.returncode == 1 and "record 5 is broken" in broken.stdout
