//! A revocation store shared by several guards carries the kill switch between them: an
//! identity disabled through one guard is refused by every other guard sharing the store, and a
//! store that cannot say refuses the call (`store_unavailable`) without counting it against the
//! agent.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use agentwarrant::{
    Approval, ApprovalAnswer, ApprovalRequest, Guard, MemoryRevocations, Outcome, ReasonCode,
    RevocationError, RevocationStore, ToolCall,
};
use serde_json::json;

use crate::fixtures::*;

/// A store several guards share, as a database is shared by several processes; it can go down.
#[derive(Default)]
struct Shared {
    tokens: MemoryRevocations,
    disabled: Mutex<BTreeSet<String>>,
    down: AtomicBool,
}

impl Shared {
    fn up(&self) -> Result<(), RevocationError> {
        if self.down.load(Ordering::SeqCst) {
            Err(RevocationError("the shared store is unreachable".into()))
        } else {
            Ok(())
        }
    }
}

impl RevocationStore for Shared {
    fn revoke(&self, jti: &str, until: time::OffsetDateTime) -> Result<(), RevocationError> {
        self.up()?;
        self.tokens.revoke(jti, until)
    }

    fn is_revoked(&self, jti: &str) -> Result<bool, RevocationError> {
        self.up()?;
        self.tokens.is_revoked(jti)
    }

    fn set_identity_disabled(&self, identity: &str, disabled: bool) -> Result<(), RevocationError> {
        self.up()?;
        let mut set = self.disabled.lock().unwrap();
        if disabled {
            set.insert(identity.to_owned());
        } else {
            set.remove(identity);
        }
        Ok(())
    }

    fn is_identity_disabled(&self, identity: &str) -> Result<bool, RevocationError> {
        self.up()?;
        Ok(self.disabled.lock().unwrap().contains(identity))
    }
}

fn logs() -> ToolCall {
    ToolCall::new("read_logs", json!({"service": "api"}))
}

fn fleet_guard(store: &Arc<Shared>) -> Guard {
    builder().revocations(store.clone()).build().unwrap()
}

#[test]
fn an_identity_disabled_through_one_guard_is_refused_by_the_others() {
    let store = Arc::new(Shared::default());
    let (here, there) = (fleet_guard(&store), fleet_guard(&store));
    let task = there.begin(ops(), anything()).unwrap();
    task.authorize(logs())
        .unwrap()
        .complete(Outcome::ok())
        .unwrap();

    // A look-alike spelling switches off the same identity.
    here.try_disable_identity("AGENT://acme/OPS").unwrap();
    let refusal = task.authorize(logs()).unwrap_err();
    assert!(refusal.has(&ReasonCode::GrantInvalid), "{refusal:?}");

    here.try_enable_identity("agent://acme/ops").unwrap();
    task.authorize(logs())
        .unwrap()
        .complete(Outcome::ok())
        .unwrap();
}

#[test]
fn a_store_that_cannot_answer_refuses_the_call_and_the_switch_reports_it() {
    let store = Arc::new(Shared::default());
    let guard = fleet_guard(&store);
    let task = guard
        .begin_with(ops(), anything(), agentwarrant::TaskLimits::default())
        .unwrap();
    store.down.store(true, Ordering::SeqCst);
    // Many refusals: the store's outage is the guard's fault, not the agent's pivoting.
    for _ in 0..30 {
        let refusal = task.authorize(logs()).unwrap_err();
        assert!(refusal.has(&ReasonCode::StoreUnavailable), "{refusal:?}");
    }
    // Disabling still takes effect here, and says the fleet did not hear of it.
    assert!(guard.try_disable_identity("agent://acme/ops").is_err());
    store.down.store(false, Ordering::SeqCst);
    let refusal = task.authorize(logs()).unwrap_err();
    assert!(refusal.has(&ReasonCode::GrantInvalid), "{refusal:?}");
    // Enabling while the store is down leaves the identity off everywhere, here included.
    guard.try_disable_identity("agent://acme/ops").unwrap();
    store.down.store(true, Ordering::SeqCst);
    assert!(guard.try_enable_identity("agent://acme/ops").is_err());
    store.down.store(false, Ordering::SeqCst);
    assert!(task
        .authorize(logs())
        .unwrap_err()
        .has(&ReasonCode::GrantInvalid));
    guard.try_enable_identity("agent://acme/ops").unwrap();
    task.authorize(logs())
        .unwrap()
        .complete(Outcome::ok())
        .unwrap();
}

#[test]
fn a_store_lost_while_a_human_decides_refuses_the_approved_call_as_unavailable() {
    let store = Arc::new(Shared::default());
    let during = store.clone();
    let guard = builder()
        .revocations(store.clone())
        .approver(move |request: &ApprovalRequest| {
            during.down.store(true, Ordering::SeqCst);
            Ok(ApprovalAnswer::Approved(vec![Approval::of(request, BOB)]))
        })
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let secret = ToolCall::new("read_secret", json!({"path": "db/main"}));
    let refusal = task.authorize(secret).unwrap_err();
    // An outage, not a change of the grant: the reason says which.
    assert!(refusal.has(&ReasonCode::StoreUnavailable), "{refusal:?}");
    assert!(!refusal.has(&ReasonCode::GrantInvalid), "{refusal:?}");
}
