//! `minsheng backup --out DIR`: the database read in one consistent snapshot (SQLite one
//! read transaction, PostgreSQL one `REPEATABLE READ READ ONLY` transaction) while the
//! server keeps serving, written as one JSON-lines file per table, plus the photos, plus
//! `manifest.json` (written last: a folder without it is an unfinished backup).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::catalog::{self, ColType, Column, Table};
use crate::storage::Db;

/// What `format` says in every manifest.
pub const FORMAT: &str = "minsheng-backup";
/// Bumped when the layout changes in a way an older restore could not read.
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// The release that wrote it.
    pub minsheng_version: String,
    /// `sqlite` or `postgres`.
    pub source: String,
    /// The newest migration the database had.
    pub schema_version: i64,
    /// Milliseconds since the epoch when the snapshot was taken.
    pub taken_at: i64,
    pub tables: Vec<TableEntry>,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TableEntry {
    pub name: String,
    /// Each line of the table's file is a JSON array of these, in this order.
    pub columns: Vec<Column>,
    pub rows: u64,
    /// Relative to the backup folder.
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    /// The highest id the table's sequence had handed out, when above its rows' ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the backup folder (`uploads/...`), the same under the data folder.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// A writer that counts and hashes what passes through it.
pub(crate) struct Hashed<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Hashed<W> {
    pub(crate) fn new(inner: W) -> Self {
        Hashed {
            inner,
            hash: Sha256::new(),
            bytes: 0,
        }
    }

    pub(crate) fn finish(mut self) -> std::io::Result<(u64, String)> {
        self.inner.flush()?;
        Ok((self.bytes, hex::encode(self.hash.finalize())))
    }
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The size and SHA-256 of a file.
pub(crate) fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Hashed::new(std::io::sink());
    std::io::copy(&mut f, &mut h)?;
    h.finish()
}

/// Reads one row's columns as JSON values (the same code for both databases' rows).
macro_rules! row_values {
    ($row:expr, $columns:expr) => {{
        let row = $row;
        let mut out = Vec::with_capacity($columns.len());
        for (i, c) in $columns.iter().enumerate() {
            out.push(match c.ty {
                ColType::Int => row
                    .try_get_unchecked::<Option<i64>, _>(i)?
                    .map_or(Value::Null, Value::from),
                ColType::Real => row
                    .try_get_unchecked::<Option<f64>, _>(i)?
                    .map_or(Value::Null, Value::from),
                ColType::Bool => row
                    .try_get_unchecked::<Option<bool>, _>(i)?
                    .map_or(Value::Null, Value::from),
                ColType::Text => row
                    .try_get_unchecked::<Option<String>, _>(i)?
                    .map_or(Value::Null, Value::from),
            });
        }
        out
    }};
}

/// One table's rows, streamed to `tables/<name>.jsonl`.
macro_rules! dump_table {
    ($conn:expr, $t:expr, $postgres:expr, $dir:expr) => {{
        let t: &Table = $t;
        let file = format!("tables/{}.jsonl", t.name);
        let mut out = Hashed::new(std::io::BufWriter::new(
            std::fs::File::create($dir.join(&file)).with_context(|| format!("creating {file}"))?,
        ));
        let mut rows = sqlx::query(catalog::select_all(t, $postgres)).fetch(&mut *$conn);
        let mut n = 0u64;
        while let Some(row) = rows
            .try_next()
            .await
            .with_context(|| format!("reading {}", t.name))?
        {
            let values = row_values!(&row, t.columns);
            serde_json::to_writer(&mut out, &values)?;
            out.write_all(b"\n")?;
            n += 1;
        }
        drop(rows);
        let (bytes, sha256) = out.finish()?;
        (file, n, bytes, sha256)
    }};
}

/// Writes a backup of `db` and of the photos under `data_dir` into `out`, which must not
/// exist or be empty. Returns its manifest.
pub async fn backup(db: &Db, data_dir: &Path, out: &Path) -> anyhow::Result<Manifest> {
    if out.exists()
        && std::fs::read_dir(out)
            .with_context(|| format!("reading {}", out.display()))?
            .next()
            .is_some()
    {
        bail!("{} is not empty; back up into a new folder", out.display());
    }
    std::fs::create_dir_all(out.join("tables"))
        .with_context(|| format!("creating {}", out.display()))?;
    // Password hashes, phone numbers and addresses: for the service's user alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", out.display()))?;
    }
    let taken_at = crate::now_ms();
    let mut entries = Vec::new();
    let schema_version;
    match db {
        Db::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            // The first read fixes the snapshot every later read in this transaction sees.
            schema_version = catalog::sqlite_schema_version(&mut tx).await?;
            let tables = catalog::sqlite_tables(&mut tx).await?;
            for t in &tables {
                let (file, rows, bytes, sha256) = dump_table!(&mut *tx, t, false, out);
                let sequence = catalog::sqlite_sequence(&mut tx, t).await?;
                entries.push(entry(t, file, rows, bytes, sha256, sequence));
            }
            tx.rollback().await?;
        }
        Db::Postgres(pool) => {
            let mut tx = pool
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?;
            schema_version = catalog::postgres_schema_version(&mut tx).await?;
            let tables = catalog::postgres_tables(&mut tx).await?;
            for t in &tables {
                let (file, rows, bytes, sha256) = dump_table!(&mut *tx, t, true, out);
                let sequence = catalog::postgres_sequence(&mut tx, t).await?;
                entries.push(entry(t, file, rows, bytes, sha256, sequence));
            }
            tx.rollback().await?;
        }
    }
    let Some(schema_version) = schema_version else {
        bail!("the database has no schema yet (run `minsheng migrate` first): nothing to back up");
    };
    // Photos are written before the rows naming them, so every photo of the snapshot is
    // on disk by now; later ones are carried too, harmlessly.
    let files = copy_tree(&data_dir.join("uploads"), &out.join("uploads"), "uploads")?;
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        minsheng_version: env!("CARGO_PKG_VERSION").into(),
        source: db.kind().into(),
        schema_version,
        taken_at,
        tables: entries,
        files,
    };
    let tmp = out.join(".manifest.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&manifest)?)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, out.join(MANIFEST))?;
    Ok(manifest)
}

fn entry(
    t: &Table,
    file: String,
    rows: u64,
    bytes: u64,
    sha256: String,
    sequence: Option<i64>,
) -> TableEntry {
    TableEntry {
        name: t.name.clone(),
        columns: t.columns.clone(),
        rows,
        file,
        bytes,
        sha256,
        sequence,
    }
}

/// Copies every file under `from` to `to`, hashing as it goes; paths are relative to the
/// backup folder, prefixed by `prefix`, with `/` between parts.
fn copy_tree(from: &Path, to: &Path, prefix: &str) -> anyhow::Result<Vec<FileEntry>> {
    let mut out = Vec::new();
    if !from.is_dir() {
        return Ok(out);
    }
    let mut stack: Vec<(PathBuf, String)> = vec![(from.to_path_buf(), prefix.to_string())];
    while let Some((dir, rel)) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = format!("{rel}/{name}");
            let kind = e.file_type()?;
            if kind.is_dir() {
                stack.push((e.path(), path));
            } else if kind.is_file() {
                if name.starts_with('.') {
                    continue; // not an upload
                }
                let target = to.join(
                    path.strip_prefix(prefix)
                        .unwrap_or(&path)
                        .trim_start_matches('/'),
                );
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let mut src = match std::fs::File::open(e.path()) {
                    Ok(f) => f,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(err) => return Err(err.into()),
                };
                let mut dst = Hashed::new(std::fs::File::create(&target)?);
                std::io::copy(&mut src, &mut dst)?;
                let (bytes, sha256) = dst.finish()?;
                out.push(FileEntry {
                    path,
                    bytes,
                    sha256,
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
