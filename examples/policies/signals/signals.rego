# Rules over `input.chain.signals` (docs/signals.md), added to the default bundle:
# `agentwarrant test examples/policies/signals/scenarios --add-policy
# examples/policies/signals`, or put next to your copy of the bundle. Each signal
# asks a human here; a stricter policy could deny instead.
#
# Every helper is prefixed `signal_` so that it never merges with a rule of the
# bundle or of another module of the package. Every value is type-checked before it
# is used, so the module runs on the fast RVM (docs/policy.md, "Custom rules on the
# RVM").
package agentwarrant

import rego.v1

# The signals the engine raised for this call; none when a hand-built input has none.
default signal_list := []

signal_list := input.chain.signals if is_array(input.chain.signals)

# The kinds of the signals raised for this call.
signal_kinds := {s.kind |
	is_array(signal_list)
	some s in signal_list
}

# A sink sending to a destination that neither the user's request named nor an
# earlier call of the task used: an address slipped in by injected content looks
# exactly like this.
require_approval contains sprintf("new_destination: %v", [s.detail.destination]) if {
	input.call.spec.sink == true
	is_array(signal_list)
	some s in signal_list
	s.kind == "new_destination"
	is_string(s.detail.destination)
}

# The same call (tool and args) again and again: an agent in a loop.
require_approval contains "repeated_call" if "repeated_call" in signal_kinds

# More calls in a short window than the task should need.
require_approval contains "burst" if "burst" in signal_kinds

# A tool whose kind of action the intent never mentioned.
require_approval contains sprintf("unimplied_tool: %v", [input.call.tool]) if {
	"unimplied_tool" in signal_kinds
}
