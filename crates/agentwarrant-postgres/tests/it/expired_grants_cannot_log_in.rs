//! A role is valid until its grant expires: once that has passed, its password no longer
//! logs in, whether or not anyone ended the task.

use crate::support::*;

#[test]
fn the_role_of_an_expired_grant_cannot_log_in() {
    let url = server!();
    let guard = guard_at(an_hour_behind(), broker(&url, &prefix()));
    let task = guard
        .begin(reporter(), intent(&["db.read:x".to_owned()]))
        .unwrap();
    let credential = task.credential().unwrap();
    assert!(credential.expires_at() < time::OffsetDateTime::now_utc());
    assert!(role_exists(&url, credential.id()));

    let error = login_error(&credential);
    assert_eq!(sqlstate(&error), "28P01", "{error}");
    task.end().unwrap();
    assert!(!role_exists(&url, credential.id()));
}
