//! Areas, departments and categories.

use minsheng_model::AuditEntity;

use super::{
    AreaRow, AuditRecord, CategoryRow, Db, DepartmentRow, StoreError, StoreResult, audit,
    unique_as, with_db,
};

const AREA_COLS: &str = "SELECT id, parent_id, level, code, name, name_en, path, lat, lng, boundary, boundary_multi, active FROM areas";
const DEPT_COLS: &str = "SELECT id, code, name, name_en, area_id, kind, active, duty_handles, duty_post, duty_phone, duty_hours FROM departments";
const CAT_COLS: &str = "SELECT id, code, name, name_en, tier, resolve_hours, resolve_workdays, accept_hours, sign_hours, default_department_id, active FROM categories";

/// An area to insert; `boundary` is JSON text.
pub struct NewAreaRecord<'a> {
    pub parent_id: Option<i64>,
    pub level: &'a str,
    pub code: &'a str,
    pub name: &'a str,
    pub name_en: Option<&'a str>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub boundary: Option<String>,
}

/// An area's editable fields (an edit replaces them all).
pub struct AreaRecord<'a> {
    pub parent_id: Option<i64>,
    pub code: &'a str,
    pub name: &'a str,
    pub name_en: Option<&'a str>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub active: bool,
}

/// A department's fields, for insert and update.
pub struct DepartmentRecord<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub name_en: Option<&'a str>,
    pub area_id: Option<i64>,
    pub kind: &'a str,
    pub active: bool,
    pub duty_handles: Option<&'a str>,
    pub duty_post: Option<&'a str>,
    pub duty_phone: Option<&'a str>,
    pub duty_hours: Option<&'a str>,
}

impl<'a> DepartmentRecord<'a> {
    /// A functional, active department without a duty card.
    pub fn plain(
        code: &'a str,
        name: &'a str,
        name_en: Option<&'a str>,
        area_id: Option<i64>,
    ) -> DepartmentRecord<'a> {
        DepartmentRecord {
            code,
            name,
            name_en,
            area_id,
            kind: "functional",
            active: true,
            duty_handles: None,
            duty_post: None,
            duty_phone: None,
            duty_hours: None,
        }
    }
}

/// The audit action of an edit: `deactivate` or `reactivate` when the active flag flipped.
fn activity_action(before: bool, after: bool) -> &'static str {
    match (before, after) {
        (true, false) => "deactivate",
        (false, true) => "reactivate",
        _ => "update",
    }
}

/// A category's fields, for insert and update.
pub struct CategoryRecord<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub name_en: Option<&'a str>,
    pub tier: &'a str,
    pub resolve_hours: i64,
    pub resolve_workdays: Option<i64>,
    pub accept_hours: i64,
    pub sign_hours: i64,
    pub default_department_id: Option<i64>,
    pub active: bool,
}

impl Db {
    /// Every area, parents first, each with its boundary parsed ([`AreaRow::shape`]).
    pub async fn areas(&self) -> StoreResult<Vec<AreaRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{AREA_COLS} ORDER BY path"));
        let mut rows = with_db!(self, p => sqlx::query_as::<_, AreaRow>(sql).fetch_all(p).await)?;
        for a in &mut rows {
            a.shape = crate::reference::locate::parse_shape(a).map(std::sync::Arc::new);
        }
        Ok(rows)
    }

    pub async fn area(&self, id: i64) -> StoreResult<Option<AreaRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{AREA_COLS} WHERE id = $1"));
        Ok(with_db!(self, p => sqlx::query_as::<_, AreaRow>(sql).bind(id).fetch_optional(p).await)?)
    }

    /// Inserts an area under its parent (its path is the parent's plus its own id), with
    /// its audit entry by `actor`.
    pub async fn create_area(
        &self,
        a: &NewAreaRecord<'_>,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<i64> {
        let parent_path = match a.parent_id {
            Some(pid) => Some(self.area(pid).await?.ok_or(StoreError::NotFound)?.path),
            None => None,
        };
        let id = with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO areas (parent_id, level, code, name, name_en, lat, lng, boundary)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(a.parent_id).bind(a.level).bind(a.code).bind(a.name).bind(a.name_en)
            .bind(a.lat).bind(a.lng).bind(a.boundary.as_deref())
            .fetch_one(&mut *tx).await?;
            let path = format!("{}{id}/", parent_path.as_deref().unwrap_or("/"));
            sqlx::query("UPDATE areas SET path = $1 WHERE id = $2").bind(path).bind(id).execute(&mut *tx).await?;
            let row = sqlx::query_as::<_, AreaRow>(sqlx::AssertSqlSafe(format!("{AREA_COLS} WHERE id = $1")))
                .bind(id).fetch_one(&mut *tx).await?;
            audit!(tx, now, &AuditRecord::new(actor, "create", AuditEntity::Area, Some(id)).after(&row))?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(id)
        }.await)
        .map_err(unique_as("area code"))?;
        Ok(id)
    }

    pub async fn departments(&self) -> StoreResult<Vec<DepartmentRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{DEPT_COLS} ORDER BY id"));
        Ok(with_db!(self, p => sqlx::query_as::<_, DepartmentRow>(sql).fetch_all(p).await)?)
    }

    pub async fn department(&self, id: i64) -> StoreResult<Option<DepartmentRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{DEPT_COLS} WHERE id = $1"));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, DepartmentRow>(sql).bind(id).fetch_optional(p).await)?,
        )
    }

    /// Inserts a department with its audit entry.
    pub async fn create_department(
        &self,
        d: &DepartmentRecord<'_>,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<i64> {
        let id = with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO departments (code, name, name_en, area_id, kind, active, duty_handles, duty_post, duty_phone, duty_hours)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(d.code).bind(d.name).bind(d.name_en).bind(d.area_id).bind(d.kind).bind(d.active)
            .bind(d.duty_handles).bind(d.duty_post).bind(d.duty_phone).bind(d.duty_hours)
            .fetch_one(&mut *tx).await?;
            let row = sqlx::query_as::<_, DepartmentRow>(sqlx::AssertSqlSafe(format!("{DEPT_COLS} WHERE id = $1")))
                .bind(id).fetch_one(&mut *tx).await?;
            audit!(tx, now, &AuditRecord::new(actor, "create", AuditEntity::Department, Some(id)).after(&row))?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(id)
        }.await)
        .map_err(unique_as("department code"))?;
        Ok(id)
    }

    /// Replaces a department's fields, with its audit entry (`deactivate`/`reactivate` when
    /// only that changed, else `update`). [`StoreError::NotFound`] when there is none.
    pub async fn update_department(
        &self,
        id: i64,
        d: &DepartmentRecord<'_>,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<DepartmentRow> {
        let one = || sqlx::AssertSqlSafe(format!("{DEPT_COLS} WHERE id = $1"));
        let row = with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let Some(before) = sqlx::query_as::<_, DepartmentRow>(one()).bind(id).fetch_optional(&mut *tx).await? else {
                return Ok(None);
            };
            sqlx::query(
                "UPDATE departments SET code = $1, name = $2, name_en = $3, area_id = $4, kind = $5, active = $6,
                 duty_handles = $7, duty_post = $8, duty_phone = $9, duty_hours = $10 WHERE id = $11",
            )
            .bind(d.code).bind(d.name).bind(d.name_en).bind(d.area_id).bind(d.kind).bind(d.active)
            .bind(d.duty_handles).bind(d.duty_post).bind(d.duty_phone).bind(d.duty_hours).bind(id)
            .execute(&mut *tx).await?;
            let after = sqlx::query_as::<_, DepartmentRow>(one()).bind(id).fetch_one(&mut *tx).await?;
            let action = activity_action(before.active, after.active);
            audit!(tx, now, &AuditRecord::new(actor, action, AuditEntity::Department, Some(id)).before(&before).after(&after))?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(after))
        }.await)
        .map_err(unique_as("department code"))?;
        row.ok_or(StoreError::NotFound)
    }

    pub async fn categories(&self) -> StoreResult<Vec<CategoryRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{CAT_COLS} ORDER BY id"));
        Ok(with_db!(self, p => sqlx::query_as::<_, CategoryRow>(sql).fetch_all(p).await)?)
    }

    pub async fn category(&self, id: i64) -> StoreResult<Option<CategoryRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{CAT_COLS} WHERE id = $1"));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, CategoryRow>(sql).bind(id).fetch_optional(p).await)?,
        )
    }

    /// Inserts a category with its audit entry.
    pub async fn create_category(
        &self,
        c: &CategoryRecord<'_>,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<i64> {
        let one = || sqlx::AssertSqlSafe(format!("{CAT_COLS} WHERE id = $1"));
        let id = with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO categories (code, name, name_en, tier, resolve_hours, accept_hours, sign_hours, default_department_id, active, resolve_workdays)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(c.code).bind(c.name).bind(c.name_en).bind(c.tier).bind(c.resolve_hours)
            .bind(c.accept_hours).bind(c.sign_hours).bind(c.default_department_id).bind(c.active)
            .bind(c.resolve_workdays)
            .fetch_one(&mut *tx).await?;
            let row = sqlx::query_as::<_, CategoryRow>(one()).bind(id).fetch_one(&mut *tx).await?;
            audit!(tx, now, &AuditRecord::new(actor, "create", AuditEntity::Category, Some(id)).after(&row))?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(id)
        }.await)
        .map_err(unique_as("category code"))?;
        Ok(id)
    }

    /// Replaces a category's fields, with its audit entry.
    pub async fn update_category(
        &self,
        id: i64,
        c: &CategoryRecord<'_>,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        let one = || sqlx::AssertSqlSafe(format!("{CAT_COLS} WHERE id = $1"));
        let found = with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let Some(before) = sqlx::query_as::<_, CategoryRow>(one()).bind(id).fetch_optional(&mut *tx).await? else {
                return Ok(false);
            };
            sqlx::query(
                "UPDATE categories SET code = $1, name = $2, name_en = $3, tier = $4, resolve_hours = $5,
                 accept_hours = $6, sign_hours = $7, default_department_id = $8, active = $9,
                 resolve_workdays = $11 WHERE id = $10",
            )
            .bind(c.code).bind(c.name).bind(c.name_en).bind(c.tier).bind(c.resolve_hours)
            .bind(c.accept_hours).bind(c.sign_hours).bind(c.default_department_id).bind(c.active).bind(id)
            .bind(c.resolve_workdays)
            .execute(&mut *tx).await?;
            let after = sqlx::query_as::<_, CategoryRow>(one()).bind(id).fetch_one(&mut *tx).await?;
            let action = activity_action(before.active, after.active);
            audit!(tx, now, &AuditRecord::new(actor, action, AuditEntity::Category, Some(id)).before(&before).after(&after))?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        }.await)
        .map_err(unique_as("category code"))?;
        if found {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// Replaces an area's fields; a new parent moves it with everything under it (their
    /// paths follow). With its audit entry (`move` when the parent changed). The caller has
    /// checked the level and that the new parent is not inside the area.
    pub async fn update_area(
        &self,
        id: i64,
        u: &AreaRecord<'_>,
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<AreaRow> {
        let one = || sqlx::AssertSqlSafe(format!("{AREA_COLS} WHERE id = $1"));
        let row = with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let Some(before) = sqlx::query_as::<_, AreaRow>(one()).bind(id).fetch_optional(&mut *tx).await? else {
                return Ok(None);
            };
            let moved = before.parent_id != u.parent_id;
            if moved {
                let parent_path = match u.parent_id {
                    Some(pid) => match sqlx::query_scalar::<_, String>("SELECT path FROM areas WHERE id = $1")
                        .bind(pid).fetch_optional(&mut *tx).await? {
                        Some(p) => p,
                        None => return Ok(None),
                    },
                    None => "/".to_string(),
                };
                let new_path = format!("{parent_path}{id}/");
                // Everything under the area keeps its place below it.
                sqlx::query(
                    "UPDATE areas SET path = $1 || substr(path, CAST($2 AS INTEGER))
                     WHERE substr(path, 1, CAST($3 AS INTEGER)) = $4",
                )
                .bind(&new_path).bind(before.path.len() as i64 + 1).bind(before.path.len() as i64).bind(&before.path)
                .execute(&mut *tx).await?;
            }
            sqlx::query(
                "UPDATE areas SET parent_id = $1, code = $2, name = $3, name_en = $4, lat = $5, lng = $6, active = $7 WHERE id = $8",
            )
            .bind(u.parent_id).bind(u.code).bind(u.name).bind(u.name_en).bind(u.lat).bind(u.lng).bind(u.active).bind(id)
            .execute(&mut *tx).await?;
            let after = sqlx::query_as::<_, AreaRow>(one()).bind(id).fetch_one(&mut *tx).await?;
            let action = if moved { "move" } else { activity_action(before.active, after.active) };
            audit!(tx, now, &AuditRecord::new(actor, action, AuditEntity::Area, Some(id)).before(&before).after(&after))?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(after))
        }.await)
        .map_err(unique_as("area code"))?;
        row.ok_or(StoreError::NotFound)
    }

    /// Stores imported boundaries, all in one transaction, each with its audit entry:
    /// `(area id, outline ring JSON, multipolygon JSON)`.
    pub async fn set_boundaries(
        &self,
        items: &[(i64, String, String)],
        actor: Option<i64>,
        now: i64,
    ) -> StoreResult<u64> {
        let n = with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let mut n = 0;
            for (id, ring, multi) in items {
                let before = sqlx::query_as::<_, (Option<String>, Option<String>)>(
                    "SELECT boundary, boundary_multi FROM areas WHERE id = $1",
                ).bind(id).fetch_optional(&mut *tx).await?;
                let Some((old_ring, old_multi)) = before else { continue };
                n += sqlx::query("UPDATE areas SET boundary = $1, boundary_multi = $2 WHERE id = $3")
                    .bind(ring).bind(multi).bind(id).execute(&mut *tx).await?.rows_affected();
                let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
                let mut rec = AuditRecord::new(actor, "boundary", AuditEntity::Area, Some(*id));
                rec.before = match (old_multi.as_deref(), old_ring.as_deref()) {
                    (Some(m), _) => parse(m).map(|v| serde_json::json!({ "boundaries": v })),
                    (None, Some(r)) => parse(r).map(|v| serde_json::json!({ "boundary": v })),
                    (None, None) => None,
                };
                rec.after = parse(multi).map(|v| serde_json::json!({ "boundaries": v }));
                audit!(tx, now, &rec)?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(n)
        }.await)?;
        Ok(n)
    }
}
