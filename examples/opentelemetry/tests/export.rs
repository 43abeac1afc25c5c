//! The session's spans and metrics reach an OTLP/HTTP collector: a stub on a loopback port
//! that decodes what the exporter sends with the OTLP protobuf types.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may unwrap

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use agentwarrant_opentelemetry_example::{session, Telemetry};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message;

/// Every request the stub received: path and body.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A collector stub on 127.0.0.1: answers every POST with 200 and keeps its body.
fn collector() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let received = Received::default();
    let kept = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let kept = kept.clone();
            std::thread::spawn(move || serve(stream, &kept));
        }
    });
    (endpoint, received)
}

/// Serves one connection's requests (HTTP/1.1, keep-alive) until the client closes it.
fn serve(stream: TcpStream, kept: &Received) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        kept.lock().unwrap().push((path, body));
        writer
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
            .unwrap();
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::BoolValue(b)) => b.to_string(),
        other => format!("{other:?}"),
    }
}

#[test]
fn a_sessions_spans_and_metrics_reach_the_collector() {
    let (endpoint, received) = collector();
    let telemetry = Telemetry::otlp(&endpoint).unwrap();
    let summary = tracing::subscriber::with_default(telemetry.subscriber(), session).unwrap();
    telemetry.shutdown().unwrap();
    assert_eq!(summary.calls.len(), 3);
    assert!(summary.calls[2].1.contains("exfiltration"), "{summary}");

    let received = received.lock().unwrap();
    let mut spans = Vec::new();
    let mut metrics = BTreeMap::new();
    for (path, body) in received.iter() {
        match path.as_str() {
            "/v1/traces" => {
                let request = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
                for resource in request.resource_spans {
                    let service = resource.resource.unwrap().attributes;
                    assert!(service.iter().any(|kv| kv.key == "service.name"
                        && text(kv.value.as_ref().and_then(|v| v.value.as_ref()))
                            == "agentwarrant-demo"));
                    spans.extend(resource.scope_spans.into_iter().flat_map(|s| s.spans));
                }
            }
            "/v1/metrics" => {
                let request = ExportMetricsServiceRequest::decode(body.as_slice()).unwrap();
                for metric in request
                    .resource_metrics
                    .into_iter()
                    .flat_map(|r| r.scope_metrics)
                    .flat_map(|s| s.metrics)
                {
                    metrics.insert(metric.name.clone(), metric);
                }
            }
            other => panic!("unexpected request to {other}"),
        }
    }

    let attributes = |name: &str| -> BTreeMap<String, String> {
        let span = spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
            panic!(
                "no span `{name}` in {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        });
        span.attributes
            .iter()
            .map(|kv| {
                (
                    kv.key.clone(),
                    text(kv.value.as_ref().and_then(|v| v.value.as_ref())),
                )
            })
            .collect()
    };
    let task = spans
        .iter()
        .find(|s| s.name == "invoke_agent agent://acme/ops")
        .unwrap();
    assert_eq!(
        attributes("invoke_agent agent://acme/ops")["gen_ai.agent.id"],
        "agent://acme/ops"
    );
    for tool in ["read_logs", "read_secret", "send_email"] {
        let span = spans
            .iter()
            .find(|s| s.name == format!("execute_tool {tool}"))
            .unwrap();
        assert_eq!(
            span.parent_span_id, task.span_id,
            "{tool} is a child of its task"
        );
        assert_eq!(span.trace_id, task.trace_id);
    }
    let secret = attributes("execute_tool read_secret");
    assert_eq!(secret["gen_ai.operation.name"], "execute_tool");
    assert_eq!(secret["gen_ai.tool.name"], "read_secret");
    assert_eq!(secret["agentwarrant.decision"], "approval");
    assert_eq!(secret["agentwarrant.reasons"], "secret_access");
    assert_eq!(secret["agentwarrant.approvers"], "bob@acme.com");
    assert_eq!(secret["agentwarrant.outcome"], "ok");
    let exfiltration = spans
        .iter()
        .find(|s| s.name == "execute_tool send_email")
        .unwrap();
    let status = exfiltration.status.as_ref().unwrap();
    assert_eq!(status.code, StatusCode::Error as i32);
    assert_eq!(
        attributes("execute_tool send_email")["error.type"],
        "exfiltration"
    );

    for name in [
        "agentwarrant.decisions",
        "agentwarrant.reasons",
        "agentwarrant.policy.eval_us",
        "agentwarrant.approval.latency_ms",
    ] {
        assert!(
            metrics.contains_key(name),
            "no metric `{name}` in {:?}",
            metrics.keys()
        );
    }
    let Some(Data::Sum(decisions)) = &metrics["agentwarrant.decisions"].data else {
        panic!("decisions are a counter");
    };
    let counted: i64 = decisions
        .data_points
        .iter()
        .map(|p| match p.value {
            Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(n)) => n,
            Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(
                n,
            )) => n as i64,
            None => 0,
        })
        .sum();
    assert_eq!(counted, 3, "one decision per call");
}

#[test]
fn the_example_sends_to_the_collector_it_is_given_and_says_so_when_there_is_none() {
    let (endpoint, received) = collector();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_agentwarrant-opentelemetry-example"))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("read_secret  approved, ran"), "{stdout}");
    assert!(stdout.contains(&format!("spans and metrics sent to {endpoint}")));
    let paths: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(p, _)| p.clone())
        .collect();
    assert!(paths.contains(&"/v1/traces".to_owned()) && paths.contains(&"/v1/metrics".to_owned()));

    // Nothing listens on this port: the session still runs, and the error says what to do.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let failed =
        std::process::Command::new(env!("CARGO_BIN_EXE_agentwarrant-opentelemetry-example"))
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &nowhere)
            .output()
            .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("is an OTLP/HTTP collector listening there?"),
        "{stderr}"
    );
}
