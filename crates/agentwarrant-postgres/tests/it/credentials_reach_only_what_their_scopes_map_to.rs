//! A task's login holds the privileges its grant's scopes map to, and nothing else: no other
//! table, no other column, no other kind of access, no other scope's privileges.

use agentwarrant_postgres::{Object, Privilege};

use crate::support::*;

#[test]
fn a_task_reads_what_its_scopes_allow_and_is_refused_everywhere_else() {
    let url = server!();
    let shop = Shop::new(&url, "");
    let s = shop.schema.clone();
    let broker = broker(&url, &prefix())
        .grant(
            format!("db.read:{s}.orders"),
            [Privilege::Select],
            Object::table(&s, "orders"),
        )
        .grant(
            format!("db.read:{s}.customers"),
            [Privilege::Select],
            Object::columns(&s, "customers", ["id", "country"]),
        )
        .grant(
            format!("db.write:{s}.orders"),
            [Privilege::Insert],
            Object::table(&s, "orders"),
        )
        .grant(
            format!("db.read:{s}.payroll"),
            [Privilege::Select],
            Object::table(&s, "payroll"),
        );
    let guard = guard(broker);
    // The intent covers orders and customers, not payroll, and reads only.
    let task = guard
        .begin(
            reporter(),
            intent(&[
                format!("db.read:{s}.orders"),
                format!("db.read:{s}.customers"),
            ]),
        )
        .unwrap();
    let credential = task.credential().unwrap();
    assert!(credential.id().starts_with("aw_t"));
    assert!(credential.expires_at() <= task.grant().expires_at());
    assert_eq!(credential.attributes()["role"], credential.id());

    let mut tool = login(&credential).unwrap();
    let total: i64 = tool
        .query_one(
            &format!("SELECT sum(total) FROM {}", shop.table("orders")),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(total, 55);
    let country: String = tool
        .query_one(
            &format!(
                "SELECT country FROM {} WHERE id = 1",
                shop.table("customers")
            ),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(country, "FR");

    let refused = [
        format!("SELECT email FROM {}", shop.table("customers")),
        format!("SELECT * FROM {}", shop.table("customers")),
        format!("SELECT * FROM {}", shop.table("payroll")),
        format!("INSERT INTO {} VALUES (3, 1)", shop.table("orders")),
        format!("UPDATE {} SET total = 0", shop.table("orders")),
        format!("DELETE FROM {}", shop.table("orders")),
        format!("CREATE TABLE {} (x int)", shop.table("mine")),
        "CREATE TABLE public.mine (x int)".to_owned(),
        "CREATE ROLE escalated".to_owned(),
    ];
    for statement in refused {
        let error = tool.batch_execute(&statement).unwrap_err();
        assert_eq!(sqlstate(&error), "42501", "{statement}: {error}");
    }
    drop(tool);

    // The role's validity is the grant's, to the second.
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
    task.end().unwrap();

    // Another task, whose intent is to write orders, may insert and not read.
    let writer = guard
        .begin(reporter(), intent(&[format!("db.write:{s}.orders")]))
        .unwrap();
    let mut tool = login(&writer.credential().unwrap()).unwrap();
    tool.batch_execute(&format!(
        "INSERT INTO {} VALUES (3, 5)",
        shop.table("orders")
    ))
    .unwrap();
    let error = tool
        .batch_execute(&format!("SELECT * FROM {}", shop.table("orders")))
        .unwrap_err();
    assert_eq!(sqlstate(&error), "42501");
    drop(tool);
    writer.end().unwrap();
}

#[test]
fn a_wildcard_grant_gets_every_scope_it_covers_and_a_role_of_its_own_per_task() {
    let url = server!();
    let shop = Shop::new(&url, "");
    let s = shop.schema.clone();
    let broker = broker(&url, &prefix())
        .grant(
            format!("db.read:{s}.orders"),
            [Privilege::Select],
            Object::table(&s, "orders"),
        )
        .grant(
            format!("db.read:{s}.payroll"),
            [Privilege::Select],
            Object::all_tables_in_schema(&s),
        );
    let guard = guard(broker);
    let one = guard
        .begin(reporter(), intent(&[format!("db.read:{s}.*")]))
        .unwrap();
    let two = guard
        .begin(reporter(), intent(&[format!("db.read:{s}.orders")]))
        .unwrap();
    let (first, second) = (one.credential().unwrap(), two.credential().unwrap());
    assert_ne!(first.id(), second.id());
    assert_ne!(first.secret(), second.secret());

    let mut wide = login(&first).unwrap();
    wide.batch_execute(&format!("SELECT * FROM {}", shop.table("payroll")))
        .unwrap();
    let mut narrow = login(&second).unwrap();
    let error = narrow
        .batch_execute(&format!("SELECT * FROM {}", shop.table("payroll")))
        .unwrap_err();
    assert_eq!(sqlstate(&error), "42501");
    // One task's password is not another's.
    let mut swapped = second.attributes()["dsn"].as_str().unwrap().to_owned();
    swapped.push_str(&format!(" password={}", first.secret()));
    assert!(postgres::Client::connect(&swapped, postgres::NoTls).is_err());
    drop((wide, narrow));
    one.end().unwrap();
    two.end().unwrap();
}

/// Regression: brokers of several processes granting on the same schema at once made
/// PostgreSQL fail some of them with `tuple concurrently updated` (XX000), refusing tasks.
#[test]
fn workers_minting_and_dropping_at_once_do_not_trip_over_each_other() {
    let url = server!();
    let shop = Shop::new(&url, "");
    let s = shop.schema.clone();
    let prefix = prefix();
    let workers: Vec<_> = (0..6)
        .map(|_| {
            // One broker (one connection) per worker, as in separate processes.
            let guard = guard(broker(&url, &prefix).grant(
                format!("db.read:{s}.orders"),
                [Privilege::Select],
                Object::table(&s, "orders"),
            ));
            let scope = format!("db.read:{s}.orders");
            std::thread::spawn(move || {
                for _ in 0..3 {
                    let task = guard
                        .begin(reporter(), intent(std::slice::from_ref(&scope)))
                        .unwrap();
                    task.end().unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
}
