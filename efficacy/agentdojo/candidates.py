"""Candidate `untrusted_input` rules, for measurement only (not the shipped bundle).

Each candidate is the embedded default bundle (`agentwarrant._native.DEFAULT_BUNDLE`, the
bundle of the installed wheel) with its two `untrusted_input` rules replaced, written to a
temporary policy directory that `replay.py --candidate NAME` runs on (with regorus's
interpreter, as every policy other than the embedded bundle).

The engine has no `named` band yet, so "named" is approximated here from the policy input: a
required scope is named when it is one of the literal scopes the intent helper proposed from
the request (`intents.propose_named_scopes`), which intents.py also lists in the intent's
attribute `named`. (Equality with any wildcard-free intent scope would also count fixed
scopes of the user's own resources, such as `calendar.create:own`, as named.)
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Dict

from agentwarrant import _native

_SHIPPED = """require_approval contains "untrusted_input" if {
	listed(input.chain.labels, "untrusted")
	spec.sink == true
}

require_approval contains "untrusted_input" if {
	listed(input.chain.labels, "untrusted")
	impact_rank[spec.impact] >= impact_rank.medium
}
"""

_CONSEQUENTIAL = """consequential if spec.sink == true

consequential if impact_rank[spec.impact] >= impact_rank.medium
"""

_NAMED = """# A required scope is named when it is one of the literal scopes the intent helper
# proposed from the user's request (intent attribute `named`): a target the user gave when
# the task began. Scopes the intent covers for the user's own resources are not named.
named(scope) if {
	names := input.task.intent.attributes.named
	is_array(names)
	some name in names
	name == scope
}
"""

_DRIFT = """
require_approval contains "untrusted_input" if {
	listed(input.chain.labels, "untrusted")
	consequential
	some _, band in bands
	band == "drift"
}
"""

_SINK_UNNAMED = """
require_approval contains "untrusted_input" if {
	listed(input.chain.labels, "untrusted")
	spec.sink == true
	some scope in input.call.required_scopes
	not named(scope)
}

require_approval contains "untrusted_input" if {
	listed(input.chain.labels, "untrusted")
	impact_rank[spec.impact] >= impact_rank.medium
	some _, band in bands
	band == "drift"
}
"""

_WARN = """
require_approval contains "untrusted_input" if {
	listed(input.chain.labels, "untrusted")
	asked_by_design
	some scope in input.call.required_scopes
	not named(scope)
}

# The conditions of the bundle's by-design approval reasons (restated: a rule cannot read
# the set it helps define).
asked_by_design if spec.impact in {"high", "critical"}

asked_by_design if spec.reversible == false

asked_by_design if listed(spec.tags, "rbac")

asked_by_design if {
	listed(spec.tags, "financial")
	spec.external == true
}

asked_by_design if listed(spec.reads, "secret")
"""

CANDIDATES: Dict[str, str] = {
    # Untrusted content bites only where a consequential call needs a scope the user did not
    # name literally: own resources reached through a wildcard intent scope count as unnamed.
    "unnamed": _CONSEQUENTIAL
    + _NAMED
    + """
require_approval contains "untrusted_input" if {
	listed(input.chain.labels, "untrusted")
	consequential
	some scope in input.call.required_scopes
	not named(scope)
}
""",
    # Untrusted content bites only where a consequential call needs a scope outside the
    # intent (the drift band): targets the user named and the kinds of change the request
    # asked for on the user's own resources pass; `scope_drift` asks as well.
    "drift": _CONSEQUENTIAL + _DRIFT,
    # In between: a sink needs every scope named (what it sends goes only where the user
    # said); any other consequential call only needs to stay inside the intent.
    "sink-unnamed": _NAMED + _SINK_UNNAMED,
    # `drift`, plus a warning on calls a person is asked about anyway: a consequential call
    # that already needs a by-design approval and touches a scope the user did not name
    # carries `untrusted_input` too, so the person sees that untrusted content was read.
    "drift-warn": _CONSEQUENTIAL + _NAMED + _DRIFT + _WARN,
    # `sink-unnamed` with the same warning.
    "sink-unnamed-warn": _NAMED + _SINK_UNNAMED + _WARN,
    # Like `sink-unnamed-warn`, but a sink passes as soon as one of its scopes is named and
    # none drifts: an event created in the user's own calendar with the invitee the user
    # named. A sink that names no target at all (an event without invitees) still needs
    # its content to come from the user when untrusted content was read.
    "sink-named-warn": _CONSEQUENTIAL
    + _NAMED
    + _DRIFT
    + """
require_approval contains "untrusted_input" if {
	listed(input.chain.labels, "untrusted")
	spec.sink == true
	not some_named
}

some_named if {
	some scope in input.call.required_scopes
	named(scope)
}
"""
    + _WARN,
}


def bundle(name: str) -> str:
    """The default bundle's text with candidate `name`'s untrusted_input rules."""
    text = _native.DEFAULT_BUNDLE
    if _SHIPPED not in text:
        raise RuntimeError("the installed default bundle's untrusted_input rules changed: update candidates.py")
    return text.replace(_SHIPPED, CANDIDATES[name])


def policy_dir(name: str) -> str:
    """A temporary policy directory holding candidate `name`."""
    directory = tempfile.mkdtemp(prefix=f"aw-candidate-{name}-")
    atexit.register(shutil.rmtree, directory, True)
    with open(os.path.join(directory, "agentwarrant.rego"), "w", encoding="utf-8") as out:
        out.write(bundle(name))
    return directory
