//! Cases, their timeline and photos. Every change to a case and its timeline event are
//! written in one transaction; a change only applies if the case still has the version
//! the caller read (optimistic concurrency, the same on both databases).

use minsheng_model::Status;

use super::{
    AreaPages, Bind, CaseRow, Db, EventLogLock, EventRow, FeedRow, PhotoRow, Sql, StoreError,
    StoreResult, bind_all, with_db,
};

pub(super) const CASE_SELECT: &str = "SELECT c.id, c.tracking_no, c.client_request_id, c.created_by, c.channel, c.category_id,
    cat.name AS category_name, c.description, c.lat, c.lng, c.address, c.area_id, a.path AS area_path,
    c.department_id, c.anonymous, c.public, c.contact_name, c.contact_phone, c.status, c.version,
    c.escalation_level, c.merged_into, c.satisfaction, c.stars, c.accept_due_at, c.sign_due_at, c.due_at,
    c.resolved_at, c.closed_at, c.created_at, c.updated_at
    FROM cases c JOIN categories cat ON cat.id = c.category_id LEFT JOIN areas a ON a.id = c.area_id";

/// The ids of [`CASE_SELECT`]'s rows, for filters that pick ids before the rows are read
/// (the areas join is there for the scope's path filter).
const CASE_ID_SELECT: &str = "SELECT c.id FROM cases c LEFT JOIN areas a ON a.id = c.area_id";

pub(super) const INSERT_EVENT: &str = "INSERT INTO case_events (case_id, at, actor_id, actor_role, kind, from_status, to_status, note, data)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

const PHOTO_COLS: &str = "SELECT id, case_id, event_id, uploaded_by, content_type, size, storage_key, sha256, created_at FROM photos";

/// Which cases a viewer may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// A resident: the cases they raised.
    Owner(i64),
    /// A handler: the cases assigned to their department.
    Department(i64),
    /// Area-bound staff: cases in this area path's subtree.
    Subtree(String),
    Nothing,
}

impl Scope {
    /// Whether a case falls within this scope.
    pub fn contains(&self, c: &CaseRow) -> bool {
        self.admits(c.created_by, c.department_id, c.area_path.as_deref())
    }

    /// Whether a case with these keys falls within this scope.
    pub fn admits(
        &self,
        created_by: i64,
        department_id: Option<i64>,
        area_path: Option<&str>,
    ) -> bool {
        match self {
            Scope::All => true,
            Scope::Owner(u) => created_by == *u,
            Scope::Department(d) => department_id == Some(*d),
            Scope::Subtree(p) => area_path.is_some_and(|ap| ap.starts_with(p.as_str())),
            Scope::Nothing => false,
        }
    }

    pub(super) fn push(&self, sql: &mut Sql) {
        match self {
            Scope::All => {}
            Scope::Owner(u) => {
                sql.push(" AND c.created_by = ").bind(Bind::I64(*u));
            }
            // A handler's department: the cases it handles and those it is summoned to.
            Scope::Department(d) => {
                sql.push(" AND (c.department_id = ").bind(Bind::I64(*d));
                sql.push(" OR c.id IN (SELECT case_id FROM case_summons WHERE department_id = ")
                    .bind(Bind::I64(*d));
                sql.push("))");
            }
            Scope::Subtree(p) => {
                sql.push(" AND a.path LIKE ")
                    .bind(Bind::Str(format!("{p}%")));
            }
            Scope::Nothing => {
                sql.push(" AND 1 = 0");
            }
        }
    }
}

/// Filters of the staff case list (all optional).
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub statuses: Vec<Status>,
    pub category_id: Option<i64>,
    /// An area and everything under it, as the ids of those areas
    /// ([`crate::reference::subtree_ids`]).
    pub area_ids: Option<Vec<i64>>,
    pub department_id: Option<i64>,
    pub overdue: Option<bool>,
    /// Only cases under supervision (督办 level ≥ 1), or only those not.
    pub escalated: Option<bool>,
    pub channel: Option<String>,
    pub text: Option<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    /// Only cases their submitter made public (the public board).
    pub public: Option<bool>,
    /// Only cases with an id below this one (the cursor).
    pub before_id: Option<i64>,
    pub limit: i64,
    /// 领导包案: only cases this leader took, any leader took, or none did.
    pub taken_by: Option<TakenFilter>,
}

/// The case list's 包案 filter, resolved for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakenFilter {
    Leader(i64),
    Any,
    Nobody,
}

/// A case to insert; validated already.
#[derive(Debug, Clone)]
pub struct NewCaseRecord {
    pub client_request_id: String,
    pub created_by: i64,
    pub actor_role: String,
    pub channel: String,
    pub category_id: i64,
    pub description: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<String>,
    pub area_id: Option<i64>,
    pub anonymous: bool,
    pub public: bool,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub accept_due_at: i64,
    /// Where it came from, merged into the submission event's data (e.g. `{"visit_id": …}`).
    pub origin: Option<serde_json::Value>,
    /// The content check that holds the new case private, stored in its transaction.
    pub content_check: Option<NewContentCheck>,
}

/// WeChat's verdict on a new case's first content check, stored by the group commit in the
/// next batch's transaction (see `channels::content_check`): a submission checked by WeChat
/// costs no transaction of its own. It settles the check only while it is still `pending`
/// (the desk's decision stands), and makes the case public if `publish` and its resident
/// asked for that.
#[derive(Debug, Clone)]
pub struct CheckVerdict {
    pub case_id: i64,
    pub verdict: &'static str,
    pub label: Option<i64>,
    pub publish: bool,
    pub now: i64,
}

/// A content check recorded with a new case (see `channels::content_check`).
#[derive(Debug, Clone)]
pub struct NewContentCheck {
    /// `pending` (WeChat to be asked) or `unchecked` (for the desk).
    pub verdict: &'static str,
    /// Whether the resident asked for the case to be public.
    pub want_public: bool,
    pub openid: Option<String>,
    /// When the retry loop may take it, should its first check not be made.
    pub next_at: i64,
}

/// What an action changes on the case row (besides status, version and time).
#[derive(Debug, Clone, Default)]
pub struct CaseChange {
    pub department_id: Option<Option<i64>>,
    pub category_id: Option<i64>,
    pub sign_due_at: Option<Option<i64>>,
    pub due_at: Option<Option<i64>>,
    /// The working days `due_at` was counted in (`Some(None)`: natural hours).
    pub due_workdays: Option<Option<i64>>,
    pub escalation_level: Option<i64>,
    pub merged_into: Option<i64>,
    pub satisfaction: Option<String>,
    pub stars: Option<Option<i64>>,
    pub resolved_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// Changes to the summoned departments (吹哨报到), in the same transaction.
    pub summons: Vec<super::SummonOp>,
    /// A change to the case's leader (领导包案), in the same transaction.
    pub leader: Option<super::LeaderOp>,
}

/// A timeline entry to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub actor_id: Option<i64>,
    pub actor_role: String,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
    pub data: Option<serde_json::Value>,
}

/// A stored photo to record.
#[derive(Debug, Clone)]
pub struct NewPhoto {
    pub case_id: i64,
    pub event_id: Option<i64>,
    pub uploaded_by: i64,
    pub uploader_role: String,
    pub content_type: String,
    pub size: i64,
    pub storage_key: String,
    pub sha256: String,
}

/// `select` (the full rows or their ids) `WHERE …` for one newest-first page of
/// [`Db::cases`], in `area_id` alone when given (the caller splits an area filter into its
/// areas).
fn push_case_page(
    sql: &mut Sql,
    select: &str,
    ilike: &str,
    scope: &Scope,
    f: &CaseFilter,
    area_id: Option<i64>,
    now: i64,
) {
    sql.push(select);
    sql.push(" WHERE 1 = 1");
    scope.push(sql);
    sql.push_in(
        "c.status",
        f.statuses.iter().map(|s| s.as_str().to_string()),
    );
    if let Some(v) = f.category_id {
        sql.push(" AND c.category_id = ").bind(Bind::I64(v));
    }
    if let Some(id) = area_id {
        sql.push(" AND c.area_id = ").bind(Bind::I64(id));
    }
    if let Some(v) = f.department_id {
        sql.push(" AND c.department_id = ").bind(Bind::I64(v));
    }
    if let Some(v) = &f.channel {
        sql.push(" AND c.channel = ").bind(Bind::Str(v.clone()));
    }
    if let Some(t) = &f.text {
        let pattern = format!(
            "%{}%",
            t.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        sql.push(" AND (c.tracking_no = ")
            .bind(Bind::Str(t.clone()));
        sql.push(" OR c.description ")
            .push(ilike)
            .push(" ")
            .bind(Bind::Str(pattern.clone()));
        sql.push(" ESCAPE '\\' OR c.address ")
            .push(ilike)
            .push(" ")
            .bind(Bind::Str(pattern));
        sql.push(" ESCAPE '\\')");
    }
    if let Some(v) = f.created_from {
        sql.push(" AND c.created_at >= ").bind(Bind::I64(v));
    }
    if let Some(v) = f.created_to {
        sql.push(" AND c.created_at < ").bind(Bind::I64(v));
    }
    match f.escalated {
        Some(true) => {
            sql.push(" AND c.escalation_level > 0");
        }
        Some(false) => {
            sql.push(" AND c.escalation_level = 0");
        }
        None => {}
    }
    match f.overdue {
        Some(true) => {
            sql.push(" AND ");
            push_overdue(sql, now);
        }
        Some(false) => {
            sql.push(" AND NOT ");
            push_overdue(sql, now);
        }
        None => {}
    }
    if let Some(v) = f.public {
        sql.push(" AND c.public = ").bind(Bind::Bool(v));
    }
    if let Some(v) = f.before_id {
        sql.push(" AND c.id < ").bind(Bind::I64(v));
    }
    match f.taken_by {
        Some(TakenFilter::Leader(l)) => {
            sql.push(" AND c.id IN (SELECT case_id FROM case_leaders WHERE leader_id = ")
                .bind(Bind::I64(l));
            sql.push(")");
        }
        Some(TakenFilter::Any) => {
            sql.push(" AND c.id IN (SELECT case_id FROM case_leaders)");
        }
        Some(TakenFilter::Nobody) => {
            sql.push(" AND c.id NOT IN (SELECT case_id FROM case_leaders)");
        }
        None => {}
    }
    sql.push(" ORDER BY c.id DESC LIMIT ")
        .bind(Bind::I64(f.limit));
}

/// The overdue condition as a boolean SQL expression, with `now` bound; mirrors
/// `minsheng_model::is_overdue`.
pub(super) fn push_overdue(sql: &mut Sql, now: i64) {
    sql.push("((c.status = 'submitted' AND c.accept_due_at < ")
        .bind(Bind::I64(now));
    sql.push(") OR (c.status IN ('assigned', 'reopened') AND (c.sign_due_at < ")
        .bind(Bind::I64(now));
    sql.push(" OR c.due_at < ").bind(Bind::I64(now));
    sql.push(")) OR (c.status = 'in_progress' AND c.due_at < ")
        .bind(Bind::I64(now));
    sql.push("))");
}

/// A tracking number people can read out on the phone: `MS` + the day (Beijing time) + the id.
pub(crate) fn tracking_no(id: i64, now: i64) -> String {
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset");
    let day = crate::to_time(now).with_timezone(&beijing).format("%Y%m%d");
    format!("MS{day}{id:06}")
}

/// The submission event's data: the channel, and the origin when there is one.
pub(crate) fn submit_data(r: &NewCaseRecord) -> serde_json::Value {
    let mut data = serde_json::json!({ "channel": r.channel });
    if let (Some(serde_json::Value::Object(o)), Some(d)) = (&r.origin, data.as_object_mut()) {
        d.extend(o.clone());
    }
    data
}

/// The hotline ticket number a case came with (its origin's `hotline_ticket_no`).
fn hotline_ticket_no(r: &NewCaseRecord) -> Option<String> {
    r.origin
        .as_ref()
        .and_then(|o| o.get("hotline_ticket_no"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// A case row as [`CASE_SELECT`] reads it, from `INSERT … RETURNING` (the names joined
/// there are looked up here).
const CASE_RETURNING: &str = "id, tracking_no, client_request_id, created_by, channel, category_id,
    (SELECT name FROM categories WHERE categories.id = cases.category_id) AS category_name,
    description, lat, lng, address, area_id,
    (SELECT path FROM areas WHERE areas.id = cases.area_id) AS area_path,
    department_id, anonymous, public, contact_name, contact_phone, status, version,
    escalation_level, merged_into, satisfaction, stars, accept_due_at, sign_due_at, due_at,
    resolved_at, closed_at, created_at, updated_at";

/// An event row as [`EVENT_SELECT`] reads it, from `INSERT … RETURNING`.
const EVENT_RETURNING: &str = "id, case_id, at, actor_id, actor_role,
    (SELECT display_name FROM users WHERE users.id = case_events.actor_id) AS actor_name,
    (SELECT d.name FROM users u JOIN departments d ON d.id = u.department_id
        WHERE u.id = case_events.actor_id AND case_events.actor_role = 'handler') AS actor_department,
    kind, from_status, to_status, note, data";

/// The rows of one statement of a group commit, largest first: the binary digits of `n`
/// (64 rows at most each), so that statements come in seven shapes only.
fn statement_sizes(mut n: usize) -> Vec<usize> {
    const MOST: usize = 64;
    let mut sizes = Vec::new();
    let mut size = MOST;
    while n > 0 {
        while size > n {
            size /= 2;
        }
        sizes.push(size);
        n -= size;
    }
    sizes
}

/// `INSERT INTO cases` of `rows` (id given, created at `now`), each whole with its tracking
/// number; a key stored before is skipped and returns no row.
fn insert_cases(rows: &[(i64, &NewCaseRecord, i64)]) -> Sql {
    let mut insert = Sql::new(
        "INSERT INTO cases (id, tracking_no, client_request_id, created_by, channel, category_id, description, lat, lng,
            address, area_id, anonymous, public, contact_name, contact_phone, hotline_ticket_no, status, version,
            escalation_level, accept_due_at, created_at, updated_at) VALUES ",
    );
    for (i, (id, r, now)) in rows.iter().enumerate() {
        insert.push(if i == 0 { "(" } else { ", (" });
        for (j, b) in [
            Bind::I64(*id),
            Bind::Str(tracking_no(*id, *now)),
            Bind::Str(r.client_request_id.clone()),
            Bind::I64(r.created_by),
            Bind::Str(r.channel.clone()),
            Bind::I64(r.category_id),
            Bind::Str(r.description.clone()),
            Bind::OptF64(r.lat),
            Bind::OptF64(r.lng),
            Bind::OptStr(r.address.clone()),
            Bind::OptI64(r.area_id),
            Bind::Bool(r.anonymous),
            Bind::Bool(r.public),
            Bind::OptStr(r.contact_name.clone()),
            Bind::OptStr(r.contact_phone.clone()),
            // The 12345 hotline's own ticket number, when the desk took the case from it.
            Bind::OptStr(hotline_ticket_no(r)),
        ]
        .into_iter()
        .enumerate()
        {
            if j > 0 {
                insert.push(", ");
            }
            insert.bind(b);
        }
        insert
            .push(", 'submitted', 1, 0, ")
            .bind(Bind::I64(r.accept_due_at));
        insert.push(", ").bind(Bind::I64(*now));
        insert.push(", ").bind(Bind::I64(*now)).push(")");
    }
    insert
        .push(" ON CONFLICT (created_by, client_request_id) DO NOTHING RETURNING ")
        .push(CASE_RETURNING);
    insert
}

/// The `submit` events of cases just stored (`(case id, record, now)`), returned as the
/// timeline reads them.
fn insert_submit_events(new: &[(i64, &NewCaseRecord, i64)]) -> Sql {
    let mut insert = Sql::new(
        "INSERT INTO case_events (case_id, at, actor_id, actor_role, kind, from_status, to_status, note, data) VALUES ",
    );
    for (i, (id, r, now)) in new.iter().enumerate() {
        insert
            .push(if i == 0 { "(" } else { ", (" })
            .bind(Bind::I64(*id));
        insert.push(", ").bind(Bind::I64(*now));
        insert.push(", ").bind(Bind::I64(r.created_by));
        insert.push(", ").bind(Bind::Str(r.actor_role.clone()));
        insert
            .push(", 'submit', NULL, 'submitted', NULL, ")
            .bind(Bind::Str(submit_data(r).to_string()))
            .push(")");
    }
    insert.push(" RETURNING ").push(EVENT_RETURNING);
    insert
}

/// The text of `sql` to run: its `$n` placeholders, or `?` in their place with
/// `positional` (see `sqlite::POSITIONAL_PARAMS`: SQLite looks each `$n` up by name among all
/// of a statement's, a cost growing with the square of a multi-row statement's values).
/// Every placeholder of a [`Sql`] comes after the previous one, so `?` bind in the same order.
fn statement(sql: &Sql, positional: bool) -> sqlx::AssertSqlSafe<String> {
    if !positional {
        return sql.sql();
    }
    let mut text = String::with_capacity(sql.text.len());
    let mut chars = sql.text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            text.push('?');
            while chars.next_if(char::is_ascii_digit).is_some() {}
        } else {
            text.push(c);
        }
    }
    sqlx::AssertSqlSafe(text)
}

/// Where the group commit's transaction differs between the databases (`sqlite.rs`,
/// `postgres.rs`).
pub(crate) trait SubmitTransaction {
    type Db: sqlx::Database;
    /// Begins the transaction that stores a batch of submissions, ready to append to the
    /// event log and to take the ids [`CaseIds`] gives.
    async fn begin_submissions(&self) -> sqlx::Result<sqlx::Transaction<'static, Self::Db>>;
}

/// Ids for new cases, taken before they are inserted (in the transaction of
/// [`SubmitTransaction::begin_submissions`]): each case is inserted with its id and the
/// tracking number made from it.
pub(crate) trait CaseIds {
    async fn reserve_case_ids(&mut self, n: usize) -> sqlx::Result<Vec<i64>>;
}

/// Timeline events with their actors' names, as every reader of the timeline sees them.
const EVENT_SELECT: &str =
    "SELECT e.id, e.case_id, e.at, e.actor_id, e.actor_role, u.display_name AS actor_name,
        (SELECT d.name FROM departments d WHERE d.id = u.department_id AND e.actor_role = 'handler') AS actor_department,
        e.kind, e.from_status, e.to_status, e.note, e.data
    FROM case_events e LEFT JOIN users u ON u.id = e.actor_id";

/// A stored submission: the case, and its `submit` event when this call stored it (`None`
/// for a repeated `client_request_id`, which answers the case stored before).
pub type Submitted = (CaseRow, Option<EventRow>);

impl Db {
    /// Inserts a case with its `submit` event; see [`Submitted`].
    pub async fn create_case(&self, r: &NewCaseRecord, now: i64) -> StoreResult<Submitted> {
        let mut out = self.create_cases(&[(r, now)]).await?;
        out.pop().ok_or(StoreError::NotFound)
    }

    /// Inserts several cases, each with its `submit` event, in one transaction (group commit:
    /// one commit for the lot). Answers in the order given; a repeated
    /// `(created_by, client_request_id)` answers the case already stored, with `false`. If
    /// any insert fails, nothing is stored.
    pub async fn create_cases(
        &self,
        batch: &[(&NewCaseRecord, i64)],
    ) -> StoreResult<Vec<Submitted>> {
        let stored = self.store_cases(batch).await?;
        let records: Vec<&NewCaseRecord> = batch.iter().map(|(r, _)| *r).collect();
        self.answer_stored(&records, stored).await
    }

    /// The transaction of [`Db::create_cases`]: for each record in order, its new case and
    /// submit event, as every reader will see them (returned by the statements that stored
    /// them, no read afterwards), or `None` when its `(created_by, client_request_id)` was
    /// stored before (or earlier in the batch).
    ///
    /// The cases get their ids before they are inserted ([`CaseIds`]), so each is stored
    /// whole, tracking number included, by one multi-row INSERT (numbering them afterwards
    /// rewrote every row and its tracking-number index entry a second time). The rows go in
    /// statements of 64, 32, …, 1 rows (the batch's size in binary), so a connection prepares
    /// at most seven shapes of each statement and keeps them in its statement cache: a shape
    /// per batch size missed it (three statements × up to 64 sizes × each pooled connection)
    /// and re-prepared statements of a thousand placeholders.
    pub async fn store_cases(
        &self,
        batch: &[(&NewCaseRecord, i64)],
    ) -> StoreResult<Vec<Option<(CaseRow, EventRow)>>> {
        Ok(self.store_cases_with(batch, &[]).await?.0)
    }

    /// [`Db::store_cases`] and, in the same transaction, content checks' `verdicts`; answers
    /// for each verdict whether it settled its check (`false`: the desk had decided first).
    pub async fn store_cases_with(
        &self,
        batch: &[(&NewCaseRecord, i64)],
        verdicts: &[CheckVerdict],
    ) -> StoreResult<(Vec<Option<(CaseRow, EventRow)>>, Vec<bool>)> {
        if batch.is_empty() && verdicts.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        // The first of the batch with each key is stored; a repeat within the batch answers
        // that same case (as one stored before does).
        let firsts: Vec<usize> = (0..batch.len())
            .filter(|&i| {
                let r = batch[i].0;
                batch[..i].iter().all(|(o, _)| {
                    (o.created_by, &o.client_request_id) != (r.created_by, &r.client_request_id)
                })
            })
            .collect();
        let positional = match self {
            Db::Sqlite(_) => super::sqlite::POSITIONAL_PARAMS,
            Db::Postgres(_) => super::postgres::POSITIONAL_PARAMS,
        };
        let (cases, events, settled) = with_db!(self, p => {
            let mut tx = p.begin_submissions().await?;
            let ids = (*tx).reserve_case_ids(firsts.len()).await?;
            let mut cases: std::collections::HashMap<i64, CaseRow> =
                std::collections::HashMap::with_capacity(firsts.len());
            let mut done = 0;
            for size in statement_sizes(firsts.len()) {
                let rows: Vec<(i64, &NewCaseRecord, i64)> = (done..done + size)
                    .map(|k| (ids[k], batch[firsts[k]].0, batch[firsts[k]].1))
                    .collect();
                done += size;
                let insert = insert_cases(&rows);
                let q = statement(&insert, positional);
                for c in bind_all!(sqlx::query_as::<_, CaseRow>(q), insert.binds)
                    .fetch_all(&mut *tx)
                    .await?
                {
                    cases.insert(c.id, c);
                }
            }
            // The stored ones (a key stored before got no row), in the batch's order.
            let new: Vec<(i64, &NewCaseRecord, i64)> = (0..firsts.len())
                .filter(|&k| cases.contains_key(&ids[k]))
                .map(|k| (ids[k], batch[firsts[k]].0, batch[firsts[k]].1))
                .collect();
            let mut events: Vec<EventRow> = Vec::with_capacity(new.len());
            let mut done = 0;
            for size in statement_sizes(new.len()) {
                let insert = insert_submit_events(&new[done..done + size]);
                done += size;
                let q = statement(&insert, positional);
                events.extend(
                    bind_all!(sqlx::query_as::<_, EventRow>(q), insert.binds)
                        .fetch_all(&mut *tx)
                        .await?,
                );
            }
            let held: Vec<(i64, &NewContentCheck, i64)> = new
                .iter()
                .filter_map(|(id, r, now)| r.content_check.as_ref().map(|c| (*id, c, *now)))
                .collect();
            if !held.is_empty() {
                let mut checks = Sql::new(
                    "INSERT INTO content_checks (case_id, verdict, want_public, openid, attempts, next_at, updated_at) VALUES ",
                );
                for (i, (id, c, now)) in held.iter().enumerate() {
                    checks.push(if i == 0 { "(" } else { ", (" }).bind(Bind::I64(*id));
                    checks.push(", ").bind(Bind::Str(c.verdict.to_string()));
                    checks.push(", ").bind(Bind::Bool(c.want_public));
                    checks.push(", ").bind(Bind::OptStr(c.openid.clone()));
                    checks.push(", 0, ").bind(Bind::I64(c.next_at));
                    checks.push(", ").bind(Bind::I64(*now)).push(")");
                }
                let q = statement(&checks, positional);
                bind_all!(sqlx::query(q), checks.binds).execute(&mut *tx).await?;
            }
            let mut settled = Vec::with_capacity(verdicts.len());
            for v in verdicts {
                let n = sqlx::query(
                    "UPDATE content_checks SET verdict = $1, label = $2, updated_at = $3
                     WHERE case_id = $4 AND verdict = 'pending'",
                )
                .bind(v.verdict).bind(v.label).bind(v.now).bind(v.case_id)
                .execute(&mut *tx).await?.rows_affected();
                if n == 1 && v.publish {
                    sqlx::query(
                        "UPDATE cases SET public = (SELECT want_public FROM content_checks WHERE case_id = $1) WHERE id = $1",
                    )
                    .bind(v.case_id).execute(&mut *tx).await?;
                }
                settled.push(n == 1);
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>((
                (0..batch.len())
                    .map(|i| {
                        let k = firsts.binary_search(&i).ok()?;
                        cases.remove(&ids[k])
                    })
                    .collect::<Vec<Option<CaseRow>>>(),
                events,
                settled,
            ))
        })?;
        let mut events: std::collections::HashMap<i64, EventRow> =
            events.into_iter().map(|e| (e.case_id, e)).collect();
        let cases = cases
            .into_iter()
            .map(|c| {
                c.map(|c| {
                    let event = events.remove(&c.id).ok_or(StoreError::NotFound)?;
                    Ok((c, event))
                })
                .transpose()
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((cases, settled))
    }

    /// The answers of [`Db::create_cases`] for `records`, given what [`Db::store_cases`]
    /// stored for them: a record it did not store (a repeated `client_request_id`) answers
    /// the case stored before.
    pub async fn answer_stored(
        &self,
        records: &[&NewCaseRecord],
        stored: Vec<Option<(CaseRow, EventRow)>>,
    ) -> StoreResult<Vec<Submitted>> {
        let mut out = Vec::with_capacity(records.len());
        for (r, s) in records.iter().zip(stored) {
            out.push(match s {
                Some((case, event)) => (case, Some(event)),
                None => (
                    self.case_by_request(r.created_by, &r.client_request_id)
                        .await?
                        .ok_or(StoreError::NotFound)?,
                    None,
                ),
            });
        }
        Ok(out)
    }

    pub async fn case(&self, id: i64) -> StoreResult<Option<CaseRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{CASE_SELECT} WHERE c.id = $1"));
        Ok(with_db!(self, p => sqlx::query_as::<_, CaseRow>(sql).bind(id).fetch_optional(p).await)?)
    }

    async fn case_by_request(
        &self,
        user: i64,
        client_request_id: &str,
    ) -> StoreResult<Option<CaseRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{CASE_SELECT} WHERE c.created_by = $1 AND c.client_request_id = $2"
        ));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, CaseRow>(sql).bind(user).bind(client_request_id).fetch_optional(p).await)?,
        )
    }

    /// A page of cases within `scope` matching `f`, newest first.
    ///
    /// With an area filter that spans several areas, each area is its own newest-first
    /// page, and the pages are merged ([`AreaPages`]): each is one range of the
    /// (area_id, status, id) index, so a page costs the same however the newest cases are
    /// spread (a burst of new submissions in one street made PostgreSQL walk all of them to
    /// find a district's in-progress cases).
    pub async fn cases(
        &self,
        scope: &Scope,
        f: &CaseFilter,
        now: i64,
    ) -> StoreResult<Vec<CaseRow>> {
        let mut sql = Sql::new("");
        match f.area_ids.as_deref() {
            Some([]) => return Ok(Vec::new()),
            // No area, or one: a single page.
            one @ (None | Some([_])) => {
                let area = one.and_then(|ids| ids.first().copied());
                push_case_page(&mut sql, CASE_SELECT, self.ilike(), scope, f, area, now)
            }
            Some(ids) => {
                let ids_first = self.area_pages() == AreaPages::IdsFirst;
                if ids_first {
                    sql.push(CASE_SELECT)
                        .push(" WHERE c.id IN (SELECT id FROM (");
                }
                let page = if ids_first {
                    CASE_ID_SELECT
                } else {
                    CASE_SELECT
                };
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        sql.push(" UNION ALL ");
                    }
                    sql.push("SELECT * FROM (");
                    push_case_page(&mut sql, page, self.ilike(), scope, f, Some(*id), now);
                    sql.push(") AS page");
                }
                if ids_first {
                    sql.push(") AS pages");
                }
                sql.push(" ORDER BY id DESC LIMIT ")
                    .bind(Bind::I64(f.limit));
                if ids_first {
                    sql.push(") ORDER BY c.id DESC");
                }
            }
        }
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, CaseRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// The case's timeline, oldest first.
    pub async fn events(&self, case_id: i64) -> StoreResult<Vec<EventRow>> {
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, EventRow>(sqlx::AssertSqlSafe(format!("{EVENT_SELECT} WHERE e.case_id = $1 ORDER BY e.id")))
            .bind(case_id).fetch_all(p).await
        })?)
    }

    /// Applies a status change and appends its event, if the case is still at `version`.
    pub async fn change_case(
        &self,
        case_id: i64,
        version: i64,
        to_status: Status,
        ch: &CaseChange,
        ev: &NewEvent,
        now: i64,
    ) -> StoreResult<CaseRow> {
        let mut sql = Sql::new("UPDATE cases SET version = version + 1, status = ");
        sql.bind(Bind::Str(to_status.as_str().into()));
        sql.push(", updated_at = ").bind(Bind::I64(now));
        if let Some(v) = ch.department_id {
            sql.push(", department_id = ").bind(Bind::OptI64(v));
        }
        if let Some(v) = ch.category_id {
            sql.push(", category_id = ").bind(Bind::I64(v));
        }
        if let Some(v) = ch.sign_due_at {
            sql.push(", sign_due_at = ").bind(Bind::OptI64(v));
        }
        if let Some(v) = ch.due_at {
            sql.push(", due_at = ").bind(Bind::OptI64(v));
        }
        if let Some(v) = ch.due_workdays {
            sql.push(", due_workdays = ").bind(Bind::OptI64(v));
        }
        if let Some(v) = ch.escalation_level {
            sql.push(", escalation_level = ").bind(Bind::I64(v));
        }
        if let Some(v) = ch.merged_into {
            sql.push(", merged_into = ").bind(Bind::I64(v));
        }
        if let Some(v) = &ch.satisfaction {
            sql.push(", satisfaction = ").bind(Bind::Str(v.clone()));
        }
        if let Some(v) = ch.stars {
            sql.push(", stars = ").bind(Bind::OptI64(v));
        }
        if let Some(v) = ch.resolved_at {
            sql.push(", resolved_at = ").bind(Bind::I64(v));
        }
        if let Some(v) = ch.closed_at {
            sql.push(", closed_at = ").bind(Bind::I64(v));
        }
        sql.push(" WHERE id = ").bind(Bind::I64(case_id));
        sql.push(" AND version = ").bind(Bind::I64(version));
        let q = sql.sql();
        let data = ev.data.as_ref().map(|d| d.to_string());
        let ops: Vec<Sql> = ch
            .summons
            .iter()
            .map(|o| o.sql(case_id, now))
            .chain(ch.leader.iter().map(|o| o.sql(case_id, now)))
            .collect();
        let applied = with_db!(self, p => {
            let mut tx = p.begin().await?;
            let n = bind_all!(sqlx::query(q), sql.binds.clone()).execute(&mut *tx).await?.rows_affected();
            if n == 1 {
                for op in &ops {
                    bind_all!(sqlx::query(op.sql()), op.binds.clone()).execute(&mut *tx).await?;
                }
                (*tx).lock_event_log().await?;
                sqlx::query(INSERT_EVENT)
                    .bind(case_id).bind(now).bind(ev.actor_id).bind(&ev.actor_role).bind(&ev.kind)
                    .bind(&ev.from_status).bind(&ev.to_status).bind(&ev.note).bind(&data)
                    .execute(&mut *tx).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(n == 1)
        })?;
        if !applied {
            return Err(match self.case(case_id).await? {
                Some(_) => StoreError::Conflict,
                None => StoreError::NotFound,
            });
        }
        self.case(case_id).await?.ok_or(StoreError::NotFound)
    }

    /// Closes resolved cases whose `resolved_at` is before `cutoff`, each with an
    /// `auto_close` event. Safe to run from every instance at once: a case is closed by
    /// whichever conditional update wins, and only the winner writes the event.
    pub async fn auto_close(&self, cutoff: i64, now: i64, batch: i64) -> StoreResult<u64> {
        let due = with_db!(self, p => {
            sqlx::query_as::<_, (i64, i64)>(
                "SELECT id, version FROM cases WHERE status = 'resolved' AND resolved_at < $1 ORDER BY resolved_at LIMIT $2",
            )
            .bind(cutoff).bind(batch).fetch_all(p).await
        })?;
        let mut closed = 0;
        for (id, version) in due {
            let ev = NewEvent {
                actor_id: None,
                actor_role: "system".into(),
                kind: "auto_close".into(),
                from_status: Some("resolved".into()),
                to_status: "closed".into(),
                note: Some("逾期未评价,系统自动销号".into()),
                data: None,
            };
            let ch = CaseChange {
                closed_at: Some(now),
                ..Default::default()
            };
            match self
                .change_case(id, version, Status::Closed, &ch, &ev, now)
                .await
            {
                Ok(_) => closed += 1,
                Err(StoreError::Conflict) => {} // someone else acted first
                Err(e) => return Err(e),
            }
        }
        Ok(closed)
    }

    /// Records a stored photo with a `photo` event, if the attachment still has room.
    pub async fn add_photo(
        &self,
        ph: &NewPhoto,
        max_per_attachment: i64,
        case_status: &str,
        now: i64,
    ) -> StoreResult<Option<PhotoRow>> {
        let id: Option<i64> = with_db!(self, p => async {
            let mut tx = p.begin().await?;
            let n = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM photos WHERE case_id = $1 AND uploaded_by = $2
                 AND ((event_id IS NULL AND $3 IS NULL) OR event_id = $3)",
            )
            .bind(ph.case_id).bind(ph.uploaded_by).bind(ph.event_id).fetch_one(&mut *tx).await?;
            if n >= max_per_attachment {
                return Ok::<_, sqlx::Error>(None);
            }
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO photos (case_id, event_id, uploaded_by, content_type, size, storage_key, sha256, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(ph.case_id).bind(ph.event_id).bind(ph.uploaded_by).bind(&ph.content_type).bind(ph.size)
            .bind(&ph.storage_key).bind(&ph.sha256).bind(now)
            .fetch_one(&mut *tx).await?;
            (*tx).lock_event_log().await?;
            sqlx::query(INSERT_EVENT)
                .bind(ph.case_id).bind(now).bind(Some(ph.uploaded_by)).bind(&ph.uploader_role).bind("photo")
                .bind(Some(case_status)).bind(case_status).bind(None::<String>)
                .bind(Some(serde_json::json!({ "photo_id": id, "event_id": ph.event_id }).to_string()))
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(id))
        }.await)?;
        match id {
            Some(id) => self.photo(id).await,
            None => Ok(None),
        }
    }

    pub async fn photo(&self, id: i64) -> StoreResult<Option<PhotoRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{PHOTO_COLS} WHERE id = $1"));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, PhotoRow>(sql).bind(id).fetch_optional(p).await)?,
        )
    }

    pub async fn photos(&self, case_id: i64) -> StoreResult<Vec<PhotoRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{PHOTO_COLS} WHERE case_id = $1 ORDER BY id"));
        Ok(
            with_db!(self, p => sqlx::query_as::<_, PhotoRow>(sql).bind(case_id).fetch_all(p).await)?,
        )
    }

    /// The photos of several cases in one query (for lists).
    pub async fn photos_of(&self, case_ids: &[i64]) -> StoreResult<Vec<PhotoRow>> {
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(PHOTO_COLS);
        sql.push(" WHERE 1 = 1").push_in_i64("case_id", case_ids);
        sql.push(" ORDER BY id");
        let q = sql.sql();
        Ok(
            with_db!(self, p => bind_all!(sqlx::query_as::<_, PhotoRow>(q), sql.binds.clone()).fetch_all(p).await)?,
        )
    }

    /// Whether an event belongs to a case (photos may attach to one of its events).
    pub async fn event_of_case(&self, event_id: i64, case_id: i64) -> StoreResult<bool> {
        let n = with_db!(self, p => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM case_events WHERE id = $1 AND case_id = $2")
                .bind(event_id).bind(case_id).fetch_one(p).await
        })?;
        Ok(n > 0)
    }

    /// Events after `after` in id order, with their cases' current state (the live feed).
    pub async fn feed_after(&self, after: i64, limit: i64) -> StoreResult<Vec<FeedRow>> {
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, FeedRow>(
                "SELECT e.id, e.case_id, e.at, e.actor_id, e.actor_role, u.display_name AS actor_name,
                        (SELECT d.name FROM departments d WHERE d.id = u.department_id AND e.actor_role = 'handler') AS actor_department,
                        e.kind, e.from_status, e.to_status, e.note, e.data,
                        c.created_by, c.department_id, a.path AS area_path, c.tracking_no, c.public, c.status, c.version,
                        c.category_id, c.area_id, c.lat, c.lng, c.escalation_level, c.accept_due_at, c.sign_due_at, c.due_at
                 FROM case_events e JOIN cases c ON c.id = e.case_id
                 LEFT JOIN areas a ON a.id = c.area_id LEFT JOIN users u ON u.id = e.actor_id
                 WHERE e.id > $1 ORDER BY e.id LIMIT $2",
            )
            .bind(after).bind(limit).fetch_all(p).await
        })?)
    }

    /// The newest event id (0 when there is none).
    pub async fn last_event_id(&self) -> StoreResult<i64> {
        Ok(with_db!(self, p => {
            sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM case_events").fetch_one(p).await
        })?
        .unwrap_or(0))
    }

    /// Cases by status, for `/metrics`.
    pub async fn count_by_status(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(with_db!(self, p => {
            sqlx::query_as::<_, (String, i64)>("SELECT status, COUNT(*) FROM cases GROUP BY status").fetch_all(p).await
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_stored_in_statements_of_seven_sizes_at_most() {
        assert_eq!(statement_sizes(0), Vec::<usize>::new());
        assert_eq!(statement_sizes(1), vec![1]);
        assert_eq!(statement_sizes(37), vec![32, 4, 1]);
        assert_eq!(statement_sizes(64), vec![64]);
        assert_eq!(statement_sizes(200), vec![64, 64, 64, 8]);
        let mut shapes = std::collections::BTreeSet::new();
        for n in 1..=300 {
            let sizes = statement_sizes(n);
            assert_eq!(sizes.iter().sum::<usize>(), n);
            shapes.extend(sizes);
        }
        assert_eq!(
            shapes.into_iter().collect::<Vec<_>>(),
            [1, 2, 4, 8, 16, 32, 64]
        );
    }

    #[test]
    fn positional_statements_put_a_question_mark_for_each_numbered_placeholder() {
        let mut sql = Sql::new("INSERT INTO t (a, b) VALUES (");
        sql.bind(Bind::I64(1))
            .push(", ")
            .bind(Bind::Str("$1".into()));
        for _ in 0..10 {
            sql.push(", ").bind(Bind::I64(2));
        }
        sql.push(") RETURNING a");
        assert_eq!(
            statement(&sql, true).0,
            format!(
                "INSERT INTO t (a, b) VALUES (?, ?{}) RETURNING a",
                ", ?".repeat(10)
            )
        );
        assert_eq!(statement(&sql, false).0, sql.text);
    }
}
