# Test fixture, not shipped: the default bundle as first written (helper rules and
# functions, rank tables, limits defaulted in Rego). `tests/bundle_differential.rs`
# holds the shipped bundle to the same decisions as this one on every generated
# input; it reads `data.limits` defensively, so it is compared under the data the
# user gives, the shipped bundle under the data the engine completes.
#
# agentwarrant default governance bundle (contract version agentwarrant/v1).
#
# The engine evaluates `deny`, `require_approval` and `allow` over one input
# document per tool call (see DESIGN.md, "Policy contract"). A reason is either a
# bare snake_case code or "code: detail"; the engine splits at the first ": ".
# Reason codes are public contract: dashboards and scenario files match on them.
#
# Written defensively: an evaluation error fails the call closed, so optional
# fields (roles, tags, reads, max_impact, limits, ...) may be absent or null
# without raising. Where a field the engine always sends is missing or
# malformed, a rule either stays silent or takes the stricter outcome (a
# missing grant denies, a missing impact in prod asks for approval); it
# never raises.
package agentwarrant

# Keeps the bundle parsing under engines that still default to Rego v0.
import rego.v1

# ---------------------------------------------------------------------------
# Limits: a task's own (input.task.limits, set when it began), else the
# guard's (data.limits), each defaulted on its own so a partial override works.
# A non-numeric value falls back instead of silently disabling the check (a
# number never compares greater than a string).

default limits := {}

limits := data.limits if is_object(data.limits)

task_limits := input.task.limits if is_object(input.task.limits)

default task_limits := {}

limit(name, _) := task_limits[name] if is_number(task_limits[name])

limit(name, _) := limits[name] if {
	not is_number(task_limits[name])
	is_number(limits[name])
}

limit(name, fallback) := fallback if {
	not is_number(task_limits[name])
	not is_number(limits[name])
}

max_depth := limit("max_depth", 4)

max_calls := limit("max_calls", 200)

max_impact_total := limit("max_impact_total", 6)

# ---------------------------------------------------------------------------
# Impact scale. Unknown impact strings have no rank/weight, so rank-based
# rules stay silent rather than erroring (the engine validates impact anyway).

impact_rank := {"low": 0, "medium": 1, "high": 2, "critical": 3}

impact_weight := {"low": 0, "medium": 1, "high": 3, "critical": 5}

# ---------------------------------------------------------------------------
# Helpers.

# listed(xs, x): xs is an array or set holding x. Absent, null or scalar xs
# simply does not match (regorus raises on `some .. in null`, hence the guard).
listed(xs, x) if {
	is_array(xs)
	some y in xs
	y == x
}

listed(xs, x) if {
	is_set(xs)
	x in xs
}

# call.scope_bands, or {} when missing/null, so iterating it never errors.
default bands := {}

bands := input.call.scope_bands if is_object(input.call.scope_bands)

# chain.impact_total, or 0 when missing/null, so the addition never errors.
default impact_total := 0

impact_total := input.chain.impact_total if is_number(input.chain.impact_total)

# The tool spec, or {} when missing/malformed, so object.get on it never errors.
default spec := {}

spec := input.call.spec if is_object(input.call.spec)

# ---------------------------------------------------------------------------
# deny: any member refuses the call.

# The scope is beyond what this identity may ever hold: no approval can help.
deny contains concat("", ["outside_ceiling: ", scope]) if {
	some scope, band in bands
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
# complete agentwarrant/v1 call cannot be shown to be safe.
deny contains "invalid_call: not a complete agentwarrant/v1 call document" if {
	not well_formed
}

well_formed if {
	input.version == "agentwarrant/v1"
	is_object(input.identity)
	is_object(input.task)
	is_object(input.call)
	is_object(input.call.spec)
	is_object(input.chain)
	is_number(input.chain.depth)
	is_number(input.chain.calls)
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
	spec.external == true
	spec.sink == true
	listed(input.chain.labels, "secret")
}

# The tool restricts callers by role (null/absent = any role); an empty list
# or a missing identity role therefore denies.
deny contains "role_not_permitted" if {
	roles := spec.roles
	roles != null
	not listed(roles, input.identity.role)
}

# ---------------------------------------------------------------------------
# require_approval: any member (and no deny) sends the call to a human.

require_approval contains "high_impact" if {
	spec.impact in {"high", "critical"}
}

# Anything but a low-impact call in production gets a pause point; a missing
# or unknown impact is "not low" too. The engine says which environments are
# production (`task.production`); a hand-built document without the flag falls
# back to `env == "prod"`.
require_approval contains "production_change" if {
	production
	object.get(spec, "impact", null) != "low"
}

production if input.task.production == true

production if {
	is_object(input.task)
	object.get(input.task, "production", null) == null
	input.task.env == "prod"
}

require_approval contains "secret_access" if {
	listed(spec.reads, "secret")
}

# Permission changes are privilege escalation paths.
require_approval contains "rbac_change" if {
	listed(spec.tags, "rbac")
}

# Money leaving the organisation.
require_approval contains "external_transaction" if {
	listed(spec.tags, "financial")
	spec.external == true
}

# Only an explicit false counts: reversible defaults to true.
require_approval contains "irreversible" if {
	spec.reversible == false
}

# Outside the task's intent but inside the ceiling: the agent wandered.
require_approval contains concat("", ["scope_drift: ", scope]) if {
	some scope, band in bands
	band == "drift"
}

# Untrusted content may carry injected instructions: with "any_read" (the
# default), it must not silently drive a send or a consequential change; with
# "unnamed_targets", it must not choose a target the person who began the task
# did not name (`call.named_scopes`).
default untrusted_mode := "any_read"

untrusted_mode := data.untrusted_input if is_string(data.untrusted_input)

require_approval contains "untrusted_input" if {
	listed(input.chain.labels, "untrusted")
	untrusted_mode == "any_read"
	consequential
}

require_approval contains "untrusted_input" if {
	listed(input.chain.labels, "untrusted")
	untrusted_mode == "unnamed_targets"
	spec.sink == true
	not some_named
}

require_approval contains "untrusted_input" if {
	listed(input.chain.labels, "untrusted")
	untrusted_mode == "unnamed_targets"
	consequential
	some _, band in bands
	band == "drift"
}

require_approval contains "untrusted_input" if {
	listed(input.chain.labels, "untrusted")
	untrusted_mode == "unnamed_targets"
	asked_by_design
	some scope in input.call.required_scopes
	not named(scope)
}

consequential if spec.sink == true

consequential if impact_rank[spec.impact] >= impact_rank.medium

some_named if {
	is_array(input.call.named_scopes)
	count(input.call.named_scopes) > 0
}

named(scope) if listed(input.call.named_scopes, scope)

asked_by_design if impact_rank[spec.impact] >= impact_rank.high

asked_by_design if spec.reversible == false

asked_by_design if listed(spec.tags, "rbac")

asked_by_design if {
	listed(spec.tags, "financial")
	spec.external == true
}

asked_by_design if listed(spec.reads, "secret")

asked_by_design if {
	production
	object.get(spec, "impact", null) != "low"
}

# Many medium calls add up: pause once the task's running total would pass
# the limit. Low-impact calls (weight 0) never trip it.
require_approval contains "cumulative_impact" if {
	weight := impact_weight[spec.impact]
	weight > 0
	impact_total + weight > max_impact_total
}

# The call is more consequential than the task said it would be (a draft tool
# quietly becoming an execution path). No declared max_impact: nothing to drift from.
require_approval contains "impact_drift" if {
	max_impact := input.task.intent.max_impact
	is_string(max_impact)
	impact_rank[spec.impact] > impact_rank[max_impact]
}

# ---------------------------------------------------------------------------
# allow: true exactly when nothing denies; approval reasons are handled by the engine.

allow := count(deny) == 0
