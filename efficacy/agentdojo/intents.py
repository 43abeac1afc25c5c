"""Intents for AgentDojo user tasks: what the user asked, as scopes.

An intent has three parts:

1. **Reads**: every non-target scope of the suite's read tools, wildcarded. A user who asks
   an assistant about their mailbox, drive, bank account or workspace lets it look at any of
   it; this does not depend on how the task is solved.
2. **Actions asked for**: the non-target scopes of the state-changing tools the task's
   ground truth uses, wildcarded (`calendar.update:*`, `drive.write:*`). These stand in for
   the kinds of change the request asks for ("reschedule my dental check-up" asks for a
   calendar update); the user's own resources are not targets, so they are not named.
3. **Named targets**: literal, wildcard-free scopes for the outside parties the user's
   prompt names, found by `propose_named_scopes`: each literal (an email address, a URL,
   an IBAN, a quoted name; optionally a name of the organisation's directory) fills every target
   template, of the tools the request asks for, whose placeholder type takes it,
   normalised exactly as the engine fills the template.

Target scopes (specs.Tool.targets) are never wildcarded: a target the user did not name is
outside the intent (the `drift` band), whoever chose it. The identity's ceiling covers every
action of the suite.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import agentwarrant as aw

from specs import SUITES, Tool, placeholder_types, wildcard, with_scheme

OWNER = "emma.johnson@bluesparrowtech.com"

# Which literal kinds a placeholder type takes. An untyped placeholder fills internal ids,
# which a request does not name.
_TAKES: Dict[str, Tuple[str, ...]] = {
    "email": ("email",),
    "url": ("url",),
    "text": ("name", "account"),
}

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s'\"<>,]+", re.IGNORECASE)
# An IBAN: country code, check digits, 10 to 30 alphanumerics.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b")
# A quoted name: an opening quote after a space or bracket, a closing one before a space,
# punctuation or the end (so "I'm" and "don't" do not open a quote).
_QUOTED = re.compile(r"""(?:(?<=^)|(?<=[\s(\[]))(['"])([^'"\n]+?)\1(?=[\s.,;:!?)\]]|$)""")
# Quoted text of more words than this is a message to write, not a name.
_MAX_NAME_WORDS = 6


@dataclass(frozen=True)
class Literal:
    kind: str  # "email", "url", "account" or "name"
    value: str


def extract_literals(text: str, known_names: Sequence[str] = ()) -> List[Literal]:
    """The literals of a request that can name a target, in order, without repeats.

    `known_names` are names from a directory the organisation provisions (e.g. the chat
    workspace's member names): a whole word of the request equal to one is a name too, quoted
    or not. A directory that outsiders can write (channel names, auto-filled contacts) must not
    be passed: an outsider could pick a common word as a name."""
    found: List[Literal] = []

    def add(kind: str, value: str) -> None:
        literal = Literal(kind, value)
        if value and literal not in found:
            found.append(literal)

    for match in _EMAIL.finditer(text):
        add("email", match.group(0))
    for match in _URL.finditer(text):
        # A period followed by a capital letter ends a sentence ("www.x.com.They sent ...").
        url = re.split(r"\.(?=[A-Z])", match.group(0))[0].rstrip(".!?;:)")
        if "@" not in url:
            add("url", with_scheme(url))
    for match in _IBAN.finditer(text):
        add("account", match.group(0))
    for match in _QUOTED.finditer(text):
        value = match.group(2).strip()
        already = any(literal.value in (value, with_scheme(value)) for literal in found)
        # A quoted `{placeholder}` is a template for the agent to fill in, not a name.
        if not already and "{" not in value and len(value.split()) <= _MAX_NAME_WORDS:
            add("name", value)
    for name in known_names:
        if re.search(rf"(?<![\w@.]){re.escape(name)}(?![\w@])", text):
            add("name", name)
    return found


@lru_cache(maxsize=None)
def _normaliser() -> Tuple[aw.Guard, aw.Task]:
    """A scratch guard whose tools fill one placeholder of each type, so a literal is
    normalised by the engine itself (email domains lowercased, URLs canonical, text encoded)."""
    guard = aw.Guard(
        tools=[aw.ToolSpec(f"fill_{kind}", impact="low", scopes=[f"n:{{v:{kind}}}"]) for kind in _TAKES]
    )
    identity = aw.Identity("agent://efficacy/normaliser", owner=OWNER, ceiling=["n:*"])
    task = guard.task(identity, aw.Intent("normalise literals", scopes=["n:*"]))
    return guard, task


def fill(kind: str, value: str) -> Optional[str]:
    """`value` as the engine fills a `{v:kind}` placeholder, or None if it refuses it."""
    _, task = _normaliser()
    explained = task.explain(f"fill_{kind}", {"v": value})
    if explained.refused is not None:
        return None
    (scope,) = explained.scopes
    return scope.split(":", 1)[1]


def propose_named_scopes(request: str, tools: Iterable[Tool], known_names: Sequence[str] = ()) -> List[str]:
    """Literal intent scopes for the targets a request names.

    Each literal fills every target template with exactly one placeholder whose type takes
    the literal's kind; the template's other text stays as written."""
    literals = extract_literals(request, known_names)
    scopes: List[str] = []
    for tool in tools:
        for template in tool.targets:
            types = placeholder_types(template)
            if len(types) != 1:
                continue
            for literal in literals:
                if literal.kind not in _TAKES.get(types[0], ()):
                    continue
                filled = fill(types[0], literal.value)
                if filled is None:
                    continue
                scope = wildcard(template).replace("*", filled)
                if scope not in scopes:
                    scopes.append(scope)
    return scopes


def ceiling(suite: str) -> List[str]:
    """Every action of the suite, on any resource."""
    actions: List[str] = []
    for tool in SUITES[suite]:
        for action in tool.actions():
            if f"{action}:*" not in actions:
                actions.append(f"{action}:*")
    return actions


def identity(suite: str) -> aw.Identity:
    return aw.Identity(f"agent://agentdojo/{suite}-assistant", owner=OWNER, ceiling=ceiling(suite))


def intent_scopes(
    suite: str, prompt: str, tools_used: Sequence[str], known_names: Sequence[str] = ()
) -> Dict[str, List[str]]:
    """The intent's scopes, by part: `reads`, `actions` (asked for) and `named`."""
    reads: List[str] = []
    actions: List[str] = []
    for tool in SUITES[suite]:
        if not tool.read and tool.name not in tools_used:
            continue
        part = reads if tool.read else actions
        for template in tool.scopes:
            if template in tool.targets:
                continue
            scope = wildcard(template)
            if scope not in reads and scope not in actions:
                part.append(scope)
    asked = [tool for tool in SUITES[suite] if tool.name in tools_used]
    named = propose_named_scopes(prompt, asked, known_names)
    return {"reads": reads, "actions": actions, "named": named}


def intent(suite: str, prompt: str, tools_used: Sequence[str], known_names: Sequence[str] = ()) -> aw.Intent:
    parts = intent_scopes(suite, prompt, tools_used, known_names)
    scopes = parts["reads"] + parts["actions"] + parts["named"]
    # No max_impact: nothing in a request says how consequential the user allows a call to
    # be, and high/critical calls ask a human through `high_impact` anyway. The named scopes
    # are also listed in the attribute `named`, which the candidate rules read (the engine
    # has no `named` band yet).
    return aw.Intent(prompt, scopes=scopes, attributes={"named": parts["named"]})
