"""Grant and call tokens are standard JWTs: a standard library (PyJWT) verifies what the guard
mints, agentwarrant's verifier refuses every kind of bad token with its code."""

from __future__ import annotations

import base64
from typing import Any, Dict, Tuple

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import agentwarrant as aw

SEED = bytes(range(32))
AUDIENCE = "agentwarrant-tools"


def refunder() -> aw.Identity:
    return aw.Identity("agent://acme/refunds", owner="alice@acme.com", ceiling=["pay.refund:*", "logs.read:*"])


def refunds() -> aw.Intent:
    return aw.Intent("refund order 42", scopes=["pay.refund:order/*", "logs.read:api"])


def guard_and_task(**options: Any) -> Tuple[aw.Guard, aw.Task]:
    guard = aw.Guard(jwt_key=SEED, jwt_kid="k1", **options)
    guard.add_tool(aw.ToolSpec("refund", impact="low", scopes=["pay.refund:order/{order}"]))
    return guard, guard.task(refunder(), refunds())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_pyjwt_verifies_a_grant_token_with_the_guards_jwks_and_reads_its_scope() -> None:
    guard, task = guard_and_task()
    with task:
        token = task.grant_token()
        jwks = guard.jwks()
        (jwk,) = jwks["keys"]
        assert {k: jwk[k] for k in ("kty", "crv", "alg", "use", "kid")} == {
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": "k1",
        }
        assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "typ": "aw-grant+jwt", "kid": "k1"}

        key = jwt.PyJWK(jwk)
        claims = jwt.decode(token, key, algorithms=["EdDSA"], audience=AUDIENCE, issuer="agentwarrant")
        assert claims["sub"] == "agent://acme/refunds"
        assert claims["owner"] == "alice@acme.com"
        assert claims["task"] == task.id
        assert claims["depth"] == 0
        assert "pay.refund:order/*" in claims["scope"].split(" ")
        # PyJWKClient's way: pick the key by the token's kid from the set.
        by_kid = {k.key_id: k for k in jwt.PyJWKSet.from_dict(jwks).keys}
        assert jwt.decode(token, by_kid[jwt.get_unverified_header(token)["kid"]], algorithms=["EdDSA"], audience=AUDIENCE)["jti"] == claims["jti"]

        # agentwarrant's verifier agrees, and matches the scope as the engine does.
        mine = aw.verify_grant(token, jwks, "pay.refund:order/42")
        assert mine == claims
        with pytest.raises(aw.JwtError) as refused:
            aw.verify_grant(token, jwks, "pay.refund:invoice/42")
        assert refused.value.code == "jwt_scope_not_covered"
        assert isinstance(refused.value, aw.GuardError)


def test_an_hs256_token_keyed_with_the_public_key_is_refused() -> None:
    guard, task = guard_and_task()
    with task:
        jwks = guard.jwks()
        claims = jwt.decode(task.grant_token(), options={"verify_signature": False})
        x = jwks["keys"][0]["x"]
        public = base64.urlsafe_b64decode(x + "=")
        for secret in (public, x.encode()):
            confused = jwt.encode(claims, secret, algorithm="HS256", headers={"kid": "k1", "typ": "aw-grant+jwt"})
            with pytest.raises(aw.JwtError) as refused:
                aw.verify_grant(confused, jwks, "logs.read:api")
            assert refused.value.code == "jwt_unsupported_algorithm"
        unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "k1", "typ": "aw-grant+jwt"})
        with pytest.raises(aw.JwtError) as refused:
            guard.verify_grant(unsigned, "logs.read:api")
        assert refused.value.code == "jwt_unsupported_algorithm"


def test_tokens_signed_elsewhere_verify_only_with_the_guards_key() -> None:
    guard, task = guard_and_task()
    with task:
        claims = jwt.decode(task.grant_token(), options={"verify_signature": False})
        headers = {"kid": "k1", "typ": "aw-grant+jwt"}
        # PyJWT signing with the guard's own seed: the same key, so the same verdict.
        same = jwt.encode(claims, Ed25519PrivateKey.from_private_bytes(SEED), algorithm="EdDSA", headers=headers)
        assert guard.verify_grant(same, "logs.read:api")["jti"] == claims["jti"]
        # Another key under the guard's kid: forged.
        forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=headers)
        with pytest.raises(aw.JwtError) as refused:
            guard.verify_grant(forged, "logs.read:api")
        assert refused.value.code == "jwt_bad_signature"
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(forged, jwt.PyJWK(guard.jwks()["keys"][0]), algorithms=["EdDSA"], audience=AUDIENCE)


@pytest.mark.parametrize(
    "token, code",
    [
        ("", "jwt_malformed"),
        ("a.b", "jwt_malformed"),
        ("not a token at all", "jwt_malformed"),
        (b64(b'{"alg":"EdDSA","kid":"k1"}') + ".e30.!!", "jwt_malformed"),
        (b64(b'{"alg":"RS256","kid":"k1"}') + ".e30.AAAA", "jwt_unsupported_algorithm"),
        (b64(b'{"alg":"EdDSA","kid":"nobody"}') + ".e30." + b64(bytes(64)), "jwt_unknown_key"),
        (b64(b'{"alg":"EdDSA","kid":"k1"}') + ".e30." + b64(bytes(64)), "jwt_bad_signature"),
    ],
)
def test_bad_tokens_are_refused_with_their_code(token: str, code: str) -> None:
    guard, task = guard_and_task()
    with task:
        with pytest.raises(aw.JwtError) as refused:
            aw.verify_grant(token, guard.jwks(), "logs.read:api")
        assert refused.value.code == code


def test_a_token_dies_with_its_task_and_with_a_revoked_id() -> None:
    guard, task = guard_and_task()
    with task:
        token = task.grant_token()
        jti = guard.verify_grant(token, "logs.read:api")["jti"]
        with pytest.raises(aw.JwtError) as refused:
            aw.verify_grant(token, guard.jwks(), "logs.read:api", revoked={jti})
        assert refused.value.code == "jwt_revoked"
    with pytest.raises(aw.JwtError) as refused:
        guard.verify_grant(token, "logs.read:api")
    assert refused.value.code == "jwt_revoked"
    with pytest.raises(aw.TaskError) as ended:
        task.grant_token()
    assert ended.value.code == "task_ended"


def test_audience_and_issuer_are_checked() -> None:
    guard, task = guard_and_task(jwt_audience="payments")
    with task:
        token = task.grant_token()
        jwks = guard.jwks()
        assert aw.verify_grant(token, jwks, "logs.read:api", audience="payments")["aud"] == "payments"
        with pytest.raises(aw.JwtError) as refused:
            aw.verify_grant(token, jwks, "logs.read:api")
        assert refused.value.code == "jwt_wrong_audience"
        with pytest.raises(aw.JwtError) as refused:
            aw.verify_grant(token, jwks, "logs.read:api", audience="payments", issuer="someone-else")
        assert refused.value.code == "jwt_wrong_issuer"
        with pytest.raises(jwt.InvalidAudienceError):
            jwt.decode(token, jwt.PyJWK(jwks["keys"][0]), algorithms=["EdDSA"], audience=AUDIENCE)


def test_an_expired_token_is_refused_after_the_leeway() -> None:
    clock = aw.ManualClock()
    guard, task = guard_and_task(clock=clock, grant_ttl=60)
    with task:
        token = task.grant_token()
        clock.advance(60 + 59)
        assert guard.verify_grant(token, "logs.read:api")
        clock.advance(1)
        with pytest.raises(aw.JwtError) as refused:
            guard.verify_grant(token, "logs.read:api")
        assert refused.value.code == "jwt_expired"


def test_keys_rotate_without_downtime() -> None:
    guard, task = guard_and_task()
    with task:
        old = task.grant_token()
        guard.rotate_jwt_key(bytes(32), kid="k2")
        new = task.grant_token()
        assert [k["kid"] for k in guard.jwks()["keys"]] == ["k2", "k1"]
        for token in (old, new):
            jwt.decode(token, jwt.PyJWKSet.from_dict(guard.jwks())[jwt.get_unverified_header(token)["kid"]], algorithms=["EdDSA"], audience=AUDIENCE)
            guard.verify_grant(token, "logs.read:api")
        assert guard.retire_jwt_key("k1")
        with pytest.raises(aw.JwtError) as refused:
            guard.verify_grant(old, "logs.read:api")
        assert refused.value.code == "jwt_unknown_key"
        assert guard.verify_grant(new, "logs.read:api")


def test_a_call_token_is_bound_to_its_call() -> None:
    guard, task = guard_and_task()
    with task:
        warrant = task.authorize("refund", {"order": "42"})
        token = warrant.jwt()
        claims: Dict[str, Any] = guard.verify_call(token, "refund", {"order": "42"})
        assert (claims["call"], claims["tool"], claims["scope"]) == (warrant.call_id, "refund", "pay.refund:order/42")
        assert jwt.decode(token, jwt.PyJWK(guard.jwks()["keys"][0]), algorithms=["EdDSA"], audience=AUDIENCE)["jti"] == warrant.call_id
        with pytest.raises(aw.JwtError) as refused:
            guard.verify_call(token, "refund", {"order": "43"})
        assert refused.value.code == "jwt_call_mismatch"
        with pytest.raises(aw.JwtError) as refused:
            guard.verify_grant(token, "pay.refund:order/42")
        assert refused.value.code == "jwt_wrong_type"
        warrant.complete()
        with pytest.raises(aw.TaskError) as used:
            warrant.jwt()
        assert used.value.code == "warrant_used"


def test_a_jwt_key_must_be_a_32_byte_seed() -> None:
    for options in ({"jwt_key": b"short"}, {"jwt_kid": "k1"}):
        with pytest.raises(aw.ConfigError) as bad:
            aw.Guard(**options)  # type: ignore[arg-type]
        assert bad.value.code == "invalid_jwt_key"
    with pytest.raises(aw.JwtError) as bad_jwks:
        aw.verify_grant("a.b.c", {"keys": []}, "logs.read:api")
    assert bad_jwks.value.code == "jwks_invalid"


# -- chain tokens: the chain continued by a guard in another process


def worker() -> aw.Identity:
    return aw.Identity("agent://acme/refund-worker", owner="bob@acme.com", ceiling=["pay.refund:*", "logs.read:*"])


def test_a_chain_token_continues_the_chain_in_another_guard_once() -> None:
    caller, task = guard_and_task()
    server = aw.Guard(trust_chain_keys=caller.jwks())
    server.add_tool(aw.ToolSpec("refund", impact="low", scopes=["pay.refund:order/{order}"]))
    with task:
        warrant = task.authorize("refund", {"order": "42"})
        token = warrant.chain_token()
        claims = jwt.decode(token, options={"verify_signature": False})
        assert jwt.get_unverified_header(token)["typ"] == "aw-chain+jwt"
        assert (claims["sub"], claims["depth"], claims["scope"]) == (refunder().id, 1, "pay.refund:order/* logs.read:api")
        with server.resume_chain(token, worker()) as continued:
            assert continued.grant_scopes == ["pay.refund:order/*", "logs.read:api"]
            assert continued.authorize("refund", {"order": "43"}).depth == 2
        with pytest.raises(aw.TaskError) as replayed:
            server.resume_chain(token, worker())
        assert replayed.value.code == "chain_token_invalid" and "already used" in str(replayed.value)
        warrant.complete()
        with pytest.raises(aw.TaskError) as used:
            warrant.chain_token()
        assert used.value.code == "warrant_used"


def test_chain_tokens_hand_on_fewer_scopes_never_more() -> None:
    caller, task = guard_and_task()
    server = aw.Guard(trust_chain_keys=[caller.jwks()])
    with task:
        with pytest.raises(aw.TaskError) as wider:
            task.chain_token(scopes=["pay.refund:*"])
        assert wider.value.code == "chain_token_invalid"
        token = task.chain_token(scopes=["logs.read:api"])
        with pytest.raises(aw.TaskError) as greedy:
            server.resume_chain(token, worker(), aw.Intent("refund more", scopes=["pay.refund:order/*"]))
        assert greedy.value.code == "chain_token_invalid"
        with server.resume_chain(task.chain_token(scopes=["logs.read:api"]), worker()) as continued:
            assert continued.grant_scopes == ["logs.read:api"]


def test_a_guard_that_does_not_trust_the_callers_keys_refuses_its_chain_tokens() -> None:
    _, task = guard_and_task()
    with task:
        token = task.chain_token()
        with pytest.raises(aw.TaskError) as refused:
            aw.Guard().resume_chain(token, worker())
    assert refused.value.code == "chain_token_invalid" and "trust_chain_keys" in str(refused.value)
    with pytest.raises(aw.JwtError):
        aw.Guard(trust_chain_keys={"keys": []})
