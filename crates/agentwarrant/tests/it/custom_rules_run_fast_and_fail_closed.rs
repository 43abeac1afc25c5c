//! A custom module next to the default bundle runs on the RVM when nothing in it can raise, and
//! on the interpreter (which refuses the call on an error) when something can; `Backend::Vm`
//! refuses to build such a module, naming the line and what to write instead.

use agentwarrant::{Backend, BuildError, Guard, Limits, Policy, ToolCall};
use serde_json::json;

use crate::fixtures::{anything, builder, ops};

/// Refunds above 500 are refused; the amount's type is checked first.
const CHECKED: &str = include_str!("../../policies/tests/amount_checked.rego");

/// The same rule through `to_number`, which raises on `"abc"`.
const RAISING: &str = include_str!("../../policies/tests/amount_raising.rego");

fn guard(module: &str, backend: Backend) -> Result<Guard, BuildError> {
    builder()
        .policy(Policy::default_bundle().with_module("refunds.rego", module))
        .backend(backend)
        .build()
}

/// The reason codes the guard gives a log read with `amount` (empty when it runs).
fn codes(guard: &Guard, amount: serde_json::Value) -> Vec<String> {
    let task = guard.begin(ops(), anything()).unwrap();
    let call = ToolCall::new("read_logs", json!({"service": "api", "amount": amount}));
    match task.authorize(call) {
        Ok(warrant) => {
            warrant.complete(agentwarrant::Outcome::ok()).unwrap();
            Vec::new()
        }
        Err(refusal) => refusal.codes().iter().map(|c| c.to_string()).collect(),
    }
}

#[test]
fn a_checked_custom_rule_runs_on_the_rvm_and_decides_as_the_interpreter() {
    let fast = guard(CHECKED, Backend::Auto).unwrap();
    let slow = guard(CHECKED, Backend::Interpreter).unwrap();
    assert_eq!(fast.policy().backend(), Backend::Vm);
    assert_eq!(fast.policy().interpreter_reason(), None);

    for amount in [
        json!(900),
        json!(20),
        json!("900"),
        json!(null),
        json!([900]),
    ] {
        assert_eq!(
            codes(&fast, amount.clone()),
            codes(&slow, amount.clone()),
            "{amount}"
        );
    }
    assert!(codes(&fast, json!(900)).contains(&"refund_too_large".to_owned()));
}

#[test]
fn a_custom_rule_that_can_raise_runs_on_the_interpreter_and_its_error_refuses() {
    let guard = guard(RAISING, Backend::Auto).unwrap();

    assert_eq!(guard.policy().backend(), Backend::Interpreter);
    let reason = guard.policy().interpreter_reason().unwrap();
    assert!(
        reason.starts_with("refunds.rego:7: `to_number("),
        "{reason}"
    );
    assert!(reason.contains("not a vetted builtin"), "{reason}");
    assert_eq!(codes(&guard, json!("abc")), ["policy_error"]);
}

#[test]
fn the_rvm_refuses_to_build_a_module_that_can_raise() {
    let error = guard(RAISING, Backend::Vm).unwrap_err();

    let BuildError::PolicyNotVetted {
        path,
        line,
        message,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!((path.as_str(), *line), ("refunds.rego", 7));
    assert!(message.contains("to_number"), "{message}");
    assert_eq!(error.code(), "policy_not_vetted");
}

#[test]
fn the_unvetted_rvm_skips_a_raising_rule_as_documented() {
    let guard = guard(RAISING, Backend::VmUnvetted).unwrap();

    assert_eq!(guard.policy().backend(), Backend::Vm);
    assert!(codes(&guard, json!("abc")).is_empty());
}

/// Whether `module` (after `package agentwarrant`) passes the vetting; its refusal otherwise.
fn vetting(module: &str) -> Result<(), String> {
    let source = format!("package agentwarrant\n\n{module}\n");
    let engine = Policy::default_bundle()
        .with_module("custom.rego", source)
        .compile_with(Backend::Auto, &Limits::default())
        .unwrap();
    match engine.interpreter_reason() {
        None => Ok(()),
        Some(reason) => Err(reason.to_owned()),
    }
}

#[test]
fn constructs_that_cannot_raise_pass_the_vetting() {
    let accepted = [
        "deny contains \"x\" if { is_number(input.call.args.n); input.call.args.n > 5 }",
        "deny contains \"x\" if { is_number(input.call.args.n); input.call.args.n * 2 > 5 }",
        "deny contains \"x\" if { startswith(input.call.tool, \"db.\") }",
        "deny contains \"x\" if { n := input.call.args.n; is_number(n); n / 2 >= 1 }",
        "deny contains msg if {\n  is_array(input.call.args.to)\n  some to in input.call.args.to\n  \
         is_string(to)\n  endswith(to, \"@evil.com\")\n  msg := sprintf(\"exfiltration: %v\", [to])\n}",
        "blocked := {\"rm\", \"dd\"}\ndeny contains \"x\" if { input.call.args.cmd in blocked }",
        "risky if { input.call.args.force == true }\nrisky if { input.call.args.all == true }\n\
         require_approval contains \"high_impact\" if { risky }",
        "cap := 500\nlarge := input.call.args.amount if { input.call.tool == \"refund\" }",
        "deny contains \"x\" if {\n  is_array(input.chain.tools_used)\n  \
         count({t | some t in input.chain.tools_used; t == \"a\"}) > 0\n}",
        "deny contains \"x\" if { every k in object.keys(input.call.args) { k != \"sudo\" } }",
        "deny contains \"x\" if { regex.match(`^prod-`, input.identity.id) }",
        "default mode := \"off\"\ndeny contains \"x\" if { not input.call.args.ok }",
    ];
    for module in accepted {
        assert_eq!(vetting(module), Ok(()), "{module}");
    }
}

#[test]
fn each_construct_that_can_raise_is_named_with_what_to_write_instead() {
    let refused = [
        ("deny contains \"x\" if { input.call.args.n > 5 }", "is_number"),
        // A name bound again starts unknown, whatever was checked of an earlier binding.
        (
            "deny contains \"x\" if { v := \"a\"; every v in input.call.args.list { startswith(v, \"b\") } }",
            "is_string",
        ),

        // A check after the use does not count.
        ("deny contains \"x\" if { input.call.args.n > 5; is_number(input.call.args.n) }", "is_number"),
        ("deny contains \"x\" if { count(input.call.args.to) > 2 }", "argument 1 is a string or a collection"),
        ("deny contains \"x\" if { input.call.args.n + 1 > 5 }", "each operand is a number"),
        ("deny contains \"x\" if { is_number(input.call.args.n); 10 / input.call.args.n > 1 }", "non-zero"),
        ("big(x) if { x > 5 }\ndeny contains \"x\" if { big(1) }", "function"),
        ("deny contains \"x\" if { {k: 1 | some k in [\"a\"]} }", "object comprehension"),
        ("deny contains \"x\" if { some t in input.call.args.to; t == 1 }", "is_array"),
        ("to := t if { t := input.call.args.to[_] }", "iterates"),
        ("level := 1 if { input.call.args.a }\nlevel := 2 if { input.call.args.b }", "different values"),
        ("l := [1] if { input.call.args.a }\nl := {1} if { input.call.args.b }", "different values"),
        ("allow if { input.call.tool == \"x\" }", "also defined by the default bundle"),
        ("level := \"a\" if { input.call.args.a } else := \"b\"", "else"),
        (
            "deny contains \"x\" if { is_string(input.call.args.p); regex.match(input.call.args.p, \"a\") }",
            "valid string literal",
        ),
        ("deny contains sprintf(\"%d\", [input.call.args.n]) if { true }", "`%v` verbs"),
        ("deny contains \"x\" if { input.call.args.n == 1 with input.call.args.n as 1 }", "`with`"),
    ];
    for (module, hint) in refused {
        let reason = vetting(module).expect_err(module);
        assert!(reason.starts_with("custom.rego:"), "{reason}");
        assert!(reason.contains("cannot run on the RVM"), "{reason}");
        assert!(reason.contains(hint), "{module}: {reason}");
    }
}
