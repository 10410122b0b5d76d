//! Areas, departments and categories.

use super::{AreaRow, CategoryRow, Db, DepartmentRow, StoreError, StoreResult, unique_as, with_db};

const AREA_COLS: &str =
    "SELECT id, parent_id, level, code, name, name_en, path, lat, lng, boundary FROM areas";
const DEPT_COLS: &str = "SELECT id, code, name, name_en, area_id FROM departments";
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
    pub async fn areas(&self) -> StoreResult<Vec<AreaRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{AREA_COLS} ORDER BY path"));
        Ok(with_db!(self, p => sqlx::query_as::<_, AreaRow>(sql).fetch_all(p).await)?)
    }

    pub async fn area(&self, id: i64) -> StoreResult<Option<AreaRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{AREA_COLS} WHERE id = $1"));
        Ok(with_db!(self, p => sqlx::query_as::<_, AreaRow>(sql).bind(id).fetch_optional(p).await)?)
    }

    /// Inserts an area under its parent; its path is the parent's plus its own id.
    pub async fn create_area(&self, a: &NewAreaRecord<'_>) -> StoreResult<i64> {
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

    pub async fn create_department(
        &self,
        code: &str,
        name: &str,
        name_en: Option<&str>,
        area_id: Option<i64>,
    ) -> StoreResult<i64> {
        let id = with_db!(self, p => {
            sqlx::query_scalar::<_, i64>("INSERT INTO departments (code, name, name_en, area_id) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(code).bind(name).bind(name_en).bind(area_id).fetch_one(p).await
        })
        .map_err(unique_as("department code"))?;
        Ok(id)
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

    pub async fn create_category(&self, c: &CategoryRecord<'_>) -> StoreResult<i64> {
        let id = with_db!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO categories (code, name, name_en, tier, resolve_hours, accept_hours, sign_hours, default_department_id, active, resolve_workdays)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(c.code).bind(c.name).bind(c.name_en).bind(c.tier).bind(c.resolve_hours)
            .bind(c.accept_hours).bind(c.sign_hours).bind(c.default_department_id).bind(c.active)
            .bind(c.resolve_workdays)
            .fetch_one(p).await
        })
        .map_err(unique_as("category code"))?;
        Ok(id)
    }

    pub async fn update_category(&self, id: i64, c: &CategoryRecord<'_>) -> StoreResult<()> {
        let n = with_db!(self, p => {
            sqlx::query(
                "UPDATE categories SET code = $1, name = $2, name_en = $3, tier = $4, resolve_hours = $5,
                 accept_hours = $6, sign_hours = $7, default_department_id = $8, active = $9,
                 resolve_workdays = $11 WHERE id = $10",
            )
            .bind(c.code).bind(c.name).bind(c.name_en).bind(c.tier).bind(c.resolve_hours)
            .bind(c.accept_hours).bind(c.sign_hours).bind(c.default_department_id).bind(c.active).bind(id)
            .bind(c.resolve_workdays)
            .execute(p).await.map(|r| r.rows_affected())
        })
        .map_err(unique_as("category code"))?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}
