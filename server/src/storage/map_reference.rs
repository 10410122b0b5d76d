//! The SQL the map's aggregates were computed with before the in-memory index, kept as the
//! reference the index is checked against (see the tests in `crate::map::index`).

use crate::map::index::{AreaStatusCount, ClusterRow, Figures, MapFilter, PointRow};

use super::cases::push_overdue;
use super::map::BEIJING_MS;
use super::{Bind, Db, Scope, Sql, StoreResult, bind_all, with_db};

const DAY_MS: i64 = 86_400_000;

fn push_filter(sql: &mut Sql, scope: &Scope, f: &MapFilter) {
    scope.push(sql);
    if let Some(v) = f.category_id {
        sql.push(" AND c.category_id = ").bind(Bind::I64(v));
    }
    if let Some(v) = f.department_id {
        sql.push(" AND c.department_id = ").bind(Bind::I64(v));
    }
    sql.push_in(
        "c.status",
        f.statuses.iter().map(|s| s.as_str().to_string()),
    );
    if let Some(v) = f.created_from {
        sql.push(" AND c.created_at >= ").bind(Bind::I64(v));
    }
    if let Some(v) = f.created_to {
        sql.push(" AND c.created_at < ").bind(Bind::I64(v));
    }
}

const FROM_CASES: &str = " FROM cases c LEFT JOIN areas a ON a.id = c.area_id WHERE 1 = 1";

impl Db {
    /// Case counts grouped by area and status (the caller rolls them up the tree).
    pub(crate) async fn reference_counts_by_area(
        &self,
        scope: &Scope,
        f: &MapFilter,
        now: i64,
    ) -> StoreResult<Vec<AreaStatusCount>> {
        let mut sql =
            Sql::new("SELECT a.path AS area_path, c.status, COUNT(*) AS count, SUM(CASE WHEN ");
        push_overdue(&mut sql, now);
        sql.push(" THEN 1 ELSE 0 END) AS overdue").push(FROM_CASES);
        push_filter(&mut sql, scope, f);
        sql.push(" GROUP BY a.path, c.status");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, AreaStatusCount>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    async fn scalar(&self, sql: Sql) -> StoreResult<i64> {
        let q = sql.sql();
        let v: Option<i64> = with_db!(self, p => bind_all!(sqlx::query_scalar::<_, Option<i64>>(q), sql.binds.clone()).fetch_one(p).await)?;
        Ok(v.unwrap_or(0))
    }

    async fn pair(&self, sql: Sql) -> StoreResult<(i64, i64)> {
        let q = sql.sql();
        let (a, b): (Option<i64>, Option<i64>) = with_db!(self, p => {
            bind_all!(sqlx::query_as::<_, (Option<i64>, Option<i64>)>(q), sql.binds.clone()).fetch_one(p).await
        })?;
        Ok((a.unwrap_or(0), b.unwrap_or(0)))
    }

    /// The progress map's figures over `[since, now]`, `today` being the start of the day.
    pub(crate) async fn reference_figures(
        &self,
        scope: &Scope,
        f: &MapFilter,
        since: i64,
        today: i64,
        now: i64,
    ) -> StoreResult<Figures> {
        let base = |select: &str| {
            let mut s = Sql::new(select);
            s.push(FROM_CASES);
            push_filter(&mut s, scope, f);
            s
        };
        let mut q = base("SELECT COUNT(*)");
        q.push(" AND c.created_at >= ").bind(Bind::I64(today));
        let new_today = self.scalar(q).await?;
        let mut q = base("SELECT COUNT(*)");
        q.push(" AND c.status NOT IN ('closed', 'rejected', 'merged')");
        let open = self.scalar(q).await?;
        let mut q = base("SELECT COUNT(*)");
        q.push(" AND ");
        push_overdue(&mut q, now);
        let overdue = self.scalar(q).await?;

        let mut q = Sql::new(
            "SELECT COUNT(*), SUM(CASE WHEN e.at <= c.sign_due_at THEN 1 ELSE 0 END)
             FROM case_events e JOIN cases c ON c.id = e.case_id LEFT JOIN areas a ON a.id = c.area_id
             WHERE e.kind = 'sign' AND e.at >= ",
        );
        q.bind(Bind::I64(since));
        push_filter(&mut q, scope, f);
        let signed = self.pair(q).await?;
        let mut q =
            base("SELECT COUNT(*), SUM(CASE WHEN c.resolved_at <= c.due_at THEN 1 ELSE 0 END)");
        q.push(" AND c.resolved_at >= ").bind(Bind::I64(since));
        let on_time = self.pair(q).await?;
        let mut q = base(
            "SELECT COUNT(*), SUM(CASE WHEN c.satisfaction IN ('satisfied', 'basically_satisfied') THEN 1 ELSE 0 END)",
        );
        q.push(" AND c.satisfaction IS NOT NULL AND c.resolved_at >= ")
            .bind(Bind::I64(since));
        let satisfied = self.pair(q).await?;

        let created = self.day_counts(scope, f, "c.created_at", since).await?;
        let closed = self.day_counts(scope, f, "c.closed_at", since).await?;
        let first = (since + BEIJING_MS) / DAY_MS;
        let last = (now + BEIJING_MS) / DAY_MS;
        let trend = (first..=last)
            .map(|d| {
                let get =
                    |v: &[(i64, i64)]| v.iter().find(|(day, _)| *day == d).map_or(0, |(_, n)| *n);
                (d, get(&created), get(&closed))
            })
            .collect();
        Ok(Figures {
            new_today,
            open,
            overdue,
            signed,
            on_time,
            satisfied,
            trend,
        })
    }

    /// Cases per Beijing day of `column` (a time column), from `since`.
    async fn day_counts(
        &self,
        scope: &Scope,
        f: &MapFilter,
        column: &'static str,
        since: i64,
    ) -> StoreResult<Vec<(i64, i64)>> {
        let mut q = Sql::new("SELECT (");
        q.push(column)
            .push(" + ")
            .bind(Bind::I64(BEIJING_MS))
            .push(") / ")
            .bind(Bind::I64(DAY_MS));
        q.push(" AS day, COUNT(*)").push(FROM_CASES);
        push_filter(&mut q, scope, f);
        q.push(" AND ")
            .push(column)
            .push(" >= ")
            .bind(Bind::I64(since))
            .push(" GROUP BY day");
        let sql = q.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, (i64, i64)>(sql), q.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// Cases with coordinates inside the box `(west, south, east, north)`.
    pub(crate) async fn reference_count_in_box(
        &self,
        scope: &Scope,
        f: &MapFilter,
        bbox: (f64, f64, f64, f64),
    ) -> StoreResult<i64> {
        let mut q = Sql::new("SELECT COUNT(*)");
        q.push(FROM_CASES);
        push_filter(&mut q, scope, f);
        push_box(&mut q, bbox);
        self.scalar(q).await
    }

    pub(crate) async fn reference_points_in_box(
        &self,
        scope: &Scope,
        f: &MapFilter,
        bbox: (f64, f64, f64, f64),
        limit: i64,
    ) -> StoreResult<Vec<PointRow>> {
        let mut q = Sql::new(
            "SELECT c.id, c.lat, c.lng, c.status, c.category_id, c.accept_due_at, c.sign_due_at, c.due_at",
        );
        q.push(FROM_CASES);
        push_filter(&mut q, scope, f);
        push_box(&mut q, bbox);
        q.push(" ORDER BY c.id DESC LIMIT ").bind(Bind::I64(limit));
        let sql = q.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, PointRow>(sql), q.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// Cases in the box grouped into a `cells` × `cells` grid, one row per non-empty cell.
    pub(crate) async fn reference_clusters_in_box(
        &self,
        scope: &Scope,
        f: &MapFilter,
        bbox: (f64, f64, f64, f64),
        cells: i64,
        now: i64,
    ) -> StoreResult<Vec<ClusterRow>> {
        let (w, s, e, n) = bbox;
        let cell_lng = ((e - w) / cells as f64).max(1e-9);
        let cell_lat = ((n - s) / cells as f64).max(1e-9);
        let floor = self.floor_int();
        let mut q = Sql::new(
            "SELECT AVG(c.lat) AS lat, AVG(c.lng) AS lng, COUNT(*) AS count, SUM(CASE WHEN ",
        );
        push_overdue(&mut q, now);
        q.push(" THEN 1 ELSE 0 END) AS overdue").push(FROM_CASES);
        push_filter(&mut q, scope, f);
        push_box(&mut q, bbox);
        q.push(" GROUP BY ")
            .push(floor.0)
            .push("(c.lat - ")
            .bind(Bind::F64(s))
            .push(") / ")
            .bind(Bind::F64(cell_lat))
            .push(floor.1);
        q.push(", ")
            .push(floor.0)
            .push("(c.lng - ")
            .bind(Bind::F64(w))
            .push(") / ")
            .bind(Bind::F64(cell_lng))
            .push(floor.1);
        let sql = q.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, ClusterRow>(sql), q.binds.clone()).fetch_all(p).await)?,
        )
    }
}

fn push_box(q: &mut Sql, (w, s, e, n): (f64, f64, f64, f64)) {
    q.push(" AND c.lat >= ")
        .bind(Bind::F64(s))
        .push(" AND c.lat <= ")
        .bind(Bind::F64(n));
    q.push(" AND c.lng >= ")
        .bind(Bind::F64(w))
        .push(" AND c.lng <= ")
        .bind(Bind::F64(e));
}
