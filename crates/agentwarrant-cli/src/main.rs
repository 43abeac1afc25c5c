//! `agentwarrant`: run the demo, evaluate a policy input, run scenario files, verify a ledger.

mod demo;

use std::path::PathBuf;
use std::process::ExitCode;

use agentwarrant::testing::{run_file, RunOptions};
use agentwarrant::{Backend, Policy};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "agentwarrant",
    version,
    about = "Guardrails for AI-agent tool calls"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play a scripted operations-agent session on the default bundle and print what was decided.
    Demo {
        /// Where to write the ledger (default: a new file in the temporary directory).
        #[arg(long)]
        ledger: Option<PathBuf>,
    },
    /// Check a ledger's hash chain; names the first broken record.
    Verify {
        /// The JSON Lines ledger.
        path: PathBuf,
        /// The hash the last record must have (detects a truncated tail).
        #[arg(long)]
        expect_head: Option<String>,
    },
    /// Evaluate one policy input document and print the decision as JSON.
    Check {
        /// The input document (JSON, contract agentwarrant/v1).
        #[arg(long)]
        input: PathBuf,
        /// A policy directory replacing the default bundle.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Run scenario files (agentwarrant-scenario/v1); fails if any step differs.
    Test {
        /// Scenario files, or directories of them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// A policy directory replacing the default bundle.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The regorus evaluator.
        #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
        backend: BackendArg,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Auto,
    Rvm,
    Interpreter,
}

impl From<BackendArg> for Backend {
    fn from(arg: BackendArg) -> Self {
        match arg {
            BackendArg::Auto => Backend::Auto,
            BackendArg::Rvm => Backend::Vm,
            BackendArg::Interpreter => Backend::Interpreter,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { ledger } => demo::run(ledger),
        Command::Verify { path, expect_head } => verify(&path, expect_head.as_deref()),
        Command::Check { input, policy } => check(&input, policy),
        Command::Test {
            files,
            policy,
            format,
            backend,
        } => test(&files, policy, format, backend.into()),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn verify(path: &std::path::Path, expect_head: Option<&str>) -> Result<ExitCode, String> {
    match agentwarrant::ledger::verify(path) {
        Ok(head) => {
            if let Some(expected) = expect_head {
                if expected != head.hash {
                    println!(
                        "broken: `{}` ends at record {} with hash {}, not the expected head {expected}: records were removed from the end or added",
                        path.display(),
                        head.records,
                        head.hash
                    );
                    return Ok(ExitCode::FAILURE);
                }
            }
            println!(
                "ok: `{}` holds {} intact records; head {}",
                path.display(),
                head.records,
                head.hash
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(agentwarrant::LedgerError::Broken { line, problem, .. }) => {
            println!(
                "broken: `{}` record {line} (line {line}): {problem}",
                path.display()
            );
            Ok(ExitCode::FAILURE)
        }
        Err(other) => Err(other.to_string()),
    }
}

fn check(input: &std::path::Path, policy: Option<PathBuf>) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(input)
        .map_err(|e| format!("cannot read `{}`: {e}", input.display()))?;
    let document: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("`{}` is not JSON: {e}", input.display()))?;
    let policy = match policy {
        Some(dir) => Policy::from_dir(dir).map_err(|e| e.to_string())?,
        None => Policy::default_bundle(),
    };
    let engine = policy.compile().map_err(|e| e.to_string())?;
    let decision = engine.decide_json(&document);
    println!(
        "{}",
        serde_json::to_string_pretty(&decision).map_err(|e| e.to_string())?
    );
    Ok(ExitCode::SUCCESS)
}

/// Files as given; directories expand to their `.json` files, sorted.
fn scenario_files(args: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for arg in args {
        if arg.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(arg)
                .map_err(|e| format!("cannot read `{}`: {e}", arg.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(arg.clone());
        }
    }
    Ok(files)
}

fn test(
    args: &[PathBuf],
    policy_dir: Option<PathBuf>,
    format: Format,
    backend: Backend,
) -> Result<ExitCode, String> {
    let options = RunOptions {
        policy_dir,
        backend,
    };
    let mut json = Vec::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in scenario_files(args)? {
        match run_file(&file, &options) {
            Ok(report) => {
                if report.passed {
                    passed += 1;
                } else {
                    failed += 1;
                }
                if format == Format::Text {
                    let verdict = if report.passed { "PASS" } else { "FAIL" };
                    println!(
                        "{verdict} {} ({} steps) {}",
                        report.name,
                        report.steps.len(),
                        file.display()
                    );
                    for step in report.failures() {
                        println!("    {step}");
                    }
                }
                json.push(serde_json::to_value(&report).map_err(|e| e.to_string())?);
            }
            Err(error) => {
                failed += 1;
                if format == Format::Text {
                    println!("ERROR {error}");
                }
                json.push(serde_json::json!({"file": file.display().to_string(), "passed": false, "error": error.to_string()}));
            }
        }
    }
    match format {
        Format::Text => println!("{passed} passed, {failed} failed"),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?
        ),
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
