"""Every error code the Python binding raises is in ``docs/errors.md``, and every row of that
table that the binding owns (``raised by`` starts with ``Python``) is a code it raises.

The binding's codes are read from its sources: the string literals given as a code in the
native module (``raise_code(..., "code")``, ``set_item("code", "...")``) and the exception
defaults and ``code=`` arguments of the Python package. Codes computed by the Rust library
(``error.code()``) are checked against the same table by the Rust suite.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Set

import pytest

import agentwarrant as aw

ROOT = Path(__file__).resolve().parents[3]
BINDING = ROOT / "bindings" / "python"


def documented() -> Dict[str, str]:
    """code -> its "raised by" cell, for every row of the table."""
    rows: Dict[str, str] = {}
    for line in (ROOT / "docs" / "errors.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) > 3 and re.fullmatch(r"`[a-z_]+`", cells[1]):
            rows[cells[1].strip("`")] = cells[2]
    return rows


def arguments(text: str, start: int) -> str:
    """The text of a call's arguments, from just after its ``(`` to its matching ``)``
    (parentheses inside string literals do not count)."""
    depth, at, quoted = 1, start, False
    while depth:
        char = text[at]
        if quoted:
            quoted = not (char == '"' and text[at - 1] != "\\")
        elif char == '"':
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        at += 1
    return text[start : at - 1]


def raised_by_the_binding() -> Set[str]:
    codes: Set[str] = set()
    for source in sorted((BINDING / "src").glob("*.rs")):
        text = source.read_text(encoding="utf-8")
        # The code is raise_code's last argument, a literal when the binding chose it.
        for start in (m.end() for m in re.finditer(r"raise_code\(", text)):
            literal = re.search(r'"([a-z_]+)",?\s*$', arguments(text, start))
            if literal:
                codes.add(literal.group(1))
        codes.update(re.findall(r'set_item\("code",\s*"([a-z_]+)"\)', text))
    for source in sorted((BINDING / "python" / "agentwarrant").rglob("*.py")):
        text = source.read_text(encoding="utf-8")
        codes.update(re.findall(r'\bcode: str = "([a-z_]+)"', text))
        codes.update(re.findall(r'\bcode="([a-z_]+)"', text))
    return codes


def test_every_code_the_binding_raises_is_documented_and_every_binding_row_is_raised():
    rows = documented()
    raised = raised_by_the_binding()
    assert raised, "the source scan found nothing: the patterns above are out of date"
    assert raised - rows.keys() == set(), "codes raised by the binding but not in docs/errors.md"
    binding_rows = {code for code, by in rows.items() if by.startswith("Python")}
    library_rows = rows.keys() - binding_rows
    assert binding_rows == raised - library_rows


def test_the_scan_sees_the_codes_it_must():
    # A canary for the scan itself: if a pattern stops matching, this names what went missing.
    assert {"warrant_used", "invalid_limits", "invalid_time", "no_task", "unguarded_tool"} <= raised_by_the_binding()


@pytest.mark.parametrize(
    "make, code",
    [
        (lambda: aw.ToolSpec("t", impact="urgent"), "invalid_impact"),  # type: ignore[arg-type]
        (lambda: aw.ToolSpec("t", impact="low", roles=["admin"]), "invalid_role"),  # type: ignore[list-item]
        (lambda: aw.Identity("agent://a/b", owner="o@x.com", role="boss"), "invalid_role"),
        (lambda: aw.Intent("g", max_impact="huge"), "invalid_impact"),
    ],
)
def test_enum_names_are_parsed_by_the_library_and_raised_with_a_documented_code(make, code):
    with pytest.raises(aw.ConfigError) as error:
        make()
    assert error.value.code == code and code in documented()
    assert "must be" in str(error.value)  # the message names the accepted values
