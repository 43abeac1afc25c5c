//! PostgreSQL down: a task that cannot get its credential does not begin
//! (`credential_unavailable`); a credential that cannot be revoked is kept by the guard and
//! revoked by a later retry once the server is back; nothing is lost in between.

use std::net::TcpListener;

use agentwarrant::{Error, TaskError};

use crate::support::*;

#[test]
fn a_task_is_refused_when_postgres_is_down_at_its_start() {
    let url = server!();
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let relay_url = url.replace(
        &format!(
            ":{}/",
            url.parse::<postgres::Config>().unwrap().get_ports()[0]
        ),
        &format!(":{port}/"),
    );
    let guard = guard(broker(&relay_url, &prefix()));
    let error = guard
        .begin(reporter(), intent(&["db.read:x".to_owned()]))
        .unwrap_err();
    assert_eq!(error.code(), "credential_unavailable");
    assert!(error.to_string().contains("unreachable"), "{error}");
    // The password of the broker's connection string is not in what the guard reports.
    let password = url
        .parse::<postgres::Config>()
        .unwrap()
        .get_password()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap();
    assert!(!error.to_string().contains(&password));
}

#[test]
fn a_credential_postgres_could_not_revoke_is_kept_and_revoked_once_it_is_back() {
    let url = server!();
    let relay = Relay::to(&url);
    let guard = guard(broker(&relay.url(&url), &prefix()));
    let task = guard
        .begin(reporter(), intent(&["db.read:x".to_owned()]))
        .unwrap();
    let role = task.credential().unwrap().id().to_owned();

    relay.cut();
    let error = task.end().unwrap_err();
    let Error::Task(TaskError::CredentialNotRevoked { credential, .. }) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(credential, &role);
    assert_eq!(guard.unrevoked_credentials(), [role.as_str()]);
    // Still down: still kept. The server never heard of the end, so the role is still there.
    assert_eq!(guard.retry_revocations(), [role.as_str()]);
    assert!(role_exists(&url, &role));
    // A task that begins meanwhile is refused, closed.
    let refused = guard
        .begin(reporter(), intent(&["db.read:x".to_owned()]))
        .unwrap_err();
    assert_eq!(refused.code(), "credential_unavailable");

    relay.restore();
    assert!(guard.retry_revocations().is_empty());
    assert!(guard.unrevoked_credentials().is_empty());
    assert!(!role_exists(&url, &role));
    // And the broker is back in service for new tasks.
    let again = guard
        .begin(reporter(), intent(&["db.read:x".to_owned()]))
        .unwrap();
    again.end().unwrap();
}
