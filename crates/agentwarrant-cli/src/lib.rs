//! `agentwarrant`: run the demo, evaluate a policy input, run scenario files, verify, read and
//! replay a ledger.
//!
//! The command is a library so that every distribution runs the same code: the `agentwarrant`
//! binary of this crate calls [`run`], and so does the `agentwarrant` command installed with
//! the Python package (`agentwarrant._native.cli`).

/// Prints a line to standard output. A reader that went away (`agentwarrant demo | head -1`)
/// ends the program quietly, as a closed pipe ends other command-line tools, instead of a
/// panic; any other write error ends it with status 2.
macro_rules! out {
    () => {
        $crate::print_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::print_line(format_args!($($arg)*))
    };
}

#[cfg(feature = "postgres")]
mod approvals;
mod demo;
mod log;
mod prompt;
mod replay;
mod verify;

use std::ffi::OsString;
use std::path::PathBuf;

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

/// What `agentwarrant approvals` does.
#[cfg(feature = "postgres")]
#[derive(Subcommand)]
enum ApprovalsAction {
    /// The requests waiting for an answer, oldest first: ticket, tool, agent, reasons.
    List,
    /// One waiting request in full.
    Show {
        /// The ticket id.
        ticket: String,
    },
    /// Approve a request, as each of the people named (one approval each).
    Approve {
        /// The ticket id.
        ticket: String,
        /// Who approves (repeat for requests that need several people).
        #[arg(long = "as", required = true)]
        by: Vec<String>,
    },
    /// Deny a request.
    Deny {
        /// The ticket id.
        ticket: String,
        /// Who denies.
        #[arg(long = "as")]
        by: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Play an operations-agent session on the default bundle and print what was decided.
    ///
    /// Approval requests are answered by a script, or with `--interactive` by you.
    Demo {
        /// Where to write the ledger (default: a new file in the temporary directory).
        #[arg(long)]
        ledger: Option<PathBuf>,
        /// Show each call that needs approval and let you answer it at a prompt: type who you
        /// are (such as bob@acme.com) to approve, or an empty line to refuse. Needs a terminal.
        #[arg(long)]
        interactive: bool,
    },
    /// Check a ledger's hash chain; names the first broken record.
    ///
    /// A `postgresql://` (or `postgres://`) URL checks a ledger kept in PostgreSQL: each
    /// writer's chain on its own (needs the `postgres` feature).
    Verify {
        /// The JSON Lines ledger: its file (with its rotated files `NAME.000001.jsonl`, …
        /// next to it), or a directory holding one ledger; or a `postgresql://` URL.
        path: PathBuf,
        /// The hash the last record must have (detects a truncated tail); for PostgreSQL,
        /// of the `--writer`'s chain.
        #[arg(long)]
        expect_head: Option<String>,
        /// PostgreSQL: the schema of the `ledger` table.
        #[arg(long, default_value = "agentwarrant")]
        schema: String,
        /// PostgreSQL: only this writer's chain (default: every writer's).
        #[arg(long)]
        writer: Option<String>,
        /// The public key of the ledger's signed checkpoints (64 hex digits): every checkpoint
        /// must verify under it, and the ledger must end on a closing checkpoint.
        #[arg(long)]
        key: Option<String>,
        /// With `--key`: accept a ledger that is still being written (no closing checkpoint).
        #[arg(long, requires = "key")]
        allow_open: bool,
    },
    /// Show a ledger as a timeline: each task, its calls indented by depth, with decision,
    /// reasons, approver, outcome and duration; or `--summary` counts. Read-only; does not
    /// verify the chain (see `verify`).
    Log {
        /// The JSON Lines ledger: its file (with its rotated files next to it), or a
        /// directory holding one ledger.
        path: PathBuf,
        /// Only calls of tasks whose id starts with this.
        #[arg(long)]
        task: Option<String>,
        /// Only calls made as this identity.
        #[arg(long)]
        identity: Option<String>,
        /// Only calls of this tool.
        #[arg(long)]
        tool: Option<String>,
        /// Only calls the policy decided so.
        #[arg(long, value_enum)]
        effect: Option<EffectArg>,
        /// Only calls with this reason code.
        #[arg(long)]
        reason: Option<String>,
        /// Only records at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Only records at or before this RFC 3339 time.
        #[arg(long)]
        until: Option<String>,
        /// Counts per identity and reason, approvals per approver, refusals.
        #[arg(long)]
        summary: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Evaluate every decision of a ledger again under another policy and show what would
    /// change; exits 1 when a call that ran (allowed or approved) would now be denied, so a
    /// policy change can be gated in CI. Read-only.
    Replay {
        /// The JSON Lines ledger (its `call.decided` records keep their policy input).
        path: PathBuf,
        /// The policy directory to replay under (default: the embedded default bundle).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Output format (`json` lists every change).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
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
    /// Explain a scenario step: play the steps before it, then show what the guard would
    /// decide for it (every reason, each scope's band, the exact policy input) without
    /// deciding it.
    Explain {
        /// The scenario file.
        file: PathBuf,
        /// The step to explain (0-based).
        #[arg(long)]
        step: usize,
        /// A policy directory replacing the default bundle.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Output format (`json` includes the policy input document).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// List and answer the deferred approval requests a fleet keeps in PostgreSQL.
    #[cfg(feature = "postgres")]
    Approvals {
        /// The database (a `postgresql://` URL or a `key=value` string).
        #[arg(long)]
        db: String,
        /// The schema of the `approvals` table.
        #[arg(long, default_value = "agentwarrant")]
        schema: String,
        #[command(subcommand)]
        action: ApprovalsAction,
    },
    /// Run scenario files (agentwarrant-scenario/v1); fails if any step differs.
    Test {
        /// Scenario files, or directories of them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// A policy directory replacing the default bundle.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// A policy directory whose rules are added to the policy (the default bundle, or
        /// `--policy`'s); repeatable.
        #[arg(long = "add-policy", value_name = "DIR")]
        add_policy: Vec<PathBuf>,
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
enum EffectArg {
    Allow,
    Approval,
    Deny,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Auto,
    Rvm,
    Interpreter,
    /// The RVM without vetting the modules: a rule body that raises is skipped.
    RvmUnvetted,
}

impl From<BackendArg> for Backend {
    fn from(arg: BackendArg) -> Self {
        match arg {
            BackendArg::Auto => Backend::Auto,
            BackendArg::Rvm => Backend::Vm,
            BackendArg::Interpreter => Backend::Interpreter,
            BackendArg::RvmUnvetted => Backend::VmUnvetted,
        }
    }
}

/// The exit status of a successful run.
pub const SUCCESS: u8 = 0;
/// The exit status of a run whose verdict is negative: a broken ledger, a failing scenario.
pub const FAILURE: u8 = 1;
/// The exit status of a run that could not do its job: bad arguments, unreadable files.
pub const USAGE: u8 = 2;

/// Runs the command with `args` (the program name first, as in [`std::env::args_os`]) and
/// returns its exit status: [`SUCCESS`], [`FAILURE`] or [`USAGE`].
///
/// Output goes to the process's standard output and error. `--help` and `--version` print
/// and return [`SUCCESS`]; arguments that do not parse print clap's message and return
/// [`USAGE`]. A closed standard output (`agentwarrant demo | head -1`) ends the process
/// quietly with status 0, as it ends other command-line tools.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let status = if error.use_stderr() { USAGE } else { SUCCESS };
            // Nothing more can be said when the terminal itself cannot be written.
            let _ = error.print();
            return status;
        }
    };
    let result = match cli.command {
        Command::Demo {
            ledger,
            interactive,
        } => demo::run(ledger, interactive),
        Command::Verify {
            path,
            expect_head,
            schema,
            writer,
            key,
            allow_open,
        } => {
            let expect = verify::Expect {
                head: expect_head.as_deref(),
                key: key.as_deref(),
                allow_open,
            };
            match path.to_str().filter(|p| verify::is_database_url(p)) {
                Some(url) => verify::database(url, &schema, writer.as_deref(), &expect),
                None => verify::file(&path, &expect),
            }
        }
        Command::Check { input, policy } => check(&input, policy),
        Command::Replay {
            path,
            policy,
            format,
        } => replay::replay(&path, policy, format),
        Command::Log {
            path,
            task,
            identity,
            tool,
            effect,
            reason,
            since,
            until,
            summary,
            format,
        } => {
            let effect = effect.map(|e| match e {
                EffectArg::Allow => "allow".to_owned(),
                EffectArg::Approval => "approval".to_owned(),
                EffectArg::Deny => "deny".to_owned(),
            });
            let filters = log::Filters {
                task,
                identity,
                tool,
                effect,
                reason,
                since,
                until,
            };
            log::log(&path, &filters, summary, format)
        }
        Command::Explain {
            file,
            step,
            policy,
            format,
        } => explain(&file, step, policy, format),
        Command::Test {
            files,
            policy,
            add_policy,
            format,
            backend,
        } => test(&files, policy, add_policy, format, backend.into()),
        #[cfg(feature = "postgres")]
        Command::Approvals { db, schema, action } => {
            let action = match action {
                ApprovalsAction::List => approvals::Action::List,
                ApprovalsAction::Show { ticket } => approvals::Action::Show(ticket),
                ApprovalsAction::Approve { ticket, by } => {
                    approvals::Action::Approve { ticket, by }
                }
                ApprovalsAction::Deny { ticket, by, reason } => {
                    approvals::Action::Deny { ticket, by, reason }
                }
            };
            approvals::run(&db, &schema, action)
        }
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            USAGE
        }
    }
}

fn print_line(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(error) = writeln!(std::io::stdout().lock(), "{line}") {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {error}");
        std::process::exit(2);
    }
}

fn explain(
    file: &std::path::Path,
    step: usize,
    policy_dir: Option<PathBuf>,
    format: Format,
) -> Result<u8, String> {
    let options = RunOptions {
        policy_dir,
        ..RunOptions::default()
    };
    let why =
        agentwarrant::testing::explain_step(file, step, &options).map_err(|e| e.to_string())?;
    match format {
        Format::Text => {
            out!("{why}");
            if let Some(input) = &why.input {
                out!(
                    "policy input:\n{}",
                    serde_json::to_string_pretty(input).map_err(|e| e.to_string())?
                );
            }
        }
        Format::Json => out!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "tool": why.tool,
                "effect": why.effect().as_str(),
                "decision": why.decision,
                "refused": why.refused,
                "scopes": why.scopes.iter().map(|(scope, band)| serde_json::json!({"scope": scope, "band": band})).collect::<Vec<_>>(),
                "input": why.input,
            }))
            .map_err(|e| e.to_string())?
        ),
    }
    Ok(SUCCESS)
}

fn check(input: &std::path::Path, policy: Option<PathBuf>) -> Result<u8, String> {
    let text = std::fs::read_to_string(input)
        .map_err(|e| format!("cannot read `{}`: {e}", input.display()))?;
    let document: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("`{}` is not JSON: {e}", input.display()))?;
    let policy = match policy {
        Some(dir) => Policy::from_dir(dir).map_err(|e| e.to_string())?,
        None => Policy::default_bundle(),
    };
    let engine = policy.compile().map_err(|e| e.to_string())?;
    if let Some(reason) = engine.interpreter_reason() {
        eprintln!("evaluated on the interpreter, not the faster RVM: {reason}");
    }
    let decision = engine.decide_json(&document);
    out!(
        "{}",
        serde_json::to_string_pretty(&decision).map_err(|e| e.to_string())?
    );
    Ok(SUCCESS)
}

/// Files as given; directories expand to the `.json` files below them (recursively, sorted).
/// A directory holding none is an error: a test run that runs nothing must not pass.
fn scenario_files(args: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    fn below(dir: &std::path::Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                below(&path, files)?;
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for arg in args {
        if arg.is_dir() {
            let before = files.len();
            below(arg, &mut files)?;
            if files.len() == before {
                return Err(format!(
                    "no scenario files (`*.json`) in `{}`",
                    arg.display()
                ));
            }
        } else {
            files.push(arg.clone());
        }
    }
    Ok(files)
}

fn test(
    args: &[PathBuf],
    policy_dir: Option<PathBuf>,
    add_policy_dirs: Vec<PathBuf>,
    format: Format,
    backend: Backend,
) -> Result<u8, String> {
    let options = RunOptions {
        policy_dir,
        add_policy_dirs,
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
                    out!(
                        "{verdict} {} ({} steps) {}",
                        report.name,
                        report.steps.len(),
                        file.display()
                    );
                    for step in report.failures() {
                        out!("    {step}");
                    }
                }
                json.push(serde_json::to_value(&report).map_err(|e| e.to_string())?);
            }
            Err(error) => {
                failed += 1;
                if format == Format::Text {
                    out!("ERROR {error}");
                }
                json.push(serde_json::json!({"file": file.display().to_string(), "passed": false, "error": error.to_string()}));
            }
        }
    }
    match format {
        Format::Text => out!("{passed} passed, {failed} failed"),
        Format::Json => out!(
            "{}",
            serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?
        ),
    }
    Ok(if failed == 0 { SUCCESS } else { FAILURE })
}
