//! Runs a guarded session and exports its spans and metrics to the OTLP/HTTP collector at
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (default `http://localhost:4318`).

use std::process::ExitCode;

use agentwarrant_opentelemetry_example::{session, Telemetry};

fn main() -> ExitCode {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .unwrap_or_else(|_| "http://localhost:4318".to_owned());
    match run(&endpoint) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(endpoint: &str) -> Result<(), String> {
    let telemetry = Telemetry::otlp(endpoint).map_err(|e| e.to_string())?;
    let summary = tracing::subscriber::with_default(telemetry.subscriber(), session)
        .map_err(|e| e.to_string())?;
    print!("{summary}");
    telemetry.shutdown().map_err(|error| {
        format!(
            "could not send the spans and metrics to {endpoint} ({error}): is an OTLP/HTTP \
             collector listening there? Set OTEL_EXPORTER_OTLP_ENDPOINT to its address."
        )
    })?;
    println!("spans and metrics sent to {endpoint} (service agentwarrant-demo)");
    Ok(())
}
