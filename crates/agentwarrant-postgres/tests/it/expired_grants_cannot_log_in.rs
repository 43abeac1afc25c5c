//! A role is valid until its grant expires: once that has passed, its password no longer
//! logs in, whether or not anyone ended the task.

use agentwarrant::ManualClock;
use agentwarrant_postgres::PostgresBroker;

use crate::support::*;

#[test]
fn the_role_of_an_expired_grant_cannot_log_in() {
    let url = server!();
    // The guard's clock is an hour behind: the grant it issues expired before the role was
    // made, and PostgreSQL compares the role's validity with its own clock.
    let clock = ManualClock::new(time::OffsetDateTime::now_utc() - time::Duration::HOUR);
    let guard = agentwarrant::Guard::builder()
        .clock(clock)
        .credential_broker(
            PostgresBroker::builder(&url)
                .role_prefix(prefix())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
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
