//! `regorus-rvm-experiment N`: evaluates the default bundle, wrapped as the engine wraps it,
//! over the documents of the per-rule cases (`policies/tests/`), N times in all, on a bare RVM.
//! Run it under callgrind twice (two values of N) against regorus 0.14.1 and against the
//! patched copy; the difference over the difference in N is the cost of one evaluation.

use std::path::Path;

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::vm::RegoVM;
use regorus::{Engine, Value};
use serde_json::{json, Value as Json};

const ENTRY_POINT: &str = "data.agentwarrant_engine.decision";

const ENGINE_MODULE: &str = r#"package agentwarrant_engine

decision := {
	"deny": data.agentwarrant.deny,
	"require_approval": data.agentwarrant.require_approval,
	"allow": data.agentwarrant.allow,
}
"#;

fn merge(target: &mut Json, patch: &Json) {
    match (target, patch) {
        (Json::Object(target), Json::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Json::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000);
    let bundle = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "../../crates/agentwarrant/policies/agentwarrant.rego".into());
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/agentwarrant/policies");
    let base: Json = serde_json::from_str(&read(&policies.join("tests/base_input.json"))).unwrap();
    let cases: Json = serde_json::from_str(&read(&policies.join("tests/cases.json"))).unwrap();
    let documents: Vec<Value> = cases
        .as_array()
        .unwrap()
        .iter()
        .filter(|case| case.get("build_error").is_none() && case.get("data").is_none())
        .map(|case| {
            let mut input = base.clone();
            merge(&mut input, &case["patch"]);
            Value::from(input)
        })
        .collect();
    let data = Value::from(json!({"limits": {"max_depth": 4, "max_calls": 200, "max_impact_total": 6}}));

    let mut engine = Engine::new();
    engine.add_policy("agentwarrant.rego".into(), read(Path::new(&bundle))).unwrap();
    engine.add_policy("agentwarrant_engine.rego".into(), ENGINE_MODULE.into()).unwrap();
    engine.add_data(data.clone()).unwrap();
    let policy = engine.compile_with_entrypoint(&ENTRY_POINT.into()).unwrap();
    let program = Compiler::compile_from_policy(&policy, &[ENTRY_POINT]).unwrap();
    let mut vm = RegoVM::new();
    vm.load_program(program);
    vm.set_data(data).unwrap();

    let mut allowed = 0usize;
    for document in documents.iter().cycle().take(n) {
        vm.set_input(document.clone());
        let decision = vm.execute().unwrap();
        if decision["allow"] == Value::Bool(true) {
            allowed += 1;
        }
    }
    println!("{} documents, {n} evaluations, {allowed} allowed", documents.len());
}
