//! Quoting for the statements that cannot take bind parameters (`CREATE ROLE`, `GRANT`,
//! `ALTER ROLE`, `COMMENT`): every name and value in them goes through these functions; and
//! [`install`], which creates a store's schema and tables, and [`config`], which every store
//! and the broker connect with.
//!
//! They follow PostgreSQL's own `quote_ident` and `quote_literal` (libpq's
//! `PQescapeIdentifier` / `PQescapeLiteral`): an identifier is always double-quoted with
//! embedded `"` doubled; a literal is single-quoted with `'` doubled and, when it holds a
//! backslash, written as an `E'...'` string with `\` doubled, so it means the same whatever
//! `standard_conforming_strings` says. NUL cannot be sent in a statement at all: it is
//! refused by the callers' validation before any text reaches these functions.

use std::time::Duration;

use postgres::{Client, Config};

use crate::error::BuildError;

/// How long a connection attempt may take unless the builder or the connection string says.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The parsed `connection` string: `connect_timeout` when given, else the string's own, else
/// 5 s; `application_name` (how `pg_stat_activity` shows the connection) unless the string
/// names one.
pub(crate) fn config(
    connection: &str,
    connect_timeout: Option<Duration>,
    application_name: Option<&str>,
) -> Result<Config, BuildError> {
    let mut config: Config =
        connection
            .parse()
            .map_err(|error: postgres::Error| BuildError::InvalidConnection {
                message: error.to_string(),
            })?;
    if let Some(timeout) = connect_timeout {
        config.connect_timeout(timeout);
    } else if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    if let Some(name) = application_name {
        if config.get_application_name().is_none() {
            config.application_name(name);
        }
    }
    Ok(config)
}

/// The advisory lock held while a store's tables are created, so two processes starting at
/// once do not both create them.
const INSTALL_LOCK: i64 = 0x6177_5f69_6e73_746c; // "aw_instl"

/// Creates `schema` and runs `ddl` (statements with `{schema}` where the quoted schema goes,
/// each `IF NOT EXISTS`) in one transaction under [`INSTALL_LOCK`].
pub(crate) fn install(
    client: &mut Client,
    schema: &str,
    ddl: &[&str],
) -> Result<(), postgres::Error> {
    let s = ident(schema);
    let mut tx = client.transaction()?;
    tx.execute(
        "SELECT pg_catalog.pg_advisory_xact_lock($1)",
        &[&INSTALL_LOCK],
    )?;
    tx.execute(format!("CREATE SCHEMA IF NOT EXISTS {s}").as_str(), &[])?;
    for statement in ddl {
        // The template is scanned once: `{schema}` inside the quoted name is never replaced.
        tx.execute(statement.replace("{schema}", &s).as_str(), &[])?;
    }
    tx.commit()
}

/// What PostgreSQL said: its message and SQLSTATE, or the client's error.
pub(crate) fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => error.to_string(),
    }
}

/// `name` as a quoted SQL identifier: `"` + `name` with `"` doubled + `"`.
///
/// SECURITY: always quoting (never "only when needed") means no keyword, case, quote,
/// semicolon or comment in `name` can end the identifier; the caller has refused NUL.
pub(crate) fn ident(name: &str) -> String {
    let mut quoted = String::with_capacity(name.len() + 2);
    quoted.push('"');
    for c in name.chars() {
        if c == '"' {
            quoted.push('"');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// `schema.name` as two quoted identifiers.
pub(crate) fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// `value` as a quoted SQL string literal.
///
/// SECURITY: `'` is doubled; a backslash switches to an escape string (`E'...'`) with `\`
/// doubled, so the literal ends only at its closing quote whatever the server's settings.
pub(crate) fn literal(value: &str) -> String {
    let escape = value.contains('\\');
    let mut quoted = String::with_capacity(value.len() + 3);
    if escape {
        quoted.push('E');
    }
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' || (escape && c == '\\') {
            quoted.push(c);
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// Why `name` cannot be a PostgreSQL identifier, if it cannot: empty, longer than the 63
/// bytes PostgreSQL keeps (it would silently truncate it, and then name another object), or
/// holding NUL (which no statement can carry).
pub(crate) fn identifier_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 63 {
        Some("it is longer than PostgreSQL's 63 bytes")
    } else if name.contains('\0') {
        Some("it contains NUL")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_always_quoted_with_quotes_doubled() {
        assert_eq!(ident("orders"), "\"orders\"");
        assert_eq!(ident("Orders"), "\"Orders\"");
        assert_eq!(
            ident("x\"; DROP ROLE postgres; --"),
            "\"x\"\"; DROP ROLE postgres; --\""
        );
        assert_eq!(qualified("a\"b", "c"), "\"a\"\"b\".\"c\"");
    }

    #[test]
    fn literals_double_quotes_and_escape_backslashes() {
        assert_eq!(literal("plain"), "'plain'");
        assert_eq!(literal("o'clock"), "'o''clock'");
        assert_eq!(literal("a\\'; --"), "E'a\\\\''; --'");
    }

    #[test]
    fn identifiers_postgres_would_truncate_or_cannot_carry_are_refused() {
        assert!(identifier_problem("orders").is_none());
        assert!(identifier_problem("").is_some());
        assert!(identifier_problem(&"x".repeat(64)).is_some());
        assert!(identifier_problem(&"x".repeat(63)).is_none());
        assert!(identifier_problem("a\0b").is_some());
    }
}
