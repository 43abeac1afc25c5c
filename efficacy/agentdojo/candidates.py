"""Candidate `untrusted_input` rules, for measurement only.

Each candidate is the default bundle as first written with helper rules
(`crates/agentwarrant/policies/tests/reference.rego`, which a differential test holds to the
shipped bundle's decisions) with its `untrusted_input` block replaced, written to a temporary
policy directory that `replay.py --candidate NAME` runs on (with regorus's interpreter, as
every policy other than the embedded bundle).

The shipped bundle has the best of them, `sink-named-warn`, as the mode
`data.untrusted_input = "unnamed_targets"` (`replay.py --untrusted-input unnamed_targets`),
reading the engine's `call.named_scopes`. The candidates read "named" from the intent's
attribute `named`, where intents.py lists the literal scopes it proposed from the request:
the same scopes here, since the harness's intents wildcard everything else.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Dict

_REFERENCE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "crates", "agentwarrant", "policies", "tests", "reference.rego"
)
# The reference bundle's untrusted_input block: from its first line up to the next rule's comment.
_BLOCK_START = "# Untrusted content may carry injected instructions"
_BLOCK_END = "# Many medium calls add up"

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
    """The reference bundle's text with candidate `name`'s untrusted_input rules."""
    with open(_REFERENCE, encoding="utf-8") as source:
        text = source.read()
    start, end = text.find(_BLOCK_START), text.find(_BLOCK_END)
    if start < 0 or end < start:
        raise RuntimeError("reference.rego's untrusted_input block moved: update candidates.py")
    return text[:start] + CANDIDATES[name] + "\n" + text[end:]


def policy_dir(name: str) -> str:
    """A temporary policy directory holding candidate `name`."""
    directory = tempfile.mkdtemp(prefix=f"aw-candidate-{name}-")
    atexit.register(shutil.rmtree, directory, True)
    with open(os.path.join(directory, "agentwarrant.rego"), "w", encoding="utf-8") as out:
        out.write(bundle(name))
    return directory
