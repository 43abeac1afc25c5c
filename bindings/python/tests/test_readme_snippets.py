"""Every ```python block of the READMEs runs: each in a fresh namespace, in a scratch
directory that sees the repository's `tests/` (so relative paths in the snippets work as they
do from the repository root). A block that is deliberately partial is preceded by the line
`<!-- no-test -->`; keep that rare."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Tuple

import pytest

REPO = Path(__file__).resolve().parents[3]
READMES = [REPO / "README.md", REPO / "bindings" / "python" / "README.md"]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
NO_TEST = "<!-- no-test -->"


def snippets() -> List[Tuple[str, str]]:
    found = []
    for readme in READMES:
        text = readme.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
            if before == NO_TEST:
                continue
            found.append((f"{readme.relative_to(REPO)}:{line}", match.group(1)))
    return found


def test_the_readmes_have_runnable_snippets() -> None:
    assert len(snippets()) >= 3


@pytest.mark.parametrize("where, code", snippets(), ids=[where for where, _ in snippets()])
def test_snippet_runs(where: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tests").symlink_to(REPO / "tests", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    exec(compile(code, where, "exec"), namespace)  # noqa: S102 -- the README's own code
