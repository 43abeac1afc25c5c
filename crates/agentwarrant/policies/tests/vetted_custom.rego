# Custom rules that pass the vetting for the RVM (src/policy/vet.rs): checked types,
# iteration, comprehensions, arithmetic, string builtins, a constant rule. The bundle
# differential test and the policy_differential fuzz target run them on both evaluators.
package agentwarrant

deny contains sprintf("refund_too_large: %v", [input.call.args.amount]) if {
	is_number(input.call.args.amount)
	input.call.args.amount > 500
}

deny contains msg if {
	is_array(input.call.args.to)
	some to in input.call.args.to
	is_string(to)
	endswith(lower(to), "@evil.com")
	msg := sprintf("exfiltration: %v", [to])
}

blocked := {"rm", "dd"}

require_approval contains "high_impact" if input.call.args.cmd in blocked

require_approval contains "production_change" if {
	is_string(input.call.args.service)
	startswith(input.call.args.service, "prod-")
	count(input.call.args.service) > 6
}

deny contains "call_budget_exceeded" if {
	is_number(input.chain.calls)
	is_number(input.call.args.amount)
	(input.chain.calls * 2) + (input.call.args.amount / 100) >= 20
}

deny contains "invalid_call: too many large items" if {
	is_array(input.call.args.items)
	count([i | some i in input.call.args.items; is_number(i); i > 2]) > 1
}
