//! `LISTEN` and the wait for the next notification: what the stores woken by `NOTIFY`
//! (revocations, approvals) share. Each also re-reads its tables on a bounded poll, so a
//! notification that never arrives costs at most one poll interval.

use std::time::Instant;

use fallible_iterator::FallibleIterator;
use postgres::Client;

use crate::sql;

/// Subscribes `client` to `channel`.
pub(crate) fn listen(client: &mut Client, channel: &str) -> Result<(), postgres::Error> {
    client.batch_execute(&format!("LISTEN {}", sql::ident(channel)))
}

/// The payload of the next notification delivered to `client`, waiting until `deadline` at
/// most (`None` then). An error means the connection is lost (closed, terminated, broken).
pub(crate) fn next(
    client: &mut Client,
    deadline: Instant,
) -> Result<Option<String>, postgres::Error> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    let mut notifications = client.notifications();
    let next = notifications.timeout_iter(remaining).next()?;
    Ok(next.map(|notification| notification.payload().to_owned()))
}
