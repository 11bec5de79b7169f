//! The scheduler: per connector and entity, a cron expression runs incremental batch windows
//! that start a lookback before the last one ended, so nothing a lost notification missed
//! stays missed. Also resumes runs a restart interrupted while listing.

use std::{str::FromStr, sync::Arc, time::Duration};

use kcf_domain::{BatchMode, BatchStatus, Timestamp};
use tokio::sync::watch;

use crate::{BatchRequest, Engine, batch::source_of, connector::Ctx};

/// How far before the previous window's end the next one starts.
pub const LOOKBACK: Duration = Duration::from_secs(30);
/// The first scheduled window, when there is no previous one, covers this much.
pub const FIRST_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Checks the schedules every `tick` until `shutdown`.
pub async fn run(engine: Arc<Engine>, tick: Duration, mut shutdown: watch::Receiver<bool>) {
    resume_interrupted(&engine).await;
    let mut last_check = Timestamp::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        let now = Timestamp::now();
        for conn in engine.runtimes() {
            let Ok(settings) = engine.store.entity_settings(&conn.id).await else {
                continue;
            };
            for s in settings {
                let Some(expr) = s.schedule.as_deref().filter(|e| !e.trim().is_empty()) else {
                    continue;
                };
                if !s.active || source_of(s.entity).is_none() {
                    continue;
                }
                if !due(expr, last_check, now) {
                    continue;
                }
                let from = match engine.store.batch_runs(&conn.id, s.entity, 20).await {
                    Ok(runs) => runs
                        .iter()
                        .filter(|r| r.status != BatchStatus::Failed)
                        .map(|r| r.window_to)
                        .max()
                        .map(|end| end.minus(LOOKBACK))
                        .unwrap_or_else(|| now.minus(FIRST_WINDOW)),
                    Err(_) => now.minus(FIRST_WINDOW),
                };
                let request = BatchRequest {
                    connector: conn.id.clone(),
                    entity: s.entity,
                    mode: BatchMode::Incremental,
                    from,
                    to: now,
                };
                match engine.prepare_batch(request).await {
                    Ok(run) => {
                        tracing::info!(connector = %conn.id, entity = %s.entity, run = run.id, listed = run.listed, "scheduled batch listed")
                    }
                    Err(e) => {
                        tracing::warn!(connector = %conn.id, entity = %s.entity, error = %e, "scheduled batch failed")
                    }
                }
            }
        }
        last_check = now;
    }
}

/// Whether cron `expr` (evaluated in UTC) fires in (after, now].
pub fn due(expr: &str, after: Timestamp, now: Timestamp) -> bool {
    let Ok(cron) = croner::Cron::from_str(expr) else {
        return false;
    };
    let Ok(after) = jiff::Timestamp::from_millisecond(after.0) else {
        return false;
    };
    let start = Utc(jiff::tz::Offset::UTC.to_datetime(after));
    match cron.find_next_occurrence(&start, false) {
        Ok(next) => jiff::tz::Offset::UTC
            .to_timestamp(next.0)
            .map(|t| t.as_millisecond() <= now.0)
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// A UTC wall-clock time for croner (its own jiff support is for an older jiff).
#[derive(Debug, Clone, Copy)]
struct Utc(jiff::civil::DateTime);

impl croner::CronDateTime for Utc {
    fn to_civil(&self) -> croner::CivilDateTime {
        let d = self.0;
        croner::CivilDateTime::from_ymd_hms_opt(
            i32::from(d.year()),
            d.month() as u32,
            d.day() as u32,
            d.hour() as u32,
            d.minute() as u32,
            d.second() as u32,
        )
        .unwrap_or(croner::CivilDateTime::new(
            croner::CivilDate::from_parts_unchecked(1970, 1, 1),
            croner::CivilTime::from_parts_unchecked(0, 0, 0),
        ))
    }

    fn civil_weekday(&self) -> croner::Weekday {
        croner::Weekday::from_days_from_sunday(self.0.weekday().to_sunday_zero_offset() as u32)
    }

    fn resolve_civil(
        &self,
        civil: croner::CivilDateTime,
    ) -> Result<croner::Resolution<Self>, croner::errors::CronError> {
        jiff::civil::DateTime::new(
            i16::try_from(civil.year()).unwrap_or(i16::MAX),
            civil.month() as i8,
            civil.day() as i8,
            civil.hour() as i8,
            civil.minute() as i8,
            civil.second() as i8,
            0,
        )
        .map(|d| croner::Resolution::Single(Utc(d)))
        .map_err(|_| croner::errors::CronError::TimeSearchLimitExceeded)
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(jiff::SignedDuration::from_secs(seconds))
            .ok()
            .map(Utc)
    }

    fn cmp_instant(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

/// Validates a cron expression, for settings screens and config files.
pub fn check_schedule(expr: &str) -> Result<(), String> {
    croner::Cron::from_str(expr)
        .map(|_| ())
        .map_err(|e| format!("'{expr}' is not a cron expression: {e}"))
}

async fn resume_interrupted(engine: &Arc<Engine>) {
    for conn in engine.runtimes() {
        for entity in kcf_domain::Entity::all() {
            let Some(direction) = source_of(*entity) else {
                continue;
            };
            let Ok(runs) = engine.store.batch_runs(&conn.id, *entity, 5).await else {
                continue;
            };
            for run in runs
                .into_iter()
                .filter(|r| r.status == BatchStatus::Listing)
            {
                tracing::info!(connector = %conn.id, entity = %entity, run = run.id, "resuming an interrupted batch listing");
                let ctx = Ctx::new(engine.store.clone(), conn.clone());
                if let Err(e) = engine.list_run(&ctx, run, direction).await {
                    tracing::warn!(error = %e, "resuming the batch failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp(
            s.parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .unwrap_or(0),
        )
    }

    #[test]
    fn due_fires_once_per_occurrence() {
        let every_hour = "0 * * * *";
        assert!(due(
            every_hour,
            at("2026-01-01T10:59:00Z"),
            at("2026-01-01T11:00:00Z")
        ));
        assert!(!due(
            every_hour,
            at("2026-01-01T11:00:00Z"),
            at("2026-01-01T11:30:00Z")
        ));
        let nightly = "30 2 * * *";
        assert!(due(
            nightly,
            at("2026-01-01T02:00:00Z"),
            at("2026-01-01T03:00:00Z")
        ));
        assert!(!due(
            nightly,
            at("2026-01-01T03:00:00Z"),
            at("2026-01-02T02:00:00Z")
        ));
    }

    #[test]
    fn bad_expressions_are_refused_in_words() {
        assert!(check_schedule("0 * * * *").is_ok());
        let e = check_schedule("every night").unwrap_err();
        assert!(e.contains("every night"), "{e}");
        assert!(!due(
            "nonsense",
            at("2026-01-01T00:00:00Z"),
            at("2027-01-01T00:00:00Z")
        ));
    }
}
