//! Households, supervisors' communities, visit rounds, visits (with findings, photos and
//! corrections) and weekly meeting records.
//!
//! A visit's id comes from the phone, so storing one is naturally idempotent: the insert
//! does nothing on a second arrival and the caller reads back what is stored.

use minsheng_model::AuditEntity;
use serde_json::json;

use super::{
    AuditRecord, Bind, Db, Sql, StoreError, StoreResult, audit, bind_all, unique_as, with_db,
};

/// Which households a viewer may see: everything, or those under some area paths plus the
/// ones the viewer is personally responsible for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HouseholdScope {
    All,
    Within { paths: Vec<String>, user_id: i64 },
}

impl HouseholdScope {
    /// Whether a household at `area_path` with this responsible user falls within the scope.
    pub fn admits(&self, area_path: &str, responsible: Option<i64>) -> bool {
        match self {
            HouseholdScope::All => true,
            HouseholdScope::Within { paths, user_id } => {
                responsible == Some(*user_id) || paths.iter().any(|p| area_path.starts_with(p))
            }
        }
    }

    fn push(&self, sql: &mut Sql) {
        if let HouseholdScope::Within { paths, user_id } = self {
            sql.push(" AND (h.responsible_user_id = ")
                .bind(Bind::I64(*user_id));
            for p in paths {
                sql.push(" OR a.path LIKE ")
                    .bind(Bind::Str(format!("{p}%")));
            }
            sql.push(")");
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HouseholdRow {
    pub id: i64,
    pub area_id: i64,
    pub area_path: String,
    pub area_name: String,
    pub address: String,
    pub head_name: Option<String>,
    pub phone: Option<String>,
    pub members: i64,
    pub tags: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub responsible_user_id: Option<i64>,
    pub responsible_name: Option<String>,
    pub last_visit_at: Option<i64>,
    /// 1 when visited in the round asked about.
    pub visited: i64,
}

/// Filters of the household list.
#[derive(Debug, Clone, Default)]
pub struct HouseholdFilter {
    pub round_id: Option<i64>,
    pub area_path: Option<String>,
    pub text: Option<String>,
    pub unvisited: bool,
    pub responsible_user_id: Option<i64>,
    pub offset: i64,
    pub limit: i64,
}

/// A checked household from an import.
#[derive(Debug, Clone)]
pub struct HouseholdRecord {
    pub area_id: i64,
    pub address: String,
    pub head_name: Option<String>,
    pub phone: Option<String>,
    pub members: i64,
    pub tags: Vec<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// `Some` to set the responsible cadre; `None` leaves it as it is.
    pub responsible_user_id: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoundRow {
    pub id: i64,
    pub name: String,
    pub area_id: i64,
    pub area_path: String,
    pub area_name: String,
    pub starts_on: String,
    pub due_on: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewRoundRecord {
    pub name: String,
    pub area_id: i64,
    pub starts_on: String,
    pub due_on: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub created_by: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisitRow {
    pub id: String,
    pub household_id: i64,
    pub household_address: String,
    pub area_id: i64,
    pub area_path: String,
    pub responsible_user_id: Option<i64>,
    pub round_id: Option<i64>,
    pub visitor_id: i64,
    pub visitor_name: String,
    pub visited_at: i64,
    pub recorded_at: i64,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub accuracy: Option<f64>,
    pub distance_m: Option<f64>,
    pub flags: String,
    pub purpose: String,
    pub notes: Option<String>,
    pub satisfaction: Option<String>,
    pub follow_up_on: Option<String>,
    pub followed_up: i64,
    pub revision: i64,
    pub content_hash: String,
}

/// A visit to store (checked already).
#[derive(Debug, Clone)]
pub struct VisitRecord {
    pub id: String,
    pub household_id: i64,
    pub round_id: Option<i64>,
    pub visitor_id: i64,
    pub visited_at: i64,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub accuracy: Option<f64>,
    pub distance_m: Option<f64>,
    pub flags: String,
    pub purpose: String,
    pub notes: Option<String>,
    pub satisfaction: Option<String>,
    pub follow_up_on: Option<String>,
    pub follow_up_due: Option<i64>,
    pub revision: i64,
    pub content_hash: String,
    pub findings: Vec<FindingRecord>,
}

#[derive(Debug, Clone)]
pub struct FindingRecord {
    pub id: String,
    pub text: String,
    pub category_id: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FindingRow {
    pub visit_id: String,
    pub id: String,
    pub text: String,
    pub category_id: Option<i64>,
    pub case_id: Option<i64>,
    pub tracking_no: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub revision: i64,
    pub snapshot: String,
    pub replaced_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisitPhotoRow {
    pub id: i64,
    pub visit_id: String,
    pub content_type: String,
    pub size: i64,
    pub storage_key: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewVisitPhoto {
    pub visit_id: String,
    pub client_id: String,
    pub uploaded_by: i64,
    pub content_type: String,
    pub size: i64,
    pub storage_key: String,
    pub sha256: String,
}

/// Filters of the visit list.
#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    pub household_id: Option<i64>,
    pub round_id: Option<i64>,
    pub visitor_id: Option<i64>,
    pub area_path: Option<String>,
    pub flagged: Option<bool>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Visits recorded before this `(visited_at, id)` (the cursor).
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MeetingRow {
    pub id: String,
    pub area_id: i64,
    pub area_path: String,
    pub area_name: String,
    pub supervisor_id: i64,
    pub supervisor_name: String,
    pub held_at: i64,
    pub attended: bool,
    pub checked: Option<String>,
    pub notes: Option<String>,
    pub recorded_at: i64,
    pub content_hash: String,
}

#[derive(Debug, Clone)]
pub struct MeetingRecord {
    pub id: String,
    pub area_id: i64,
    pub supervisor_id: i64,
    pub held_at: i64,
    pub attended: bool,
    pub checked: Option<String>,
    pub notes: Option<String>,
    pub content_hash: String,
}

/// One household of a round, for coverage.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CoverageHousehold {
    pub id: i64,
    pub area_path: String,
    pub responsible_user_id: Option<i64>,
    pub responsible_name: Option<String>,
}

/// One visit of a round, for coverage.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CoverageVisit {
    pub household_id: i64,
    pub visitor_id: i64,
    pub flagged: bool,
    /// 1 when its follow-up date has passed with no later visit to the household.
    pub overdue: i64,
}

/// A supervisor and one area they cover.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SupervisorArea {
    pub user_id: i64,
    pub display_name: String,
    pub area_path: String,
}

/// A meeting attended, for coverage.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CoverageMeeting {
    pub area_path: String,
    pub supervisor_id: i64,
}

const HOUSEHOLD_SELECT: &str = "SELECT h.id, h.area_id, a.path AS area_path, a.name AS area_name, h.address,
    h.head_name, h.phone, h.members, h.tags, h.lat, h.lng, h.responsible_user_id, u.display_name AS responsible_name,
    (SELECT MAX(v.visited_at) FROM visits v WHERE v.household_id = h.id) AS last_visit_at,
    CAST(CASE WHEN EXISTS (SELECT 1 FROM visits v WHERE v.household_id = h.id AND v.round_id = $1) THEN 1 ELSE 0 END AS BIGINT) AS visited
    FROM households h JOIN areas a ON a.id = h.area_id LEFT JOIN users u ON u.id = h.responsible_user_id";

const VISIT_SELECT: &str = "SELECT v.id, v.household_id, h.address AS household_address, h.area_id, a.path AS area_path,
    h.responsible_user_id, v.round_id, v.visitor_id, u.display_name AS visitor_name, v.visited_at, v.recorded_at,
    v.lat, v.lng, v.accuracy, v.distance_m, v.flags, v.purpose, v.notes, v.satisfaction, v.follow_up_on,
    CAST(CASE WHEN EXISTS (SELECT 1 FROM visits w WHERE w.household_id = v.household_id AND w.visited_at > v.visited_at) THEN 1 ELSE 0 END AS BIGINT) AS followed_up,
    v.revision, v.content_hash
    FROM visits v JOIN households h ON h.id = v.household_id JOIN areas a ON a.id = h.area_id
    JOIN users u ON u.id = v.visitor_id";

const ROUND_SELECT: &str = "SELECT r.id, r.name, r.area_id, a.path AS area_path, a.name AS area_name, r.starts_on,
    r.due_on, r.starts_at, r.ends_at, r.created_at FROM visit_rounds r JOIN areas a ON a.id = r.area_id";

const MEETING_SELECT: &str = "SELECT m.id, m.area_id, a.path AS area_path, a.name AS area_name, m.supervisor_id,
    u.display_name AS supervisor_name, m.held_at, m.attended, m.checked, m.notes, m.recorded_at, m.content_hash
    FROM meetings m JOIN areas a ON a.id = m.area_id JOIN users u ON u.id = m.supervisor_id";

fn like_pattern(t: &str) -> String {
    format!(
        "%{}%",
        t.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

impl Db {
    fn push_household_filter(&self, sql: &mut Sql, scope: &HouseholdScope, f: &HouseholdFilter) {
        sql.push(" WHERE 1 = 1");
        scope.push(sql);
        if let Some(p) = &f.area_path {
            sql.push(" AND a.path LIKE ")
                .bind(Bind::Str(format!("{p}%")));
        }
        if let Some(u) = f.responsible_user_id {
            sql.push(" AND h.responsible_user_id = ").bind(Bind::I64(u));
        }
        if let Some(t) = &f.text {
            let pattern = like_pattern(t);
            sql.push(" AND (h.address ")
                .push(self.ilike())
                .push(" ")
                .bind(Bind::Str(pattern.clone()));
            sql.push(" ESCAPE '\\' OR h.tags ")
                .push(self.ilike())
                .push(" ")
                .bind(Bind::Str(pattern));
            sql.push(" ESCAPE '\\')");
        }
        if f.unvisited {
            sql.push(" AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.household_id = h.id AND v.round_id = ")
                .bind(Bind::I64(f.round_id.unwrap_or(-1)));
            sql.push(")");
        }
    }

    /// A page of households within `scope`: not yet visited in the round first, then by address.
    pub async fn households(
        &self,
        scope: &HouseholdScope,
        f: &HouseholdFilter,
    ) -> StoreResult<(Vec<HouseholdRow>, i64)> {
        let mut sql = Sql::new(HOUSEHOLD_SELECT);
        sql.binds.push(Bind::I64(f.round_id.unwrap_or(-1)));
        self.push_household_filter(&mut sql, scope, f);
        sql.push(" ORDER BY visited, h.address, h.id LIMIT ")
            .bind(Bind::I64(f.limit));
        sql.push(" OFFSET ").bind(Bind::I64(f.offset));
        let mut count =
            Sql::new("SELECT COUNT(*) FROM households h JOIN areas a ON a.id = h.area_id");
        self.push_household_filter(&mut count, scope, f);
        let (q, cq) = (sql.sql(), count.sql());
        let rows = with_db!(self, p => bind_all!(sqlx::query_as::<_, HouseholdRow>(q), sql.binds.clone()).fetch_all(p).await)?;
        let total = with_db!(self, p => bind_all!(sqlx::query_scalar::<_, i64>(cq), count.binds.clone()).fetch_one(p).await)?;
        Ok((rows, total))
    }

    pub async fn household(
        &self,
        id: i64,
        round_id: Option<i64>,
    ) -> StoreResult<Option<HouseholdRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{HOUSEHOLD_SELECT} WHERE h.id = $2"));
        Ok(with_db!(self, p => sqlx::query_as::<_, HouseholdRow>(sql)
            .bind(round_id.unwrap_or(-1)).bind(id).fetch_optional(p).await)?)
    }

    /// Stores an import in one transaction: a household already at the same grid and address
    /// is updated, any other is created. Returns (created, updated).
    /// Stores an import (all or nothing) with its audit entry: how many households it
    /// created and updated, not their residents' names and phones.
    pub async fn import_households(
        &self,
        rows: &[HouseholdRecord],
        now: i64,
        actor: Option<i64>,
    ) -> StoreResult<(i64, i64)> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let (mut created, mut updated) = (0, 0);
            for r in rows {
                let tags = serde_json::to_string(&r.tags).unwrap_or_else(|_| "[]".into());
                let existing = sqlx::query_scalar::<_, i64>(
                    "SELECT id FROM households WHERE area_id = $1 AND address = $2",
                )
                .bind(r.area_id).bind(&r.address).fetch_optional(&mut *tx).await?;
                match existing {
                    Some(id) => {
                        sqlx::query(
                            "UPDATE households SET head_name = $1, phone = $2, members = $3, tags = $4, lat = $5, lng = $6,
                                responsible_user_id = COALESCE($7, responsible_user_id), updated_at = $8 WHERE id = $9",
                        )
                        .bind(&r.head_name).bind(&r.phone).bind(r.members).bind(&tags).bind(r.lat).bind(r.lng)
                        .bind(r.responsible_user_id).bind(now).bind(id)
                        .execute(&mut *tx).await?;
                        updated += 1;
                    }
                    None => {
                        sqlx::query(
                            "INSERT INTO households (area_id, address, head_name, phone, members, tags, lat, lng,
                                responsible_user_id, created_at, updated_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
                        )
                        .bind(r.area_id).bind(&r.address).bind(&r.head_name).bind(&r.phone).bind(r.members)
                        .bind(&tags).bind(r.lat).bind(r.lng).bind(r.responsible_user_id).bind(now)
                        .execute(&mut *tx).await?;
                        created += 1;
                    }
                }
            }
            let mut areas: Vec<i64> = rows.iter().map(|r| r.area_id).collect();
            areas.sort_unstable();
            areas.dedup();
            let mut rec = AuditRecord::new(actor, "import", AuditEntity::Household, None);
            rec.after = Some(json!({ "rows": rows.len(), "created": created, "updated": updated, "area_ids": areas }));
            audit!(tx, now, &rec)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>((created, updated))
        }.await)?)
    }

    /// The (area, address) of the households already in these areas, for a dry-run import.
    pub async fn household_keys(&self, area_ids: &[i64]) -> StoreResult<Vec<(i64, String)>> {
        if area_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT area_id, address FROM households WHERE 1 = 1");
        sql.push_in_i64("area_id", area_ids);
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, (i64, String)>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// Makes `user_id` responsible for the households (all of them exist, or nothing changes).
    /// Makes `user_id` responsible for the households (包保), all or none, with one audit
    /// entry holding each household's previous cadre.
    pub async fn assign_households(
        &self,
        ids: &[i64],
        user_id: Option<i64>,
        now: i64,
        actor: Option<i64>,
    ) -> StoreResult<u64> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let mut n = 0;
            let mut before = Vec::new();
            for id in ids {
                let Some(prev) = sqlx::query_scalar::<_, Option<i64>>(
                    "SELECT responsible_user_id FROM households WHERE id = $1",
                ).bind(id).fetch_optional(&mut *tx).await? else {
                    return Err(StoreError::NotFound);
                };
                before.push(json!({ "household_id": id, "user_id": prev }));
                let r = sqlx::query("UPDATE households SET responsible_user_id = $1, updated_at = $2 WHERE id = $3")
                    .bind(user_id).bind(now).bind(id).execute(&mut *tx).await?;
                n += r.rows_affected();
            }
            let mut rec = AuditRecord::new(actor, "assign", AuditEntity::Household, None);
            rec.before = Some(json!({ "households": before }));
            rec.after = Some(json!({ "household_ids": ids, "user_id": user_id }));
            audit!(tx, now, &rec)?;
            tx.commit().await?;
            Ok::<_, StoreError>(n)
        }.await)?)
    }

    /// The area paths a supervisor covers: their own area and the communities assigned to them.
    pub async fn supervisor_paths(&self, user_id: i64) -> StoreResult<Vec<String>> {
        Ok(with_db!(self, p => sqlx::query_scalar::<_, String>(
            "SELECT a.path FROM areas a WHERE a.id IN (SELECT area_id FROM supervisor_areas WHERE user_id = $1)
                OR a.id = (SELECT area_id FROM users WHERE id = $1)",
        ).bind(user_id).fetch_all(p).await)?)
    }

    /// Replaces the communities a supervisor covers, with its audit entry.
    pub async fn set_supervisor_areas(
        &self,
        user_id: i64,
        area_ids: &[i64],
        now: i64,
        actor: Option<i64>,
    ) -> StoreResult<()> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let before = sqlx::query_scalar::<_, i64>(
                "SELECT area_id FROM supervisor_areas WHERE user_id = $1 ORDER BY area_id",
            ).bind(user_id).fetch_all(&mut *tx).await?;
            sqlx::query("DELETE FROM supervisor_areas WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            for a in area_ids {
                sqlx::query("INSERT INTO supervisor_areas (user_id, area_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(user_id).bind(a).execute(&mut *tx).await?;
            }
            let mut rec = AuditRecord::new(actor, "assign", AuditEntity::SupervisorArea, Some(user_id));
            rec.before = Some(json!({ "area_ids": before }));
            rec.after = Some(json!({ "area_ids": area_ids }));
            audit!(tx, now, &rec)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        }.await)?)
    }

    /// Makes `user_ids` the supervisors of each of `area_ids` (all in one transaction), with
    /// one audit entry holding each community's supervisors before and after.
    pub async fn set_community_supervisors(
        &self,
        area_ids: &[i64],
        user_ids: &[i64],
        now: i64,
        actor: Option<i64>,
    ) -> StoreResult<()> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let mut before = Vec::new();
            for a in area_ids {
                let had = sqlx::query_scalar::<_, i64>(
                    "SELECT user_id FROM supervisor_areas WHERE area_id = $1 ORDER BY user_id",
                ).bind(a).fetch_all(&mut *tx).await?;
                before.push(json!({ "area_id": a, "user_ids": had }));
                sqlx::query("DELETE FROM supervisor_areas WHERE area_id = $1").bind(a).execute(&mut *tx).await?;
                for u in user_ids {
                    sqlx::query("INSERT INTO supervisor_areas (user_id, area_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(u).bind(a).execute(&mut *tx).await?;
                }
            }
            let mut rec = AuditRecord::new(actor, "assign", AuditEntity::SupervisorArea, None);
            rec.before = Some(json!({ "communities": before }));
            rec.after = Some(json!({ "area_ids": area_ids, "user_ids": user_ids }));
            audit!(tx, now, &rec)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        }.await)?)
    }

    /// Every supervisor with each area they cover.
    pub async fn supervisor_areas(&self) -> StoreResult<Vec<SupervisorArea>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, SupervisorArea>(
            "SELECT u.id AS user_id, u.display_name, a.path AS area_path FROM users u
               JOIN areas a ON a.id = u.area_id WHERE u.role = 'supervisor' AND u.active
             UNION
             SELECT u.id AS user_id, u.display_name, a.path AS area_path FROM supervisor_areas s
               JOIN users u ON u.id = s.user_id JOIN areas a ON a.id = s.area_id WHERE u.role = 'supervisor' AND u.active",
        ).fetch_all(p).await)?)
    }

    /// Plans a round, with its audit entry (by its creator).
    pub async fn create_round(&self, r: &NewRoundRecord, now: i64) -> StoreResult<i64> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO visit_rounds (name, area_id, starts_on, due_on, starts_at, ends_at, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(&r.name).bind(r.area_id).bind(&r.starts_on).bind(&r.due_on).bind(r.starts_at).bind(r.ends_at)
            .bind(r.created_by).bind(now).fetch_one(&mut *tx).await?;
            let mut rec = AuditRecord::new(Some(r.created_by), "create", AuditEntity::Round, Some(id));
            rec.after = Some(json!({ "name": r.name, "area_id": r.area_id, "starts_on": r.starts_on, "due_on": r.due_on }));
            audit!(tx, now, &rec)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(id)
        }.await)?)
    }

    pub async fn round(&self, id: i64) -> StoreResult<Option<RoundRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{ROUND_SELECT} WHERE r.id = $1"));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, RoundRow>(sql).bind(id).fetch_optional(p).await)?,
        )
    }

    /// Every round, newest first.
    pub async fn rounds(&self) -> StoreResult<Vec<RoundRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{ROUND_SELECT} ORDER BY r.starts_at DESC, r.id DESC"
        ));
        Ok(with_db!(self, p => sqlx::query_as::<_, RoundRow>(sql).fetch_all(p).await)?)
    }

    /// The newest round covering a household at `area_path` at time `at`.
    pub async fn round_for(&self, area_path: &str, at: i64) -> StoreResult<Option<RoundRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{ROUND_SELECT} WHERE $1 LIKE (a.path || '%') AND r.starts_at <= $2 AND r.ends_at > $2
             ORDER BY r.id DESC LIMIT 1"
        ));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, RoundRow>(sql).bind(area_path).bind(at).fetch_optional(p).await)?,
        )
    }

    /// (households under the round's area, of them visited in the round).
    pub async fn round_progress(&self, r: &RoundRow) -> StoreResult<(i64, i64)> {
        Ok(with_db!(self, p => {
            let total = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM households h JOIN areas a ON a.id = h.area_id WHERE a.path LIKE $1",
            ).bind(format!("{}%", r.area_path)).fetch_one(p).await?;
            let visited = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(DISTINCT v.household_id) FROM visits v WHERE v.round_id = $1",
            ).bind(r.id).fetch_one(p).await?;
            Ok::<_, sqlx::Error>((total, visited))
        })?)
    }

    pub async fn visit(&self, id: &str) -> StoreResult<Option<VisitRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{VISIT_SELECT} WHERE v.id = $1"));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, VisitRow>(sql).bind(id).fetch_optional(p).await)?,
        )
    }

    /// A page of visits within `scope`, newest first.
    pub async fn visits(
        &self,
        scope: &HouseholdScope,
        f: &VisitFilter,
    ) -> StoreResult<Vec<VisitRow>> {
        let mut sql = Sql::new(VISIT_SELECT);
        sql.push(" WHERE 1 = 1");
        scope.push(&mut sql);
        if let Some(v) = f.household_id {
            sql.push(" AND v.household_id = ").bind(Bind::I64(v));
        }
        if let Some(v) = f.round_id {
            sql.push(" AND v.round_id = ").bind(Bind::I64(v));
        }
        if let Some(v) = f.visitor_id {
            sql.push(" AND v.visitor_id = ").bind(Bind::I64(v));
        }
        if let Some(p) = &f.area_path {
            sql.push(" AND a.path LIKE ")
                .bind(Bind::Str(format!("{p}%")));
        }
        if let Some(fl) = f.flagged {
            sql.push(" AND v.flagged = ").bind(Bind::Bool(fl));
        }
        if let Some(v) = f.from {
            sql.push(" AND v.visited_at >= ").bind(Bind::I64(v));
        }
        if let Some(v) = f.to {
            sql.push(" AND v.visited_at < ").bind(Bind::I64(v));
        }
        if let Some((at, id)) = &f.before {
            sql.push(" AND (v.visited_at < ").bind(Bind::I64(*at));
            sql.push(" OR (v.visited_at = ").bind(Bind::I64(*at));
            sql.push(" AND v.id < ").bind(Bind::Str(id.clone()));
            sql.push("))");
        }
        sql.push(" ORDER BY v.visited_at DESC, v.id DESC LIMIT ")
            .bind(Bind::I64(f.limit));
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, VisitRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// The findings of these visits, in the order they were written.
    pub async fn findings_of(&self, visit_ids: &[String]) -> StoreResult<Vec<FindingRow>> {
        if visit_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            "SELECT f.visit_id, f.id, f.text, f.category_id, f.case_id, c.tracking_no
             FROM visit_findings f LEFT JOIN cases c ON c.id = f.case_id WHERE 1 = 1",
        );
        sql.push_in("f.visit_id", visit_ids.iter().cloned());
        sql.push(" ORDER BY f.visit_id, f.position");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, FindingRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    pub async fn visit_photos_of(&self, visit_ids: &[String]) -> StoreResult<Vec<VisitPhotoRow>> {
        if visit_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            "SELECT id, visit_id, content_type, size, storage_key, created_at FROM visit_photos WHERE 1 = 1",
        );
        sql.push_in("visit_id", visit_ids.iter().cloned());
        sql.push(" ORDER BY id");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, VisitPhotoRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    pub async fn visit_revisions(&self, visit_id: &str) -> StoreResult<Vec<RevisionRow>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, RevisionRow>(
            "SELECT revision, snapshot, replaced_at FROM visit_revisions WHERE visit_id = $1 ORDER BY revision",
        ).bind(visit_id).fetch_all(p).await)?)
    }

    /// Stores a new visit and its findings in one transaction; `Duplicate` if the id is taken.
    pub async fn insert_visit(&self, r: &VisitRecord, now: i64) -> StoreResult<()> {
        with_db!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO visits (id, household_id, round_id, visitor_id, visited_at, recorded_at, updated_at, lat, lng,
                    accuracy, distance_m, flags, flagged, purpose, notes, satisfaction, follow_up_on, follow_up_due,
                    revision, content_hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
            )
            .bind(&r.id).bind(r.household_id).bind(r.round_id).bind(r.visitor_id).bind(r.visited_at).bind(now)
            .bind(r.lat).bind(r.lng).bind(r.accuracy).bind(r.distance_m).bind(&r.flags).bind(!r.flags.is_empty())
            .bind(&r.purpose).bind(&r.notes).bind(&r.satisfaction).bind(&r.follow_up_on).bind(r.follow_up_due)
            .bind(r.revision).bind(&r.content_hash)
            .execute(&mut *tx).await.map_err(unique_as("visit"))?;
            for (i, f) in r.findings.iter().enumerate() {
                sqlx::query("INSERT INTO visit_findings (visit_id, id, position, text, category_id) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&r.id).bind(&f.id).bind(i as i64).bind(&f.text).bind(f.category_id)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Replaces a visit by a correction, keeping the version it replaces in its history; only
    /// applies if the visit is still at `from_revision` (`Conflict` otherwise). Findings
    /// already raised as cases are kept.
    pub async fn correct_visit(
        &self,
        r: &VisitRecord,
        from_revision: i64,
        snapshot: &serde_json::Value,
        now: i64,
    ) -> StoreResult<()> {
        with_db!(self, p => {
            let mut tx = p.begin().await?;
            let changed = sqlx::query(
                "UPDATE visits SET round_id = $1, visited_at = $2, updated_at = $3, lat = $4, lng = $5, accuracy = $6,
                    distance_m = $7, flags = $8, flagged = $9, purpose = $10, notes = $11, satisfaction = $12,
                    follow_up_on = $13, follow_up_due = $14, revision = $15, content_hash = $16
                 WHERE id = $17 AND revision = $18",
            )
            .bind(r.round_id).bind(r.visited_at).bind(now).bind(r.lat).bind(r.lng).bind(r.accuracy)
            .bind(r.distance_m).bind(&r.flags).bind(!r.flags.is_empty()).bind(&r.purpose).bind(&r.notes)
            .bind(&r.satisfaction).bind(&r.follow_up_on).bind(r.follow_up_due).bind(r.revision).bind(&r.content_hash)
            .bind(&r.id).bind(from_revision)
            .execute(&mut *tx).await?;
            if changed.rows_affected() == 0 {
                return Err(StoreError::Conflict);
            }
            sqlx::query("INSERT INTO visit_revisions (visit_id, revision, snapshot, replaced_at, replaced_by) VALUES ($1, $2, $3, $4, $5)")
                .bind(&r.id).bind(from_revision).bind(snapshot.to_string()).bind(now).bind(r.visitor_id)
                .execute(&mut *tx).await?;
            sqlx::query("DELETE FROM visit_findings WHERE visit_id = $1 AND case_id IS NULL")
                .bind(&r.id).execute(&mut *tx).await?;
            for (i, f) in r.findings.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO visit_findings (visit_id, id, position, text, category_id) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (visit_id, id) DO UPDATE SET position = excluded.position",
                )
                .bind(&r.id).bind(&f.id).bind(i as i64).bind(&f.text).bind(f.category_id)
                .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        })
    }

    /// Records the case raised from a finding (once; a finding keeps its first case).
    pub async fn link_finding(
        &self,
        visit_id: &str,
        finding_id: &str,
        case_id: i64,
    ) -> StoreResult<()> {
        with_db!(self, p => sqlx::query(
            "UPDATE visit_findings SET case_id = $1 WHERE visit_id = $2 AND id = $3 AND case_id IS NULL",
        ).bind(case_id).bind(visit_id).bind(finding_id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Stores a visit photo unless the visit already has `max`; a repeated `client_id`
    /// returns the photo stored the first time (`(photo, created)`).
    pub async fn add_visit_photo(
        &self,
        r: &NewVisitPhoto,
        max: i64,
        now: i64,
    ) -> StoreResult<Option<(VisitPhotoRow, bool)>> {
        const COLS: &str =
            "SELECT id, visit_id, content_type, size, storage_key, created_at FROM visit_photos";
        Ok(with_db!(self, p => {
            let mut tx = p.begin().await?;
            let existing = sqlx::query_as::<_, VisitPhotoRow>(sqlx::AssertSqlSafe(format!("{COLS} WHERE visit_id = $1 AND client_id = $2")))
                .bind(&r.visit_id).bind(&r.client_id).fetch_optional(&mut *tx).await?;
            if let Some(ph) = existing {
                return Ok(Some((ph, false)));
            }
            let n = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM visit_photos WHERE visit_id = $1")
                .bind(&r.visit_id).fetch_one(&mut *tx).await?;
            if n >= max {
                return Ok(None);
            }
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO visit_photos (visit_id, client_id, uploaded_by, content_type, size, storage_key, sha256, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(&r.visit_id).bind(&r.client_id).bind(r.uploaded_by).bind(&r.content_type).bind(r.size)
            .bind(&r.storage_key).bind(&r.sha256).bind(now)
            .fetch_one(&mut *tx).await.map_err(unique_as("photo"))?;
            let ph = sqlx::query_as::<_, VisitPhotoRow>(sqlx::AssertSqlSafe(format!("{COLS} WHERE id = $1")))
                .bind(id).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(Some((ph, true)))
        })?)
    }

    pub async fn visit_photo(&self, id: i64) -> StoreResult<Option<VisitPhotoRow>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, VisitPhotoRow>(
            "SELECT id, visit_id, content_type, size, storage_key, created_at FROM visit_photos WHERE id = $1",
        ).bind(id).fetch_optional(p).await)?)
    }

    /// Stores a meeting record; `false` when its id was stored before.
    pub async fn insert_meeting(&self, m: &MeetingRecord, now: i64) -> StoreResult<bool> {
        let r = with_db!(self, p => sqlx::query(
            "INSERT INTO meetings (id, area_id, supervisor_id, held_at, attended, checked, notes, recorded_at, content_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&m.id).bind(m.area_id).bind(m.supervisor_id).bind(m.held_at).bind(m.attended).bind(&m.checked)
        .bind(&m.notes).bind(now).bind(&m.content_hash).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(r == 1)
    }

    pub async fn meeting(&self, id: &str) -> StoreResult<Option<MeetingRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{MEETING_SELECT} WHERE m.id = $1"));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, MeetingRow>(sql).bind(id).fetch_optional(p).await)?,
        )
    }

    /// Meeting records under `area_path` held in `[from, to)`, newest first.
    pub async fn meetings(
        &self,
        area_path: Option<&str>,
        supervisor: Option<i64>,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<MeetingRow>> {
        let mut sql = Sql::new(MEETING_SELECT);
        sql.push(" WHERE m.held_at >= ").bind(Bind::I64(from));
        sql.push(" AND m.held_at < ").bind(Bind::I64(to));
        if let Some(p) = area_path {
            sql.push(" AND a.path LIKE ")
                .bind(Bind::Str(format!("{p}%")));
        }
        if let Some(s) = supervisor {
            sql.push(" AND m.supervisor_id = ").bind(Bind::I64(s));
        }
        sql.push(" ORDER BY m.held_at DESC LIMIT 1000");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, MeetingRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// The households a round covers, within `scope`.
    pub async fn coverage_households(
        &self,
        round: &RoundRow,
        scope: &HouseholdScope,
    ) -> StoreResult<Vec<CoverageHousehold>> {
        let mut sql = Sql::new(
            "SELECT h.id, a.path AS area_path, h.responsible_user_id, u.display_name AS responsible_name
             FROM households h JOIN areas a ON a.id = h.area_id LEFT JOIN users u ON u.id = h.responsible_user_id
             WHERE a.path LIKE ",
        );
        sql.bind(Bind::Str(format!("{}%", round.area_path)));
        scope.push(&mut sql);
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, CoverageHousehold>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// The visits of a round, with whether each one's follow-up is overdue at `now`.
    pub async fn coverage_visits(
        &self,
        round_id: i64,
        now: i64,
    ) -> StoreResult<Vec<CoverageVisit>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, CoverageVisit>(
            "SELECT v.household_id, v.visitor_id, v.flagged,
                CAST(CASE WHEN v.follow_up_due IS NOT NULL AND v.follow_up_due <= $2 AND NOT EXISTS
                    (SELECT 1 FROM visits w WHERE w.household_id = v.household_id AND w.visited_at > v.visited_at)
                 THEN 1 ELSE 0 END AS BIGINT) AS overdue
             FROM visits v WHERE v.round_id = $1",
        ).bind(round_id).bind(now).fetch_all(p).await)?)
    }

    /// Meetings attended in `[from, to)`.
    pub async fn coverage_meetings(&self, from: i64, to: i64) -> StoreResult<Vec<CoverageMeeting>> {
        Ok(with_db!(self, p => sqlx::query_as::<_, CoverageMeeting>(
            "SELECT a.path AS area_path, m.supervisor_id FROM meetings m JOIN areas a ON a.id = m.area_id
             WHERE m.attended AND m.held_at >= $1 AND m.held_at < $2",
        ).bind(from).bind(to).fetch_all(p).await)?)
    }
}
