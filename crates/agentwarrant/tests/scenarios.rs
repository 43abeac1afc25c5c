//! The scenario corpus in `tests/scenarios/` passes on both regorus evaluators.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

use std::path::PathBuf;

use agentwarrant::testing::{run_file, RunOptions};
use agentwarrant::Backend;

/// Every scenario file below `tests/scenarios/`, the attack corpus in `attacks/` included.
fn corpus() -> Vec<PathBuf> {
    fn below(dir: &std::path::Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                below(&path, files);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios");
    let mut files = Vec::new();
    below(&dir, &mut files);
    files.sort();
    assert!(
        files
            .iter()
            .any(|f| f.parent().is_some_and(|p| p.ends_with("attacks"))),
        "the attack corpus is missing from {}",
        dir.display()
    );
    assert!(
        files.len() >= 20,
        "the corpus is missing from {}",
        dir.display()
    );
    files
}

fn run_all(backend: Backend) {
    let options = RunOptions {
        backend,
        ..RunOptions::default()
    };
    let mut failures = Vec::new();
    for file in corpus() {
        match run_file(&file, &options) {
            Ok(report) if report.passed => {}
            Ok(report) => {
                for step in report.failures() {
                    failures.push(format!("{}: {step}", file.display()));
                }
            }
            Err(error) => failures.push(error.to_string()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn corpus_passes_on_the_rvm() {
    run_all(Backend::Vm);
}

#[test]
fn corpus_passes_on_the_interpreter() {
    run_all(Backend::Interpreter);
}

#[test]
fn an_intent_on_the_root_identity_is_an_error_naming_its_path() {
    let text = r#"{"format": "agentwarrant-scenario/v1", "name": "x", "tools": [],
        "identity": {"id": "agent://a/b", "role": "executor", "owner": "o@a.com", "intent": {"goal": "g"}},
        "intent": {"goal": "g"}, "steps": []}"#;
    let error = agentwarrant::testing::run_str(text, "x.json", &RunOptions::default()).unwrap_err();
    assert_eq!(error.path, "identity.intent");
}

/// Each directory of `examples/policies/` holds rules added to the default bundle and, in its
/// `scenarios/`, files that pin them: calls that fire each rule and calls that do not. They
/// pass on the RVM, which builds only modules that pass the vetting (nothing in them can
/// raise), and on the interpreter.
#[test]
fn example_policies_pass_their_scenarios_on_top_of_the_default_bundle() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 2,
        "the example policies are missing from {}",
        root.display()
    );
    let mut failures = Vec::new();
    let mut files = 0;
    for (dir, backend) in dirs
        .iter()
        .flat_map(|dir| [(dir, Backend::Vm), (dir, Backend::Interpreter)])
    {
        let options = RunOptions {
            add_policy_dirs: vec![dir.clone()],
            backend,
            ..RunOptions::default()
        };
        let mut scenarios: Vec<PathBuf> = std::fs::read_dir(dir.join("scenarios"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        scenarios.sort();
        for file in scenarios {
            files += 1;
            match run_file(&file, &options) {
                Ok(report) if report.passed => {}
                Ok(report) => {
                    for step in report.failures() {
                        failures.push(format!("{}: {step}", file.display()));
                    }
                }
                Err(error) => failures.push(error.to_string()),
            }
        }
    }
    assert!(files >= 24, "only {files} example scenario runs");
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
