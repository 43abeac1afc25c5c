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
   prompt names, proposed by the library's `agentwarrant.propose_named_scopes` over the
   target templates of the tools the request asks for: each literal (an email address, a
   URL, an account number, a quoted name; optionally a name of the organisation's directory)
   fills every target template whose placeholder type takes it, normalised exactly as the
   engine fills the template.

Target scopes (specs.Tool.targets) are never wildcarded: a target the user did not name is
outside the intent (the `drift` band), whoever chose it. The identity's ceiling covers every
action of the suite.
"""

from __future__ import annotations

import re
from typing import Dict, List, Sequence

import agentwarrant as aw

from specs import SUITES, Tool, wildcard

OWNER = "emma.johnson@bluesparrowtech.com"


def propose_named_scopes(request: str, tools: Sequence[Tool], known_names: Sequence[str] = ()) -> List[str]:
    """Literal intent scopes for the targets a request names: the library's
    `agentwarrant.propose_named_scopes` over the target templates of `tools` (a literal
    fills only the templates of outside parties, never the user's own resources).

    `known_names` are names from a directory the organisation provisions (e.g. the chat
    workspace's member names): a whole word of the request equal to one names a target too,
    as if it were quoted. A directory that outsiders can write (channel names, auto-filled
    contacts) must not be passed: an outsider could pick a common word as a name."""
    mentioned = [name for name in known_names if re.search(rf"(?<![\w@.]){re.escape(name)}(?![\w@])", request)]
    text = " ".join([request, *(f'"{name}"' for name in mentioned)])
    specs = [aw.ToolSpec(t.name, impact=t.impact, scopes=list(t.targets)) for t in tools if t.targets]
    scopes: List[str] = []
    for proposed in aw.propose_named_scopes(text, specs):
        if proposed["scope"] not in scopes:
            scopes.append(proposed["scope"])
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
