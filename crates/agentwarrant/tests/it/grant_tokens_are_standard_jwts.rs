//! A task's grant and a call's warrant as EdDSA JWTs: minted by the guard, verified with its
//! JWKS, and every kind of bad token refused with its own code.

use std::sync::Arc;

use agentwarrant::{
    verify_grant, Guard, Identity, Intent, Jwks, JwtError, JwtKeys, JwtSigningKey, JwtVerifier,
    ManualClock, MemoryRevocations, RevocationError, RevocationStore, Role, Task, ToolCall,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::Signer as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use time::macros::datetime;

use crate::fixtures::{builder, ALICE};

/// The seed of the key every guard here signs with, so tests can sign tokens of their own.
const SEED: [u8; 32] = [42; 32];
const KID: &str = "k1";

fn keys() -> JwtKeys {
    JwtKeys::new(JwtSigningKey::from_seed(SEED).with_kid(KID))
}

fn refunder() -> Identity {
    Identity::builder("agent://acme/refunds", Role::Executor, ALICE)
        .ceiling(["pay.refund:*", "logs.read:*"])
        .build()
        .unwrap()
}

fn refunds() -> Intent {
    Intent::builder("refund order 42")
        .scopes(["pay.refund:order/*", "logs.read:api"])
        .build()
        .unwrap()
}

fn guard() -> Guard {
    builder().jwt_keys(keys()).build().unwrap()
}

fn task(guard: &Guard) -> Task {
    guard.begin(refunder(), refunds()).unwrap()
}

fn code(result: Result<impl std::fmt::Debug, JwtError>) -> &'static str {
    match result {
        Ok(claims) => panic!("expected a refusal, got {claims:?}"),
        Err(error) => error.code(),
    }
}

/// The JSON of a token's part `n` (0 header, 1 claims).
fn part(token: &str, n: usize) -> Value {
    let text = token.split('.').nth(n).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS of `header` and `claims` (raw JSON text), signed with Ed25519 `seed`.
fn sign_raw(header: &str, claims: &str, seed: [u8; 32]) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let signature = key.sign(input.as_bytes()).to_bytes();
    format!("{input}.{}", b64(&signature))
}

fn sign(header: &Value, claims: &Value, seed: [u8; 32]) -> String {
    sign_raw(&header.to_string(), &claims.to_string(), seed)
}

fn grant_header() -> Value {
    json!({"alg": "EdDSA", "typ": "aw-grant+jwt", "kid": KID})
}

#[test]
fn a_grant_token_verifies_with_the_guards_jwks_and_carries_the_grant() {
    let guard = guard();
    let task = task(&guard);
    let token = task.grant_token().unwrap();

    let header = part(&token, 0);
    assert_eq!(
        header,
        json!({"alg": "EdDSA", "typ": "aw-grant+jwt", "kid": KID})
    );

    let claims = verify_grant(&token, &guard.jwt_verifier(), "pay.refund:order/42").unwrap();
    let grant = task.grant();
    assert_eq!(claims.iss, "agentwarrant");
    assert_eq!(claims.aud, ["agentwarrant-tools"]);
    assert_eq!(claims.sub, "agent://acme/refunds");
    assert_eq!(claims.owner, ALICE);
    assert_eq!(claims.role, "executor");
    assert_eq!(claims.task, task.id().to_string());
    assert_eq!(claims.jti, grant.id().to_string());
    assert_eq!(claims.exp, grant.expires_at().unix_timestamp());
    assert_eq!(claims.depth, 0);
    assert!(claims.lineage.is_empty());
    assert_eq!(
        claims.scopes().collect::<Vec<_>>(),
        ["pay.refund:order/*", "logs.read:api"]
    );
    // The wire form: `aud` a string, `scope` space-separated, as OAuth writes them.
    let wire = part(&token, 1);
    assert_eq!(wire["aud"], "agentwarrant-tools");
    assert_eq!(wire["scope"], "pay.refund:order/* logs.read:api");

    // A verifier elsewhere has only the JWKS document (and a revocation store).
    let text = serde_json::to_string(&guard.jwks()).unwrap();
    let remote = JwtVerifier::new(
        Jwks::from_json_str(&text).unwrap(),
        MemoryRevocations::new(),
    );
    assert!(remote.verify_grant(&token, "logs.read:api").is_ok());
}

#[test]
fn issuer_and_audience_are_the_guards_and_a_verifier_checks_both() {
    let guard = builder()
        .jwt_keys(keys())
        .jwt_issuer("https://guard.acme.example")
        .jwt_audience("payments")
        .build()
        .unwrap();
    let task = task(&guard);
    let token = task.grant_token().unwrap();
    let verifier = guard.jwt_verifier();
    let claims = verifier.verify_grant(&token, "pay.refund:order/1").unwrap();
    assert_eq!(
        (claims.iss.as_str(), claims.aud[0].as_str()),
        ("https://guard.acme.example", "payments")
    );

    let jwks = guard.jwks();
    let elsewhere = JwtVerifier::new(jwks.clone(), MemoryRevocations::new());
    assert_eq!(
        code(elsewhere.verify_grant(&token, "pay.refund:order/1")),
        "jwt_wrong_issuer"
    );
    let other_service = verifier.clone().audience("email");
    assert_eq!(
        code(other_service.verify_grant(&token, "pay.refund:order/1")),
        "jwt_wrong_audience"
    );
    let right = JwtVerifier::new(jwks, MemoryRevocations::new())
        .issuer("https://guard.acme.example")
        .audience("payments");
    assert!(right.verify_grant(&token, "pay.refund:order/1").is_ok());
}

#[test]
fn an_audience_array_naming_the_verifier_is_accepted() {
    let guard = guard();
    let task = task(&guard);
    let mut claims = part(&task.grant_token().unwrap(), 1);
    claims["aud"] = json!(["billing", "agentwarrant-tools"]);
    let token = sign(&grant_header(), &claims, SEED);
    assert!(guard
        .jwt_verifier()
        .verify_grant(&token, "logs.read:api")
        .is_ok());
    claims["aud"] = json!(["billing"]);
    let token = sign(&grant_header(), &claims, SEED);
    assert_eq!(
        code(guard.jwt_verifier().verify_grant(&token, "logs.read:api")),
        "jwt_wrong_audience"
    );
}

#[test]
fn scopes_match_as_the_engine_matches_them() {
    let guard = guard();
    let task = task(&guard);
    let token = task.grant_token().unwrap();
    let verifier = guard.jwt_verifier();
    for covered in [
        "pay.refund:order/42",
        "pay.refund:order/",
        "pay.refund:order/a:b@c",
        "logs.read:api",
    ] {
        assert!(verifier.verify_grant(&token, covered).is_ok(), "{covered}");
    }
    for outside in [
        "pay.refund:invoice/42",
        "pay.refund:ORDER/42",
        "pay.refunds:order/42",
        "logs.read:api2",
        "logs.read:ap",
        "email.send:x@evil.com",
    ] {
        assert_eq!(
            code(verifier.verify_grant(&token, outside)),
            "jwt_scope_not_covered",
            "{outside}"
        );
    }
    for invalid in ["", "nocolon", "a: b", ":x"] {
        assert_eq!(
            code(verifier.verify_grant(&token, invalid)),
            "jwt_invalid_required_scope",
            "{invalid:?}"
        );
    }
    // A pattern in the scope set of an intent that the ceiling did not cover is not granted.
    let narrow = Identity::builder("agent://acme/narrow", Role::Executor, ALICE)
        .ceiling(["logs.read:*"])
        .build()
        .unwrap();
    let narrow = guard.begin(narrow, refunds()).unwrap();
    let token = narrow.grant_token().unwrap();
    assert_eq!(
        code(verifier.verify_grant(&token, "pay.refund:order/1")),
        "jwt_scope_not_covered"
    );
}

#[test]
fn forged_and_altered_tokens_are_refused() {
    let guard = guard();
    let task = task(&guard);
    let token = task.grant_token().unwrap();
    let verifier = guard.jwt_verifier();

    // Signed by another key under the guard's key id.
    let claims = part(&token, 1);
    let forged = sign(&grant_header(), &claims, [7; 32]);
    assert_eq!(
        code(verifier.verify_grant(&forged, "logs.read:api")),
        "jwt_bad_signature"
    );

    // Claims widened, signature kept.
    let mut wider = claims.clone();
    wider["scope"] = json!("*:*");
    let mut pieces: Vec<String> = token.split('.').map(str::to_owned).collect();
    pieces[1] = b64(wider.to_string().as_bytes());
    assert_eq!(
        code(verifier.verify_grant(&pieces.join("."), "email.send:x")),
        "jwt_bad_signature"
    );

    // A flipped bit in the signature.
    let mut signature = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(2).unwrap())
        .unwrap();
    signature[10] ^= 1;
    pieces = token.split('.').map(str::to_owned).collect();
    pieces[2] = b64(&signature);
    assert_eq!(
        code(verifier.verify_grant(&pieces.join("."), "logs.read:api")),
        "jwt_bad_signature"
    );

    // Another guard's token under the same key id.
    let other = builder()
        .jwt_keys(JwtKeys::new(
            JwtSigningKey::from_seed([9; 32]).with_kid(KID),
        ))
        .build()
        .unwrap();
    let foreign = task_of(&other).grant_token().unwrap();
    assert_eq!(
        code(verifier.verify_grant(&foreign, "logs.read:api")),
        "jwt_bad_signature"
    );
}

fn task_of(guard: &Guard) -> Task {
    guard.begin(refunder(), refunds()).unwrap()
}

#[test]
fn only_eddsa_is_accepted_and_checked_before_any_key() {
    let guard = guard();
    let task = task(&guard);
    let claims = part(&task.grant_token().unwrap(), 1);
    let verifier = guard.jwt_verifier();
    let body = b64(claims.to_string().as_bytes());

    // `alg: none`, with and without a signature part.
    for header in [
        json!({"alg": "none", "typ": "aw-grant+jwt", "kid": KID}),
        json!({"alg": "none"}),
        json!({"alg": "None", "kid": KID}),
    ] {
        let head = b64(header.to_string().as_bytes());
        for token in [format!("{head}.{body}."), format!("{head}.{body}.AAAA")] {
            assert_eq!(
                code(verifier.verify_grant(&token, "logs.read:api")),
                "jwt_unsupported_algorithm"
            );
        }
    }

    // HS256 keyed with the public key, in every form a confused verifier might use: the raw
    // 32 bytes, the JWK's `x` text, the JWK's JSON.
    let jwk = guard.jwks().to_json()["keys"][0].clone();
    let x = jwk["x"].as_str().unwrap().to_owned();
    let raw = URL_SAFE_NO_PAD.decode(&x).unwrap();
    for secret in [
        raw.clone(),
        x.clone().into_bytes(),
        jwk.to_string().into_bytes(),
    ] {
        let header = json!({"alg": "HS256", "typ": "aw-grant+jwt", "kid": KID});
        let input = format!("{}.{body}", b64(header.to_string().as_bytes()));
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&secret).unwrap();
        mac.update(input.as_bytes());
        let token = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
        assert_eq!(
            code(verifier.verify_grant(&token, "logs.read:api")),
            "jwt_unsupported_algorithm"
        );
    }

    // Any other name, even with a valid Ed25519 signature; and no `alg` at all.
    for alg in [
        json!("RS256"),
        json!("ES256"),
        json!("PS256"),
        json!("eddsa"),
        json!("EdDSA "),
        json!("HS512"),
        json!(1),
        json!(null),
        json!(["EdDSA"]),
    ] {
        let header = json!({"alg": alg, "typ": "aw-grant+jwt", "kid": KID});
        let token = sign(&header, &claims, SEED);
        assert_eq!(
            code(verifier.verify_grant(&token, "logs.read:api")),
            "jwt_unsupported_algorithm",
            "{alg}"
        );
    }
    let token = sign(&json!({"typ": "aw-grant+jwt", "kid": KID}), &claims, SEED);
    assert_eq!(
        code(verifier.verify_grant(&token, "logs.read:api")),
        "jwt_unsupported_algorithm"
    );

    // The algorithm is refused even when the key id is unknown: it is looked at first.
    let header = json!({"alg": "HS256", "kid": "nobody"});
    let token = format!("{}.{body}.AAAA", b64(header.to_string().as_bytes()));
    assert_eq!(
        code(verifier.verify_grant(&token, "logs.read:api")),
        "jwt_unsupported_algorithm"
    );
}

#[test]
fn an_unknown_or_missing_key_id_is_refused() {
    let guard = guard();
    let task = task(&guard);
    let claims = part(&task.grant_token().unwrap(), 1);
    let verifier = guard.jwt_verifier();
    let token = sign(
        &json!({"alg": "EdDSA", "typ": "aw-grant+jwt", "kid": "k2"}),
        &claims,
        SEED,
    );
    assert_eq!(
        code(verifier.verify_grant(&token, "logs.read:api")),
        "jwt_unknown_key"
    );
    let token = sign(
        &json!({"alg": "EdDSA", "typ": "aw-grant+jwt"}),
        &claims,
        SEED,
    );
    assert_eq!(
        code(verifier.verify_grant(&token, "logs.read:api")),
        "jwt_unknown_key"
    );
    // Keys named in the token itself are never used.
    let jwk = guard.jwks().to_json()["keys"][0].clone();
    let header = json!({"alg": "EdDSA", "typ": "aw-grant+jwt", "kid": "mine", "jwk": jwk, "jku": "https://evil.example/jwks"});
    let token = sign(&header, &claims, SEED);
    assert_eq!(
        code(verifier.verify_grant(&token, "logs.read:api")),
        "jwt_unknown_key"
    );
    // A verifier of another guard's keys does not know this guard's key.
    let stranger = JwtVerifier::new(JwtKeys::generate().jwks(), MemoryRevocations::new());
    let token = task.grant_token().unwrap();
    assert_eq!(
        code(stranger.verify_grant(&token, "logs.read:api")),
        "jwt_unknown_key"
    );
}

#[test]
fn malformed_tokens_are_refused_as_malformed() {
    let guard = guard();
    let task = task(&guard);
    let token = task.grant_token().unwrap();
    let verifier = guard.jwt_verifier();
    let [head, body, signature]: [&str; 3] =
        token.split('.').collect::<Vec<_>>().try_into().unwrap();
    let too_long = "a".repeat(20_000);
    let cases = [
        String::new(),
        ".".into(),
        "..".into(),
        "...".into(),
        "abc".into(),
        format!("{head}.{body}"),
        format!("{head}.{body}.{signature}.{signature}"),
        format!(" {token}"),
        format!("{token}\n"),
        format!("{head}=.{body}.{signature}"),
        format!("{head}.{body}.{signature}="),
        format!("{head}.{body}.{}", &signature[..20]),
        format!("{head}.{body}.!!!!"),
        format!("{}.{body}.{signature}", head.replace('e', "+")),
        format!("{}.{body}.{signature}", b64(b"not json")),
        format!("{}.{body}.{signature}", b64(b"[\"EdDSA\"]")),
        too_long,
    ];
    for bad in &cases {
        assert_eq!(
            code(verifier.verify_grant(bad, "logs.read:api")),
            "jwt_malformed",
            "{bad:?}"
        );
    }
    // A member given twice (`none` then `EdDSA`: parsers disagree on which wins).
    let twice = sign_raw(
        r#"{"alg":"none","alg":"EdDSA","typ":"aw-grant+jwt","kid":"k1"}"#,
        &part(&token, 1).to_string(),
        SEED,
    );
    assert_eq!(
        code(verifier.verify_grant(&twice, "logs.read:api")),
        "jwt_malformed"
    );
    // Critical extensions are not understood, so refused.
    let crit = sign(
        &json!({"alg": "EdDSA", "typ": "aw-grant+jwt", "kid": KID, "crit": ["b64"], "b64": false}),
        &part(&token, 1),
        SEED,
    );
    assert_eq!(
        code(verifier.verify_grant(&crit, "logs.read:api")),
        "jwt_malformed"
    );
    // Validly signed, but claims missing, of the wrong type, or not JSON.
    let mut claims = part(&token, 1);
    claims.as_object_mut().unwrap().remove("exp");
    let missing = sign(&grant_header(), &claims, SEED);
    claims = part(&token, 1);
    claims["exp"] = json!("tomorrow");
    let mistyped = sign(&grant_header(), &claims, SEED);
    claims = part(&token, 1);
    claims["exp"] = json!(i64::MAX);
    let out_of_range = sign(&grant_header(), &claims, SEED);
    claims = part(&token, 1);
    claims["scope"] = json!("pay.refund:order/*  logs.read:api");
    let double_space = sign(&grant_header(), &claims, SEED);
    let not_json = sign_raw(&grant_header().to_string(), "{\"iss\":", SEED);
    for bad in [missing, mistyped, out_of_range, double_space, not_json] {
        assert_eq!(
            code(verifier.verify_grant(&bad, "logs.read:api")),
            "jwt_malformed",
            "{bad}"
        );
    }
}

#[test]
fn expired_and_not_yet_valid_tokens_are_refused_with_a_leeway() {
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-01 12:00 UTC)));
    let guard = builder()
        .jwt_keys(keys())
        .clock(clock.clone())
        .build()
        .unwrap();
    let task = task(&guard);
    let token = task.grant_token().unwrap();
    let verifier = guard.jwt_verifier();
    // Default grant lifetime 15 minutes, default leeway 60 s.
    clock.advance(time::Duration::minutes(15) + time::Duration::seconds(59));
    assert!(verifier.verify_grant(&token, "logs.read:api").is_ok());
    clock.advance(time::Duration::seconds(1));
    assert_eq!(
        code(verifier.verify_grant(&token, "logs.read:api")),
        "jwt_expired"
    );
    let strict = verifier.clone().leeway(time::Duration::ZERO);
    clock.advance(time::Duration::seconds(-60));
    assert_eq!(
        code(strict.verify_grant(&token, "logs.read:api")),
        "jwt_expired"
    );

    // A verifier whose clock is behind the guard's by more than the leeway.
    let behind = ManualClock::new(datetime!(2026-03-01 11:58 UTC));
    let early = guard.jwt_verifier().clock(behind);
    assert_eq!(
        code(early.verify_grant(&token, "logs.read:api")),
        "jwt_not_yet_valid"
    );
    let within = guard
        .jwt_verifier()
        .clock(ManualClock::new(datetime!(2026-03-01 11:59:30 UTC)));
    assert!(within.verify_grant(&token, "logs.read:api").is_ok());
    // A leeway past the maximum is cut to it.
    let lax = guard
        .jwt_verifier()
        .clock(ManualClock::new(datetime!(2026-03-01 13:00 UTC)))
        .leeway(time::Duration::days(1));
    assert_eq!(
        code(lax.verify_grant(&token, "logs.read:api")),
        "jwt_expired"
    );
}

#[test]
fn a_token_dies_with_its_task() {
    let guard = guard();
    let task = task(&guard);
    let token = task.grant_token().unwrap();
    let verifier = guard.jwt_verifier();
    assert!(verifier.verify_grant(&token, "logs.read:api").is_ok());
    task.end().unwrap();
    let error = verifier.verify_grant(&token, "logs.read:api").unwrap_err();
    assert_eq!(error, JwtError::Revoked(task.grant().id().to_string()));
    assert_eq!(error.code(), "jwt_revoked");
    // No fresh token for an ended task.
    assert_eq!(task.grant_token().unwrap_err().code(), "task_ended");

    // Dropping a task ends it too.
    let dropped = task_of(&guard);
    let token = dropped.grant_token().unwrap();
    drop(dropped);
    assert_eq!(
        code(verifier.verify_grant(&token, "logs.read:api")),
        "jwt_revoked"
    );
}

#[test]
fn a_delegated_grant_dies_with_the_task_it_was_delegated_from() {
    let guard = guard();
    let lead = task(&guard);
    let helper = Identity::builder("agent://acme/helper", Role::Executor, ALICE)
        .ceiling(["logs.read:*"])
        .build()
        .unwrap();
    let sub = lead.delegate(helper.clone(), None).unwrap();
    let token = sub.grant_token().unwrap();
    let verifier = guard.jwt_verifier();
    let claims = verifier.verify_grant(&token, "logs.read:api").unwrap();
    assert_eq!(
        (claims.depth, claims.sub.as_str()),
        (1, "agent://acme/helper")
    );
    assert_eq!(claims.lineage, [lead.grant().id().to_string()]);
    assert_eq!(claims.scope, "logs.read:api");
    assert_eq!(
        code(verifier.verify_grant(&token, "pay.refund:order/1")),
        "jwt_scope_not_covered"
    );

    // Ending the sub-task revokes its own token, not its parent's.
    let sibling = lead.delegate(helper, None).unwrap();
    let sibling_token = sibling.grant_token().unwrap();
    sibling.end().unwrap();
    assert_eq!(
        code(verifier.verify_grant(&sibling_token, "logs.read:api")),
        "jwt_revoked"
    );
    let lead_token = lead.grant_token().unwrap();
    assert!(verifier.verify_grant(&lead_token, "logs.read:api").is_ok());
    assert!(verifier.verify_grant(&token, "logs.read:api").is_ok());

    // Ending the lead kills the sub-task's token through its lineage.
    lead.end().unwrap();
    assert_eq!(
        verifier.verify_grant(&token, "logs.read:api").unwrap_err(),
        JwtError::Revoked(lead.grant().id().to_string())
    );
}

#[test]
fn a_revocation_store_shared_with_another_service_carries_the_end() {
    let store = Arc::new(MemoryRevocations::new());
    let guard = builder()
        .jwt_keys(keys())
        .revocations(store.clone())
        .build()
        .unwrap();
    let remote = JwtVerifier::new(
        Jwks::from_json(&guard.jwks().to_json()).unwrap(),
        store.clone(),
    );
    let task = task(&guard);
    let token = task.grant_token().unwrap();
    assert!(remote.verify_grant(&token, "logs.read:api").is_ok());
    task.end().unwrap();
    assert_eq!(store.len(), 1);
    assert_eq!(
        code(remote.verify_grant(&token, "logs.read:api")),
        "jwt_revoked"
    );
}

/// A store whose backend is down.
struct Down;

impl RevocationStore for Down {
    fn revoke(&self, _: &str, _: time::OffsetDateTime) -> Result<(), RevocationError> {
        Err(RevocationError("connection refused".into()))
    }
    fn is_revoked(&self, _: &str) -> Result<bool, RevocationError> {
        Err(RevocationError("connection refused".into()))
    }
}

#[test]
fn a_revocation_store_that_cannot_answer_refuses_the_token() {
    let guard = builder()
        .jwt_keys(keys())
        .revocations(Down)
        .build()
        .unwrap();
    let task = task(&guard);
    let token = task.grant_token().unwrap();
    assert_eq!(
        code(guard.jwt_verifier().verify_grant(&token, "logs.read:api")),
        "jwt_revocation_unavailable"
    );
    // Ending the task still ends it (the failure is reported, not raised).
    task.end().unwrap();
    assert!(task.is_ended());
}

#[test]
fn keys_rotate_without_downtime_and_retired_keys_stop_verifying() {
    let guard = guard();
    let task = task(&guard);
    let old = task.grant_token().unwrap();
    guard.rotate_jwt_key(JwtSigningKey::from_seed([43; 32]).with_kid("k2"));
    let new = task.grant_token().unwrap();
    assert_eq!(part(&new, 0)["kid"], "k2");

    // Verifiers that fetched the JWKS after the rotation accept both.
    let jwks = guard.jwks().to_json();
    assert_eq!(jwks["keys"][0]["kid"], "k2");
    assert_eq!(jwks["keys"][1]["kid"], "k1");
    let verifier = guard.jwt_verifier();
    assert!(verifier.verify_grant(&old, "logs.read:api").is_ok());
    assert!(verifier.verify_grant(&new, "logs.read:api").is_ok());

    assert!(guard.retire_jwt_key("k1"));
    assert!(
        !guard.retire_jwt_key("k2"),
        "the active key is never retired"
    );
    let verifier = guard.jwt_verifier();
    assert_eq!(
        code(verifier.verify_grant(&old, "logs.read:api")),
        "jwt_unknown_key"
    );
    assert!(verifier.verify_grant(&new, "logs.read:api").is_ok());
    assert_eq!(guard.jwks().keys().len(), 1);
}

#[test]
fn a_call_token_is_bound_to_its_call_and_not_taken_for_a_grant() {
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-01 12:00 UTC)));
    let guard = builder()
        .jwt_keys(keys())
        .clock(clock.clone())
        .build()
        .unwrap();
    let task = task(&guard);
    let args = json!({"service": "api"});
    let warrant = task
        .authorize(ToolCall::new("read_logs", args.clone()))
        .unwrap();
    let token = warrant.jwt();
    assert_eq!(part(&token, 0)["typ"], "aw-call+jwt");
    let verifier = guard.jwt_verifier();
    let claims = verifier.verify_call(&token, "read_logs", &args).unwrap();
    assert_eq!(claims.call, warrant.call_id().to_string());
    assert_eq!(claims.jti, claims.call);
    assert_eq!(claims.grant, task.grant().id().to_string());
    assert_eq!((claims.scope.as_str(), claims.depth), ("logs.read:api", 1));
    assert_eq!(claims.exp - claims.iat, 300);

    assert_eq!(
        code(verifier.verify_call(&token, "read_logs", &json!({"service": "db"}))),
        "jwt_call_mismatch"
    );
    assert_eq!(
        code(verifier.verify_call(&token, "read_secret", &args)),
        "jwt_call_mismatch"
    );
    // Neither kind of token passes for the other.
    assert_eq!(
        code(verifier.verify_grant(&token, "logs.read:api")),
        "jwt_wrong_type"
    );
    let grant_token = task.grant_token().unwrap();
    assert_eq!(
        code(verifier.verify_call(&grant_token, "read_logs", &args)),
        "jwt_wrong_type"
    );
    let untyped = sign(
        &json!({"alg": "EdDSA", "kid": KID}),
        &part(&grant_token, 1),
        SEED,
    );
    assert_eq!(
        code(verifier.verify_grant(&untyped, "logs.read:api")),
        "jwt_wrong_type"
    );

    // It expires five minutes after issue, and dies with the task before that.
    clock.advance(time::Duration::minutes(6) + time::Duration::seconds(1));
    assert_eq!(
        code(verifier.verify_call(&token, "read_logs", &args)),
        "jwt_expired"
    );
    clock.advance(time::Duration::minutes(-6));
    assert!(verifier.verify_call(&token, "read_logs", &args).is_ok());
    warrant.complete(agentwarrant::Outcome::ok()).unwrap();
    task.end().unwrap();
    assert_eq!(
        code(verifier.verify_call(&token, "read_logs", &args)),
        "jwt_revoked"
    );
}

#[test]
fn jwks_documents_are_read_strictly() {
    let good = keys().jwks().to_json();
    let jwk = good["keys"][0].clone();
    assert_eq!(
        jwk,
        json!({"kty": "OKP", "crv": "Ed25519", "x": jwk["x"], "kid": KID, "alg": "EdDSA", "use": "sig"})
    );
    // Keys of other types are skipped.
    let mixed = json!({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "r"}, jwk]});
    assert_eq!(Jwks::from_json(&mixed).unwrap().keys().len(), 1);

    let with = |change: &dyn Fn(&mut Value)| {
        let mut key = jwk.clone();
        change(&mut key);
        json!({"keys": [key]})
    };
    // The identity point, a small-order key that would verify forged signatures.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let bad = [
        json!({}),
        json!({"keys": "x"}),
        json!({"keys": []}),
        json!({"keys": [jwk, jwk]}),
        with(&|k| k["alg"] = json!("HS256")),
        with(&|k| k["use"] = json!("enc")),
        with(&|k| k["x"] = json!("AAAA")),
        with(&|k| k["x"] = json!(b64(&identity))),
        with(&|k| {
            k.as_object_mut().unwrap().remove("kid");
        }),
    ];
    for document in bad {
        let error = Jwks::from_json(&document).unwrap_err();
        assert_eq!(error.code(), "jwks_invalid", "{document}");
    }
    assert_eq!(Jwks::from_json_str("{").unwrap_err().code(), "jwks_invalid");
}

#[test]
fn the_default_key_id_is_the_rfc7638_thumbprint() {
    // RFC 8037 appendix A: the example key and its thumbprint.
    let seed: [u8; 32] = URL_SAFE_NO_PAD
        .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
        .unwrap()
        .try_into()
        .unwrap();
    let key = JwtSigningKey::from_seed(seed);
    assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    assert_eq!(
        key.public_key().to_jwk()["x"],
        "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    );
}
