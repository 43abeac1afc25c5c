//! Just-in-time credentials: the real credentials a task's tools use (a database login, a
//! cloud key), minted for one task's grant when it begins and revoked when it ends.
//!
//! A [`CredentialBroker`] turns a grant into a credential of the system it guards: it maps
//! the grant's scopes to that system's privileges and makes the credential expire with the
//! grant. The guard calls it; a tool reads the task's credential ([`Task::credential`]
//! (crate::Task::credential)) and uses it instead of a standing secret of its own.

use std::fmt;

use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::ids::{GrantId, TaskId};

/// What a broker mints a credential for: one task's grant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CredentialRequest {
    /// The task.
    pub task_id: TaskId,
    /// The grant the credential stands for.
    pub grant_id: GrantId,
    /// The identity the task runs as.
    pub identity: String,
    /// The identity's accountable owner.
    pub owner: String,
    /// The scope patterns the grant holds: what the credential may do, in the broker's own
    /// mapping to privileges.
    pub scopes: Vec<String>,
    /// When the grant expires: the credential must not outlive it.
    pub expires_at: OffsetDateTime,
    /// Whether the grant is an escalation's.
    pub escalated: bool,
}

/// A credential a broker minted: its id (recorded in the ledger), its secret (never recorded,
/// never printed), when it expires, and what else a tool needs to use it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    id: String,
    secret: String,
    expires_at: OffsetDateTime,
    attributes: Json,
}

impl Credential {
    /// A credential `id` (a role or key name) with `secret`, valid until `expires_at`.
    ///
    /// ```
    /// use agentwarrant::Credential;
    /// let login = Credential::new("aw_task_1f2e", "s3cr3t", time::OffsetDateTime::UNIX_EPOCH)
    ///     .with_attributes(serde_json::json!({"database": "orders"}));
    /// assert_eq!(login.id(), "aw_task_1f2e");
    /// assert!(!format!("{login:?}").contains("s3cr3t"));
    /// ```
    pub fn new(
        id: impl Into<String>,
        secret: impl Into<String>,
        expires_at: OffsetDateTime,
    ) -> Self {
        Self {
            id: id.into(),
            secret: secret.into(),
            expires_at,
            attributes: Json::Null,
        }
    }

    /// What a tool needs besides the secret (a host, a database, a region).
    pub fn with_attributes(mut self, attributes: Json) -> Self {
        self.attributes = attributes;
        self
    }

    /// The credential's id: recorded in the ledger, shown in errors.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The secret (a password, a key): for the tool, never for the ledger or a log.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// When the credential expires.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// What a tool needs besides the secret.
    pub fn attributes(&self) -> &Json {
        &self.attributes
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("secret", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("attributes", &self.attributes)
            .finish()
    }
}

/// Why a broker could not mint, renew or revoke a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BrokerError {
    message: String,
}

impl BrokerError {
    /// An error saying what failed (no secret in it: it is recorded and logged).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// Mints a task's credential when it begins and revokes it when it ends.
///
/// A mint that fails refuses the task (`TaskError::Credential`); a revoke that fails is tried
/// again, recorded in the ledger (`grant.revoked`, `detail.credential_revoked: false`),
/// reported by `Task::end`, and kept by the guard until a later
/// [`Guard::retry_revocations`](crate::Guard::retry_revocations) revokes it: never dropped.
///
/// ```
/// use std::sync::Mutex;
/// use agentwarrant::{BrokerError, Credential, CredentialBroker, CredentialRequest};
///
/// /// Hands out API keys named after the task, valid as long as its grant.
/// #[derive(Default)]
/// struct Keys(Mutex<Vec<String>>);
///
/// impl CredentialBroker for Keys {
///     fn mint(&self, request: &CredentialRequest) -> Result<Credential, BrokerError> {
///         let id = format!("key-{}", request.task_id);
///         self.0.lock().unwrap().push(id.clone());
///         Ok(Credential::new(id, "generated-secret", request.expires_at))
///     }
///     fn revoke(&self, credential: &Credential) -> Result<(), BrokerError> {
///         self.0.lock().unwrap().retain(|k| k != credential.id());
///         Ok(())
///     }
/// }
/// ```
pub trait CredentialBroker: Send + Sync {
    /// Mints the credential of one task's grant, holding only what its scopes map to and
    /// expiring with it.
    fn mint(&self, request: &CredentialRequest) -> Result<Credential, BrokerError>;

    /// Extends `credential` to `until` after the grant was renewed; the default keeps it as it
    /// is (for credentials that do not expire by themselves).
    fn renew(
        &self,
        credential: &Credential,
        until: OffsetDateTime,
    ) -> Result<Credential, BrokerError> {
        let _ = until;
        Ok(credential.clone())
    }

    /// Revokes `credential`: after this it no longer works.
    fn revoke(&self, credential: &Credential) -> Result<(), BrokerError>;
}

/// A broker shared with the code that made it (to look at what it minted, or to hand it to
/// several guards).
impl<B: CredentialBroker + ?Sized> CredentialBroker for std::sync::Arc<B> {
    fn mint(&self, request: &CredentialRequest) -> Result<Credential, BrokerError> {
        (**self).mint(request)
    }

    fn renew(
        &self,
        credential: &Credential,
        until: OffsetDateTime,
    ) -> Result<Credential, BrokerError> {
        (**self).renew(credential, until)
    }

    fn revoke(&self, credential: &Credential) -> Result<(), BrokerError> {
        (**self).revoke(credential)
    }
}
