//! A guarded agent session exported to an OpenTelemetry collector.
//!
//! agentwarrant speaks `tracing` only: a task is an `invoke_agent` span, each call an
//! `execute_tool` span below it with the GenAI attributes (`gen_ai.tool.name`,
//! `gen_ai.agent.id`, ...) and the decision (`agentwarrant.decision`, `agentwarrant.reasons`,
//! `agentwarrant.approvers`, `agentwarrant.outcome`); decisions, reasons, policy evaluation time
//! and approval latency are metric events. [`Telemetry`] is the few lines that send them to a
//! collector with `tracing-opentelemetry` and the OTLP exporter; [`session`] is a short guarded
//! session to look at.
//!
//! ```no_run
//! use agentwarrant_opentelemetry_example::{session, Telemetry};
//! let telemetry = Telemetry::otlp("http://localhost:4318")?;
//! let summary = tracing::subscriber::with_default(telemetry.subscriber(), session)?;
//! telemetry.shutdown()?;
//! println!("{summary}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use agentwarrant::{
    Approval, ApprovalAnswer, ApprovalRequest, Guard, Identity, Impact, Intent, Outcome, Role,
    ToolCall, ToolSpec,
};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{MetricExporter, SpanExporter, WithExportConfig};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use serde_json::json;
use tracing_opentelemetry::MetricsLayer;
use tracing_subscriber::layer::SubscriberExt;

/// The OpenTelemetry SDK's tracer and meter providers, exporting over OTLP/HTTP.
pub struct Telemetry {
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
}

impl Telemetry {
    /// Exports spans to `{endpoint}/v1/traces` and metrics to `{endpoint}/v1/metrics` (an
    /// OTLP/HTTP collector, such as `http://localhost:4318`), as service `agentwarrant-demo`.
    pub fn otlp(endpoint: &str) -> Result<Self, opentelemetry_otlp::ExporterBuildError> {
        let endpoint = endpoint.trim_end_matches('/');
        let resource = Resource::builder()
            .with_service_name("agentwarrant-demo")
            .build();
        let spans = SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{endpoint}/v1/traces"))
            .build()?;
        let metrics = MetricExporter::builder()
            .with_http()
            .with_endpoint(format!("{endpoint}/v1/metrics"))
            .build()?;
        Ok(Self {
            tracer: SdkTracerProvider::builder()
                .with_batch_exporter(spans)
                .with_resource(resource.clone())
                .build(),
            meter: SdkMeterProvider::builder()
                .with_periodic_exporter(metrics)
                .with_resource(resource)
                .build(),
        })
    }

    /// A `tracing` subscriber that turns spans into OpenTelemetry spans and the guard's metric
    /// events into OpenTelemetry metrics.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(self.tracer.tracer("agentwarrant")))
            .with(MetricsLayer::new(self.meter.clone()))
    }

    /// Sends what is still buffered and stops the exporters.
    pub fn shutdown(self) -> Result<(), opentelemetry_sdk::error::OTelSdkError> {
        let spans = self.tracer.shutdown();
        let metrics = self.meter.shutdown();
        spans.and(metrics)
    }
}

/// What [`session`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The task's id.
    pub task: String,
    /// Each call: tool and what happened to it.
    pub calls: Vec<(String, String)>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "task {}", self.task)?;
        for (tool, what) in &self.calls {
            writeln!(f, "  {tool:<12} {what}")?;
        }
        Ok(())
    }
}

/// An ops agent reads logs (allowed), reads a secret (approved by bob@acme.com), then tries
/// to mail it outside (refused: exfiltration).
pub fn session() -> Result<Summary, agentwarrant::Error> {
    let guard = Guard::builder()
        .tool(
            ToolSpec::builder("read_logs", Impact::Low)
                .scope("logs.read:{service}")
                .build()?,
        )
        .tool(
            ToolSpec::builder("read_secret", Impact::Low)
                .reads(["secret"])
                .scope("secrets.read:{path}")
                .build()?,
        )
        .tool(
            ToolSpec::builder("send_email", Impact::Medium)
                .external(true)
                .sink(true)
                .scope("email.send:{to:email}")
                .destination_arg("to")
                .build()?,
        )
        .approver(|request: &ApprovalRequest| {
            Ok(ApprovalAnswer::Approved(vec![Approval::of(
                request,
                "bob@acme.com",
            )]))
        })
        .build()?;
    let ops = Identity::builder("agent://acme/ops", Role::Executor, "alice@acme.com")
        .ceiling(["logs.read:*", "secrets.read:*", "email.send:*"])
        .build()?;
    let intent = Intent::builder("rotate the db password")
        .scopes(["logs.read:*", "secrets.read:db/*", "email.send:*"])
        .build()?;
    let task = guard.begin(ops, intent)?;
    let mut calls = Vec::new();
    for (tool, args) in [
        ("read_logs", json!({"service": "db"})),
        ("read_secret", json!({"path": "db/main"})),
        ("send_email", json!({"to": "x@evil.com"})),
    ] {
        let what = match task.authorize(ToolCall::new(tool, args)) {
            Ok(warrant) => {
                let approved = warrant.approved();
                warrant.complete(Outcome::ok())?;
                if approved {
                    "approved, ran"
                } else {
                    "allowed, ran"
                }
                .to_owned()
            }
            Err(refusal) => refusal.to_string(),
        };
        calls.push((tool.to_owned(), what));
    }
    let summary = Summary {
        task: task.id().to_string(),
        calls,
    };
    task.end()?;
    Ok(summary)
}
