"""``python -m agentwarrant``: the ``agentwarrant`` command (demo, verify, check, test).

The same command as the Rust ``agentwarrant`` binary: it runs the same code, built into the
package's native module.
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

from agentwarrant._native import cli

__all__ = ["main"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command with ``argv`` (default: ``sys.argv[1:]``); returns its exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    # The native command writes to the process's file descriptors, past Python's buffers.
    sys.stdout.flush()
    sys.stderr.flush()
    return cli(args)


if __name__ == "__main__":
    sys.exit(main())
