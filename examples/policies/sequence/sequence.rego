# Sequence rules over `input.chain.history` (docs/signals.md), added to the default
# bundle: `agentwarrant test examples/policies/sequence/scenarios --add-policy
# examples/policies/sequence`, or put next to your copy of the bundle.
#
# Every helper is prefixed `sequence_` so that it never merges with a rule of the
# bundle or of another module of the package. Every value is type-checked before it
# is compared, so the module runs on the fast RVM (docs/policy.md, "Custom rules on
# the RVM").
package agentwarrant

import rego.v1

# The calls that ran before this one, per tool as called (delegated sub-tasks
# included); empty when a hand-built input has none, so that a rule over an empty
# history simply does not fire.
default sequence_counts := {}

sequence_counts := input.chain.history.counts if is_object(input.chain.history.counts)

# Nothing is deleted once a bulk export ran in the task tree: a copy of the data has
# left, and a deletion now could be covering its tracks. `counts` remembers every
# call that ran (`recent` only the last 16), so filler calls cannot push the export
# out of sight.
deny contains sprintf("delete_after_export: %v", [input.call.tool]) if {
	is_string(input.call.tool)
	startswith(input.call.tool, "delete_")
	exports := sequence_counts.bulk_export
	is_number(exports)
	exports > 0
}

# At most 3 refunds per task tree. Refused refunds did not run and do not count.
deny contains sprintf("refund_limit: %v refunds ran already", [n]) if {
	input.call.tool == "refund"
	n := sequence_counts.refund
	is_number(n)
	n >= 3
}
