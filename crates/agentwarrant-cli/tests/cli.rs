//! The `agentwarrant` command as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn agentwarrant(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentwarrant"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A temporary directory holding the ledger of one `agentwarrant demo`.
fn demo_ledger() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("demo.jsonl");
    let demo = agentwarrant(&["demo", "--ledger", ledger.to_str().unwrap()]);
    assert!(demo.status.success(), "{}", stdout(&demo));
    (dir, ledger)
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[test]
fn demo_shows_every_effect_and_writes_a_ledger_that_verifies_until_one_byte_changes() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("demo.jsonl");
    let ledger_arg = ledger.to_str().unwrap();
    let demo = agentwarrant(&["demo", "--ledger", ledger_arg]);
    assert!(demo.status.success());
    let table = stdout(&demo);
    for expected in [
        "allowed",
        "approved",
        "production_change",
        "secret_access",
        "approval_invalid",
        "exfiltration",
        "scope_drift",
        "depth_exceeded",
        "bob@acme.com",
        ledger_arg,
    ] {
        assert!(
            table.contains(expected),
            "`{expected}` missing from:\n{table}"
        );
    }
    assert!(agentwarrant(&["verify", ledger_arg]).status.success());

    let mut bytes = std::fs::read(&ledger).unwrap();
    let at = bytes.iter().position(|b| *b == b'\n').unwrap() + 20;
    bytes[at] ^= 1;
    std::fs::write(&ledger, bytes).unwrap();
    let broken = agentwarrant(&["verify", ledger_arg]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(stdout(&broken).contains("record 2"), "{}", stdout(&broken));
}

#[test]
fn verify_with_an_anchored_head_detects_a_truncated_tail() {
    let (_dir, ledger) = demo_ledger();
    let ledger_arg = ledger.to_str().unwrap();
    let ok = stdout(&agentwarrant(&["verify", ledger_arg]));
    let head = ok.rsplit("head ").next().unwrap().trim().to_owned();
    let text = std::fs::read_to_string(&ledger).unwrap();
    let kept: Vec<&str> = text.lines().collect();
    std::fs::write(&ledger, format!("{}\n", kept[..kept.len() - 1].join("\n"))).unwrap();
    assert!(agentwarrant(&["verify", ledger_arg]).status.success());
    let anchored = agentwarrant(&["verify", ledger_arg, "--expect-head", &head]);
    assert_eq!(anchored.status.code(), Some(1));
}

#[test]
fn test_passes_the_corpus_and_fails_a_wrong_expectation() {
    let corpus = repo("tests/scenarios");
    let run = agentwarrant(&["test", corpus.to_str().unwrap()]);
    assert!(run.status.success(), "{}", stdout(&run));
    assert!(stdout(&run).contains(" passed, 0 failed"));

    let dir = tempfile::tempdir().unwrap();
    let mut scenario: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(corpus.join("005_exfiltration_after_secret_read.json")).unwrap(),
    )
    .unwrap();
    let last = scenario["steps"].as_array().unwrap().len() - 1;
    scenario["steps"][last]["expect"] = "allowed".into();
    let wrong = dir.path().join("wrong.json");
    std::fs::write(&wrong, scenario.to_string()).unwrap();
    let run = agentwarrant(&["test", wrong.to_str().unwrap(), "--format", "json"]);
    assert_eq!(run.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let step = &report[0]["steps"][last];
    assert_eq!(
        (step["expected"].as_str(), step["passed"].as_bool()),
        (Some("allowed"), Some(false))
    );
}

#[test]
fn test_names_the_json_path_of_an_unknown_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.json");
    std::fs::write(
        &file,
        r#"{"format": "agentwarrant-scenario/v1", "name": "typo", "tools": [{"name": "t", "impact": "low", "scoeps": []}],
            "identity": {"id": "agent://a/b", "role": "executor", "owner": "o@a.com"}, "intent": {"goal": "g"}, "steps": []}"#,
    )
    .unwrap();
    let run = agentwarrant(&["test", file.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stdout(&run).contains("tools[0].scoeps"), "{}", stdout(&run));
}

#[test]
fn check_prints_the_decision_for_an_input_document() {
    let input = repo("crates/agentwarrant/policies/tests/base_input.json");
    let run = agentwarrant(&["check", "--input", input.to_str().unwrap()]);
    assert!(run.status.success());
    let decision: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(decision["effect"], "allow");
    assert_eq!(decision["policy_digest"].as_str().map(str::len), Some(64));
}

#[test]
fn check_reports_a_malformed_policy_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.rego"),
        "package agentwarrant\n\nallow := if {\n",
    )
    .unwrap();
    let input = repo("crates/agentwarrant/policies/tests/base_input.json");
    let run = agentwarrant(&[
        "check",
        "--input",
        input.to_str().unwrap(),
        "--policy",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("bad.rego") && stderr.contains("line 3"),
        "{stderr}"
    );
}

#[test]
fn demo_into_a_reader_that_stops_early_ends_quietly() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentwarrant"))
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before the demo writes, as `agentwarrant demo | head -0` does:
    // every write then fails with a broken pipe (a pipe buffer cannot hide it).
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn interactive_demo_without_a_terminal_fails_at_once_and_writes_nothing() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("demo.jsonl");
    let output = Command::new(env!("CARGO_BIN_EXE_agentwarrant"))
        .args([
            "demo",
            "--interactive",
            "--ledger",
            ledger.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--interactive needs a terminal; run without it for the scripted session"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
    assert!(!ledger.exists(), "no session was started");
}

#[test]
fn test_refuses_a_directory_without_scenarios_and_a_scenario_without_steps() {
    let dir = tempfile::tempdir().unwrap();
    let empty = agentwarrant(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no scenario files"));

    let file = dir.path().join("nothing.json");
    std::fs::write(
        &file,
        r#"{"format": "agentwarrant-scenario/v1", "name": "plays nothing",
            "tools": [], "identity": {"id": "agent://acme/ops", "role": "executor",
            "owner": "alice@acme.com"}, "intent": {"goal": "x"}, "steps": []}"#,
    )
    .unwrap();
    let nothing = agentwarrant(&["test", file.to_str().unwrap()]);
    assert!(!nothing.status.success());
    let text = stdout(&nothing);
    assert!(text.contains("at `steps`"), "{text}");
    assert!(text.ends_with("0 passed, 1 failed\n"), "{text}");
}

#[test]
fn verify_with_the_demo_key_passes_and_catches_a_cut_tail_and_a_wrong_key() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("demo.jsonl");
    let ledger_arg = ledger.to_str().unwrap();
    let demo = agentwarrant(&["demo", "--ledger", ledger_arg]);
    let key = stdout(&demo)
        .lines()
        .last()
        .and_then(|line| line.split_whitespace().last())
        .unwrap()
        .to_owned();

    let ok = agentwarrant(&["verify", ledger_arg, "--key", &key]);
    assert!(ok.status.success(), "{}", stdout(&ok));
    assert!(stdout(&ok).contains("closed"));
    // An anchored head is checked along with the signatures.
    let anchored = agentwarrant(&["verify", ledger_arg, "--key", &key, "--expect-head", "00"]);
    assert_eq!(anchored.status.code(), Some(1));
    assert!(
        stdout(&anchored).contains("not the expected head 00"),
        "{}",
        stdout(&anchored)
    );

    let text = std::fs::read_to_string(&ledger).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    std::fs::write(&ledger, lines[..lines.len() - 3].concat()).unwrap();
    let cut = agentwarrant(&["verify", ledger_arg, "--key", &key]);
    assert_eq!(cut.status.code(), Some(1));
    assert!(stdout(&cut).starts_with("incomplete:"), "{}", stdout(&cut));
    let open = agentwarrant(&["verify", ledger_arg, "--key", &key, "--allow-open"]);
    assert!(open.status.success());

    let other = "0".repeat(63) + "1";
    let wrong = agentwarrant(&["verify", ledger_arg, "--key", &other]);
    assert!(!wrong.status.success());
}

#[test]
fn explain_shows_a_steps_decision_without_running_it() {
    let file = repo("tests/scenarios/005_exfiltration_after_secret_read.json");
    let file = file.to_str().unwrap();
    let text = agentwarrant(&["explain", file, "--step", "1"]);
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let out = stdout(&text);
    assert!(out.contains("would be:"), "{out}");
    assert!(out.contains("policy input:"), "{out}");

    let json = agentwarrant(&["explain", file, "--step", "1", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(value["input"]["chain"].is_object(), "{value}");
    assert!(value["effect"].is_string());

    let missing = agentwarrant(&["explain", file, "--step", "99"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn log_shows_the_demo_as_a_timeline_filters_it_and_summarises_it_without_writing() {
    let (dir, ledger) = demo_ledger();
    let ledger_arg = ledger.to_str().unwrap();
    let before = std::fs::read(&ledger).unwrap();

    let log = agentwarrant(&["log", ledger_arg]);
    assert!(log.status.success());
    let timeline = stdout(&log);
    assert!(timeline.starts_with("task "), "{timeline}");
    assert!(timeline.contains("agent://acme/ops-bot") && timeline.contains("(delegated from"));
    assert!(timeline.contains("update_config approved [production_change] by bob@acme.com -> ok"));
    assert!(timeline.contains("send_email denied [exfiltration]"));
    // Piped: no colour codes. Nested delegations are indented one level per depth.
    assert!(!timeline.contains('\u{1b}'));
    assert!(
        timeline.contains("\n        ") && timeline.contains("delegate denied [depth_exceeded]")
    );

    let denied = agentwarrant(&["log", ledger_arg, "--effect", "deny", "--format", "json"]);
    let calls: serde_json::Value = serde_json::from_slice(&denied.stdout).unwrap();
    let tools: Vec<&str> = calls
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["tool"].as_str().unwrap())
        .collect();
    assert_eq!(tools, ["send_email", "delegate"]);
    let by_reason = agentwarrant(&["log", ledger_arg, "--reason", "secret_access"]);
    assert_eq!(stdout(&by_reason).matches("read_secret").count(), 1);
    let by_identity = agentwarrant(&["log", ledger_arg, "--identity", "agent://acme/researcher"]);
    assert!(!stdout(&by_identity).contains("update_config"));

    let summary = agentwarrant(&["log", ledger_arg, "--summary", "--format", "json"]);
    let summary: serde_json::Value = serde_json::from_slice(&summary.stdout).unwrap();
    assert_eq!(summary["approvals"]["bob@acme.com"], 3);
    assert_eq!(summary["reasons"]["exfiltration"], 1);
    assert_eq!(summary["refused"], 3);

    let bad_time = agentwarrant(&["log", ledger_arg, "--since", "yesterday"]);
    assert_eq!(bad_time.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_time.stderr).contains("RFC 3339"));
    let missing = agentwarrant(&["log", dir.path().join("none.jsonl").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        std::fs::read(&ledger).unwrap(),
        before,
        "log must not write"
    );
}

/// A copy of the default bundle with `rules` added, in a fresh policy directory.
fn bundle_with(dir: &Path, rules: &str) -> PathBuf {
    let policy = dir.join("policy");
    std::fs::create_dir_all(&policy).unwrap();
    let bundle = std::fs::read_to_string(repo("crates/agentwarrant/policies/agentwarrant.rego"));
    std::fs::write(policy.join("agentwarrant.rego"), bundle.unwrap() + rules).unwrap();
    policy
}

#[test]
fn replay_gates_a_policy_change_that_would_deny_a_call_that_ran() {
    let (dir, ledger) = demo_ledger();
    let ledger_arg = ledger.to_str().unwrap();
    let before = std::fs::read(&ledger).unwrap();

    // The bundle that decided replays to the same decisions.
    let same = agentwarrant(&["replay", ledger_arg]);
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
    assert!(stdout(&same).contains("replayed 12 of 12 decisions"));
    assert!(stdout(&same).contains("no decision would change"));

    // Reading logs now needs approval: a change, but nothing that ran is stopped.
    let review = bundle_with(
        dir.path(),
        "\nrequire_approval contains \"logs_reviewed\" if input.call.tool == \"read_logs\"\n",
    );
    let softer = agentwarrant(&["replay", ledger_arg, "--policy", review.to_str().unwrap()]);
    assert_eq!(softer.status.code(), Some(0), "{}", stdout(&softer));
    assert!(stdout(&softer).contains("2 calls allowed then would now need approval:"));

    // Delegation is now denied: the four delegations that ran fail the gate.
    let strict = bundle_with(
        &dir.path().join("strict"),
        "\ndeny contains \"no_delegation\" if input.call.tool == \"delegate\"\n",
    );
    let strict_arg = strict.to_str().unwrap();
    let gate = agentwarrant(&["replay", ledger_arg, "--policy", strict_arg]);
    assert_eq!(gate.status.code(), Some(1), "{}", stdout(&gate));
    let text = stdout(&gate);
    assert!(
        text.contains("4 calls allowed then would now be denied:"),
        "{text}"
    );
    assert!(text.contains("delegate (allowed): was allow [-], now deny [no_delegation]"));
    assert!(text.contains("1 call denied then would now be denied for other reasons:"));
    assert!(text.contains("FAILED: 4 calls that ran would now be denied"));
    let json = agentwarrant(&[
        "replay", ledger_arg, "--policy", strict_arg, "--format", "json",
    ]);
    assert_eq!(json.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["gate_failed"], true);
    assert_eq!(report["changes"].as_array().unwrap().len(), 5);
    assert_eq!(report["changes"][0]["tool"], "delegate");

    assert_eq!(
        std::fs::read(&ledger).unwrap(),
        before,
        "replay must not write"
    );
}

#[test]
fn replay_refuses_a_policy_that_does_not_compile_and_a_ledger_it_cannot_replay() {
    let (dir, ledger) = demo_ledger();
    let ledger_arg = ledger.to_str().unwrap();
    let stderr = |output: &Output| String::from_utf8_lossy(&output.stderr).into_owned();

    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(
        broken.join("a.rego"),
        "package agentwarrant\ndeny contains\n",
    )
    .unwrap();
    let bad = agentwarrant(&["replay", ledger_arg, "--policy", broken.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("does not compile") && stderr(&bad).contains("a.rego"));

    // A ledger written before records kept their input: nothing to replay is an error, not a
    // pass.
    let text = std::fs::read_to_string(&ledger).unwrap();
    let old: String = text
        .lines()
        .map(|line| {
            let mut record: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(decision) = record["decision"].as_object_mut() {
                decision.remove("input");
            }
            record.to_string() + "\n"
        })
        .collect();
    let old_ledger = dir.path().join("old.jsonl");
    std::fs::write(&old_ledger, old).unwrap();
    let nothing = agentwarrant(&["replay", old_ledger.to_str().unwrap()]);
    assert_eq!(nothing.status.code(), Some(2));
    assert!(
        stderr(&nothing).contains("none of the 12 decisions"),
        "{}",
        stderr(&nothing)
    );

    // A record of a newer schema is not guessed at.
    let newer = text.replacen("\"schema\":1,", "\"schema\":99,", 1);
    let newer_ledger = dir.path().join("newer.jsonl");
    std::fs::write(&newer_ledger, newer).unwrap();
    let refused = agentwarrant(&["replay", newer_ledger.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("schema 99"),
        "{}",
        stderr(&refused)
    );

    let missing = agentwarrant(&["replay", dir.path().join("none.jsonl").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn verify_and_log_take_a_rotated_ledger_by_its_directory_and_name_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.jsonl");
    assert!(agentwarrant(&["demo", "--ledger", whole.to_str().unwrap()])
        .status
        .success());
    let timeline = stdout(&agentwarrant(&["log", whole.to_str().unwrap()]));
    // The demo's ledger as rotation leaves it: three numbered files and the active one.
    let text = std::fs::read_to_string(&whole).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let quarter = lines.len() / 4;
    let rotated = dir.path().join("rotated");
    std::fs::create_dir(&rotated).unwrap();
    for (name, part) in [
        ("demo.000001.jsonl", &lines[..quarter]),
        ("demo.000002.jsonl", &lines[quarter..2 * quarter]),
        ("demo.000003.jsonl", &lines[2 * quarter..3 * quarter]),
        ("demo.jsonl", &lines[3 * quarter..]),
    ] {
        std::fs::write(rotated.join(name), format!("{}\n", part.join("\n"))).unwrap();
    }
    let rotated_arg = rotated.to_str().unwrap();
    let verified = agentwarrant(&["verify", rotated_arg]);
    assert!(verified.status.success(), "{}", stdout(&verified));
    assert!(stdout(&verified).contains(&format!("holds {} intact records", lines.len())));
    let active = rotated.join("demo.jsonl");
    assert!(agentwarrant(&["verify", active.to_str().unwrap()])
        .status
        .success());
    assert_eq!(stdout(&agentwarrant(&["log", rotated_arg])), timeline);

    std::fs::remove_file(rotated.join("demo.000002.jsonl")).unwrap();
    let broken = agentwarrant(&["verify", rotated_arg]);
    assert_eq!(broken.status.code(), Some(1));
    let said = stdout(&broken);
    assert!(
        said.contains("demo.000002.jsonl") && said.contains("missing"),
        "{said}"
    );
    let log = agentwarrant(&["log", rotated_arg]);
    assert_eq!(log.status.code(), Some(2));
    let mut names: Vec<_> = std::fs::read_dir(&rotated)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["demo.000001.jsonl", "demo.000003.jsonl", "demo.jsonl"],
        "nothing was written"
    );
}

#[test]
fn test_adds_a_policy_directory_to_the_default_bundle() {
    let rules = repo("examples/policies/sequence");
    let scenarios = rules.join("scenarios");
    let added = agentwarrant(&[
        "test",
        scenarios.to_str().unwrap(),
        "--add-policy",
        rules.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert_eq!(added.status.code(), Some(0), "{stdout}");
    // The bundle's rules still apply: the files also expect its `outside_ceiling`.
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    // Without the added rules, the files that expect them fail.
    let bare = agentwarrant(&["test", scenarios.to_str().unwrap()]);
    assert_eq!(bare.status.code(), Some(1));
}

/// A call paused in this process is listed by `agentwarrant approvals list --db URL` in
/// another, approved with `approvals approve`, and resumes here.
#[cfg(feature = "postgres")]
#[test]
fn approvals_answered_with_the_cli_resume_the_paused_call() {
    use agentwarrant::{
        ApprovalStore, Authorization, Guard, Identity, Impact, Intent, Outcome, Role, ToolCall,
        ToolSpec,
    };
    use agentwarrant_postgres::PostgresApprovals;

    let url = match std::env::var("AGENTWARRANT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but AGENTWARRANT_TEST_POSTGRES_URL is not")
        }
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "skipped: the approvals CLI test needs AGENTWARRANT_TEST_POSTGRES_URL"
            );
            return;
        }
    };
    let schema = format!("aw_cli_{}", std::process::id());
    let store = || {
        PostgresApprovals::builder(&url)
            .schema(&schema)
            .build()
            .unwrap()
    };
    let guard = Guard::builder()
        .tool(
            ToolSpec::builder("read_secret", Impact::Low)
                .reads(["secret"])
                .scope("secrets.read:{path}")
                .build()
                .unwrap(),
        )
        .approval_store(store())
        .build()
        .unwrap();
    let identity = Identity::builder("agent://acme/ops", Role::Executor, "alice@acme.com")
        .ceiling(["secrets.read:*"])
        .build()
        .unwrap();
    let task = guard
        .begin(
            identity,
            Intent::builder("rotate")
                .scopes(["secrets.read:*"])
                .build()
                .unwrap(),
        )
        .unwrap();
    let call = || ToolCall::new("read_secret", serde_json::json!({"path": "db/main"}));
    let Ok(Authorization::Pending(ticket)) = task.submit(call()) else {
        panic!("the call did not wait for approval");
    };
    let id = ticket.id().to_string();
    let db = ["--db", url.as_str(), "--schema", schema.as_str()];

    let listed = agentwarrant(&[&["approvals"][..], &db, &["list"]].concat());
    assert!(listed.status.success(), "{listed:?}");
    let text = stdout(&listed);
    assert!(text.contains(&id) && text.contains("read_secret"), "{text}");
    let shown = agentwarrant(&[&["approvals"][..], &db, &["show", &id]].concat());
    assert!(stdout(&shown).contains("secret_access"), "{shown:?}");

    let approved = agentwarrant(
        &[
            &["approvals"][..],
            &db,
            &["approve", &id, "--as", "bob@acme.com"],
        ]
        .concat(),
    );
    assert!(approved.status.success(), "{approved:?}");
    // The first answer stands.
    let again = agentwarrant(
        &[
            &["approvals"][..],
            &db,
            &["deny", &id, "--as", "carol@acme.com"],
        ]
        .concat(),
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already_answered"));

    let Ok(Authorization::Granted(warrant)) = task.resume(ticket.id(), call()) else {
        panic!("the approved call did not resume");
    };
    warrant.complete(Outcome::ok()).unwrap();
    assert!(store().waiting().unwrap().is_empty());
}

/// A ledger kept in PostgreSQL: `verify postgresql://...` checks each writer's chain, names
/// the writer and seq of a row edited by hand (status 1), and cannot verify an unreachable
/// server (status 2).
#[cfg(feature = "postgres")]
#[test]
fn verify_checks_a_ledger_in_postgresql_and_names_the_row_edited_by_hand() {
    use agentwarrant::ledger::CheckpointKey;
    use agentwarrant::{Guard, Identity, Impact, Intent, Outcome, Role, ToolCall, ToolSpec};
    use agentwarrant_postgres::PostgresLedger;

    let Ok(url) = std::env::var("AGENTWARRANT_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but AGENTWARRANT_TEST_POSTGRES_URL is not"
        );
        return;
    };
    let schema = format!("aw_cli_ledger_{}", std::process::id());
    let key = CheckpointKey::from_bytes([9; 32]);
    let public = key.verifying_key().to_hex();
    for writer in ["a", "b"] {
        let ledger = PostgresLedger::builder(&url)
            .schema(&schema)
            .writer(writer)
            .build()
            .unwrap()
            .open_with_checkpoints(key.clone(), 3)
            .unwrap();
        let guard = Guard::builder()
            .tool(
                ToolSpec::builder("query_orders", Impact::Low)
                    .scope("db.read:{table}")
                    .build()
                    .unwrap(),
            )
            .ledger(ledger)
            .build()
            .unwrap();
        let identity = Identity::builder("agent://acme/reports", Role::Executor, "alice@acme.com")
            .ceiling(["db.read:*"])
            .build()
            .unwrap();
        let intent = Intent::builder("orders")
            .scopes(["db.read:sales.*"])
            .build()
            .unwrap();
        let task = guard.begin(identity, intent).unwrap();
        let call = ToolCall::new("query_orders", serde_json::json!({"table": "sales.orders"}));
        task.authorize(call)
            .unwrap()
            .complete(Outcome::ok())
            .unwrap();
        task.end().unwrap();
    }
    let db = ["verify", url.as_str(), "--schema", schema.as_str()];

    let ok = agentwarrant(&db);
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    let text = stdout(&ok);
    assert!(
        text.contains("ok: writer `a`") && text.contains("ok: writer `b`"),
        "{text}"
    );
    assert!(
        !text.contains(&url),
        "the URL (and its password) is never printed"
    );
    let signed = agentwarrant(&[&db[..], &["--key", &public]].concat());
    assert_eq!(signed.status.code(), Some(0), "{signed:?}");
    assert!(stdout(&signed).contains("closed"));

    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .execute(
            &format!(
                "UPDATE \"{schema}\".\"ledger\" SET line = replace(line, 'orders', 'payroll') \
                 WHERE writer = 'b' AND seq = 2"
            ),
            &[],
        )
        .unwrap();
    let edited = agentwarrant(&db);
    assert_eq!(edited.status.code(), Some(1), "{edited:?}");
    let text = stdout(&edited);
    assert!(text.contains("ok: writer `a`"), "{text}");
    assert!(
        text.contains("broken: writer `b` seq 2") && text.contains("edited"),
        "{text}"
    );
    let only_a = agentwarrant(&[&db[..], &["--writer", "a"]].concat());
    assert_eq!(only_a.status.code(), Some(0), "{only_a:?}");
    let head = stdout(&only_a)
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    let anchored = agentwarrant(&[&db[..], &["--writer", "a", "--expect-head", &head]].concat());
    assert_eq!(anchored.status.code(), Some(0), "{anchored:?}");
    let moved = agentwarrant(&[&db[..], &["--writer", "a", "--expect-head", "00"]].concat());
    assert_eq!(moved.status.code(), Some(1), "{moved:?}");
    let no_writer = agentwarrant(&[&db[..], &["--expect-head", &head]].concat());
    assert_eq!(no_writer.status.code(), Some(2), "{no_writer:?}");
    let missing = agentwarrant(&[&db[..], &["--writer", "nobody"]].concat());
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");

    let config: postgres::Config = url.parse().unwrap();
    let port = config.get_ports()[0];
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = closed.local_addr().unwrap().port();
    drop(closed);
    let dead = url.replace(&format!(":{port}/"), &format!(":{dead_port}/"));
    let unreachable = agentwarrant(&["verify", dead.as_str(), "--schema", schema.as_str()]);
    assert_eq!(unreachable.status.code(), Some(2), "{unreachable:?}");
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("unreachable"));

    admin
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .unwrap();
}

/// Built without PostgreSQL, `verify postgresql://...` says so (status 2) and never reads
/// the URL as a file name.
#[cfg(not(feature = "postgres"))]
#[test]
fn verify_of_a_postgresql_url_without_the_feature_says_how_to_get_it() {
    let output = agentwarrant(&["verify", "postgresql://u@127.0.0.1:1/db"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("`postgres` feature"));
}
