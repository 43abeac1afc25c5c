"""``python -m agentwarrant``: the ``agentwarrant`` command (demo, verify, check, test).

The same command as the Rust ``agentwarrant`` binary: it runs the same code, built into the
package's native module.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Optional, Sequence

from agentwarrant._native import cli

__all__ = ["main"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command with ``argv`` (default: ``sys.argv[1:]``); returns its exit status.

    While it runs, Ctrl-C ends the process at once, as it ends the Rust binary: the native
    command (waiting at the ``demo --interactive`` prompt, say) never returns to Python's loop,
    where a ``KeyboardInterrupt`` would be raised."""
    args = list(sys.argv[1:] if argv is None else argv)
    # The native command writes to the process's file descriptors, past Python's buffers.
    sys.stdout.flush()
    sys.stderr.flush()
    if threading.current_thread() is not threading.main_thread():
        return cli(args)  # only the main thread may set signal handlers
    previous = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        return cli(args)
    finally:
        if previous is not None:  # None: a handler not set from Python, which cannot be put back
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
