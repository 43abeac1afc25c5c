//! Just-in-time credentials: minted for a task's grant when it begins, revoked when it ends;
//! a failed mint refuses the task, a failed revoke is retried, recorded, reported and kept.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentwarrant::{
    BrokerError, Credential, CredentialBroker, CredentialRequest, Error, MemoryLedger, TaskError,
};
use serde_json::json;

use crate::fixtures::*;

/// A broker that keeps live credentials in memory and fails when told to.
#[derive(Default)]
struct Broker {
    live: Mutex<Vec<(String, Vec<String>)>>,
    minted: AtomicUsize,
    fail_mint: Mutex<bool>,
    /// How many revokes fail before one succeeds.
    failing_revokes: AtomicUsize,
}

impl CredentialBroker for Broker {
    fn mint(&self, request: &CredentialRequest) -> Result<Credential, BrokerError> {
        if *self.fail_mint.lock().unwrap() {
            return Err(BrokerError::new("the role store is down"));
        }
        let n = self.minted.fetch_add(1, Ordering::SeqCst);
        let id = format!("aw_task_{n}");
        self.live
            .lock()
            .unwrap()
            .push((id.clone(), request.scopes.clone()));
        Ok(
            Credential::new(id, format!("secret-{n}"), request.expires_at)
                .with_attributes(json!({"database": "orders"})),
        )
    }

    fn renew(
        &self,
        credential: &Credential,
        until: time::OffsetDateTime,
    ) -> Result<Credential, BrokerError> {
        Ok(Credential::new(credential.id(), credential.secret(), until))
    }

    fn revoke(&self, credential: &Credential) -> Result<(), BrokerError> {
        let failing = self.failing_revokes.load(Ordering::SeqCst);
        if failing > 0 {
            self.failing_revokes.store(failing - 1, Ordering::SeqCst);
            return Err(BrokerError::new("connection reset"));
        }
        self.live
            .lock()
            .unwrap()
            .retain(|(id, _)| id != credential.id());
        Ok(())
    }
}

impl Broker {
    fn live(&self) -> Vec<String> {
        self.live
            .lock()
            .unwrap()
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }
}

#[test]
fn a_task_holds_a_credential_for_its_grant_alone_until_it_ends() {
    let broker = Arc::new(Broker::default());
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder()
        .credential_broker(broker.clone())
        .ledger(ledger.clone())
        .build()
        .unwrap();
    let task = guard.begin(ops(), anything()).unwrap();
    let credential = task.credential().unwrap();
    assert_eq!(credential.id(), "aw_task_0");
    assert_eq!(credential.expires_at(), task.grant().expires_at());
    assert_eq!(credential.attributes()["database"], "orders");
    assert_eq!(broker.live.lock().unwrap()[0].1, task.grant().scopes());
    // The secret is the tool's alone: not in the ledger, not in Debug output.
    assert!(!format!("{credential:?}").contains("secret-0"));

    let until = task.renew_grant(Duration::from_secs(900)).unwrap();
    assert_eq!(task.credential().unwrap().expires_at(), until);

    // A delegated task gets a credential of its own, for its own (narrower) grant.
    let sub = task
        .delegate(
            agent("agent://acme/helper", agentwarrant::Role::Executor, ALICE),
            None,
        )
        .unwrap();
    assert_eq!(sub.credential().unwrap().id(), "aw_task_1");
    sub.end().unwrap();
    task.end().unwrap();
    assert!(task.credential().is_none());
    assert!(broker.live().is_empty(), "every credential is revoked");

    let text = ledger.to_jsonl();
    assert!(!text.contains("secret-0"));
    let records = ledger.records();
    let issued = records
        .iter()
        .find(|r| r.kind.as_str() == "grant.issued")
        .unwrap();
    assert_eq!(
        issued.detail.as_ref().unwrap()["credential"]["id"],
        "aw_task_0"
    );
    let revoked = records
        .iter()
        .rfind(|r| r.kind.as_str() == "grant.revoked")
        .unwrap();
    assert_eq!(
        revoked.detail,
        Some(json!({"credential": "aw_task_0", "credential_revoked": true}))
    );
}

#[test]
fn a_mint_that_fails_refuses_the_task() {
    let broker = Arc::new(Broker::default());
    *broker.fail_mint.lock().unwrap() = true;
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder()
        .credential_broker(broker.clone())
        .ledger(ledger.clone())
        .build()
        .unwrap();
    let error = guard.begin(ops(), anything()).unwrap_err();
    assert_eq!(error.code(), "credential_unavailable");
    assert!(
        error.to_string().contains("the role store is down"),
        "{error}"
    );
    assert!(
        ledger.records().is_empty(),
        "a task that did not begin left no record"
    );
}

#[test]
fn a_revoke_that_fails_is_retried_recorded_reported_and_kept_until_it_succeeds() {
    let broker = Arc::new(Broker::default());
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder()
        .credential_broker(broker.clone())
        .ledger(ledger.clone())
        .build()
        .unwrap();

    // Two failures, then success: the task's end retries through them.
    broker.failing_revokes.store(2, Ordering::SeqCst);
    guard.begin(ops(), anything()).unwrap().end().unwrap();
    assert!(broker.live().is_empty());

    // More failures than retries: reported, recorded, kept.
    broker.failing_revokes.store(5, Ordering::SeqCst);
    let task = guard.begin(ops(), anything()).unwrap();
    let error = task.end().unwrap_err();
    let Error::Task(TaskError::CredentialNotRevoked { credential, .. }) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(credential, "aw_task_1");
    assert_eq!(error.code(), "credential_not_revoked");
    assert_eq!(guard.unrevoked_credentials(), ["aw_task_1"]);
    let revoked = ledger
        .records()
        .into_iter()
        .rfind(|r| r.kind.as_str() == "grant.revoked")
        .unwrap();
    let detail = revoked.detail.unwrap();
    assert_eq!(detail["credential_revoked"], false);
    assert_eq!(detail["error"], "connection reset");
    assert!(ledger
        .records()
        .iter()
        .any(|r| r.kind.as_str() == "task.ended"));

    // Still failing, then the store is back.
    assert_eq!(guard.retry_revocations(), ["aw_task_1"]);
    assert_eq!(guard.retry_revocations(), ["aw_task_1"]);
    broker.failing_revokes.store(0, Ordering::SeqCst);
    assert!(guard.retry_revocations().is_empty());
    assert!(guard.unrevoked_credentials().is_empty());
    assert!(broker.live().is_empty());
}
