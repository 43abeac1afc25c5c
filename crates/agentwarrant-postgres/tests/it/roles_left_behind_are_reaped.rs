//! A process killed before its tasks ended leaves their roles behind. They stop logging in
//! when their grants expire, and the reaper drops them then; a role still valid, and any role
//! that is not exactly one the broker mints, is left alone.

use agentwarrant::CredentialBroker;

use crate::support::*;

/// Begins a task on `worker` that is never ended (its process was killed: no revoke
/// reaches the server); returns its login role.
fn killed_task(worker: &agentwarrant::Guard) -> String {
    let killed = worker
        .begin(reporter(), intent(&["db.read:x".to_owned()]))
        .unwrap();
    let role = killed.credential().unwrap().id().to_owned();
    std::mem::forget(killed);
    role
}

#[test]
fn the_reaper_drops_expired_roles_of_killed_workers_and_nothing_else() {
    let url = server!();
    let prefix = prefix();
    // A worker whose grants expired an hour ago, killed before its task ended.
    let stale = guard_at(an_hour_behind(), broker(&url, &prefix));
    let left_behind = killed_task(&stale);
    // A live worker's task, still valid, also not ended yet.
    let live = guard(broker(&url, &prefix));
    let running = live
        .begin(reporter(), intent(&["db.read:x".to_owned()]))
        .unwrap();
    let still_valid = running.credential().unwrap().id().to_owned();
    // Someone else's expired role that merely shares the prefix.
    let stranger = format!("{prefix}admin");
    admin(&url)
        .batch_execute(&format!(
            "CREATE ROLE {} LOGIN VALID UNTIL '2000-01-01'",
            quote(&stranger)
        ))
        .unwrap();

    let reaper = broker(&url, &prefix).build().unwrap();
    assert_eq!(reaper.reap().unwrap(), [left_behind.as_str()]);
    assert!(!role_exists(&url, &left_behind));
    assert!(role_exists(&url, &still_valid));
    assert!(role_exists(&url, &stranger));
    // Reaping again finds nothing; a forged credential naming the stranger is refused.
    assert!(reaper.reap().unwrap().is_empty());
    let forged = agentwarrant::Credential::new(&stranger, "", time::OffsetDateTime::now_utc());
    assert!(reaper.revoke(&forged).is_err());
    assert!(role_exists(&url, &stranger));

    running.end().unwrap();
    assert!(!role_exists(&url, &still_valid));
    admin(&url)
        .batch_execute(&format!("DROP ROLE {}", quote(&stranger)))
        .unwrap();
}

#[test]
fn a_session_that_outlived_its_roles_validity_is_ended_by_the_reaper() {
    let url = server!();
    let prefix = prefix();
    let guard = agentwarrant::Guard::builder()
        .limits(agentwarrant::Limits {
            grant_ttl: std::time::Duration::from_secs(6),
            ..agentwarrant::Limits::default()
        })
        .credential_broker(broker(&url, &prefix).build().unwrap())
        .build()
        .unwrap();
    let task = guard
        .begin(reporter(), intent(&["db.read:x".to_owned()]))
        .unwrap();
    let credential = task.credential().unwrap();
    let mut session = login(&credential).unwrap();
    // The worker is killed; its role's validity passes while the session is open.
    std::mem::forget(task);
    let mut admin = admin(&url);
    while admin
        .query_opt(
            "SELECT 1 FROM pg_roles WHERE rolname = $1 AND rolvaliduntil < now()",
            &[&credential.id()],
        )
        .unwrap()
        .is_none()
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // VALID UNTIL stops logins, not sessions: this one still works.
    session.batch_execute("SELECT 1").unwrap();

    let reaper = broker(&url, &prefix).build().unwrap();
    assert_eq!(reaper.reap().unwrap(), [credential.id()]);
    assert!(session.batch_execute("SELECT 1").is_err());
    assert!(!role_exists(&url, credential.id()));
}

#[test]
fn a_scheduled_reaper_drops_a_killed_workers_expired_role_and_stops_when_dropped() {
    let url = server!();
    let prefix = prefix();
    let stale = guard_at(an_hour_behind(), broker(&url, &prefix));
    let left_behind = killed_task(&stale);

    let scheduled = broker(&url, &prefix)
        .build()
        .unwrap()
        .reap_every(std::time::Duration::from_secs(1))
        .unwrap();
    // The first round runs at once; waits up to a minute on a loaded machine.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while role_exists(&url, &left_behind) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!role_exists(&url, &left_behind));
    // Dropping it stops the thread: the drop returns, and a role left after it stays.
    drop(scheduled);
    let after = killed_task(&stale);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(role_exists(&url, &after));
    let reaper = broker(&url, &prefix).build().unwrap();
    assert_eq!(reaper.reap().unwrap(), [after.as_str()]);
}
