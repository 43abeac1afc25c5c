# Rules over `input.chain.signals` (docs/signals.md), added to the default bundle:
# `agentwarrant test examples/policies/signals/scenarios --add-policy
# examples/policies/signals`, or appended to your copy of the bundle. Each signal
# asks a human here; a stricter policy could deny instead.
#
# Every helper is prefixed `signal_` so that it never merges with a rule of the
# bundle or of another module of the package.
package agentwarrant

import rego.v1

# The signals the engine raised for this call; none when a hand-built input has none.
default signal_list := []

signal_list := input.chain.signals if is_array(input.chain.signals)

# The details of the signals of one kind.
signal_details(kind) := [s.detail |
	some s in signal_list
	is_object(s)
	s.kind == kind
]

# A sink sending to a destination that neither the user's request named nor an
# earlier call of the task used: an address slipped in by injected content looks
# exactly like this.
require_approval contains concat("", ["new_destination: ", d.destination]) if {
	input.call.spec.sink == true
	some d in signal_details("new_destination")
	is_string(d.destination)
}

# The same call (tool and args) again and again: an agent in a loop.
require_approval contains "repeated_call" if {
	count(signal_details("repeated_call")) > 0
}

# More calls in a short window than the task should need.
require_approval contains "burst" if {
	count(signal_details("burst")) > 0
}

# A tool whose kind of action the intent never mentioned.
require_approval contains concat("", ["unimplied_tool: ", input.call.tool]) if {
	is_string(input.call.tool)
	count(signal_details("unimplied_tool")) > 0
}
