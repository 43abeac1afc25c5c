# A custom rule as users write one, the amount's type checked first: it passes the vetting,
# so the default bundle with it runs on the RVM. Used by the integration suite
# (custom_rules_run_fast_and_fail_closed) and the bench (`+ custom module (vetted, RVM)`).
package agentwarrant

deny contains sprintf("refund_too_large: %v", [input.call.args.amount]) if {
	input.call.tool == "read_logs"
	is_number(input.call.args.amount)
	input.call.args.amount > 500
}
