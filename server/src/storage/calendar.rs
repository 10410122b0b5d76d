//! The working calendar's tables: `calendar_years` and their `calendar_days`.

use minsheng_model::AuditEntity;

use super::{AuditRecord, Db, StoreResult, audit, with_db};

/// A loaded year.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CalendarYearRow {
    pub year: i64,
    pub source: String,
    pub updated_at: i64,
    pub off_days: i64,
    pub swapped_workdays: i64,
}

/// One listed date.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CalendarDayRow {
    pub day: String,
    pub year: i64,
    pub name: String,
    pub off_day: bool,
}

const YEARS: &str = "SELECT y.year, y.source, y.updated_at,
        (SELECT COUNT(*) FROM calendar_days d WHERE d.year = y.year AND d.off_day) AS off_days,
        (SELECT COUNT(*) FROM calendar_days d WHERE d.year = y.year AND NOT d.off_day) AS swapped_workdays
     FROM calendar_years y";

impl Db {
    /// Every loaded year, oldest first.
    pub async fn calendar_years(&self) -> StoreResult<Vec<CalendarYearRow>> {
        let sql = format!("{YEARS} ORDER BY y.year");
        Ok(
            with_db!(self, p => sqlx::query_as::<_, CalendarYearRow>(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?,
        )
    }

    /// One loaded year.
    pub async fn calendar_year(&self, year: i64) -> StoreResult<Option<CalendarYearRow>> {
        let sql = format!("{YEARS} WHERE y.year = $1");
        Ok(
            with_db!(self, p => sqlx::query_as::<_, CalendarYearRow>(sqlx::AssertSqlSafe(sql)).bind(year).fetch_optional(p).await)?,
        )
    }

    /// The listed dates of one year (`None`: every year), in date order.
    pub async fn calendar_days(&self, year: Option<i64>) -> StoreResult<Vec<CalendarDayRow>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, CalendarDayRow>(
            "SELECT day, year, name, off_day FROM calendar_days WHERE $1 IS NULL OR year = $1 ORDER BY day",
        ).bind(year).fetch_all(p).await)?)
    }

    /// Stores `year` with `days` (date, name, off) in one transaction. With `replace` the
    /// year's earlier dates go; without it nothing happens when the year is loaded already
    /// (`false`), so a shipped file never overwrites an admin's edit.
    pub async fn put_calendar_year(
        &self,
        year: i64,
        days: &[(String, String, bool)],
        source: &str,
        by: Option<i64>,
        replace: bool,
        now: i64,
    ) -> StoreResult<bool> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let sql = if replace {
                "INSERT INTO calendar_years (year, source, updated_at, updated_by) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (year) DO UPDATE SET source = excluded.source,
                     updated_at = excluded.updated_at, updated_by = excluded.updated_by"
            } else {
                "INSERT INTO calendar_years (year, source, updated_at, updated_by) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (year) DO NOTHING"
            };
            let n = sqlx::query(sql)
                .bind(year).bind(source).bind(now).bind(by)
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Ok::<_, sqlx::Error>(false);
            }
            // An admin's year is audited with the dates it replaced; the shipped years are not.
            let before: Vec<(String, String, bool)> = if replace {
                sqlx::query_as("SELECT day, name, off_day FROM calendar_days WHERE year = $1 ORDER BY day")
                    .bind(year).fetch_all(&mut *tx).await?
            } else {
                Vec::new()
            };
            sqlx::query("DELETE FROM calendar_days WHERE year = $1")
                .bind(year).execute(&mut *tx).await?;
            for (day, name, off) in days {
                sqlx::query("INSERT INTO calendar_days (day, year, name, off_day) VALUES ($1, $2, $3, $4)")
                    .bind(day).bind(year).bind(name).bind(off)
                    .execute(&mut *tx).await?;
            }
            if replace {
                let days_json = |d: &[(String, String, bool)]| {
                    serde_json::json!({ "days": d.iter().map(|(day, name, off)| {
                        serde_json::json!({ "date": day, "name": name, "isOffDay": off })
                    }).collect::<Vec<_>>() })
                };
                let mut rec = AuditRecord::new(by, if before.is_empty() { "create" } else { "update" }, AuditEntity::Calendar, Some(year));
                rec.before = (!before.is_empty()).then(|| days_json(&before));
                rec.after = Some(days_json(days));
                audit!(tx, now, &rec)?;
            }
            tx.commit().await?;
            Ok(true)
        }.await)?)
    }
}
