# The rule of amount_checked.rego through `to_number`, which raises on "abc": the policy
# runs on the interpreter, where the error refuses the call.
package agentwarrant

deny contains "refund_too_large" if {
	input.call.tool == "read_logs"
	to_number(input.call.args.amount) > 500
}
