//! Revocation of tokens before their expiry: a guard writes the `jti` of a grant whose task
//! ended; every verifier that shares the store refuses tokens of that grant from then on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock};

/// A revocation store could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("revocation store: {0}")]
pub struct RevocationError(pub String);

/// Where revoked token ids (`jti`) are kept until the tokens would have expired anyway, and,
/// in a store shared by a fleet, which identities are switched off.
///
/// The guard writes to it when a task ends (the task's grant id, which is its grant token's
/// `jti` and every call token's `grant`); verifiers read it. A store shared between processes
/// (a database, a cache) makes a token die everywhere with its task. A store that cannot
/// answer makes the verifier refuse the token (`jwt_revocation_unavailable`): fail closed.
///
/// The kill switch: [`Guard::disable_identity`](crate::Guard::disable_identity) writes the
/// identity here too, and every call asks [`RevocationStore::is_identity_disabled`] for each
/// identity of its delegation chain (canonical principals), so a store shared by several
/// processes switches an identity off in all of them. The in-process default keeps the kill
/// switch in the guard alone. The question is on every call's path: a shared store answers
/// from state pushed to it, not with a round trip; one that cannot answer refuses the call
/// (`store_unavailable`).
pub trait RevocationStore: Send + Sync {
    /// Marks `jti` revoked; `until` is the token's expiry, after which the entry may be
    /// forgotten (an expired token is refused anyway).
    fn revoke(&self, jti: &str, until: OffsetDateTime) -> Result<(), RevocationError>;

    /// Whether `jti` was revoked.
    fn is_revoked(&self, jti: &str) -> Result<bool, RevocationError>;

    /// Switches `identity` off (`disabled`) or back on for every guard that shares the store.
    /// The default shares nothing: the guard's own kill switch is in-process.
    fn set_identity_disabled(&self, identity: &str, disabled: bool) -> Result<(), RevocationError> {
        let _ = (identity, disabled);
        Ok(())
    }

    /// Whether `identity` was switched off through the store (by any guard sharing it). The
    /// default: never (the guard's in-process kill switch still applies).
    fn is_identity_disabled(&self, identity: &str) -> Result<bool, RevocationError> {
        let _ = identity;
        Ok(false)
    }
}

impl<S: RevocationStore + ?Sized> RevocationStore for Arc<S> {
    fn revoke(&self, jti: &str, until: OffsetDateTime) -> Result<(), RevocationError> {
        (**self).revoke(jti, until)
    }

    fn is_revoked(&self, jti: &str) -> Result<bool, RevocationError> {
        (**self).is_revoked(jti)
    }

    fn set_identity_disabled(&self, identity: &str, disabled: bool) -> Result<(), RevocationError> {
        (**self).set_identity_disabled(identity, disabled)
    }

    fn is_identity_disabled(&self, identity: &str) -> Result<bool, RevocationError> {
        (**self).is_identity_disabled(identity)
    }
}

/// An in-process [`RevocationStore`]: a guard's default. An entry is forgotten one hour after
/// its token's expiry (more than any verifier's leeway), so the store stays as small as the
/// set of revoked tokens still alive.
///
/// ```
/// use agentwarrant::{MemoryRevocations, RevocationStore};
/// let store = MemoryRevocations::new();
/// let until = time::OffsetDateTime::now_utc() + time::Duration::minutes(10);
/// store.revoke("grant-1", until)?;
/// assert!(store.is_revoked("grant-1")?);
/// assert!(!store.is_revoked("grant-2")?);
/// # Ok::<(), agentwarrant::RevocationError>(())
/// ```
pub struct MemoryRevocations {
    revoked: Mutex<Entries>,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct Entries {
    until: HashMap<String, OffsetDateTime>,
    /// The size at which the next sweep of forgotten entries runs.
    sweep_at: usize,
}

impl std::fmt::Debug for MemoryRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let len = self.revoked.lock().map_or(0, |e| e.until.len());
        f.debug_struct("MemoryRevocations")
            .field("revoked", &len)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryRevocations {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRevocations {
    /// How long after its token's expiry an entry is kept.
    pub const KEEP_AFTER_EXPIRY: time::Duration = time::Duration::HOUR;

    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(SystemClock)
    }

    /// An empty store that forgets entries by `clock` (a guard gives it its own clock).
    pub fn with_clock(clock: impl Clock + 'static) -> Self {
        Self {
            revoked: Mutex::new(Entries::default()),
            clock: Arc::new(clock),
        }
    }

    /// How many revoked ids are kept.
    pub fn len(&self) -> usize {
        self.revoked.lock().map_or(0, |e| e.until.len())
    }

    /// Whether no id is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RevocationStore for MemoryRevocations {
    fn revoke(&self, jti: &str, until: OffsetDateTime) -> Result<(), RevocationError> {
        let mut entries = self
            .revoked
            .lock()
            .map_err(|_| RevocationError("the in-memory store is poisoned".into()))?;
        let kept = entries.until.entry(jti.to_owned()).or_insert(until);
        *kept = (*kept).max(until);
        // Amortized: sweep when the map has doubled since the last sweep.
        if entries.until.len() >= entries.sweep_at {
            let now = self.clock.now();
            entries.until.retain(|_, until| {
                until
                    .checked_add(Self::KEEP_AFTER_EXPIRY)
                    .is_none_or(|forget| forget > now)
            });
            entries.sweep_at = (entries.until.len() * 2).max(64);
        }
        Ok(())
    }

    fn is_revoked(&self, jti: &str) -> Result<bool, RevocationError> {
        self.revoked
            .lock()
            .map(|entries| entries.until.contains_key(jti))
            .map_err(|_| RevocationError("the in-memory store is poisoned".into()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::macros::datetime;
    use time::Duration;

    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn entries_are_kept_until_an_hour_past_their_expiry_then_forgotten() {
        let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 00:00 UTC)));
        let store = MemoryRevocations::with_clock(clock.clone());
        let until = datetime!(2026-01-01 00:15 UTC);
        store.revoke("old", until).unwrap();
        clock.advance(Duration::minutes(15) + Duration::HOUR);
        for i in 0..64 {
            store
                .revoke(&format!("new-{i}"), clock.now() + Duration::minutes(15))
                .unwrap();
        }
        // The sweep ran when the map grew: `old` was past its hour, the new ones are kept.
        assert!(!store.is_revoked("old").unwrap());
        assert!(store.is_revoked("new-0").unwrap());
        assert_eq!(store.len(), 64);
    }
}
