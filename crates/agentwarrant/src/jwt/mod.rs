//! Grants and warrants as standard JWTs (RFC 7519), signed with EdDSA over Ed25519 (RFC 8037)
//! in the compact JWS form (RFC 7515), so that any service, in any language, verifies them with
//! a standard JWT library and the guard's JWKS. The contract is in `docs/tokens.md`.
//!
//! A task's grant becomes a *grant token* (header `typ` `aw-grant+jwt`, `jti` = the grant's
//! id); a call's warrant a *call token* (`typ` `aw-call+jwt`, `jti` = the call's id). A
//! [`JwtVerifier`] holds the public keys (a [`Jwks`]), the expected issuer and audience, and a
//! [`RevocationStore`]; [`verify_grant`] checks, in this order: the structure, `alg` (EdDSA
//! only, before any key is looked at), `kid`, the signature, `typ`, `iss`, `aud`, `exp` and
//! `nbf` (with a leeway), revocation, and finally the scope.
//!
//! Hand-written on `ed25519-dalek` and `base64` rather than a JWT crate: one algorithm is
//! accepted, so the whole of JOSE is not needed, and the JWT crates' pure-Rust backends bring
//! RSA and ECDSA implementations (and their advisories) this crate would never call.

mod keys;
mod revocation;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::canonical::{canonical_json, sha256_hex};
use crate::clock::{Clock, SystemClock};
use crate::scope::{Scope, ScopePattern};

pub use keys::{Jwks, JwtKeys, JwtPublicKey, JwtSigningKey};
pub use revocation::{MemoryRevocations, RevocationError, RevocationStore};

/// The header `typ` of a grant token.
pub const GRANT_TOKEN_TYPE: &str = "aw-grant+jwt";
/// The header `typ` of a call token.
pub const CALL_TOKEN_TYPE: &str = "aw-call+jwt";
/// The header `typ` of a chain token.
pub const CHAIN_TOKEN_TYPE: &str = "aw-chain+jwt";
/// The only `alg` accepted.
const ALG: &str = "EdDSA";
/// Longer tokens are refused before any decoding.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a JWT (or a JWKS) was refused. Every variant has a stable [`code`](JwtError::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Not a compact JWS of three base64url parts with JSON header and claims, or a claim is
    /// missing or of the wrong type.
    #[error("malformed JWT: {0}")]
    Malformed(String),
    /// The header's `alg` is not `EdDSA` (`none`, `HS256`, `RS256`, ...): refused before any
    /// key is looked at.
    #[error("JWT algorithm `{0}` is not accepted; only EdDSA is")]
    UnsupportedAlgorithm(String),
    /// The header's `kid` names no key of the verifier's set (or there is no `kid`): a key
    /// retired, or a token from elsewhere.
    #[error("JWT key id `{0}` is not in the key set")]
    UnknownKey(String),
    /// The signature does not verify: forged, altered, or signed with another key.
    #[error("JWT signature does not verify")]
    BadSignature,
    /// The header's `typ` is not the expected one (a call token where a grant token was
    /// expected, or the reverse).
    #[error("JWT type `{0}` is not the expected one")]
    WrongType(String),
    /// The `iss` claim is not the expected issuer.
    #[error("JWT issuer `{0}` is not the expected one")]
    WrongIssuer(String),
    /// The `aud` claim does not name the verifier's audience.
    #[error("JWT audience does not include `{0}`")]
    WrongAudience(String),
    /// Past `exp` (beyond the leeway).
    #[error("JWT expired")]
    Expired,
    /// Before `nbf` (beyond the leeway).
    #[error("JWT not valid yet")]
    NotYetValid,
    /// The token, its grant, or a grant it was delegated from was revoked (its task ended).
    #[error("JWT `{0}` was revoked")]
    Revoked(String),
    /// No scope pattern of the token matches the required scope.
    #[error("JWT scopes do not cover `{0}`")]
    ScopeNotCovered(String),
    /// The required scope given to the verifier is not a scope (`action:resource`).
    #[error("required scope `{0}` is not a valid scope")]
    InvalidRequiredScope(String),
    /// A call token for another tool or other arguments than the call it came with.
    #[error("call token does not cover this call: {0}")]
    CallMismatch(String),
    /// The revocation store could not answer: the token is refused (fail closed).
    #[error("revocation store unavailable: {0}")]
    RevocationUnavailable(String),
    /// A JWKS document that does not read.
    #[error("invalid JWKS: {0}")]
    InvalidJwks(String),
}

impl JwtError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            JwtError::Malformed(_) => "jwt_malformed",
            JwtError::UnsupportedAlgorithm(_) => "jwt_unsupported_algorithm",
            JwtError::UnknownKey(_) => "jwt_unknown_key",
            JwtError::BadSignature => "jwt_bad_signature",
            JwtError::WrongType(_) => "jwt_wrong_type",
            JwtError::WrongIssuer(_) => "jwt_wrong_issuer",
            JwtError::WrongAudience(_) => "jwt_wrong_audience",
            JwtError::Expired => "jwt_expired",
            JwtError::NotYetValid => "jwt_not_yet_valid",
            JwtError::Revoked(_) => "jwt_revoked",
            JwtError::ScopeNotCovered(_) => "jwt_scope_not_covered",
            JwtError::InvalidRequiredScope(_) => "jwt_invalid_required_scope",
            JwtError::CallMismatch(_) => "jwt_call_mismatch",
            JwtError::RevocationUnavailable(_) => "jwt_revocation_unavailable",
            JwtError::InvalidJwks(_) => "jwks_invalid",
        }
    }
}

/// `aud` is one string when minted; a reader accepts a string or an array (RFC 7519 §4.1.3).
mod audience {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(aud: &[String], s: S) -> Result<S::Ok, S::Error> {
        match aud {
            [one] => s.serialize_str(one),
            many => s.collect_seq(many),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Aud {
            One(String),
            Many(Vec<String>),
        }
        Ok(match Aud::deserialize(d)? {
            Aud::One(one) => vec![one],
            Aud::Many(many) => many,
        })
    }
}

/// The claims of a grant token: a task's just-in-time credential.
///
/// `scope` is space-separated, as in OAuth (RFC 6749 §3.3, RFC 8693, RFC 9068): each member is
/// a scope *pattern* of the grant (`*` wildcards), matched as the rest of the engine matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GrantClaims {
    /// Issuer: the guard (default `agentwarrant`).
    pub iss: String,
    /// Subject: the non-human identity the task runs as.
    pub sub: String,
    /// Audience: the services meant to accept it (default `agentwarrant-tools`).
    #[serde(with = "audience")]
    pub aud: Vec<String>,
    /// The identity's accountable human owner.
    pub owner: String,
    /// The identity's role (`orchestrator`, `executor`, `escalation`).
    pub role: String,
    /// The task's id.
    pub task: String,
    /// The grant's scope patterns, space-separated.
    pub scope: String,
    /// Delegation depth: 0 for a task begun by the guard, 1 for a sub-task, and so on.
    pub depth: u32,
    /// The ids of the grants this one was delegated from, root first (empty for a root task):
    /// revoking any of them revokes this token too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<String>,
    /// Whether the grant was issued under an escalation identity.
    #[serde(default)]
    pub escalated: bool,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds): the issue time.
    pub nbf: i64,
    /// Expiry (Unix seconds): the grant's expiry.
    pub exp: i64,
    /// The token's id: the grant's id, which revocation names.
    pub jti: String,
}

impl GrantClaims {
    /// The scope patterns, in order.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }
}

/// The claims of a call token: one authorized call, bound to its tool and exact arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallClaims {
    /// Issuer: the guard.
    pub iss: String,
    /// Subject: the non-human identity.
    pub sub: String,
    /// Audience.
    #[serde(with = "audience")]
    pub aud: Vec<String>,
    /// The identity's accountable human owner.
    pub owner: String,
    /// The task's id.
    pub task: String,
    /// The id of the grant the call ran under (the grant token's `jti`).
    pub grant: String,
    /// The ids of the grants that grant was delegated from, root first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<String>,
    /// The call's id.
    pub call: String,
    /// The tool authorized.
    pub tool: String,
    /// SHA-256 (hex) of the canonical JSON of the arguments authorized.
    pub args_digest: String,
    /// The scopes the call required, space-separated.
    pub scope: String,
    /// Who approved the call (empty when no approval was needed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    /// The call's depth in the chain (1 at the top).
    pub depth: u32,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// Expiry (Unix seconds): [`CALL_TOKEN_TTL`] after issue, never after the grant's.
    pub exp: i64,
    /// The token's id: the call's id.
    pub jti: String,
}

impl CallClaims {
    /// Whether these claims cover a call of `tool` with exactly `args`.
    pub fn covers(&self, tool: &str, args: &Json) -> bool {
        self.tool == tool && self.args_digest == sha256_hex(&canonical_json(args))
    }
}

/// One identity of a delegation chain, as a chain token carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChainLevel {
    /// The non-human identity.
    pub sub: String,
    /// Its accountable human owner.
    pub owner: String,
    /// Its role (`orchestrator`, `executor`, `escalation`).
    pub role: String,
}

/// The claims of a chain token: the chain context a task hands to a sub-agent or tool server
/// in another process, which continues it with
/// [`Guard::resume_chain`](crate::Guard::resume_chain). See `docs/tokens.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChainClaims {
    /// Issuer: the guard that minted it.
    pub iss: String,
    /// Subject: the identity of the task that handed the work on.
    pub sub: String,
    /// Audience.
    #[serde(with = "audience")]
    pub aud: Vec<String>,
    /// The identity's accountable human owner.
    pub owner: String,
    /// The identity's role.
    pub role: String,
    /// The identities above `sub` in its delegation chain, root first: they still answer for
    /// the work (kill switch, four eyes) where it continues.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delegators: Vec<ChainLevel>,
    /// The id of the task that handed the work on.
    pub task: String,
    /// That task's grant id.
    pub grant: String,
    /// The ids of the grants that grant was delegated from, root first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<String>,
    /// The task's declared goal.
    pub goal: String,
    /// The scope patterns handed on, space-separated: the grant's, or fewer.
    pub scope: String,
    /// The depth the continued task is delegated at: its calls without a parent sit one below.
    pub depth: u32,
    /// Calls decided in the chain so far.
    pub calls: u64,
    /// The chain's cumulative impact so far.
    pub impact: u32,
    /// The chain's labels so far (`secret`, `untrusted`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// The expiry of the handing task's grant (Unix seconds): a continued task's grant never
    /// outlives it.
    pub grant_exp: i64,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// Expiry (Unix seconds): [`CHAIN_TOKEN_TTL`] after issue, never after the grant's.
    pub exp: i64,
    /// The token's id: a token continues a chain once.
    pub jti: String,
}

impl ChainClaims {
    /// The scope patterns handed on, in order.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|s| !s.is_empty())
    }
}

/// How long a chain token may wait to be used (the task it starts lives as long as the grant
/// it came from allows).
pub const CHAIN_TOKEN_TTL: time::Duration = time::Duration::minutes(5);

/// How long a call token lives at most (it never outlives its grant).
pub const CALL_TOKEN_TTL: time::Duration = time::Duration::minutes(5);

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// Signs `claims` into a compact JWS with the active key of `keys`.
pub(crate) fn encode<C: Serialize>(keys: &JwtKeys, typ: &str, claims: &C) -> String {
    let key = keys.active();
    let header = HeaderOut {
        alg: ALG,
        typ,
        kid: key.kid(),
    };
    // INVARIANT: plain structs of strings and numbers always serialize.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let claims = serde_json::to_vec(claims).unwrap_or_default();
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    token
}

/// The header members a verifier reads. Other members are ignored (never `jku`, `jwk`, `x5u`:
/// keys come from the verifier's set only); a member given twice is malformed.
#[derive(Deserialize)]
struct HeaderIn {
    alg: Option<Json>,
    kid: Option<Json>,
    typ: Option<Json>,
    crit: Option<IgnoredAny>,
}

/// What every token's claims share, for the checks common to both kinds.
trait Registered: serde::de::DeserializeOwned {
    fn iss(&self) -> &str;
    fn aud(&self) -> &[String];
    fn times(&self) -> (i64, i64);
    /// Every id whose revocation kills the token.
    fn revocable(&self) -> Vec<&str>;
}

/// Implements [`Registered`] for claims with `iss`, `aud`, `nbf`, `exp`, `jti` and `lineage`;
/// `$also` names further id fields whose revocation kills the token (a call's grant).
macro_rules! registered {
    ($claims:ty $(, $also:ident)*) => {
        impl Registered for $claims {
            fn iss(&self) -> &str {
                &self.iss
            }
            fn aud(&self) -> &[String] {
                &self.aud
            }
            fn times(&self) -> (i64, i64) {
                (self.nbf, self.exp)
            }
            fn revocable(&self) -> Vec<&str> {
                [self.jti.as_str() $(, self.$also.as_str())*]
                    .into_iter()
                    .chain(self.lineage.iter().map(String::as_str))
                    .collect()
            }
        }
    };
}

registered!(GrantClaims);
registered!(CallClaims, grant);
registered!(ChainClaims, grant);

/// Verifies grant and call tokens: the public keys, the expected issuer and audience, the
/// leeway on times, and the revocation store. A guard gives one for its own tokens
/// ([`Guard::jwt_verifier`](crate::Guard::jwt_verifier)); another service builds one from the
/// guard's JWKS and a revocation store it shares with the guard.
///
/// ```
/// use agentwarrant::{Jwks, JwtVerifier, MemoryRevocations};
/// # let jwks_document = agentwarrant::JwtKeys::generate().jwks().to_json();
/// let verifier = JwtVerifier::new(Jwks::from_json(&jwks_document)?, MemoryRevocations::new())
///     .audience("payments-service");
/// let refused = agentwarrant::verify_grant("not.a.token", &verifier, "pay:order/1");
/// assert_eq!(refused.unwrap_err().code(), "jwt_malformed");
/// # Ok::<(), agentwarrant::JwtError>(())
/// ```
#[derive(Clone)]
pub struct JwtVerifier {
    keys: Jwks,
    issuer: String,
    audience: String,
    leeway: time::Duration,
    revocations: Arc<dyn RevocationStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field(
                "keys",
                &self
                    .keys
                    .keys()
                    .iter()
                    .map(JwtPublicKey::kid)
                    .collect::<Vec<_>>(),
            )
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    /// The issuer a guard writes, and a verifier expects, unless told otherwise.
    pub const DEFAULT_ISSUER: &'static str = "agentwarrant";
    /// The audience a guard writes, and a verifier expects, unless told otherwise.
    pub const DEFAULT_AUDIENCE: &'static str = "agentwarrant-tools";
    /// The default clock skew allowed on `exp` and `nbf`.
    pub const DEFAULT_LEEWAY: time::Duration = time::Duration::seconds(60);
    /// The largest leeway a verifier accepts (a larger one is cut to this).
    pub const MAX_LEEWAY: time::Duration = time::Duration::minutes(5);

    /// A verifier of tokens signed by any key of `keys`, checking revocation in
    /// `revocations`, expecting the default issuer and audience, with the default leeway.
    pub fn new(keys: Jwks, revocations: impl RevocationStore + 'static) -> Self {
        Self {
            keys,
            issuer: Self::DEFAULT_ISSUER.into(),
            audience: Self::DEFAULT_AUDIENCE.into(),
            leeway: Self::DEFAULT_LEEWAY,
            revocations: Arc::new(revocations),
            clock: Arc::new(SystemClock),
        }
    }

    pub(crate) fn with_shared(
        keys: Jwks,
        revocations: Arc<dyn RevocationStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            revocations,
            clock,
            ..Self::new(keys, MemoryRevocations::new())
        }
    }

    /// Expects `issuer` as `iss`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// Expects `audience` among `aud`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Allows `leeway` of clock skew on `exp` and `nbf` (at most [`JwtVerifier::MAX_LEEWAY`];
    /// a negative one counts as zero).
    pub fn leeway(mut self, leeway: time::Duration) -> Self {
        self.leeway = leeway.clamp(time::Duration::ZERO, Self::MAX_LEEWAY);
        self
    }

    /// Reads the time from `clock` (default: the system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The public keys.
    pub fn keys(&self) -> &Jwks {
        &self.keys
    }

    /// Verifies a grant token and that its scopes cover `required_scope` (a concrete scope
    /// such as `payments.refund:order/123`, matched against the token's patterns).
    pub fn verify_grant(&self, token: &str, required_scope: &str) -> Result<GrantClaims, JwtError> {
        let required = Scope::parse(required_scope)
            .map_err(|_| JwtError::InvalidRequiredScope(required_scope.to_owned()))?;
        let claims: GrantClaims = self.verify(token, GRANT_TOKEN_TYPE)?;
        let mut covered = false;
        for member in claims.scope.split(' ') {
            let pattern = ScopePattern::parse(member).map_err(|_| {
                JwtError::Malformed("`scope` holds an invalid scope pattern".into())
            })?;
            covered |= pattern.matches(&required);
        }
        if covered {
            Ok(claims)
        } else {
            Err(JwtError::ScopeNotCovered(required_scope.to_owned()))
        }
    }

    /// Verifies a call token and that it was issued for a call of `tool` with exactly `args`.
    pub fn verify_call(
        &self,
        token: &str,
        tool: &str,
        args: &Json,
    ) -> Result<CallClaims, JwtError> {
        let claims: CallClaims = self.verify(token, CALL_TOKEN_TYPE)?;
        if claims.covers(tool, args) {
            Ok(claims)
        } else {
            Err(JwtError::CallMismatch(format!(
                "issued for `{}` with other arguments, or for another tool",
                claims.tool
            )))
        }
    }

    /// Verifies a chain token's signature, type, issuer, audience, times and revocation (its
    /// `jti` is revoked once used, so a token continues a chain once), and that every scope
    /// pattern in it parses.
    pub fn verify_chain(&self, token: &str) -> Result<ChainClaims, JwtError> {
        let claims: ChainClaims = self.verify(token, CHAIN_TOKEN_TYPE)?;
        if let Some(bad) = claims.scopes().find(|s| ScopePattern::parse(s).is_err()) {
            return Err(JwtError::Malformed(format!(
                "`scope` holds an invalid scope pattern `{bad}`"
            )));
        }
        Ok(claims)
    }

    fn verify<C: Registered>(&self, token: &str, typ: &str) -> Result<C, JwtError> {
        let malformed = |what: &str| JwtError::Malformed(what.to_owned());
        if token.len() > MAX_TOKEN_BYTES {
            return Err(malformed("longer than 16 KiB"));
        }
        let mut parts = token.split('.');
        let (Some(header64), Some(claims64), Some(signature64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed(
                "expected three `.`-separated parts (a compact JWS)",
            ));
        };
        let header = URL_SAFE_NO_PAD
            .decode(header64)
            .map_err(|_| malformed("the header is not base64url without padding"))?;
        let header: HeaderIn = serde_json::from_slice(&header)
            .map_err(|_| malformed("the header is not a JSON object of single members"))?;
        // SECURITY: the algorithm is fixed by the verifier, never chosen by the token; it is
        // checked before any key is looked at (no `none`, no HMAC keyed with a public key).
        match header.alg.as_ref().map(|alg| alg.as_str()) {
            Some(Some(ALG)) => {}
            Some(Some(other)) => return Err(JwtError::UnsupportedAlgorithm(other.to_owned())),
            Some(None) => return Err(JwtError::UnsupportedAlgorithm("(not a string)".into())),
            None => return Err(JwtError::UnsupportedAlgorithm("(none given)".into())),
        }
        if header.crit.is_some() {
            return Err(malformed("critical header extensions are not supported"));
        }
        let kid = match &header.kid {
            Some(Json::String(kid)) => kid.as_str(),
            Some(_) => return Err(malformed("`kid` is not a string")),
            None => return Err(JwtError::UnknownKey("(none given)".into())),
        };
        let key = self
            .keys
            .get(kid)
            .ok_or_else(|| JwtError::UnknownKey(kid.to_owned()))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature64)
            .map_err(|_| malformed("the signature is not base64url without padding"))?;
        let signature: [u8; 64] = signature
            .try_into()
            .map_err(|_| malformed("an Ed25519 signature is 64 bytes"))?;
        let signed = &token[..header64.len() + 1 + claims64.len()];
        if !key.verifies(signed.as_bytes(), &signature) {
            return Err(JwtError::BadSignature);
        }
        match header.typ.as_ref().map(|t| t.as_str()) {
            Some(Some(found)) if found == typ => {}
            Some(Some(found)) => return Err(JwtError::WrongType(found.to_owned())),
            _ => return Err(JwtError::WrongType("(none given)".into())),
        }
        let claims = URL_SAFE_NO_PAD
            .decode(claims64)
            .map_err(|_| malformed("the claims are not base64url without padding"))?;
        let claims: C =
            serde_json::from_slice(&claims).map_err(|e| JwtError::Malformed(e.to_string()))?;
        if claims.iss() != self.issuer {
            return Err(JwtError::WrongIssuer(claims.iss().to_owned()));
        }
        if !claims.aud().contains(&self.audience) {
            return Err(JwtError::WrongAudience(self.audience.clone()));
        }
        let now = self.clock.now();
        let (nbf, exp) = claims.times();
        let at = |seconds: i64| OffsetDateTime::from_unix_timestamp(seconds).ok();
        // Unrepresentable times are refused: an `exp` past the calendar is no "never".
        let exp = at(exp).ok_or_else(|| malformed("`exp` is out of range"))?;
        let nbf = at(nbf).ok_or_else(|| malformed("`nbf` is out of range"))?;
        if now >= exp.saturating_add(self.leeway) {
            return Err(JwtError::Expired);
        }
        if now.saturating_add(self.leeway) < nbf {
            return Err(JwtError::NotYetValid);
        }
        for id in claims.revocable() {
            let revoked = self
                .revocations
                .is_revoked(id)
                .map_err(|e| JwtError::RevocationUnavailable(e.0))?;
            if revoked {
                return Err(JwtError::Revoked(id.to_owned()));
            }
        }
        Ok(claims)
    }
}

/// Verifies a grant token with `verifier` (keys, issuer, audience, revocation store) and
/// checks that it covers `required_scope`: `verifier.verify_grant(token, required_scope)`.
///
/// ```
/// use agentwarrant::{Guard, Identity, Intent, Role};
/// let guard = Guard::builder().build()?;
/// let me = Identity::builder("agent://acme/bot", Role::Executor, "alice@acme.com")
///     .ceiling(["pay.refund:*"])
///     .build()?;
/// let task = guard.begin(me, Intent::builder("refunds").scopes(["pay.refund:order/*"]).build()?)?;
/// let token = task.grant_token()?;
///
/// // A downstream service, given the guard's JWKS (and here its revocation store):
/// let verifier = guard.jwt_verifier();
/// let claims = agentwarrant::verify_grant(&token, &verifier, "pay.refund:order/42").unwrap();
/// assert_eq!(claims.sub, "agent://acme/bot");
/// let wider = agentwarrant::verify_grant(&token, &verifier, "pay.refund:invoice/1");
/// assert_eq!(wider.unwrap_err().code(), "jwt_scope_not_covered");
///
/// task.end()?; // the token dies with its task
/// let ended = agentwarrant::verify_grant(&token, &verifier, "pay.refund:order/42");
/// assert_eq!(ended.unwrap_err().code(), "jwt_revoked");
/// # Ok::<(), agentwarrant::Error>(())
/// ```
pub fn verify_grant(
    token: &str,
    verifier: &JwtVerifier,
    required_scope: &str,
) -> Result<GrantClaims, JwtError> {
    verifier.verify_grant(token, required_scope)
}
