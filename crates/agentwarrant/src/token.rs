//! Warrant tokens: a warrant, signed, so that a downstream tool or service can check that the
//! call it receives was authorized, for this tool and these args, without calling back.
//!
//! Format `aw1.<claims>.<mac>`: base64url (no padding) of the claims' JSON, and of its
//! HMAC-SHA256 under the guard's [`SigningKey`]. A token from outside is an
//! [`UnverifiedToken`] until [`UnverifiedToken::verify`] turns it into a [`VerifiedWarrant`].

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::canonical::{canonical_json, sha256_hex};

const PREFIX: &str = "aw1";

/// The secret that signs warrant tokens. Share it only with the services that verify them.
#[derive(Clone)]
pub struct SigningKey([u8; 32]);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SECURITY: never print the key.
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// A fresh random key (the guard's default; tokens then verify only in this process).
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self(key)
    }

    /// A key from 32 secret bytes (e.g. from a secret store).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        // HMAC zero-pads keys shorter than the block: padding here gives the same MAC and
        // uses the infallible fixed-size constructor.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.0);
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
        mac.update(payload);
        mac
    }
}

/// What a warrant token asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Claims {
    /// The call authorized.
    pub call_id: String,
    /// The task it belongs to.
    pub task_id: String,
    /// The grant it ran under.
    pub grant_id: String,
    /// The non-human identity.
    pub identity: String,
    /// Its accountable owner.
    pub owner: String,
    /// The tool authorized.
    pub tool: String,
    /// SHA-256 of the canonical JSON of the args authorized.
    pub args_digest: String,
    /// The scopes the call required.
    pub scopes: Vec<String>,
    /// Who approved it, if anyone.
    pub approvers: Vec<String>,
    /// When the token was issued (Unix seconds).
    pub issued_at: i64,
    /// When it stops being valid (Unix seconds): the grant's expiry.
    pub expires_at: i64,
}

impl Claims {
    /// Signs the claims into a token.
    pub(crate) fn sign(&self, key: &SigningKey) -> String {
        let json = serde_json::to_value(self).map_or_else(|_| Vec::new(), |v| canonical_json(&v));
        let body = URL_SAFE_NO_PAD.encode(json);
        let mac = key.mac(body.as_bytes()).finalize().into_bytes();
        format!("{PREFIX}.{body}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// Whether these claims cover a call of `tool` with exactly `args`.
    pub fn covers(&self, tool: &str, args: &serde_json::Value) -> bool {
        self.tool == tool && self.args_digest == sha256_hex(&canonical_json(args))
    }
}

/// Why a token was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not of the form `aw1.<claims>.<mac>`, or the claims do not decode.
    #[error("malformed warrant token: {0}")]
    Malformed(String),
    /// The signature does not match: forged, altered, or signed with another key.
    #[error("warrant token signature does not match")]
    BadSignature,
    /// Past its expiry.
    #[error("warrant token expired")]
    Expired,
}

impl TokenError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Malformed(_) => "token_malformed",
            TokenError::BadSignature => "token_bad_signature",
            TokenError::Expired => "token_expired",
        }
    }
}

/// A token as received: its claims are not to be trusted yet.
#[derive(Debug, Clone)]
pub struct UnverifiedToken {
    body: String,
    mac: Vec<u8>,
    claims: Claims,
}

impl UnverifiedToken {
    /// Parses a token's structure; nothing is trusted until [`UnverifiedToken::verify`].
    pub fn parse(token: &str) -> Result<Self, TokenError> {
        let malformed = |what: &str| TokenError::Malformed(what.to_owned());
        let mut parts = token.trim().split('.');
        if parts.next() != Some(PREFIX) {
            return Err(malformed("expected the `aw1.` prefix"));
        }
        let (Some(body), Some(mac), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed("expected three `.`-separated parts"));
        };
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| malformed("the signature is not base64url"))?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| malformed("the claims are not base64url"))?;
        let claims =
            serde_json::from_slice(&json).map_err(|e| TokenError::Malformed(e.to_string()))?;
        Ok(Self {
            body: body.to_owned(),
            mac,
            claims,
        })
    }

    /// Checks the signature (in constant time) and the expiry against the system clock.
    pub fn verify(self, key: &SigningKey) -> Result<VerifiedWarrant, TokenError> {
        self.verify_at(key, OffsetDateTime::now_utc())
    }

    /// Checks the signature and the expiry at `now`.
    pub fn verify_at(
        self,
        key: &SigningKey,
        now: OffsetDateTime,
    ) -> Result<VerifiedWarrant, TokenError> {
        key.mac(self.body.as_bytes())
            .verify_slice(&self.mac)
            .map_err(|_| TokenError::BadSignature)?;
        if now.unix_timestamp() >= self.claims.expires_at {
            return Err(TokenError::Expired);
        }
        Ok(VerifiedWarrant {
            claims: self.claims,
        })
    }

    /// The claims, unverified: for logging a rejected token, never for deciding.
    pub fn claims_unverified(&self) -> &Claims {
        &self.claims
    }
}

/// A token whose signature and expiry were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedWarrant {
    claims: Claims,
}

impl VerifiedWarrant {
    /// The verified claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::*;

    fn warrant_token(key: SigningKey) -> (String, Guard) {
        let guard = Guard::builder()
            .tool(
                ToolSpec::builder("refund", Impact::Low)
                    .scope("pay:{order}")
                    .build()
                    .unwrap(),
            )
            .signing_key(key)
            .build()
            .unwrap();
        let me = Identity::builder("agent://acme/bot", Role::Executor, "alice@acme.com")
            .ceiling(["pay:*"])
            .build()
            .unwrap();
        let task = guard
            .begin(
                me,
                Intent::builder("refund").scopes(["pay:*"]).build().unwrap(),
            )
            .unwrap();
        let warrant = task
            .authorize(ToolCall::new("refund", json!({"order": "A-1"})))
            .unwrap();
        (warrant.token(), guard)
    }

    #[test]
    fn a_downstream_service_verifies_the_call_it_receives() {
        let key = SigningKey::from_bytes([7; 32]);
        let (token, _guard) = warrant_token(key.clone());
        let verified = UnverifiedToken::parse(&token)
            .unwrap()
            .verify(&key)
            .unwrap();
        let claims = verified.claims();
        assert_eq!(
            (claims.tool.as_str(), claims.scopes.as_slice()),
            ("refund", &["pay:A-1".to_owned()][..])
        );
        assert!(claims.covers("refund", &json!({"order": "A-1"})));
        assert!(!claims.covers("refund", &json!({"order": "B-2"})));
    }

    #[test]
    fn forged_altered_foreign_and_expired_tokens_are_rejected() {
        let key = SigningKey::from_bytes([7; 32]);
        let (token, _guard) = warrant_token(key.clone());
        let other = SigningKey::from_bytes([8; 32]);
        let parsed = UnverifiedToken::parse(&token).unwrap();
        assert_eq!(
            parsed.clone().verify(&other).unwrap_err(),
            TokenError::BadSignature
        );
        let far_future = time::OffsetDateTime::now_utc() + time::Duration::days(1);
        assert_eq!(
            parsed.verify_at(&key, far_future).unwrap_err(),
            TokenError::Expired
        );

        // Claims signed by another guard, with this guard's signature: rejected.
        let foreign = warrant_token(other).0;
        let spliced = format!(
            "aw1.{}.{}",
            foreign.split('.').nth(1).unwrap(),
            token.split('.').nth(2).unwrap()
        );
        assert_eq!(
            UnverifiedToken::parse(&spliced)
                .unwrap()
                .verify(&key)
                .unwrap_err(),
            TokenError::BadSignature
        );
        for garbage in ["", "aw1", "aw1.x", "aw2.a.b", "aw1.!!.??", "aw1.e30.AA.x"] {
            assert!(
                matches!(
                    UnverifiedToken::parse(garbage),
                    Err(TokenError::Malformed(_))
                ),
                "{garbage}"
            );
        }
    }
}
