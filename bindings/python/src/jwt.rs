//! Grant and call tokens (JWT) from Python: minting keys, the JWKS as a dict, and
//! `verify_grant` for a service that holds only the JWKS.

use std::collections::HashSet;

use agentwarrant::{Jwks, JwtSigningKey, JwtVerifier, RevocationError, RevocationStore};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use time::OffsetDateTime;

use crate::convert::{serde_to_py, to_json};
use crate::errors::{jwt_error, raise_code, Class};

/// The signing key for a 32-byte Ed25519 seed, under `kid` (default: its RFC 7638 thumbprint).
pub(crate) fn signing_key(
    py: Python<'_>,
    seed: &[u8],
    kid: Option<String>,
) -> PyResult<JwtSigningKey> {
    let seed: [u8; 32] = seed.try_into().map_err(|_| {
        raise_code(
            py,
            Class::ConfigError,
            &format!(
                "a JWT key is a 32-byte Ed25519 seed (e.g. from a secret store), got {} bytes",
                seed.len()
            ),
            "invalid_jwt_key",
        )
    })?;
    let key = JwtSigningKey::from_seed(seed);
    Ok(match kid {
        Some(kid) => key.with_kid(kid),
        None => key,
    })
}

/// A set of revoked token ids given by the caller.
struct Revoked(HashSet<String>);

impl RevocationStore for Revoked {
    fn revoke(&self, _: &str, _: OffsetDateTime) -> Result<(), RevocationError> {
        Err(RevocationError(
            "a fixed set of revoked ids takes no writes".into(),
        ))
    }

    fn is_revoked(&self, jti: &str) -> Result<bool, RevocationError> {
        Ok(self.0.contains(jti))
    }
}

/// The JWKS of a dict (or of its JSON text).
pub(crate) fn jwks(py: Python<'_>, document: &Bound<'_, PyAny>) -> PyResult<Jwks> {
    let parsed = if let Ok(text) = document.downcast::<PyString>() {
        Jwks::from_json_str(&text.to_cow()?)
    } else {
        Jwks::from_json(&to_json(document, "jwks")?)
    };
    parsed.map_err(|e| jwt_error(py, &e))
}

/// Verifies a grant token with the public keys of `jwks` (the guard's `jwks()` dict, or its
/// JSON text) and checks that it covers `required_scope`; returns its claims as a dict.
///
/// `audience` and `issuer` default to the guard's defaults (`agentwarrant-tools`,
/// `agentwarrant`); `leeway` is the clock skew allowed on `exp`/`nbf` in seconds (default 60,
/// at most 300); `revoked` is an iterable of the token ids (`jti`, grant ids) known to be
/// revoked.
/// Raises `JwtError` with the refusal's code.
#[pyfunction]
#[pyo3(signature = (token, jwks, required_scope, *, audience = None, issuer = None, leeway = None, revoked = None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn verify_grant<'py>(
    py: Python<'py>,
    token: &str,
    jwks: &Bound<'py, PyAny>,
    required_scope: &str,
    audience: Option<String>,
    issuer: Option<String>,
    leeway: Option<f64>,
    revoked: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let keys = self::jwks(py, jwks)?;
    let mut ids = HashSet::new();
    if let Some(revoked) = revoked {
        if revoked.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "`revoked` is a collection of token ids, not one string",
            ));
        }
        for id in revoked.try_iter()? {
            ids.insert(id?.extract::<String>()?);
        }
    }
    let mut verifier = JwtVerifier::new(keys, Revoked(ids));
    if let Some(audience) = audience {
        verifier = verifier.audience(audience);
    }
    if let Some(issuer) = issuer {
        verifier = verifier.issuer(issuer);
    }
    if let Some(leeway) = leeway {
        verifier =
            verifier.leeway(time::Duration::checked_seconds_f64(leeway).ok_or_else(|| {
                raise_code(
                    py,
                    Class::ConfigError,
                    &format!("`leeway` must be a finite number of seconds, got {leeway}"),
                    "invalid_limits",
                )
            })?);
    }
    let claims = py
        .detach(|| verifier.verify_grant(token, required_scope))
        .map_err(|e| jwt_error(py, &e))?;
    serde_to_py(py, &claims)
}
