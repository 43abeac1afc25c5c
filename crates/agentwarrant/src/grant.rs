//! Grants: just-in-time, task-scoped credentials that expire and can be revoked.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::ids::GrantId;

/// A task's credential: the scopes it holds (intent ∩ ceiling), until when, and whether it was
/// revoked. A delegated task's grant has its parent's as `parent` and is never wider or longer.
#[derive(Debug)]
pub struct Grant {
    id: GrantId,
    scopes: Vec<String>,
    issued_at: OffsetDateTime,
    /// Unix time in nanoseconds: a renewal moves it later while the grant is shared.
    expires_at: AtomicI64,
    escalated: bool,
    revoked: AtomicBool,
    parent: Option<Arc<Grant>>,
}

/// Why a grant cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantProblem {
    /// Past its expiry.
    Expired,
    /// Revoked (or its parent was).
    Revoked,
}

impl GrantProblem {
    /// `expired` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantProblem::Expired => "expired",
            GrantProblem::Revoked => "revoked",
        }
    }
}

impl Grant {
    pub(crate) fn issue(
        scopes: Vec<String>,
        now: OffsetDateTime,
        ttl: time::Duration,
        escalated: bool,
        parent: Option<Arc<Grant>>,
    ) -> Self {
        // SECURITY: a lifetime past the calendar's end expires the grant at once (fail
        // closed); the guard's limits refuse such a lifetime at build.
        let mut expires_at = now.checked_add(ttl).unwrap_or(now);
        if let Some(parent) = &parent {
            expires_at = expires_at.min(parent.expires_at());
        }
        Self {
            id: GrantId::new(),
            scopes,
            issued_at: now,
            expires_at: AtomicI64::new(nanos(expires_at)),
            escalated,
            revoked: AtomicBool::new(false),
            parent,
        }
    }

    /// The grants a chain token was handed under in another process (`ids` root first, the
    /// handing task's last), as the parents of the grant that continues the chain here: its
    /// lineage names them and it never outlives `expires_at`. Their revocation is seen where
    /// they were issued (and by a shared revocation store), not through these copies.
    pub(crate) fn handed(
        ids: impl IntoIterator<Item = GrantId>,
        scopes: Vec<String>,
        expires_at: OffsetDateTime,
    ) -> Option<Arc<Grant>> {
        ids.into_iter().fold(None, |parent, id| {
            Some(Arc::new(Self {
                id,
                scopes: scopes.clone(),
                issued_at: expires_at,
                expires_at: AtomicI64::new(nanos(expires_at)),
                escalated: false,
                revoked: AtomicBool::new(false),
                parent,
            }))
        })
    }

    /// The grant's id.
    pub fn id(&self) -> GrantId {
        self.id
    }

    /// The scope patterns the grant holds.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// When the grant was issued.
    pub fn issued_at(&self) -> OffsetDateTime {
        self.issued_at
    }

    /// When the grant expires (later after a renewal).
    pub fn expires_at(&self) -> OffsetDateTime {
        let nanos = self.expires_at.load(Ordering::SeqCst);
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Moves the expiry to `until` when that is later, never past a parent grant's; returns the
    /// expiry now in force. Crate-private: a grant is renewed through the policy
    /// (`Task::renew_grant`), which records the renewal.
    pub(crate) fn extend_to(&self, until: OffsetDateTime) -> OffsetDateTime {
        let until = match &self.parent {
            Some(parent) => until.min(parent.expires_at()),
            None => until,
        };
        self.expires_at.fetch_max(nanos(until), Ordering::SeqCst);
        self.expires_at()
    }

    /// Whether the grant was issued under an escalation identity.
    pub fn escalated(&self) -> bool {
        self.escalated
    }

    /// Revokes the grant (and so every grant delegated from it). Crate-private: a grant is
    /// revoked by ending its task, which records `grant.revoked` in the ledger.
    pub(crate) fn revoke(&self) {
        self.revoked.store(true, Ordering::SeqCst);
    }

    /// The ids of the grants this one was delegated from, root first (empty for a root task's).
    pub fn lineage(&self) -> Vec<GrantId> {
        let mut ids = Vec::new();
        let mut next = self.parent.as_deref();
        while let Some(grant) = next {
            ids.push(grant.id);
            next = grant.parent.as_deref();
        }
        ids.reverse();
        ids
    }

    /// Whether the grant or any ancestor was revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::SeqCst) || self.parent.as_ref().is_some_and(|p| p.is_revoked())
    }

    /// Seconds left at `now` (negative once expired).
    pub fn expires_in_s(&self, now: OffsetDateTime) -> i64 {
        (self.expires_at() - now).whole_seconds()
    }

    /// Whether the grant can be used at `now`.
    pub fn check(&self, now: OffsetDateTime) -> Result<(), GrantProblem> {
        if self.is_revoked() {
            Err(GrantProblem::Revoked)
        } else if now >= self.expires_at() {
            Err(GrantProblem::Expired)
        } else {
            Ok(())
        }
    }
}

/// `at` as Unix nanoseconds, clamped to what an `i64` holds (the year 2262): every lifetime
/// the guard accepts ends long before.
fn nanos(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos()).unwrap_or(if at.unix_timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}
