"""One step towards JSON for values the native converter does not know.

The native module resolves :func:`jsonable` once, when it is imported (this module imports
nothing of agentwarrant, so it can be loaded while the package itself is still loading).
"""

from __future__ import annotations

import dataclasses
import enum
import os
from typing import Any

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """One step towards JSON for a value the native converter does not know (it calls this and
    converts the answer in turn); the value itself when there is no such step, which the
    converter then refuses with a ``TypeError``."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # pydantic models
        return dump(mode="json")
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):  # datetime, date, time
        return isoformat()
    return value
