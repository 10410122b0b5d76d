//! Scheduled work, run in every instance: rows are claimed by conditional updates in the
//! database, so each step happens once however many instances run.

use std::sync::Arc;
use std::time::Duration;

use crate::app::AppState;

/// Runs the periodic jobs until the task is dropped.
pub async fn run(state: Arc<AppState>) {
    let every = Duration::from_secs_f64(state.cfg.scheduler_interval_secs.max(0.05));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = auto_close(&state).await {
            tracing::warn!(error = %e, "auto-close failed; will retry");
        }
        if let Err(e) = crate::supervision::escalate_due(&state).await {
            tracing::warn!(error = %e, "escalation failed; will retry");
        }
        if let Err(e) = crate::supervision::escalate_report_ins(&state).await {
            tracing::warn!(error = %e, "the report-in ladder failed; will retry");
        }
        if let Err(e) = crate::notify::plan(&state).await {
            tracing::warn!(error = %e, "planning subscribe messages failed; will retry");
        }
        if let Err(e) = crate::notify::send(&state).await {
            tracing::warn!(error = %e, "sending subscribe messages failed; will retry");
        }
        if let Err(e) = crate::channels::hotline::plan(&state).await {
            tracing::warn!(error = %e, "planning hotline callbacks failed; will retry");
        }
        if let Err(e) = crate::channels::hotline::send(&state).await {
            tracing::warn!(error = %e, "sending hotline callbacks failed; will retry");
        }
        if let Err(e) = crate::reports::points::run(&state, state.clock.now_ms()).await {
            tracing::warn!(error = %e, "writing the points ledger failed; will retry");
        }
        if let Err(e) = crate::ops::schedule::tick(&state).await {
            tracing::warn!(error = %e, "claiming a scheduled backup failed; will retry");
        }
        state.limits.prune();
    }
}

/// Closes (销号) resolved cases left unrated for `auto_close_days`.
pub async fn auto_close(state: &AppState) -> anyhow::Result<u64> {
    let now = state.clock.now_ms();
    let cutoff = now - (state.cfg.auto_close_days * 86_400_000.0) as i64;
    let mut total = 0;
    loop {
        let n = state.db.auto_close(cutoff, now, 200).await?;
        total += n;
        if n < 200 {
            break;
        }
    }
    if total > 0 {
        state.feed.committed();
        tracing::info!(closed = total, "auto-closed unrated resolved cases");
    }
    Ok(total)
}
