# agentwarrant default governance bundle (contract version agentwarrant/v1).
#
# The engine evaluates `deny`, `require_approval` and `allow` over one input
# document per tool call (see DESIGN.md, "Policy contract"). A reason is either a
# bare snake_case code or "code: detail"; the engine splits at the first ": ".
# Reason codes are public contract: dashboards and scenario files match on them.
#
# Written defensively: an evaluation error fails the call closed, so optional
# fields (roles, tags, reads, max_impact, ...) may be absent, null or of another
# type without raising. Where a field the engine always sends is missing or
# malformed, a rule either stays silent or takes the stricter outcome (a
# missing grant denies, a missing impact in prod asks for approval); it
# never raises.
#
# Shaped for the evaluator's cost model (docs/performance.md, "Writing fast
# rules"): every rule reads the input directly (a reference to another rule or
# a call of a helper function costs several times a field read), membership is
# `x in xs` behind a type check, rank tables are membership sets, and a value
# with a fallback is two bodies. `data.limits` is complete and numeric: the
# engine fills in the defaults and refuses a non-number when the guard is built.
# `policies/tests/reference.rego` is the bundle as first written, with helpers;
# a differential test holds the two to the same decision on every input.
package agentwarrant

# Keeps the bundle parsing under engines that still default to Rego v0.
import rego.v1

# ---------------------------------------------------------------------------
# Limits: a task's own (input.task.limits, set when it began) when numeric,
# else the guard's (data.limits: max_depth 4, max_calls 200,
# max_impact_total 6 unless the guard sets them).

max_depth := input.task.limits.max_depth if is_number(input.task.limits.max_depth)

max_depth := data.limits.max_depth if not is_number(input.task.limits.max_depth)

max_calls := input.task.limits.max_calls if is_number(input.task.limits.max_calls)

max_calls := data.limits.max_calls if not is_number(input.task.limits.max_calls)

max_impact_total := input.task.limits.max_impact_total if is_number(input.task.limits.max_impact_total)

max_impact_total := data.limits.max_impact_total if not is_number(input.task.limits.max_impact_total)

# ---------------------------------------------------------------------------
# deny: any member refuses the call.

# The scope is beyond what this identity may ever hold: no approval can help.
deny contains concat("", ["outside_ceiling: ", scope]) if {
	is_object(input.call.scope_bands)
	some scope, band in input.call.scope_bands
	band == "outside_ceiling"
}

# The engine refuses these before policy too; repeated here so the decision
# records why and a hand-built or replayed input cannot slip past.
deny contains "grant_invalid: revoked" if {
	input.grant.revoked == true
}

deny contains "grant_invalid: expired" if {
	is_number(input.grant.expires_in_s)
	input.grant.expires_in_s <= 0
}

# No grant, or a grant without a numeric expiry, cannot be shown to be valid.
deny contains "grant_invalid: missing" if {
	not is_object(input.grant)
}

deny contains "grant_invalid: no_expiry" if {
	is_object(input.grant)
	not is_number(input.grant.expires_in_s)
}

# A hand-built or truncated document (e.g. through `agentwarrant check`) that is not a
# complete agentwarrant/v1 call cannot be shown to be safe. One body: a set of
# the checks is {true} only when every check holds (an undefined one leaves it
# undefined, a failed one adds false).
deny contains "invalid_call: not a complete agentwarrant/v1 call document" if {
	not {
		input.version == "agentwarrant/v1",
		is_object(input.identity),
		is_object(input.task),
		is_object(input.call.spec),
		is_object(input.chain),
		is_number(input.chain.depth),
		is_number(input.chain.calls),
	} == {true}
}

# Runaway delegation: a top-level call has depth 1; depth == max_depth is allowed.
deny contains "depth_exceeded" if {
	is_number(input.chain.depth)
	input.chain.depth > max_depth
}

# chain.calls counts calls decided before this one, so call max_calls + 1 is refused.
deny contains "call_budget_exceeded" if {
	is_number(input.chain.calls)
	input.chain.calls >= max_calls
}

# Secret read earlier in the task, now data could leave the organisation.
deny contains "exfiltration" if {
	input.call.spec.external == true
	input.call.spec.sink == true
	is_array(input.chain.labels)
	"secret" in input.chain.labels
}

# The tool restricts callers by role (null/absent = any role); an empty list,
# a list without the identity's role, a missing identity role or a malformed
# (non-list) roles value therefore denies.
deny contains "role_not_permitted" if {
	is_array(input.call.spec.roles)
	not input.identity.role in input.call.spec.roles
}

deny contains "role_not_permitted" if {
	roles := input.call.spec.roles
	roles != null
	not is_array(roles)
}

# ---------------------------------------------------------------------------
# require_approval: any member (and no deny) sends the call to a human.

require_approval contains "high_impact" if {
	input.call.spec.impact in {"high", "critical"}
}

# Anything but a low-impact call in production gets a pause point; a missing
# or unknown impact is "not low" too. The engine says which environments are
# production (`task.production`); a hand-built document without the flag falls
# back to `env == "prod"`.
require_approval contains "production_change" if {
	input.task.production == true
	not input.call.spec.impact == "low"
}

require_approval contains "production_change" if {
	input.task.env == "prod"
	object.get(input.task, "production", null) == null
	not input.call.spec.impact == "low"
}

require_approval contains "secret_access" if {
	is_array(input.call.spec.reads)
	"secret" in input.call.spec.reads
}

# Permission changes are privilege escalation paths.
require_approval contains "rbac_change" if {
	is_array(input.call.spec.tags)
	"rbac" in input.call.spec.tags
}

# Money leaving the organisation.
require_approval contains "external_transaction" if {
	input.call.spec.external == true
	is_array(input.call.spec.tags)
	"financial" in input.call.spec.tags
}

# Only an explicit false counts: reversible defaults to true.
require_approval contains "irreversible" if {
	input.call.spec.reversible == false
}

# Outside the task's intent but inside the ceiling: the agent wandered.
require_approval contains concat("", ["scope_drift: ", scope]) if {
	is_object(input.call.scope_bands)
	some scope, band in input.call.scope_bands
	band == "drift"
}

# Untrusted content (fetched pages, mail, messages) may carry injected
# instructions: it must not silently drive a send or a consequential change.
# `data.untrusted_input` says where the rule bites (the engine sets it to
# "any_read" unless the policy's data chooses "unnamed_targets"):
#
# "any_read": every sink and every medium-or-more call after any untrusted read.
require_approval contains "untrusted_input" if {
	is_array(input.chain.labels)
	"untrusted" in input.chain.labels
	data.untrusted_input == "any_read"
	input.call.spec.sink == true
}

require_approval contains "untrusted_input" if {
	is_array(input.chain.labels)
	"untrusted" in input.chain.labels
	data.untrusted_input == "any_read"
	input.call.spec.impact in {"medium", "high", "critical"}
}

# "unnamed_targets": only where the content can have chosen a target, that is
# one the person who began the task did not name (`call.named_scopes`: the
# required scopes its intent holds literally):
# - a sink that reaches no named target (the agent chose every destination, or
#   the send names none, such as an event without invitees);
# - a sink or a medium-or-more call with a scope outside the intent (drift);
# - a call asked about by design anyway that reaches an unnamed target, so the
#   person asked sees that untrusted content was read.
# `exfiltration` (a secret read, then an external sink) stays absolute.
require_approval contains "untrusted_input" if {
	data.untrusted_input == "unnamed_targets"
	untrusted_reaches_unnamed
}

# One rule behind the mode check, so the default mode pays for one body only.
untrusted_reaches_unnamed if {
	is_array(input.chain.labels)
	"untrusted" in input.chain.labels
	input.call.spec.sink == true
	count(named_scopes) == 0
}

untrusted_reaches_unnamed if {
	is_array(input.chain.labels)
	"untrusted" in input.chain.labels
	input.call.spec.sink == true
	is_object(input.call.scope_bands)
	some band in input.call.scope_bands
	band == "drift"
}

untrusted_reaches_unnamed if {
	is_array(input.chain.labels)
	"untrusted" in input.chain.labels
	input.call.spec.impact in {"medium", "high", "critical"}
	is_object(input.call.scope_bands)
	some band in input.call.scope_bands
	band == "drift"
}

untrusted_reaches_unnamed if {
	is_array(input.chain.labels)
	"untrusted" in input.chain.labels
	asked_by_design
	some scope in input.call.required_scopes
	not scope in named_scopes
}

# The named scopes as a set (none when the field is absent or not a list).
named_scopes := {scope | some scope in input.call.named_scopes} if is_array(input.call.named_scopes)

named_scopes := set() if not is_array(input.call.named_scopes)

# The conditions of the approval reasons above that hold whatever led to the
# call (restated: a rule cannot read the set it helps define).
asked_by_design if input.call.spec.impact in {"high", "critical"}

asked_by_design if input.call.spec.reversible == false

asked_by_design if {
	is_array(input.call.spec.tags)
	"rbac" in input.call.spec.tags
}

asked_by_design if {
	input.call.spec.external == true
	is_array(input.call.spec.tags)
	"financial" in input.call.spec.tags
}

asked_by_design if {
	is_array(input.call.spec.reads)
	"secret" in input.call.spec.reads
}

asked_by_design if {
	input.task.production == true
	not input.call.spec.impact == "low"
}

asked_by_design if {
	input.task.env == "prod"
	object.get(input.task, "production", null) == null
	not input.call.spec.impact == "low"
}

# Many medium calls add up: pause once the task's running total would pass
# the limit. Weights: low 0 (never trips it), medium 1, high 3, critical 5; a
# missing or non-numeric chain.impact_total counts as 0.
require_approval contains "cumulative_impact" if {
	weight := {"medium": 1, "high": 3, "critical": 5}[input.call.spec.impact]
	is_number(input.chain.impact_total)
	input.chain.impact_total + weight > max_impact_total
}

require_approval contains "cumulative_impact" if {
	weight := {"medium": 1, "high": 3, "critical": 5}[input.call.spec.impact]
	not is_number(input.chain.impact_total)
	weight > max_impact_total
}

# The call is more consequential than the task said it would be (a draft tool
# quietly becoming an execution path). No declared max_impact: nothing to drift from.
require_approval contains "impact_drift" if {
	above := {
		"low": {"medium", "high", "critical"},
		"medium": {"high", "critical"},
		"high": {"critical"},
	}[input.task.intent.max_impact]
	input.call.spec.impact in above
}

# ---------------------------------------------------------------------------
# allow: true exactly when nothing denies; approval reasons are handled by the engine.

allow := count(deny) == 0
