//! Backups on a schedule (`MINSHENG_BACKUP_DIR`, `MINSHENG_BACKUP_INTERVAL_HOURS`,
//! `MINSHENG_BACKUP_KEEP`). Every instance asks at each scheduler tick; the run is claimed
//! in the database (`job_runs`, a conditional update), so one instance makes each backup
//! however many run. A backup is written under a hidden name and renamed when complete,
//! then all but the newest `MINSHENG_BACKUP_KEEP` complete backups are deleted.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;

use anyhow::Context;

use crate::app::AppState;

/// The name every scheduled backup starts with (then its UTC time, sortable).
pub const PREFIX: &str = "minsheng-backup-";
const JOB: &str = "backup";

/// The instances (by their state's address) making a backup now: a slow one must not
/// overlap the next one this instance claims.
static RUNNING: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn running() -> std::sync::MutexGuard<'static, Vec<usize>> {
    RUNNING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Called at each scheduler tick: starts a backup when one is due and this instance claims it.
pub async fn tick(state: &Arc<AppState>) -> anyhow::Result<()> {
    let Some(dir) = state.cfg.ops.backup_dir.clone() else {
        return Ok(());
    };
    let me = Arc::as_ptr(state) as usize;
    if running().contains(&me) {
        return Ok(());
    }
    let now = crate::now_ms();
    let every = (state.cfg.ops.backup_interval_hours * 3_600_000.0) as i64;
    if !state.db.claim_job(JOB, now, now + every.max(1)).await? {
        return Ok(());
    }
    running().push(me);
    let state = state.clone();
    tokio::spawn(async move {
        match run(&state, &dir).await {
            Ok(path) => tracing::info!(path = %path.display(), "scheduled backup written"),
            Err(e) => tracing::warn!(error = format!("{e:#}"), "scheduled backup failed"),
        }
        running().retain(|x| *x != me);
    });
    Ok(())
}

/// Writes one backup into `dir` and prunes the old ones; the new backup's folder.
pub async fn run(state: &AppState, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let name = format!("{PREFIX}{stamp}");
    let partial = dir.join(format!(".{name}.partial"));
    let done = dir.join(&name);
    let written = crate::ops::backup::backup(&state.db, &state.cfg.data_dir, &partial).await;
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &done)?;
    prune(dir, state.cfg.ops.backup_keep)?;
    // A backup cut off by a stop leaves its hidden folder; one older than an interval is
    // no longer being written by anyone.
    let interval =
        std::time::Duration::from_secs_f64((state.cfg.ops.backup_interval_hours * 3600.0).min(1e9));
    remove_unfinished(dir, interval);
    Ok(done)
}

/// Deletes all but the newest `keep` complete scheduled backups in `dir`.
pub fn prune(dir: &Path, keep: usize) -> anyhow::Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(PREFIX) && dir.join(n).join("manifest.json").is_file())
        .collect();
    names.sort();
    let old = names.len().saturating_sub(keep.max(1));
    for n in &names[..old] {
        std::fs::remove_dir_all(dir.join(n)).with_context(|| format!("removing {n}"))?;
    }
    Ok(())
}

/// Removes unfinished scheduled backups (hidden `.partial` folders) older than `age`.
fn remove_unfinished(dir: &Path, age: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|a| a > age);
        if name.starts_with(&format!(".{PREFIX}"))
            && name.ends_with(".partial")
            && old
            && let Err(err) = std::fs::remove_dir_all(e.path())
        {
            tracing::warn!(error = %err, name, "removing an unfinished backup");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_keeps_the_newest_complete_backups_and_clears_cut_off_ones() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "20260101T000000.000Z",
            "20260102T000000.000Z",
            "20260103T000000.000Z",
        ] {
            let b = dir.path().join(format!("{PREFIX}{n}"));
            std::fs::create_dir_all(&b).unwrap();
            std::fs::write(b.join("manifest.json"), "{}").unwrap();
        }
        // Unfinished, and not ours: left alone.
        std::fs::create_dir_all(dir.path().join(format!("{PREFIX}20250101T000000.000Z"))).unwrap();
        std::fs::create_dir_all(dir.path().join("other")).unwrap();
        let cut_off = dir
            .path()
            .join(format!(".{PREFIX}20250102T000000.000Z.partial"));
        std::fs::create_dir_all(&cut_off).unwrap();
        remove_unfinished(dir.path(), std::time::Duration::from_secs(3600));
        assert!(cut_off.exists(), "one being written now is left alone");
        remove_unfinished(dir.path(), std::time::Duration::ZERO);
        assert!(!cut_off.exists(), "one older than an interval is removed");
        prune(dir.path(), 2).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                format!("{PREFIX}20250101T000000.000Z"),
                format!("{PREFIX}20260102T000000.000Z"),
                format!("{PREFIX}20260103T000000.000Z"),
                "other".to_string()
            ]
        );
    }
}
