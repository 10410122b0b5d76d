//! Daily work reports and the points ledger: reports and the requests that filed them, what
//! a cadre did on a day (from the timeline and the visits), the rules, and the ledger with
//! its cursors.

use minsheng_model::AuditEntity;

use super::{AuditRecord, Bind, Db, Sql, StoreResult, audit, bind_all, with_db};

/// Whose reports a viewer may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportScope {
    All,
    /// The cadres of one department.
    Department(i64),
    /// Cadres whose area, or whose department's area, lies in this subtree (path prefix).
    Subtree(String),
    Nothing,
}

impl ReportScope {
    /// Filters rows of `users u` joined with `areas ua` (the user's area) and `areas da`
    /// (the user's department's area).
    fn push(&self, sql: &mut Sql) {
        match self {
            ReportScope::All => {}
            ReportScope::Department(d) => {
                sql.push(" AND u.department_id = ").bind(Bind::I64(*d));
            }
            ReportScope::Subtree(p) => {
                sql.push(" AND (ua.path LIKE ")
                    .bind(Bind::Str(format!("{p}%")))
                    .push(" OR da.path LIKE ")
                    .bind(Bind::Str(format!("{p}%")))
                    .push(")");
            }
            ReportScope::Nothing => {
                sql.push(" AND 1 = 0");
            }
        }
    }
}

/// The joins [`ReportScope::push`] relies on.
const USER_JOINS: &str = " LEFT JOIN departments d ON d.id = u.department_id
     LEFT JOIN areas ua ON ua.id = u.area_id LEFT JOIN areas da ON da.id = d.area_id";

/// A report to store.
#[derive(Debug, Clone)]
pub struct ReportRecord<'a> {
    pub user_id: i64,
    pub client_request_id: &'a str,
    pub day: &'a str,
    pub summary: &'a str,
    pub plan: Option<&'a str>,
    /// `on_time` or `late`; kept from the first filing.
    pub status: &'a str,
    /// JSON of the day's figures now.
    pub figures: String,
}

/// What a submission did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filed {
    Created,
    /// The day already had a report: its text and figures were replaced.
    Updated,
    /// This `client_request_id` was seen before: nothing changed.
    Replayed,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportRow {
    pub id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub role: String,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub day: String,
    pub summary: String,
    pub plan: Option<String>,
    pub status: String,
    pub figures: String,
    pub filed_at: i64,
    pub updated_at: i64,
}

const REPORT_COLS: &str = "SELECT r.id, r.user_id, u.display_name AS user_name, u.role, u.department_id,
        d.name AS department_name, r.day, r.summary, r.plan, r.status, r.figures, r.filed_at, r.updated_at
     FROM work_reports r JOIN users u ON u.id = r.user_id";

/// A cadre expected to report.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CadreRow {
    pub id: i64,
    pub display_name: String,
    pub role: String,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub created_at: i64,
}

/// Timeline events one user made of one kind.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityRow {
    pub user_id: i64,
    pub kind: String,
    pub count: i64,
}

/// A case a user acted on.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActedCase {
    pub user_id: i64,
    pub case_id: i64,
    pub tracking_no: Option<String>,
}

/// A name tied to a user's day (a household head visited, a case's contact).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserName {
    pub user_id: i64,
    pub name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PointRuleRow {
    pub kind: String,
    pub points: i64,
    pub active: bool,
    pub version: i64,
    pub active_since: i64,
    pub updated_at: Option<i64>,
}

/// A ledger entry to write.
#[derive(Debug, Clone)]
pub struct NewPointEntry {
    pub kind: &'static str,
    pub source_kind: &'static str,
    pub source_id: String,
    pub user_id: Option<i64>,
    pub department_id: Option<i64>,
    pub case_id: Option<i64>,
    pub points: i64,
    pub rule_version: i64,
    pub at: i64,
}

/// Points of one kind for one person or department.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PointSumRow {
    pub id: i64,
    pub name: String,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub kind: String,
    pub points: i64,
    pub entries: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PointEntryRow {
    pub id: i64,
    pub kind: String,
    pub source_kind: String,
    pub source_id: String,
    pub case_id: Option<i64>,
    pub tracking_no: Option<String>,
    pub user_id: Option<i64>,
    pub user_name: Option<String>,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub points: i64,
    pub rule_version: i64,
    pub at: i64,
    pub created_at: i64,
}

/// Filters of the ledger listing.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub from: i64,
    pub to: i64,
    pub user_id: Option<i64>,
    pub department_id: Option<i64>,
    pub limit: i64,
}

const INSERT_ENTRY: &str = "INSERT INTO point_entries (kind, source_kind, source_id, user_id, user_key, department_id, case_id,
        points, rule_version, at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (kind, source_kind, source_id, user_key) DO NOTHING";

impl Db {
    /// Stores a report in one transaction: a new one for the day, or the day's report
    /// updated (keeping `filed_at` and `status`); a known `client_request_id` changes nothing.
    pub async fn file_report(&self, r: &ReportRecord<'_>, now: i64) -> StoreResult<(i64, Filed)> {
        if let Some(id) = self.report_request(r.user_id, r.client_request_id).await? {
            return Ok((id, Filed::Replayed));
        }
        let stored = with_db!(self, p => async {
            // The write comes first, so a SQLite transaction never upgrades a read lock.
            let mut tx = p.begin().await?;
            let created = sqlx::query_scalar::<_, i64>(
                "INSERT INTO work_reports (user_id, day, summary, plan, status, figures, filed_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (user_id, day) DO NOTHING RETURNING id",
            )
            .bind(r.user_id).bind(r.day).bind(r.summary).bind(r.plan).bind(r.status).bind(&r.figures).bind(now)
            .fetch_optional(&mut *tx).await?;
            let (id, filed) = match created {
                Some(id) => (id, Filed::Created),
                None => (
                    sqlx::query_scalar::<_, i64>(
                        "UPDATE work_reports SET summary = $1, plan = $2, figures = $3, updated_at = $4
                         WHERE user_id = $5 AND day = $6 RETURNING id",
                    )
                    .bind(r.summary).bind(r.plan).bind(&r.figures).bind(now).bind(r.user_id).bind(r.day)
                    .fetch_one(&mut *tx).await?,
                    Filed::Updated,
                ),
            };
            let n = sqlx::query(
                "INSERT INTO work_report_requests (user_id, client_request_id, report_id) VALUES ($1, $2, $3)
                 ON CONFLICT (user_id, client_request_id) DO NOTHING",
            )
            .bind(r.user_id).bind(r.client_request_id).bind(id)
            .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                // The same submission, retried concurrently, got there first.
                return Ok::<_, sqlx::Error>(None);
            }
            tx.commit().await?;
            Ok(Some((id, filed)))
        }.await)?;
        match stored {
            Some(s) => Ok(s),
            None => Ok((
                self.report_request(r.user_id, r.client_request_id)
                    .await?
                    .ok_or(super::StoreError::NotFound)?,
                Filed::Replayed,
            )),
        }
    }

    async fn report_request(&self, user_id: i64, request: &str) -> StoreResult<Option<i64>> {
        Ok(with_db!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "SELECT report_id FROM work_report_requests WHERE user_id = $1 AND client_request_id = $2",
            )
            .bind(user_id).bind(request).fetch_optional(p).await
        })?)
    }

    pub async fn report(&self, id: i64) -> StoreResult<Option<ReportRow>> {
        let mut sql = Sql::new(REPORT_COLS);
        sql.push(USER_JOINS)
            .push(" WHERE r.id = ")
            .bind(Bind::I64(id));
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, ReportRow>(q), sql.binds.clone()).fetch_optional(p).await)?,
        )
    }

    /// The reports of a day within `scope`, optionally of one department or user.
    pub async fn reports(
        &self,
        scope: &ReportScope,
        day: &str,
        department_id: Option<i64>,
        user_id: Option<i64>,
    ) -> StoreResult<Vec<ReportRow>> {
        let mut sql = Sql::new(REPORT_COLS);
        sql.push(USER_JOINS)
            .push(" WHERE r.day = ")
            .bind(Bind::Str(day.into()));
        if let Some(d) = department_id {
            sql.push(" AND u.department_id = ").bind(Bind::I64(d));
        }
        if let Some(u) = user_id {
            sql.push(" AND r.user_id = ").bind(Bind::I64(u));
        }
        scope.push(&mut sql);
        sql.push(" ORDER BY r.filed_at, r.id");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, ReportRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// One user's reports, newest day first, at most `limit`.
    pub async fn own_reports(&self, user_id: i64, limit: i64) -> StoreResult<Vec<ReportRow>> {
        let mut sql = Sql::new(REPORT_COLS);
        sql.push(USER_JOINS)
            .push(" WHERE r.user_id = ")
            .bind(Bind::I64(user_id));
        sql.push(" ORDER BY r.day DESC, r.id DESC LIMIT ")
            .bind(Bind::I64(limit));
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, ReportRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// The earliest day anyone reported for.
    pub async fn first_report_day(&self) -> StoreResult<Option<String>> {
        Ok(with_db!(self, p => {
            sqlx::query_scalar::<_, Option<String>>("SELECT MIN(day) FROM work_reports").fetch_one(p).await
        })?)
    }

    /// Active users of `roles` created before `created_before`, within `scope`.
    pub async fn cadres(
        &self,
        scope: &ReportScope,
        roles: &[&str],
        created_before: i64,
    ) -> StoreResult<Vec<CadreRow>> {
        let mut sql = Sql::new(
            "SELECT u.id, u.display_name, u.role, u.department_id, d.name AS department_name, u.created_at
             FROM users u",
        );
        sql.push(USER_JOINS)
            .push(" WHERE u.active = TRUE AND u.created_at < ")
            .bind(Bind::I64(created_before));
        sql.push_in("u.role", roles.iter().map(|r| r.to_string()));
        scope.push(&mut sql);
        sql.push(" ORDER BY d.name, u.display_name, u.id");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, CadreRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// Timeline events made in `[from, to)`, per actor and kind (of `users`, or everyone's).
    pub async fn activity(
        &self,
        users: &[i64],
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<ActivityRow>> {
        let mut sql = Sql::new(
            "SELECT e.actor_id AS user_id, e.kind, COUNT(*) AS count FROM case_events e
             WHERE e.actor_id IS NOT NULL AND e.at >= ",
        );
        sql.bind(Bind::I64(from))
            .push(" AND e.at < ")
            .bind(Bind::I64(to));
        sql.push_in_i64("e.actor_id", users);
        sql.push(" GROUP BY e.actor_id, e.kind ORDER BY e.actor_id, e.kind");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, ActivityRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// The cases acted on in `[from, to)`, per actor (of `users`, or everyone's).
    pub async fn acted_cases(
        &self,
        users: &[i64],
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<ActedCase>> {
        let mut sql = Sql::new(
            "SELECT DISTINCT e.actor_id AS user_id, c.id AS case_id, c.tracking_no
             FROM case_events e JOIN cases c ON c.id = e.case_id
             WHERE e.actor_id IS NOT NULL AND e.at >= ",
        );
        sql.bind(Bind::I64(from))
            .push(" AND e.at < ")
            .bind(Bind::I64(to));
        sql.push_in_i64("e.actor_id", users);
        sql.push(" ORDER BY e.actor_id, c.id");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, ActedCase>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// Visits made in `[from, to)`, per visitor (of `users`, or everyone's).
    pub async fn visit_counts(
        &self,
        users: &[i64],
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, i64)>> {
        let mut sql =
            Sql::new("SELECT v.visitor_id, COUNT(*) FROM visits v WHERE v.visited_at >= ");
        sql.bind(Bind::I64(from))
            .push(" AND v.visited_at < ")
            .bind(Bind::I64(to));
        sql.push_in_i64("v.visitor_id", users);
        sql.push(" GROUP BY v.visitor_id");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, (i64, i64)>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// The personal names a user's day touched: heads of the households visited, contacts and
    /// resident submitters of the cases acted on in `[from, to)` (for the anonymiser).
    pub async fn names_met(&self, from: i64, to: i64) -> StoreResult<Vec<UserName>> {
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, UserName>(
                "SELECT DISTINCT v.visitor_id AS user_id, h.head_name AS name
                 FROM visits v JOIN households h ON h.id = v.household_id
                 WHERE v.visited_at >= $1 AND v.visited_at < $2 AND h.head_name IS NOT NULL
                 UNION
                 SELECT DISTINCT e.actor_id AS user_id, c.contact_name AS name
                 FROM case_events e JOIN cases c ON c.id = e.case_id
                 WHERE e.at >= $1 AND e.at < $2 AND e.actor_id IS NOT NULL AND c.contact_name IS NOT NULL
                 UNION
                 SELECT DISTINCT e.actor_id AS user_id, cu.display_name AS name
                 FROM case_events e JOIN cases c ON c.id = e.case_id JOIN users cu ON cu.id = c.created_by
                 WHERE e.at >= $1 AND e.at < $2 AND e.actor_id IS NOT NULL AND cu.role = 'resident'",
            )
            .bind(from).bind(to).fetch_all(p).await
        })?)
    }

    /// The resolution window of a case's category, in hours.
    pub async fn case_resolve_hours(&self, case_id: i64) -> StoreResult<Option<i64>> {
        Ok(with_db!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "SELECT cat.resolve_hours FROM cases c JOIN categories cat ON cat.id = c.category_id WHERE c.id = $1",
            )
            .bind(case_id).fetch_optional(p).await
        })?)
    }

    pub async fn point_rules(&self) -> StoreResult<Vec<PointRuleRow>> {
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, PointRuleRow>(
                "SELECT kind, points, active, version, active_since, updated_at FROM point_rules ORDER BY kind",
            )
            .fetch_all(p).await
        })?)
    }

    /// Sets rules in one transaction; a rule that changes gets a new version, and one switched
    /// on starts earning from `now`.
    pub async fn set_point_rules(
        &self,
        rules: &[(&str, i64, bool)],
        by: i64,
        now: i64,
    ) -> StoreResult<()> {
        // The audit entry holds the rules that changed, before and after.
        const RULES: &str = "SELECT kind, points, active FROM point_rules ORDER BY kind";
        let as_json = |rows: &[(String, i64, bool)], changed: &[String]| {
            serde_json::Value::Object(
                rows.iter()
                    .filter(|r| changed.contains(&r.0))
                    .map(|r| {
                        (
                            r.0.clone(),
                            serde_json::json!({ "points": r.1, "active": r.2 }),
                        )
                    })
                    .collect(),
            )
        };
        with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let before = sqlx::query_as::<_, (String, i64, bool)>(RULES).fetch_all(&mut *tx).await?;
            let mut changed = Vec::new();
            for (kind, points, active) in rules {
                let n = sqlx::query(
                    "UPDATE point_rules SET points = $1, active = $2, version = version + 1,
                        active_since = CASE WHEN $2 AND NOT active THEN $3 ELSE active_since END,
                        updated_at = $3, updated_by = $4
                     WHERE kind = $5 AND (points <> $1 OR active <> $2)",
                )
                .bind(points).bind(active).bind(now).bind(by).bind(kind)
                .execute(&mut *tx).await?.rows_affected();
                if n > 0 {
                    changed.push(kind.to_string());
                }
            }
            if !changed.is_empty() {
                let after = sqlx::query_as::<_, (String, i64, bool)>(RULES).fetch_all(&mut *tx).await?;
                let mut rec = AuditRecord::new(Some(by), "update", AuditEntity::PointRule, None);
                rec.before = Some(as_json(&before, &changed));
                rec.after = Some(as_json(&after, &changed));
                audit!(tx, now, &rec)?;
            }
            tx.commit().await
        }.await)?;
        Ok(())
    }

    /// Moves the named cursor from `from` to `to` and writes the entries, in one transaction;
    /// `false` (and nothing written) when another instance moved it first.
    pub async fn advance_points(
        &self,
        name: &str,
        from: i64,
        to: i64,
        entries: &[NewPointEntry],
        now: i64,
    ) -> StoreResult<bool> {
        Ok(with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE log_cursors SET last_id = $1 WHERE name = $2 AND last_id = $3")
                .bind(to).bind(name).bind(from).execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Ok::<_, sqlx::Error>(false);
            }
            for e in entries {
                sqlx::query(INSERT_ENTRY)
                    .bind(e.kind).bind(e.source_kind).bind(&e.source_id).bind(e.user_id)
                    .bind(e.user_id.unwrap_or(0)).bind(e.department_id).bind(e.case_id)
                    .bind(e.points).bind(e.rule_version).bind(e.at).bind(now)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        }.await)?)
    }

    /// Writes a `visit_made` entry for every visit recorded since `since` that has none;
    /// returns how many were written.
    pub async fn award_visits(
        &self,
        points: i64,
        version: i64,
        since: i64,
        now: i64,
    ) -> StoreResult<u64> {
        Ok(with_db!(self, p => {
            sqlx::query(
                "INSERT INTO point_entries (kind, source_kind, source_id, user_id, user_key, department_id,
                        points, rule_version, at, created_at)
                 SELECT 'visit_made', 'visit', v.id, v.visitor_id, v.visitor_id, u.department_id, $1, $2, v.visited_at, $3
                 FROM visits v JOIN users u ON u.id = v.visitor_id
                 WHERE v.recorded_at >= $4 AND NOT EXISTS (
                     SELECT 1 FROM point_entries pe
                     WHERE pe.kind = 'visit_made' AND pe.source_kind = 'visit' AND pe.source_id = v.id)
                 ON CONFLICT (kind, source_kind, source_id, user_key) DO NOTHING",
            )
            .bind(points).bind(version).bind(now).bind(since).execute(p).await.map(|r| r.rows_affected())
        })?)
    }

    /// Writes a `kind` entry for every report with `status` filed since `since` that has none.
    pub async fn award_reports(
        &self,
        kind: &str,
        status: &str,
        points: i64,
        version: i64,
        since: i64,
        now: i64,
    ) -> StoreResult<u64> {
        Ok(with_db!(self, p => {
            sqlx::query(
                "INSERT INTO point_entries (kind, source_kind, source_id, user_id, user_key, department_id,
                        points, rule_version, at, created_at)
                 SELECT $1, 'report', CAST(r.id AS TEXT), r.user_id, r.user_id, u.department_id, $2, $3, r.filed_at, $4
                 FROM work_reports r JOIN users u ON u.id = r.user_id
                 WHERE r.status = $5 AND r.filed_at >= $6 AND NOT EXISTS (
                     SELECT 1 FROM point_entries pe
                     WHERE pe.kind = $1 AND pe.source_kind = 'report' AND pe.source_id = CAST(r.id AS TEXT))
                 ON CONFLICT (kind, source_kind, source_id, user_key) DO NOTHING",
            )
            .bind(kind).bind(points).bind(version).bind(now).bind(status).bind(since).execute(p).await.map(|r| r.rows_affected())
        })?)
    }

    /// Dates every user created after `at` back to `at` (demo data, whose history starts
    /// before its users were made); returns how many changed.
    pub async fn backdate_users(&self, at: i64) -> StoreResult<u64> {
        Ok(with_db!(self, p => {
            sqlx::query("UPDATE users SET created_at = $1 WHERE created_at > $1")
                .bind(at).execute(p).await.map(|r| r.rows_affected())
        })?)
    }

    /// Who reported for `day`.
    pub async fn reporters_of(&self, day: &str) -> StoreResult<Vec<i64>> {
        Ok(with_db!(self, p => {
            sqlx::query_scalar::<_, i64>("SELECT user_id FROM work_reports WHERE day = $1")
                .bind(day).fetch_all(p).await
        })?)
    }

    /// Points in `[from, to)` per person (`by_user`) or per department, and per kind.
    pub async fn point_sums(
        &self,
        by_user: bool,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<PointSumRow>> {
        let sql = if by_user {
            "SELECT pe.user_id AS id, u.display_name AS name, u.department_id, d.name AS department_name, pe.kind,
                    CAST(SUM(pe.points) AS BIGINT) AS points, COUNT(*) AS entries
             FROM point_entries pe JOIN users u ON u.id = pe.user_id LEFT JOIN departments d ON d.id = u.department_id
             WHERE pe.at >= $1 AND pe.at < $2
             GROUP BY pe.user_id, u.display_name, u.department_id, d.name, pe.kind"
        } else {
            "SELECT pe.department_id AS id, d.name AS name, CAST(NULL AS BIGINT) AS department_id,
                    CAST(NULL AS TEXT) AS department_name, pe.kind,
                    CAST(SUM(pe.points) AS BIGINT) AS points, COUNT(*) AS entries
             FROM point_entries pe JOIN departments d ON d.id = pe.department_id
             WHERE pe.at >= $1 AND pe.at < $2
             GROUP BY pe.department_id, d.name, pe.kind"
        };
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, PointSumRow>(sql).bind(from).bind(to).fetch_all(p).await
        })?)
    }

    /// Ledger entries, oldest first.
    pub async fn point_entries(&self, f: &EntryFilter) -> StoreResult<Vec<PointEntryRow>> {
        let mut sql = Sql::new(
            "SELECT pe.id, pe.kind, pe.source_kind, pe.source_id, pe.case_id, c.tracking_no, pe.user_id,
                    u.display_name AS user_name, pe.department_id, d.name AS department_name, pe.points,
                    pe.rule_version, pe.at, pe.created_at
             FROM point_entries pe LEFT JOIN cases c ON c.id = pe.case_id
             LEFT JOIN users u ON u.id = pe.user_id LEFT JOIN departments d ON d.id = pe.department_id
             WHERE pe.at >= ",
        );
        sql.bind(Bind::I64(f.from))
            .push(" AND pe.at < ")
            .bind(Bind::I64(f.to));
        if let Some(u) = f.user_id {
            sql.push(" AND pe.user_id = ").bind(Bind::I64(u));
        }
        if let Some(d) = f.department_id {
            sql.push(" AND pe.department_id = ").bind(Bind::I64(d));
        }
        sql.push(" ORDER BY pe.at, pe.id LIMIT ")
            .bind(Bind::I64(f.limit));
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, PointEntryRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }
}
