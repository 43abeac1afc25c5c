//! Ed25519 keys for JWTs: the signing key set of a guard (one active key, the public halves
//! of the keys it replaced) and the public key set a verifier holds (a JWKS, RFC 7517/8037).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::Signer as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

use super::JwtError;

/// An Ed25519 key that signs JWTs, with its key id (`kid`).
///
/// The default key id is the key's RFC 7638 JWK thumbprint (base64url of the SHA-256 of
/// `{"crv":"Ed25519","kty":"OKP","x":...}`), so the same key always has the same id.
///
/// ```
/// use agentwarrant::JwtSigningKey;
/// let key = JwtSigningKey::from_seed([7; 32]);
/// assert_eq!(key.kid(), JwtSigningKey::from_seed([7; 32]).kid());
/// assert_eq!(key.clone().with_kid("2026-05").kid(), "2026-05");
/// ```
#[derive(Clone)]
pub struct JwtSigningKey {
    kid: String,
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for JwtSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SECURITY: never print the key, only its id.
        write!(f, "JwtSigningKey({})", self.kid)
    }
}

impl JwtSigningKey {
    /// A fresh random key (a guard's default: its tokens then verify with its JWKS only).
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self::from_seed(seed)
    }

    /// The key for a 32-byte secret seed (e.g. from a secret store).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let kid = thumbprint(&key.verifying_key());
        Self { kid, key }
    }

    /// The same key under another key id (e.g. a date, or your key manager's name for it).
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self
    }

    /// The key id written in every token's header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half, as a verifier holds it.
    pub fn public_key(&self) -> JwtPublicKey {
        JwtPublicKey {
            kid: self.kid.clone(),
            key: self.key.verifying_key(),
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// The RFC 7638 thumbprint of an Ed25519 public key (RFC 8037 §A.3).
fn thumbprint(key: &ed25519_dalek::VerifyingKey) -> String {
    let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
    let members = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(members.as_bytes()))
}

/// The public half of a [`JwtSigningKey`], with its key id: one entry of a JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtPublicKey {
    kid: String,
    key: ed25519_dalek::VerifyingKey,
}

impl JwtPublicKey {
    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWK (RFC 8037): `{"kty":"OKP","crv":"Ed25519","x":..,"kid":..,"alg":"EdDSA","use":"sig"}`.
    pub fn to_jwk(&self) -> Json {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.key.as_bytes()),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }

    /// Reads one JWK. It must be an Ed25519 key (`kty` `OKP`, `crv` `Ed25519`) with a `kid`
    /// and a valid `x`; `alg`, when present, must be `EdDSA`, and `use`, when present, `sig`.
    pub fn from_jwk(jwk: &Json) -> Result<Self, JwtError> {
        let invalid = |what: &str| JwtError::InvalidJwks(what.to_owned());
        let field = |name: &str| jwk.get(name).and_then(Json::as_str);
        if !jwk.is_object() {
            return Err(invalid("a key is not a JSON object"));
        }
        if field("kty") != Some("OKP") || field("crv") != Some("Ed25519") {
            return Err(invalid(
                "a key is not an Ed25519 key (kty OKP, crv Ed25519)",
            ));
        }
        if jwk.get("alg").is_some_and(|alg| alg != "EdDSA") {
            return Err(invalid("a key's `alg` is not EdDSA"));
        }
        if jwk.get("use").is_some_and(|u| u != "sig") {
            return Err(invalid("a key's `use` is not `sig`"));
        }
        let kid = field("kid")
            .filter(|kid| !kid.is_empty())
            .ok_or_else(|| invalid("a key has no `kid`"))?;
        let x = field("x")
            .and_then(|x| URL_SAFE_NO_PAD.decode(x).ok())
            .and_then(|x| <[u8; 32]>::try_from(x).ok())
            .ok_or_else(|| invalid("a key's `x` is not 32 bytes of base64url"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
            .map_err(|_| invalid("a key's `x` is not an Ed25519 public key"))?;
        // SECURITY: a small-order key verifies forged signatures; never accept one.
        if key.is_weak() {
            return Err(invalid("a key's `x` is a weak (small-order) Ed25519 key"));
        }
        Ok(Self {
            kid: kid.to_owned(),
            key,
        })
    }

    /// Whether `signature` is this key's signature of `message` (strict RFC 8032 checks: no
    /// malleable signatures, no weak keys).
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.key
            .verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    }
}

/// A set of public keys, as a JWKS document carries them: what a verifier needs.
///
/// ```
/// use agentwarrant::{Jwks, JwtKeys, JwtSigningKey};
/// let keys = JwtKeys::new(JwtSigningKey::from_seed([1; 32]).with_kid("k1"));
/// let document = keys.jwks().to_json();
/// assert_eq!(document["keys"][0]["kid"], "k1");
/// assert_eq!(document["keys"][0]["alg"], "EdDSA");
/// // A verifier in another service reads the document back.
/// let jwks = Jwks::from_json(&document)?;
/// assert!(jwks.get("k1").is_some());
/// # Ok::<(), agentwarrant::JwtError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jwks {
    keys: Vec<JwtPublicKey>,
}

impl Jwks {
    /// A set of the given keys; a key id given twice keeps the first key.
    pub fn new(keys: impl IntoIterator<Item = JwtPublicKey>) -> Self {
        let mut set = Self::default();
        for key in keys {
            if set.get(&key.kid).is_none() {
                set.keys.push(key);
            }
        }
        set
    }

    /// Reads a JWKS document (`{"keys": [...]}`). Keys of other types (RSA, EC, ...) are
    /// skipped, as RFC 7517 lets a reader do; an Ed25519 key that does not read, a key id
    /// given twice, or a document with no Ed25519 key at all is [`JwtError::InvalidJwks`].
    pub fn from_json(document: &Json) -> Result<Self, JwtError> {
        let invalid = |what: &str| JwtError::InvalidJwks(what.to_owned());
        let keys = document
            .get("keys")
            .and_then(Json::as_array)
            .ok_or_else(|| invalid("expected an object with a `keys` array"))?;
        let mut set = Self::default();
        for jwk in keys {
            if jwk.get("kty").and_then(Json::as_str) != Some("OKP")
                || jwk.get("crv").and_then(Json::as_str) != Some("Ed25519")
            {
                continue;
            }
            let key = JwtPublicKey::from_jwk(jwk)?;
            if set.get(&key.kid).is_some() {
                return Err(JwtError::InvalidJwks(format!(
                    "key id `{}` is given twice",
                    key.kid
                )));
            }
            set.keys.push(key);
        }
        if set.keys.is_empty() {
            return Err(invalid("no Ed25519 key"));
        }
        Ok(set)
    }

    /// Reads a JWKS document from its JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, JwtError> {
        let document: Json =
            serde_json::from_str(text).map_err(|e| JwtError::InvalidJwks(e.to_string()))?;
        Self::from_json(&document)
    }

    /// The JWKS document: `{"keys": [<JWK>, ...]}`.
    pub fn to_json(&self) -> Json {
        json!({ "keys": self.keys.iter().map(JwtPublicKey::to_jwk).collect::<Vec<_>>() })
    }

    /// The key with this id.
    pub fn get(&self, kid: &str) -> Option<&JwtPublicKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Every key, in order.
    pub fn keys(&self) -> &[JwtPublicKey] {
        &self.keys
    }
}

impl Serialize for Jwks {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Jwks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let document = Json::deserialize(deserializer)?;
        Self::from_json(&document).map_err(serde::de::Error::custom)
    }
}

/// A guard's JWT signing keys: one active key that signs, and the public halves of keys it
/// replaced, still published (and accepted) until retired. Rotation without downtime:
/// [`rotate`](JwtKeys::rotate) to a new key, let verifiers fetch the new JWKS, and
/// [`retire`](JwtKeys::retire) the old key once the tokens it signed have expired.
///
/// ```
/// use agentwarrant::{JwtKeys, JwtSigningKey};
/// let mut keys = JwtKeys::new(JwtSigningKey::from_seed([1; 32]).with_kid("2026-04"));
/// keys.rotate(JwtSigningKey::from_seed([2; 32]).with_kid("2026-05"));
/// assert_eq!(keys.active_kid(), "2026-05");
/// assert_eq!(keys.jwks().keys().len(), 2); // the old key still verifies its tokens
/// assert!(keys.retire("2026-04"));
/// assert_eq!(keys.jwks().keys().len(), 1);
/// assert!(!keys.retire("2026-05")); // the active key cannot be retired
/// ```
#[derive(Debug, Clone)]
pub struct JwtKeys {
    active: JwtSigningKey,
    previous: Vec<JwtPublicKey>,
}

impl Default for JwtKeys {
    fn default() -> Self {
        Self::generate()
    }
}

impl JwtKeys {
    /// A key set whose active key is `active`.
    pub fn new(active: JwtSigningKey) -> Self {
        Self {
            active,
            previous: Vec::new(),
        }
    }

    /// A key set with a fresh random key.
    pub fn generate() -> Self {
        Self::new(JwtSigningKey::generate())
    }

    /// Makes `key` the signing key; the replaced key's public half stays in the JWKS (and
    /// verifies the tokens it signed) until [`retire`](JwtKeys::retire)d. A key whose id is
    /// already in the set replaces that entry.
    pub fn rotate(&mut self, key: JwtSigningKey) {
        let old = std::mem::replace(&mut self.active, key);
        self.previous
            .retain(|k| k.kid != old.kid && k.kid != self.active.kid);
        if old.kid != self.active.kid {
            self.previous.insert(0, old.public_key());
        }
    }

    /// Removes a previous key from the set: tokens it signed no longer verify
    /// (`jwt_unknown_key`). Returns whether a key was removed; the active key is never.
    pub fn retire(&mut self, kid: &str) -> bool {
        let before = self.previous.len();
        self.previous.retain(|k| k.kid != kid);
        self.previous.len() != before
    }

    /// The id of the key that signs.
    pub fn active_kid(&self) -> &str {
        &self.active.kid
    }

    /// The public keys: the active one first, then those not yet retired, newest first.
    pub fn jwks(&self) -> Jwks {
        Jwks::new(std::iter::once(self.active.public_key()).chain(self.previous.iter().cloned()))
    }

    pub(crate) fn active(&self) -> &JwtSigningKey {
        &self.active
    }
}
