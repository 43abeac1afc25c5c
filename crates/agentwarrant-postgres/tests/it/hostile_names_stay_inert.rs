//! Quotes, semicolons and SQL in identity ids, owners, scopes and object names are data: the
//! role is made, granted and dropped exactly as for plain names, and nothing else happens.

use agentwarrant::{Credential, CredentialBroker, Identity, Intent, Role};
use agentwarrant_postgres::{Object, Privilege};

use crate::support::*;

const SQL: &str = "\"; DROP ROLE postgres; --";

#[test]
fn hostile_ids_scopes_and_names_are_quoted_never_executed() {
    let url = server!();
    let shop = Shop::new(&url, "'s\";--");
    let s = shop.schema.clone();
    let table = format!("o'rders{SQL}");
    let column = "e\"mail'); DROP TABLE x; --";
    admin(&url)
        .batch_execute(&format!(
            "CREATE TABLE {} ({} text); INSERT INTO {} VALUES ('kept')",
            shop.table(&table),
            quote(column),
            shop.table(&table),
        ))
        .unwrap();
    let scope = "db.read:o'rders\";DROP_ROLE_postgres;--\\";
    let guard = guard(broker(&url, &prefix()).grant(
        scope,
        [Privilege::Select],
        Object::columns(&s, &table, [column]),
    ));
    let identity = Identity::builder(
        "agent://acme/x';DROP_ROLE_postgres;--\"\\",
        Role::Executor,
        "alice'); DROP ROLE postgres; --@acme.com",
    )
    .ceiling(["db.read:*"])
    .build()
    .unwrap();
    let task = guard
        .begin(
            identity,
            Intent::builder(SQL).scopes([scope]).build().unwrap(),
        )
        .unwrap();
    let credential = task.credential().unwrap();

    let mut tool = login(&credential).unwrap();
    let value: String = tool
        .query_one(
            &format!("SELECT {} FROM {}", quote(column), shop.table(&table)),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(value, "kept");
    drop(tool);

    // The ids are recorded verbatim in the role's comment, as data.
    let comment: String = admin(&url)
        .query_one(
            "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = $1",
            &[&credential.id()],
        )
        .unwrap()
        .get(0);
    let comment: serde_json::Value = serde_json::from_str(&comment).unwrap();
    assert_eq!(
        comment["identity"],
        "agent://acme/x';DROP_ROLE_postgres;--\"\\"
    );
    assert_eq!(comment["owner"], "alice'); DROP ROLE postgres; --@acme.com");

    task.end().unwrap();
    assert!(!role_exists(&url, credential.id()));
    assert!(role_exists(&url, "postgres"));
}

#[test]
fn credentials_not_minted_by_the_broker_are_never_dropped() {
    let url = server!();
    let broker = broker(&url, &prefix()).build().unwrap();
    let now = time::OffsetDateTime::now_utc();
    for id in [
        "postgres".to_owned(),
        format!("{}{SQL}", broker.role_prefix()),
        format!(
            "{}0123456789abcdef0123456789abcdef{SQL}",
            broker.role_prefix()
        ),
        format!("{}0123456789ABCDEF0123456789ABCDEF", broker.role_prefix()),
    ] {
        let forged = Credential::new(&id, "", now);
        let error = broker.revoke(&forged).unwrap_err();
        assert!(
            error.to_string().contains("not a role this broker mints"),
            "{error}"
        );
        assert!(broker.renew(&forged, now).is_err());
    }
    assert!(role_exists(&url, "postgres"));
}
