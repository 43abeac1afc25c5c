# Sequence rules over `input.chain.history` (docs/signals.md), added to the default
# bundle: `agentwarrant test examples/policies/sequence/scenarios --add-policy
# examples/policies/sequence`, or appended to your copy of the bundle.
#
# Every helper is prefixed `sequence_` so that it never merges with a rule of the
# bundle or of another module of the package.
package agentwarrant

import rego.v1

# The calls that ran before this one, per tool as called (delegated sub-tasks
# included); empty when a hand-built input has none, so that a rule over an empty
# history simply does not fire.
default sequence_counts := {}

sequence_counts := input.chain.history.counts if is_object(input.chain.history.counts)

sequence_count(tool) := n if {
	n := sequence_counts[tool]
	is_number(n)
}

sequence_count(tool) := 0 if not is_number(sequence_counts[tool])

# Nothing is deleted once a bulk export ran in the task tree: a copy of the data has
# left, and a deletion now could be covering its tracks. `counts` remembers every
# call that ran (`recent` only the last 16), so filler calls cannot push the export
# out of sight.
deny contains concat("", ["delete_after_export: ", input.call.tool]) if {
	is_string(input.call.tool)
	startswith(input.call.tool, "delete_")
	sequence_count("bulk_export") > 0
}

# At most 3 refunds per task tree. Refused refunds did not run and do not count.
deny contains sprintf("refund_limit: %d refunds ran already", [n]) if {
	input.call.tool == "refund"
	n := sequence_count("refund")
	n >= 3
}
