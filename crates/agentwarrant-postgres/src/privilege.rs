//! What a scope maps to in the database: privileges on a schema, a table, some of a table's
//! columns or every table of a schema.

use std::fmt;

use crate::sql;

/// A PostgreSQL privilege a task's role may be granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Privilege {
    /// `SELECT`: read rows (tables, columns).
    Select,
    /// `INSERT`: add rows (tables, columns).
    Insert,
    /// `UPDATE`: change rows (tables, columns).
    Update,
    /// `DELETE`: remove rows (tables).
    Delete,
    /// `TRUNCATE`: empty a table (tables).
    Truncate,
    /// `REFERENCES`: create foreign keys to it (tables, columns).
    References,
    /// `TRIGGER`: create triggers on it (tables).
    Trigger,
    /// `USAGE`: look up objects in a schema (schemas).
    Usage,
    /// `CREATE`: create objects in a schema (schemas).
    Create,
}

impl Privilege {
    /// The privilege's SQL keyword.
    pub fn as_sql(self) -> &'static str {
        match self {
            Privilege::Select => "SELECT",
            Privilege::Insert => "INSERT",
            Privilege::Update => "UPDATE",
            Privilege::Delete => "DELETE",
            Privilege::Truncate => "TRUNCATE",
            Privilege::References => "REFERENCES",
            Privilege::Trigger => "TRIGGER",
            Privilege::Usage => "USAGE",
            Privilege::Create => "CREATE",
        }
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_sql())
    }
}

/// A database object privileges are granted on. Names are taken as they are (case and all)
/// and always quoted: `Object::table("sales", "Orders")` is `"sales"."Orders"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Object(ObjectKind);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ObjectKind {
    Schema {
        schema: String,
    },
    Table {
        schema: String,
        table: String,
    },
    Columns {
        schema: String,
        table: String,
        columns: Vec<String>,
    },
    AllTablesInSchema {
        schema: String,
    },
}

impl Object {
    /// A schema (privileges `Usage`, `Create`).
    pub fn schema(schema: impl Into<String>) -> Self {
        Self(ObjectKind::Schema {
            schema: schema.into(),
        })
    }

    /// A table or view (privileges `Select`, `Insert`, `Update`, `Delete`, `Truncate`,
    /// `References`, `Trigger`). The role also gets `USAGE` on its schema.
    pub fn table(schema: impl Into<String>, table: impl Into<String>) -> Self {
        Self(ObjectKind::Table {
            schema: schema.into(),
            table: table.into(),
        })
    }

    /// Some columns of a table (privileges `Select`, `Insert`, `Update`, `References`): the
    /// role may touch these columns and no other. The role also gets `USAGE` on its schema.
    pub fn columns<I, S>(schema: impl Into<String>, table: impl Into<String>, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(ObjectKind::Columns {
            schema: schema.into(),
            table: table.into(),
            columns: columns.into_iter().map(Into::into).collect(),
        })
    }

    /// Every table of a schema that exists when the task begins (table privileges). The role
    /// also gets `USAGE` on the schema.
    pub fn all_tables_in_schema(schema: impl Into<String>) -> Self {
        Self(ObjectKind::AllTablesInSchema {
            schema: schema.into(),
        })
    }

    /// The schema the object is in (or is).
    pub(crate) fn schema_name(&self) -> &str {
        match &self.0 {
            ObjectKind::Schema { schema }
            | ObjectKind::Table { schema, .. }
            | ObjectKind::Columns { schema, .. }
            | ObjectKind::AllTablesInSchema { schema } => schema,
        }
    }

    /// Every name in the object, for validation.
    fn names(&self) -> Vec<&str> {
        match &self.0 {
            ObjectKind::Schema { schema } | ObjectKind::AllTablesInSchema { schema } => {
                vec![schema]
            }
            ObjectKind::Table { schema, table } => vec![schema, table],
            ObjectKind::Columns {
                schema,
                table,
                columns,
            } => {
                let mut names = vec![schema.as_str(), table.as_str()];
                names.extend(columns.iter().map(String::as_str));
                names
            }
        }
    }

    /// Whether `privilege` can be granted on this kind of object.
    fn admits(&self, privilege: Privilege) -> bool {
        use Privilege::*;
        match &self.0 {
            ObjectKind::Schema { .. } => matches!(privilege, Usage | Create),
            ObjectKind::Table { .. } | ObjectKind::AllTablesInSchema { .. } => matches!(
                privilege,
                Select | Insert | Update | Delete | Truncate | References | Trigger
            ),
            ObjectKind::Columns { .. } => {
                matches!(privilege, Select | Insert | Update | References)
            }
        }
    }

    /// Why `privileges` on this object cannot be granted, if they cannot.
    pub(crate) fn problem(&self, privileges: &[Privilege]) -> Option<String> {
        for name in self.names() {
            if let Some(problem) = sql::identifier_problem(name) {
                return Some(format!(
                    "the name `{}` is not usable: {problem}",
                    name.escape_debug()
                ));
            }
        }
        if let ObjectKind::Columns { columns, .. } = &self.0 {
            if columns.is_empty() {
                return Some("no columns are named".to_owned());
            }
        }
        if privileges.is_empty() {
            return Some("no privileges are named".to_owned());
        }
        privileges
            .iter()
            .find(|p| !self.admits(**p))
            .map(|p| format!("{p} cannot be granted on {self}"))
    }

    /// The `GRANT` statement giving `privileges` on this object to `role` (quoted).
    pub(crate) fn grant_sql(&self, privileges: &[Privilege], role: &str) -> String {
        let list = |columns: Option<&str>| {
            privileges
                .iter()
                .map(|p| match columns {
                    Some(columns) => format!("{} ({columns})", p.as_sql()),
                    None => p.as_sql().to_owned(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let role = sql::ident(role);
        match &self.0 {
            ObjectKind::Schema { schema } => {
                format!(
                    "GRANT {} ON SCHEMA {} TO {role}",
                    list(None),
                    sql::ident(schema)
                )
            }
            ObjectKind::Table { schema, table } => format!(
                "GRANT {} ON TABLE {} TO {role}",
                list(None),
                sql::qualified(schema, table)
            ),
            ObjectKind::Columns {
                schema,
                table,
                columns,
            } => {
                let columns = columns
                    .iter()
                    .map(|c| sql::ident(c))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "GRANT {} ON TABLE {} TO {role}",
                    list(Some(&columns)),
                    sql::qualified(schema, table)
                )
            }
            ObjectKind::AllTablesInSchema { schema } => format!(
                "GRANT {} ON ALL TABLES IN SCHEMA {} TO {role}",
                list(None),
                sql::ident(schema)
            ),
        }
    }

    /// Whether the object lives inside a schema (so its role needs `USAGE` on it).
    pub(crate) fn needs_schema_usage(&self) -> bool {
        !matches!(self.0, ObjectKind::Schema { .. })
    }
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            ObjectKind::Schema { schema } => write!(f, "schema {}", sql::ident(schema)),
            ObjectKind::Table { schema, table } => {
                write!(f, "table {}", sql::qualified(schema, table))
            }
            ObjectKind::Columns {
                schema,
                table,
                columns,
            } => {
                let columns = columns
                    .iter()
                    .map(|c| sql::ident(c))
                    .collect::<Vec<_>>()
                    .join(", ");
                write!(
                    f,
                    "columns ({columns}) of {}",
                    sql::qualified(schema, table)
                )
            }
            ObjectKind::AllTablesInSchema { schema } => {
                write!(f, "all tables in schema {}", sql::ident(schema))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_quote_every_name() {
        let object = Object::columns("s\"x", "t;--", ["a", "b'c"]);
        assert_eq!(
            object.grant_sql(&[Privilege::Select, Privilege::Update], "aw_task_1"),
            "GRANT SELECT (\"a\", \"b'c\"), UPDATE (\"a\", \"b'c\") ON TABLE \"s\"\"x\".\"t;--\" TO \"aw_task_1\""
        );
        assert_eq!(
            Object::all_tables_in_schema("sales").grant_sql(&[Privilege::Select], "r"),
            "GRANT SELECT ON ALL TABLES IN SCHEMA \"sales\" TO \"r\""
        );
    }

    #[test]
    fn privileges_that_do_not_apply_to_an_object_are_refused() {
        assert!(Object::schema("s").problem(&[Privilege::Select]).is_some());
        assert!(Object::table("s", "t")
            .problem(&[Privilege::Usage])
            .is_some());
        assert!(Object::columns("s", "t", ["c"])
            .problem(&[Privilege::Delete])
            .is_some());
        assert!(Object::columns("s", "t", Vec::<String>::new())
            .problem(&[Privilege::Select])
            .is_some());
        assert!(Object::table("s", "t").problem(&[]).is_some());
        assert!(Object::table("s", "t\0")
            .problem(&[Privilege::Select])
            .is_some());
        assert!(Object::table("s", "t")
            .problem(&[Privilege::Select])
            .is_none());
    }
}
