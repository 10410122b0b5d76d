//! What tables the database holds, read from its own catalog: their columns and portable
//! types, primary keys, foreign keys and id sequences. The dump and the restore take their
//! table list from here, never from a list in the code, so a table a future migration adds
//! is carried without anyone remembering to add it; a column of a type the dump cannot
//! carry fails the backup instead of being skipped. The catalog queries are the one part
//! that must differ between the databases; they live here, side by side.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Row, SqliteConnection};

/// Tables never carried: the migration ledger (the manifest records the schema version
/// instead) and login sessions (everyone signs in again after a restore).
pub const NOT_CARRIED: &[&str] = &["_sqlx_migrations", "sessions"];

/// A column's type as the dump writes it: JSON numbers, booleans and strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColType {
    Int,
    Real,
    Bool,
    Text,
}

impl ColType {
    /// SQLite's declared type (`PRAGMA table_info`), by its affinity rules.
    fn from_sqlite(declared: &str) -> Option<ColType> {
        let t = declared.to_ascii_uppercase();
        if t.contains("BOOL") {
            Some(ColType::Bool)
        } else if t.contains("INT") {
            Some(ColType::Int)
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            Some(ColType::Text)
        } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
            Some(ColType::Real)
        } else {
            None
        }
    }

    /// PostgreSQL's `information_schema.columns.data_type`.
    fn from_postgres(data_type: &str) -> Option<ColType> {
        match data_type {
            "bigint" | "integer" | "smallint" => Some(ColType::Int),
            "double precision" | "real" => Some(ColType::Real),
            "boolean" => Some(ColType::Bool),
            "text" | "character varying" | "character" => Some(ColType::Text),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColType,
}

/// One table as the catalog describes it.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    /// By name, so a dump is the same whichever database wrote it.
    pub columns: Vec<Column>,
    /// Primary-key columns in key order (the dump's row order).
    pub key: Vec<String>,
    /// Other tables this one refers to.
    pub refers_to: Vec<String>,
    /// Columns referring to this same table (a parent area, a merged case).
    pub self_refs: Vec<String>,
    /// The column an id sequence fills (PostgreSQL identity; SQLite AUTOINCREMENT).
    pub sequenced: Option<String>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// `"name"`: every identifier here comes from the catalog, quoted all the same.
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

/// SQLite's tables (every one but its own `sqlite_*` and [`NOT_CARRIED`]).
pub async fn sqlite_tables(c: &mut SqliteConnection) -> anyhow::Result<Vec<Table>> {
    let rows = sqlx::query(
        "SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(&mut *c)
    .await
    .context("reading SQLite's table list")?;
    let mut out = Vec::new();
    for r in rows {
        let name: String = r.get(0);
        let create: String = r.get(1);
        if NOT_CARRIED.contains(&name.as_str()) {
            continue;
        }
        let cols = sqlx::query("SELECT name, type, pk FROM pragma_table_info($1) ORDER BY cid")
            .bind(&name)
            .fetch_all(&mut *c)
            .await?;
        let mut columns = Vec::new();
        let mut key: Vec<(i64, String)> = Vec::new();
        for col in cols {
            let cname: String = col.get(0);
            let declared: String = col.get(1);
            let pk: i64 = col.get(2);
            let ty = ColType::from_sqlite(&declared).with_context(|| {
                format!("{name}.{cname} has type {declared}, which the backup cannot carry")
            })?;
            if pk > 0 {
                key.push((pk, cname.clone()));
            }
            columns.push(Column { name: cname, ty });
        }
        key.sort();
        let key: Vec<String> = key.into_iter().map(|(_, k)| k).collect();
        let fks = sqlx::query("SELECT \"table\", \"from\" FROM pragma_foreign_key_list($1)")
            .bind(&name)
            .fetch_all(&mut *c)
            .await?;
        let (mut refers_to, mut self_refs) = (Vec::new(), Vec::new());
        for fk in fks {
            let (to, from): (String, String) = (fk.get(0), fk.get(1));
            if to == name {
                self_refs.push(from);
            } else if !refers_to.contains(&to) {
                refers_to.push(to);
            }
        }
        let sequenced = (create.to_ascii_uppercase().contains("AUTOINCREMENT") && key.len() == 1)
            .then(|| key[0].clone());
        out.push(table(name, columns, key, refers_to, self_refs, sequenced));
    }
    Ok(out)
}

/// PostgreSQL's tables in the current schema (but [`NOT_CARRIED`]).
pub async fn postgres_tables(c: &mut PgConnection) -> anyhow::Result<Vec<Table>> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&mut *c)
    .await
    .context("reading PostgreSQL's table list")?;
    let mut out = Vec::new();
    for name in names {
        if NOT_CARRIED.contains(&name.as_str()) {
            continue;
        }
        let cols = sqlx::query(
            "SELECT column_name::text, data_type::text, \
                    (is_identity = 'YES' OR COALESCE(column_default, '') LIKE 'nextval(%') \
               FROM information_schema.columns \
              WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(&name)
        .fetch_all(&mut *c)
        .await?;
        let mut columns = Vec::new();
        let mut sequenced = None;
        for col in cols {
            let (cname, dt, ident): (String, String, bool) = (col.get(0), col.get(1), col.get(2));
            let ty = ColType::from_postgres(&dt).with_context(|| {
                format!("{name}.{cname} has type {dt}, which the backup cannot carry")
            })?;
            if ident {
                sequenced = Some(cname.clone());
            }
            columns.push(Column { name: cname, ty });
        }
        let key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i \
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
              WHERE i.indisprimary AND i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass \
              ORDER BY array_position(i.indkey::int2[], a.attnum)",
        )
        .bind(&name)
        .fetch_all(&mut *c)
        .await?;
        let fks = sqlx::query(
            "SELECT t.relname::text, a.attname::text FROM pg_constraint k \
               JOIN pg_class t ON t.oid = k.confrelid \
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey) \
              WHERE k.contype = 'f' AND k.conrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass",
        )
        .bind(&name)
        .fetch_all(&mut *c)
        .await?;
        let (mut refers_to, mut self_refs) = (Vec::new(), Vec::new());
        for fk in fks {
            let (to, from): (String, String) = (fk.get(0), fk.get(1));
            if to == name {
                self_refs.push(from);
            } else if !refers_to.contains(&to) {
                refers_to.push(to);
            }
        }
        out.push(table(name, columns, key, refers_to, self_refs, sequenced));
    }
    Ok(out)
}

fn table(
    name: String,
    mut columns: Vec<Column>,
    key: Vec<String>,
    refers_to: Vec<String>,
    self_refs: Vec<String>,
    sequenced: Option<String>,
) -> Table {
    columns.sort_by(|a, b| a.name.cmp(&b.name));
    Table {
        name,
        columns,
        key,
        refers_to,
        self_refs,
        sequenced,
    }
}

/// The highest id a table's sequence has handed out, when it keeps one apart from the rows
/// (SQLite's `sqlite_sequence`; PostgreSQL's sequence, which runs ahead of rolled-back ids).
pub async fn sqlite_sequence(c: &mut SqliteConnection, t: &Table) -> anyhow::Result<Option<i64>> {
    if t.sequenced.is_none() {
        return Ok(None);
    }
    Ok(
        sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = $1")
            .bind(&t.name)
            .fetch_optional(&mut *c)
            .await?,
    )
}

pub async fn postgres_sequence(c: &mut PgConnection, t: &Table) -> anyhow::Result<Option<i64>> {
    let Some(col) = &t.sequenced else {
        return Ok(None);
    };
    Ok(sqlx::query_scalar(
        "SELECT s.last_value FROM pg_sequences s \
          WHERE quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename) \
              = pg_get_serial_sequence(quote_ident(current_schema()) || '.' || quote_ident($1), $2)",
    )
    .bind(&t.name)
    .bind(col)
    .fetch_optional(&mut *c)
    .await?
    .flatten())
}

/// The tables in an order where each comes after every table it refers to.
pub fn dependency_order(tables: &[Table]) -> anyhow::Result<Vec<&Table>> {
    let mut done: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    while out.len() < tables.len() {
        let before = out.len();
        for t in tables {
            if done.contains(&t.name.as_str()) {
                continue;
            }
            if t.refers_to
                .iter()
                .all(|r| done.contains(&r.as_str()) || !tables.iter().any(|x| &x.name == r))
            {
                done.push(&t.name);
                out.push(t);
            }
        }
        if out.len() == before {
            let left: Vec<&str> = tables
                .iter()
                .map(|t| t.name.as_str())
                .filter(|n| !done.contains(n))
                .collect();
            bail!(
                "tables {} refer to each other in a cycle; the restore cannot order them",
                left.join(", ")
            );
        }
    }
    Ok(out)
}

/// The newest migration applied, or `None` before any.
pub async fn sqlite_schema_version(c: &mut SqliteConnection) -> anyhow::Result<Option<i64>> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut *c)
    .await?;
    if exists == 0 {
        return Ok(None);
    }
    Ok(
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *c)
            .await?,
    )
}

pub async fn postgres_schema_version(c: &mut PgConnection) -> anyhow::Result<Option<i64>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *c)
        .await?;
    if !exists {
        return Ok(None);
    }
    Ok(
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *c)
            .await?,
    )
}

/// `SELECT` text reading every column of `t` in the dump's column order and key order. Text
/// keys sort by bytes in both databases, so the two write identical dumps of the same data.
pub fn select_all(t: &Table, postgres: bool) -> sqlx::AssertSqlSafe<String> {
    let cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| {
            let q = quote(&c.name);
            match (postgres, c.ty) {
                (true, ColType::Int) => format!("{q}::int8"),
                (true, ColType::Real) => format!("{q}::float8"),
                _ => q,
            }
        })
        .collect();
    let order: Vec<String> = if t.key.is_empty() {
        t.columns.iter().map(|c| c.name.clone()).collect()
    } else {
        t.key.clone()
    }
    .iter()
    .map(|k| {
        let text = t.column(k).is_some_and(|c| c.ty == ColType::Text);
        match (postgres, text) {
            (true, true) => format!("{} COLLATE \"C\"", quote(k)),
            _ => quote(k),
        }
    })
    .collect();
    sql(format!(
        "SELECT {} FROM {} ORDER BY {}",
        cols.join(", "),
        quote(&t.name),
        order.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, refers_to: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: vec![],
            key: vec![],
            refers_to: refers_to.iter().map(|s| s.to_string()).collect(),
            self_refs: vec![],
            sequenced: None,
        }
    }

    #[test]
    fn tables_come_after_the_tables_they_refer_to() {
        let all = [
            t("cases", &["users", "areas"]),
            t("users", &["areas"]),
            t("areas", &[]),
        ];
        let order: Vec<&str> = dependency_order(&all)
            .unwrap()
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(order, ["areas", "users", "cases"]);
        assert!(dependency_order(&[t("a", &["b"]), t("b", &["a"])]).is_err());
    }

    #[test]
    fn declared_types_map_to_portable_ones_or_fail() {
        assert_eq!(ColType::from_sqlite("INTEGER"), Some(ColType::Int));
        assert_eq!(ColType::from_sqlite("BOOLEAN"), Some(ColType::Bool));
        assert_eq!(ColType::from_sqlite("REAL"), Some(ColType::Real));
        assert_eq!(ColType::from_sqlite("TEXT"), Some(ColType::Text));
        assert_eq!(ColType::from_sqlite("BLOB"), None);
        assert_eq!(ColType::from_postgres("jsonb"), None);
        assert_eq!(ColType::from_postgres("bigint"), Some(ColType::Int));
    }
}
