"""The framework guides in docs/guides cannot drift from the examples CI runs.

Each guide opens by citing its runnable example ("The complete, runnable file is
[`examples/python/X.py`](../../examples/python/X.py) (CI runs it)."), and every ```python block
in it is a verbatim excerpt (contiguous whole lines, trailing whitespace aside) of an example
file the guide links: the one it opens with, or another it links, such as `_story.py`, the
module the examples share. Shell blocks are not checked. The index, docs/guides/README.md,
links every guide.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List

import pytest

ROOT = Path(__file__).resolve().parents[3]
GUIDES_DIR = ROOT / "docs" / "guides"
INDEX = GUIDES_DIR / "README.md"
GUIDES = sorted(p for p in GUIDES_DIR.glob("*.md") if p.name != "README.md")

CITATION = re.compile(
    r"^The complete, runnable file is \[`examples/python/(?P<shown>[\w.]+\.py)`\]"
    r"\(\.\./\.\./examples/python/(?P<target>[\w.]+\.py)\) \(CI runs it\)\.$",
    re.MULTILINE,
)
EXAMPLE_LINK = re.compile(r"\]\(\.\./\.\./examples/python/([\w.]+\.py)\)")
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def lines(text: str) -> List[str]:
    return [line.rstrip() for line in text.splitlines()]


def occurs_in(block: List[str], source: List[str]) -> bool:
    """Whether ``block`` is a run of contiguous whole lines of ``source``."""
    n = len(block)
    return any(source[i : i + n] == block for i in range(len(source) - n + 1))


def linked_examples(text: str) -> Dict[str, List[str]]:
    """The example files a guide links, by name, as lines."""
    found: Dict[str, List[str]] = {}
    for name in EXAMPLE_LINK.findall(text):
        path = ROOT / "examples" / "python" / name
        assert path.is_file(), f"links `examples/python/{name}`, which does not exist"
        found[name] = lines(path.read_text(encoding="utf-8"))
    return found


def test_there_is_a_guide_per_python_framework_adapter() -> None:
    names = {p.stem for p in GUIDES}
    assert {"langchain", "langgraph", "openai-agents", "mcp", "pydantic-ai", "crewai", "llama-index", "smolagents"} <= names


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_a_guide_opens_by_citing_the_runnable_example_ci_runs(guide: Path) -> None:
    text = guide.read_text(encoding="utf-8")
    head = "\n".join(text.splitlines()[:5])
    cited = CITATION.search(head)
    assert cited, f"{guide.name}: the first lines must say which runnable example it excerpts (see this module's docs)"
    assert cited["shown"] == cited["target"], f"{guide.name}: the link text and target name different files"
    assert not cited["target"].startswith("_"), f"{guide.name}: cites a shared module, not an example CI runs"
    assert (ROOT / "examples" / "python" / cited["target"]).is_file(), f"{guide.name}: cites a missing example"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_every_python_block_is_a_verbatim_excerpt_of_a_linked_example(guide: Path) -> None:
    text = guide.read_text(encoding="utf-8")
    examples = linked_examples(text)
    blocks = [lines(block) for block in PYTHON_BLOCK.findall(text)]
    assert blocks, f"{guide.name}: has no ```python block to check"
    for block in blocks:
        assert any(occurs_in(block, source) for source in examples.values()), (
            f"{guide.name}: this block is not an excerpt of any of {sorted(examples)}:\n" + "\n".join(block)
        )


def test_the_index_lists_every_guide() -> None:
    index = INDEX.read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([\w.-]+\.md)\)", index))
    assert {p.name for p in GUIDES} <= linked, f"not in docs/guides/README.md: {sorted({p.name for p in GUIDES} - linked)}"
    assert linked <= {p.name for p in GUIDES}, f"the index links missing guides: {sorted(linked - {p.name for p in GUIDES})}"
