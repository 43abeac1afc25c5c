//! The tools, identities and approvers the behaviour modules share.

use std::sync::{Arc, Mutex};

use agentwarrant::ledger::Record;
use agentwarrant::{
    Approval, ApprovalAnswer, ApprovalRequest, ApproverError, CallId, Guard, GuardBuilder,
    Identity, Impact, Intent, MemoryLedger, Role, ToolCall, ToolSpec,
};

/// The owner of [`ops`].
pub(crate) const ALICE: &str = "alice@acme.com";
/// A human who is nobody's owner.
pub(crate) const BOB: &str = "bob@acme.com";
/// Another human who is nobody's owner.
pub(crate) const CAROL: &str = "carol@acme.com";

/// Low impact, reads nothing special.
pub(crate) fn read_logs() -> ToolSpec {
    ToolSpec::builder("read_logs", Impact::Low)
        .scope("logs.read:{service}")
        .build()
        .unwrap()
}

/// Low impact, reads a secret: needs approval (`secret_access`).
pub(crate) fn read_secret() -> ToolSpec {
    ToolSpec::builder("read_secret", Impact::Low)
        .reads(["secret"])
        .scope("secrets.read:{path}")
        .build()
        .unwrap()
}

/// Medium impact, external sink, `body` is sensitive.
pub(crate) fn send_email() -> ToolSpec {
    ToolSpec::builder("send_email", Impact::Medium)
        .external(true)
        .sink(true)
        .scope("email.send:{to}")
        .destination_arg("to")
        .sensitive_args(["body"])
        .build()
        .unwrap()
}

/// Low impact; its results are usually labelled `untrusted` by the caller.
pub(crate) fn fetch_url() -> ToolSpec {
    ToolSpec::builder("fetch_url", Impact::Low)
        .scope("web.fetch:{url:url}")
        .build()
        .unwrap()
}

/// Medium impact, tagged `rbac`: needs approval (`rbac_change`) under four eyes.
pub(crate) fn grant_role() -> ToolSpec {
    ToolSpec::builder("grant_role", Impact::Medium)
        .tags(["rbac"])
        .scope("iam.grant:{user}")
        .build()
        .unwrap()
}

/// Critical and irreversible: needs approval under four eyes.
pub(crate) fn drop_table() -> ToolSpec {
    ToolSpec::builder("drop_table", Impact::Critical)
        .reversible(false)
        .scope("db.drop:{table}")
        .build()
        .unwrap()
}

/// Medium impact, no approval in `dev`.
pub(crate) fn restart_service() -> ToolSpec {
    ToolSpec::builder("restart_service", Impact::Medium)
        .scope("svc.restart:{service}")
        .build()
        .unwrap()
}

/// Every fixture tool.
pub(crate) fn all_tools() -> Vec<ToolSpec> {
    vec![
        read_logs(),
        read_secret(),
        send_email(),
        fetch_url(),
        grant_role(),
        drop_table(),
        restart_service(),
    ]
}

/// The scopes of every fixture tool.
pub(crate) const EVERYTHING: [&str; 7] = [
    "logs.read:*",
    "secrets.read:*",
    "email.send:*",
    "web.fetch:*",
    "iam.grant:*",
    "db.drop:*",
    "svc.restart:*",
];

/// Limits that never suspend a task for its refusals: for tests that refuse one call many
/// times on purpose.
pub(crate) fn patient() -> agentwarrant::Limits {
    agentwarrant::Limits {
        max_refusals: None,
        max_tool_refusals: None,
        ..agentwarrant::Limits::default()
    }
}

/// A guard builder on the default bundle with every fixture tool.
pub(crate) fn builder() -> GuardBuilder {
    Guard::builder().tools(all_tools())
}

/// The default bundle with `untrusted_input` biting only on targets nobody named.
pub(crate) fn unnamed_targets_policy() -> agentwarrant::Policy {
    agentwarrant::Policy::default_bundle()
        .with_data(serde_json::json!({"untrusted_input": "unnamed_targets"}))
        .unwrap()
}

/// Labels `task`'s chain `untrusted` with a completed fetch whose result is labelled so.
pub(crate) fn read_untrusted(task: &agentwarrant::Task) {
    task.authorize(ToolCall::new(
        "fetch_url",
        serde_json::json!({"url": "https://example.com/page"}),
    ))
    .unwrap()
    .complete(agentwarrant::Outcome::ok().with_labels(["untrusted"]))
    .unwrap();
}

/// An executor owned by [`ALICE`] whose ceiling covers every fixture tool.
pub(crate) fn ops() -> Identity {
    agent("agent://acme/ops", Role::Executor, ALICE)
}

/// An identity whose ceiling covers every fixture tool.
pub(crate) fn agent(id: &str, role: Role, owner: &str) -> Identity {
    Identity::builder(id, role, owner)
        .ceiling(EVERYTHING)
        .build()
        .unwrap()
}

/// An intent that covers every fixture tool.
pub(crate) fn anything() -> Intent {
    Intent::builder("keep the service healthy")
        .scopes(EVERYTHING)
        .build()
        .unwrap()
}

/// The signature every closure approver has.
pub(crate) type Answer = Result<ApprovalAnswer, ApproverError>;

/// An approver that approves everything as `who`.
pub(crate) fn approve_as(who: &'static str) -> impl Fn(&ApprovalRequest) -> Answer + Send + Sync {
    move |request: &ApprovalRequest| Ok(ApprovalAnswer::Approved(vec![Approval::of(request, who)]))
}

/// Keeps every approval request an approver saw.
#[derive(Clone, Default)]
pub(crate) struct Requests(Arc<Mutex<Vec<ApprovalRequest>>>);

impl Requests {
    /// Remembers `request`.
    pub(crate) fn push(&self, request: &ApprovalRequest) {
        self.0.lock().unwrap().push(request.clone());
    }

    /// Every request so far.
    pub(crate) fn all(&self) -> Vec<ApprovalRequest> {
        self.0.lock().unwrap().clone()
    }
}

/// The kinds of the records, in order.
pub(crate) fn kinds(ledger: &MemoryLedger) -> Vec<&'static str> {
    ledger.records().iter().map(|r| r.kind.as_str()).collect()
}

/// The records about one call, in order.
pub(crate) fn records_of(ledger: &MemoryLedger, call: CallId) -> Vec<Record> {
    let id = call.to_string();
    ledger
        .records()
        .into_iter()
        .filter(|r| r.call_id.as_deref() == Some(id.as_str()))
        .collect()
}

/// The `outcome.status` of a record.
pub(crate) fn status(record: &Record) -> &str {
    record.outcome.as_ref().map_or("", |o| o.status.as_str())
}

/// Every `.rs` file of the library's `src/`, sorted: for tests that read the sources.
pub(crate) fn library_sources() -> Vec<std::path::PathBuf> {
    fn below(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                below(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    below(&library_src(), &mut files);
    files.sort();
    files
}

/// The library's `src/` directory.
pub(crate) fn library_src() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}
