//! Ending a task ends its credential: the role's open sessions are terminated, it cannot log
//! in again, and it is gone. Renewing the grant moves the role's validity with it.

use std::time::Duration;

use agentwarrant_postgres::{Object, Privilege};

use crate::support::*;

#[test]
fn after_the_task_ends_its_sessions_are_gone_and_its_login_fails() {
    let url = server!();
    let shop = Shop::new(&url, "");
    let s = shop.schema.clone();
    let guard = guard(broker(&url, &prefix()).grant(
        format!("db.read:{s}.orders"),
        [Privilege::Select],
        Object::table(&s, "orders"),
    ));
    let task = guard
        .begin(reporter(), intent(&[format!("db.read:{s}.orders")]))
        .unwrap();
    let credential = task.credential().unwrap();
    let query = format!("SELECT count(*) FROM {}", shop.table("orders"));
    let mut open = login(&credential).unwrap();
    let mut other = login(&credential).unwrap();
    open.query_one(&query, &[]).unwrap();
    other.query_one(&query, &[]).unwrap();

    task.end().unwrap();

    // Both sessions were terminated before `end` returned.
    for session in [&mut open, &mut other] {
        assert!(session.query_one(&query, &[]).is_err());
    }
    let error = login_error(&credential);
    assert_eq!(sqlstate(&error), "28P01", "{error}");
    assert!(!role_exists(&url, credential.id()));
    assert!(guard.unrevoked_credentials().is_empty());
}

#[test]
fn a_renewed_grant_moves_the_roles_validity() {
    let url = server!();
    let clock = std::sync::Arc::new(agentwarrant::ManualClock::new(
        time::OffsetDateTime::now_utc(),
    ));
    let guard = guard_at(clock.clone(), broker(&url, &prefix()));
    let task = guard
        .begin(reporter(), intent(&["db.read:x".to_owned()]))
        .unwrap();
    let minted = task.credential().unwrap();
    clock.advance(time::Duration::minutes(10));
    let until = task.renew_grant(Duration::from_secs(900)).unwrap();
    let credential = task.credential().unwrap();
    assert_eq!(credential.id(), minted.id());
    assert!(credential.expires_at() > minted.expires_at());
    assert!(credential.expires_at() <= until);
    assert!(until - credential.expires_at() < time::Duration::SECOND);
    let valid_until: std::time::SystemTime = admin(&url)
        .query_one(
            "SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1",
            &[&credential.id()],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        time::OffsetDateTime::from(valid_until),
        credential.expires_at()
    );
    // The renewed credential still logs in.
    login(&credential).unwrap();
    task.end().unwrap();
}
