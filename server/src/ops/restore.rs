//! `minsheng restore --from DIR`: a backup loaded into an empty database of either kind.
//! Every file is checked against the manifest's SHA-256 before the database is touched; the
//! database is brought to the backup's schema version, loaded in one transaction (tables in
//! dependency order, ids as they were), its id sequences set past the loaded ids, and then
//! migrated to this release's schema.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::Value;
use sqlx::{PgConnection, SqliteConnection};

use super::backup::{FORMAT, FORMAT_VERSION, MANIFEST, Manifest, TableEntry, hash_file};
use super::catalog::{self, ColType, Table, quote};
use crate::storage::Db;

/// Drops every table of a database found empty (but for rows its migrations wrote).
async fn drop_all_tables(db: &Db) -> anyhow::Result<()> {
    match db {
        Db::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            let tables = catalog::sqlite_tables(&mut tx).await?;
            let order = catalog::dependency_order(&tables)?;
            let dependents_first = order.iter().rev().map(|t| t.name.as_str());
            for t in catalog::NOT_CARRIED.iter().copied().chain(dependents_first) {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP TABLE IF EXISTS {}",
                    quote(t)
                )))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            let names: Vec<String> = catalog::postgres_tables(&mut tx)
                .await?
                .into_iter()
                .map(|t| t.name)
                .chain(catalog::NOT_CARRIED.iter().map(|s| s.to_string()))
                .collect();
            let list: Vec<String> = names.iter().map(|n| quote(n)).collect();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP TABLE IF EXISTS {} CASCADE",
                list.join(", ")
            )))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// Runs `$body` with `$c` a connection of whichever database runs.
macro_rules! with_conn {
    ($db:expr, $c:ident => $body:expr) => {
        match $db {
            Db::Sqlite(pool) => {
                let mut $c = pool.acquire().await?;
                $body
            }
            Db::Postgres(pool) => {
                let mut $c = pool.acquire().await?;
                $body
            }
        }
    };
}

macro_rules! bind_vals {
    ($q:expr, $vals:expr) => {{
        let mut q = $q;
        for v in $vals {
            q = match v {
                Val::I(x) => q.bind(x),
                Val::R(x) => q.bind(x),
                Val::B(x) => q.bind(x),
                Val::T(x) => q.bind(x),
            };
        }
        q
    }};
}

/// Loads every table of the manifest, in dependency order, into the transaction `$c`;
/// evaluates to the number of rows loaded.
macro_rules! load {
    ($c:expr, $tables:expr, $manifest:expr, $from:expr, $seeded:expr) => {{
        let tables: &Vec<Table> = $tables;
        let manifest: &Manifest = $manifest;
        for e in &manifest.tables {
            if !tables.iter().any(|t| t.name == e.name) {
                bail!(
                    "the backup has table {} which this database does not: restore with the release that made the backup (minsheng {})",
                    e.name,
                    manifest.minsheng_version
                );
            }
        }
        let order = catalog::dependency_order(tables)?;
        // What the migrations put in (point rules) gives way to what the backup carries.
        for t in order.iter().rev() {
            if $seeded.contains(&t.name) && manifest.tables.iter().any(|e| e.name == t.name) {
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {}", quote(&t.name))))
                    .execute(&mut *$c)
                    .await?;
            }
        }
        let mut total = 0u64;
        // Columns naming a row of their own table, set once the whole table is in.
        let mut later: Vec<(String, String, Vec<(String, Val)>, Val)> = Vec::new();
        for t in order {
            let Some(e) = manifest.tables.iter().find(|e| e.name == t.name) else {
                continue;
            };
            let cols = columns_of(t, e)?;
            let key_at: Vec<usize> = t
                .key
                .iter()
                .filter_map(|k| e.columns.iter().position(|c| &c.name == k))
                .collect();
            let per = (VALUES_PER_INSERT / cols.len().max(1)).max(1);
            let head = format!(
                "INSERT INTO {} ({}) VALUES ",
                quote(&t.name),
                cols.iter().map(|(n, _)| quote(n)).collect::<Vec<_>>().join(", ")
            );
            let file = std::fs::File::open($from.join(&e.file))?;
            let mut lines = std::io::BufReader::new(file).lines();
            let mut n = 0u64;
            loop {
                let mut batch: Vec<Val> = Vec::new();
                let mut rows = 0;
                while rows < per {
                    let Some(line) = lines.next() else { break };
                    let line = line?;
                    n += 1;
                    let at = format!("{} line {n}", e.file);
                    let values: Vec<Value> = serde_json::from_str(&line).with_context(|| at.clone())?;
                    if values.len() != cols.len() {
                        bail!("{at}: {} values for {} columns", values.len(), cols.len());
                    }
                    let key: Vec<(String, Val)> = key_at
                        .iter()
                        .map(|&i| Ok((cols[i].0.clone(), val(values[i].clone(), cols[i].1, &at)?)))
                        .collect::<anyhow::Result<_>>()?;
                    for (i, v) in values.into_iter().enumerate() {
                        let (name, ty) = &cols[i];
                        if t.self_refs.contains(name) && !v.is_null() {
                            if key.is_empty() {
                                bail!("{}: a table referring to itself needs a primary key", t.name);
                            }
                            let key = key.iter().map(|(k, v)| (k.clone(), copy(v))).collect();
                            later.push((t.name.clone(), name.clone(), key, val(v, *ty, &at)?));
                            batch.push(val(Value::Null, *ty, &at)?);
                        } else {
                            batch.push(val(v, *ty, &at)?);
                        }
                    }
                    rows += 1;
                }
                if rows == 0 {
                    break;
                }
                let mut sql = head.clone();
                let mut p = 0;
                for r in 0..rows {
                    sql.push_str(if r == 0 { "(" } else { ", (" });
                    for c in 0..cols.len() {
                        p += 1;
                        if c > 0 {
                            sql.push_str(", ");
                        }
                        sql.push('$');
                        sql.push_str(&p.to_string());
                    }
                    sql.push(')');
                }
                let q = bind_vals!(sqlx::query(sqlx::AssertSqlSafe(sql)), batch);
                q.execute(&mut *$c)
                    .await
                    .with_context(|| format!("loading {}", t.name))?;
            }
            if n != e.rows {
                bail!("{} has {n} rows where the manifest says {}", e.file, e.rows);
            }
            total += n;
        }
        for (table, column, key, value) in later {
            let mut sql = format!("UPDATE {} SET {} = $1 WHERE ", quote(&table), quote(&column));
            let mut binds = vec![value];
            for (i, (k, v)) in key.into_iter().enumerate() {
                if i > 0 {
                    sql.push_str(" AND ");
                }
                sql.push_str(&format!("{} = ${}", quote(&k), i + 2));
                binds.push(v);
            }
            bind_vals!(sqlx::query(sqlx::AssertSqlSafe(sql)), binds)
                .execute(&mut *$c)
                .await
                .with_context(|| format!("linking {table}.{column}"))?;
        }
        total
    }};
}

/// What was restored, for the command's last line.
#[derive(Debug)]
pub struct Restored {
    pub tables: usize,
    pub rows: u64,
    pub files: usize,
}

/// Reads and checks a backup's manifest and every file it names.
pub fn verify(from: &Path) -> anyhow::Result<Manifest> {
    let path = from.join(MANIFEST);
    let text = std::fs::read(&path).with_context(|| {
        format!(
            "{} is missing: {} is not a finished backup",
            path.display(),
            from.display()
        )
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&text).with_context(|| format!("reading {}", path.display()))?;
    if manifest.format != FORMAT {
        bail!("{} is not a Minsheng backup manifest", path.display());
    }
    if manifest.format_version > FORMAT_VERSION {
        bail!(
            "the backup's format version {} is newer than this release reads ({FORMAT_VERSION}); restore it with minsheng {} or later",
            manifest.format_version,
            manifest.minsheng_version
        );
    }
    let newest = Db::newest_migration();
    if manifest.schema_version > newest {
        bail!(
            "the backup's schema version {} is newer than this release knows ({newest}); restore it with minsheng {} or later",
            manifest.schema_version,
            manifest.minsheng_version
        );
    }
    let named = manifest
        .tables
        .iter()
        .map(|t| (t.file.as_str(), t.bytes, t.sha256.as_str()))
        .chain(
            manifest
                .files
                .iter()
                .map(|f| (f.path.as_str(), f.bytes, f.sha256.as_str())),
        );
    for (rel, bytes, sha) in named {
        if rel
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        {
            bail!("the manifest names a file outside the backup: {rel}");
        }
        let (n, h) =
            hash_file(&from.join(rel)).with_context(|| format!("reading {rel} of the backup"))?;
        if n != bytes || h != sha {
            bail!(
                "{rel} does not match its checksum in the manifest: the backup is damaged or was changed"
            );
        }
    }
    Ok(manifest)
}

/// Restores the backup in `from` into `db` (which must be empty) and the photos into
/// `data_dir`.
pub async fn restore(db: &Db, data_dir: &Path, from: &Path) -> anyhow::Result<Restored> {
    let manifest = verify(from)?;
    if let Some(ahead) = refuse_unless_empty(db, manifest.schema_version).await? {
        // An empty database migrated past the backup (by `minsheng migrate`, say): loading
        // older rows into the newer schema would skip what the migrations between did to
        // existing rows. It holds nothing, so it starts again from no schema.
        tracing::info!(
            schema = ahead,
            backup = manifest.schema_version,
            "the empty database is ahead of the backup's schema: dropping its tables to start from the backup's"
        );
        drop_all_tables(db).await?;
    }
    db.migrate_to(manifest.schema_version).await?;
    let files = copy_files(&manifest, from, data_dir)?;
    let seeded = seeded_tables(Db::newest_migration()).await?;
    let rows = match db {
        Db::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            // Checked at commit: a row may name one of its own table loaded after it.
            sqlx::query("PRAGMA defer_foreign_keys = ON")
                .execute(&mut *tx)
                .await?;
            let tables = catalog::sqlite_tables(&mut tx).await?;
            let n = load!(&mut *tx, &tables, &manifest, from, &seeded);
            for t in &tables {
                if let Some(e) = manifest.tables.iter().find(|e| e.name == t.name) {
                    sqlite_sequence(&mut tx, t, e).await?;
                }
            }
            tx.commit().await?;
            n
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            let tables = catalog::postgres_tables(&mut tx).await?;
            let n = load!(&mut *tx, &tables, &manifest, from, &seeded);
            for t in &tables {
                if let Some(e) = manifest.tables.iter().find(|e| e.name == t.name) {
                    postgres_sequence(&mut tx, t, e).await?;
                }
            }
            tx.commit().await?;
            n
        }
    };
    db.migrate().await?;
    Ok(Restored {
        tables: manifest.tables.len(),
        rows,
        files,
    })
}

/// Tables that start-up fills from data shipped with the binary (the holiday-cn years): a
/// database holding only those rows is empty, and the backup's rows replace them.
const BUNDLED_AT_START_UP: &[&str] = &["calendar_years", "calendar_days"];

/// The tables whose rows a restore replaces instead of refusing: those the migrations up to
/// `version` fill themselves, and those filled at start-up from shipped data.
async fn seeded_tables(version: i64) -> anyhow::Result<Vec<String>> {
    let mut seeded = Db::seeded_by_migrations(version).await?;
    seeded.extend(BUNDLED_AT_START_UP.iter().map(|t| t.to_string()));
    Ok(seeded)
}

/// Refuses a database holding anything but what the migrations put there themselves;
/// when it is empty, its schema version if that is past the backup's.
async fn refuse_unless_empty(db: &Db, backup_version: i64) -> anyhow::Result<Option<i64>> {
    let (version, tables) = match db {
        Db::Sqlite(pool) => {
            let mut c = pool.acquire().await?;
            (
                catalog::sqlite_schema_version(&mut c).await?,
                catalog::sqlite_tables(&mut c).await?,
            )
        }
        Db::Postgres(pool) => {
            let mut c = pool.acquire().await?;
            (
                catalog::postgres_schema_version(&mut c).await?,
                catalog::postgres_tables(&mut c).await?,
            )
        }
    };
    let Some(version) = version else {
        if let Some(t) = tables.first() {
            bail!(
                "the database is not empty: it holds table {} and is not a Minsheng database; restore into an empty one",
                t.name
            );
        }
        return Ok(None);
    };
    let seeded = Db::seeded_by_migrations(version.max(backup_version)).await?;
    for t in &tables {
        if seeded.contains(&t.name) {
            continue;
        }
        if BUNDLED_AT_START_UP.contains(&t.name.as_str()) {
            // The shipped calendar years, loaded by `migrate` and at start-up, are not data;
            // a year an admin put is.
            let admin: i64 = with_conn!(db, c => sqlx::query_scalar(
                "SELECT COUNT(*) FROM calendar_years WHERE source <> 'bundled'"
            )
            .fetch_one(&mut *c)
            .await?);
            if admin == 0 {
                continue;
            }
        }
        let n: i64 = with_conn!(db, c => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}",
            quote(&t.name)
        )))
        .fetch_one(&mut *c)
        .await?);
        if n > 0 {
            bail!(
                "the database is not empty: table {} has {n} rows; restore only into an empty database",
                t.name
            );
        }
    }
    Ok((version > backup_version).then_some(version))
}

/// One value to bind, typed by its column (a NULL too: PostgreSQL wants it typed).
enum Val {
    I(Option<i64>),
    R(Option<f64>),
    B(Option<bool>),
    T(Option<String>),
}

fn val(v: Value, ty: ColType, at: &str) -> anyhow::Result<Val> {
    Ok(match (ty, v) {
        (ColType::Int, Value::Null) => Val::I(None),
        (ColType::Real, Value::Null) => Val::R(None),
        (ColType::Bool, Value::Null) => Val::B(None),
        (ColType::Text, Value::Null) => Val::T(None),
        (ColType::Int, Value::Number(n)) if n.is_i64() => Val::I(n.as_i64()),
        (ColType::Int, Value::Bool(b)) => Val::I(Some(b as i64)),
        (ColType::Real, Value::Number(n)) => Val::R(n.as_f64()),
        (ColType::Bool, Value::Bool(b)) => Val::B(Some(b)),
        (ColType::Bool, Value::Number(n)) => Val::B(Some(n.as_f64() != Some(0.0))),
        (ColType::Text, Value::String(s)) => Val::T(Some(s)),
        (ty, v) => bail!("{at}: {v} is not a value of type {ty:?}"),
    })
}

/// Rows loaded per INSERT statement are at most this many values.
const VALUES_PER_INSERT: usize = 4000;

fn copy(v: &Val) -> Val {
    match v {
        Val::I(x) => Val::I(*x),
        Val::R(x) => Val::R(*x),
        Val::B(x) => Val::B(*x),
        Val::T(x) => Val::T(x.clone()),
    }
}

/// The backup's columns with the target's types; a column the target lacks fails.
fn columns_of(t: &Table, e: &TableEntry) -> anyhow::Result<Vec<(String, ColType)>> {
    e.columns
        .iter()
        .map(|c| match t.column(&c.name) {
            Some(target) => Ok((c.name.clone(), target.ty)),
            None => bail!(
                "the backup's column {}.{} is not in this database",
                t.name,
                c.name
            ),
        })
        .collect()
}

/// SQLite moves an AUTOINCREMENT sequence up to the highest id loaded by itself; it goes
/// further when the source's sequence was ahead of its rows.
async fn sqlite_sequence(
    c: &mut SqliteConnection,
    t: &Table,
    e: &TableEntry,
) -> anyhow::Result<()> {
    let (Some(_), Some(seq)) = (&t.sequenced, e.sequence) else {
        return Ok(());
    };
    let n = sqlx::query("UPDATE sqlite_sequence SET seq = $2 WHERE name = $1 AND seq < $2")
        .bind(&t.name)
        .bind(seq)
        .execute(&mut *c)
        .await?
        .rows_affected();
    if n == 0 {
        sqlx::query(
            "INSERT INTO sqlite_sequence (name, seq) SELECT $1, $2 \
             WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = $1)",
        )
        .bind(&t.name)
        .bind(seq)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// PostgreSQL's identity sequences do not move when ids are given: set each past the
/// highest id loaded (and the source's sequence).
async fn postgres_sequence(c: &mut PgConnection, t: &Table, e: &TableEntry) -> anyhow::Result<()> {
    let Some(col) = &t.sequenced else {
        return Ok(());
    };
    let max: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT MAX({})::int8 FROM {}",
        quote(col),
        quote(&t.name)
    )))
    .fetch_one(&mut *c)
    .await?;
    let high = max.unwrap_or(0).max(e.sequence.unwrap_or(0));
    if high > 0 {
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence(quote_ident(current_schema()) || '.' || quote_ident($1), $2), $3, true)",
        )
        .bind(&t.name)
        .bind(col)
        .bind(high)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// Copies the backup's photos into the data folder; one already there must be the same.
fn copy_files(manifest: &Manifest, from: &Path, data_dir: &Path) -> anyhow::Result<usize> {
    let mut seen: HashMap<&str, ()> = HashMap::new();
    for f in &manifest.files {
        if seen.insert(f.path.as_str(), ()).is_some() {
            continue;
        }
        let target = data_dir.join(&f.path);
        if target.exists() {
            let (_, h) = hash_file(&target)?;
            if h != f.sha256 {
                bail!(
                    "{} exists with other content; restore into an empty data folder",
                    target.display()
                );
            }
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::copy(from.join(&f.path), &target)
            .with_context(|| format!("copying {}", f.path))?;
    }
    Ok(manifest.files.len())
}
