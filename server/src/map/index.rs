//! The map's materialized view of the case ledger: per case, the few fields the aggregates
//! need, and the sign events the response rate counts.
//!
//! Every change to a case is written together with a timeline event (`case_events`, ids in
//! commit order), so the index follows the log: it remembers the newest event it covers and,
//! before each read, reloads the current rows of the cases touched by newer events. A read
//! therefore sees every write committed before it began, on every instance, exactly as the
//! SQL it replaces did; nothing here is needed for correctness beyond this process's cache.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use minsheng_model::{Status, is_overdue};

#[cfg(test)]
use crate::storage::DepartmentRecord;
use crate::storage::{BEIJING_MS, Db, MapCaseRow, Scope, StoreResult};

mod agg;
use agg::Aggregates;

const DAY_MS: i64 = 86_400_000;
/// Events read per catch-up query.
const BATCH: i64 = 5_000;
/// An absent time (NULL).
const NO_TIME: i64 = i64::MIN;
/// An absent key (NULL department or area).
const NO_KEY: u32 = u32::MAX;
/// A key no case has: a filter on an id the index has never seen.
const UNSEEN: u32 = u32::MAX - 1;
/// A status string that is none of [`Status::ALL`].
const UNKNOWN_STATUS: u8 = u8::MAX;

/// Filters shared by the map's aggregates.
#[derive(Debug, Clone, Default)]
pub struct MapFilter {
    pub category_id: Option<i64>,
    pub department_id: Option<i64>,
    pub statuses: Vec<Status>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
}

/// Cases of one area and status (the caller rolls them up the tree).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, sqlx::FromRow)]
pub struct AreaStatusCount {
    pub area_path: Option<String>,
    pub status: String,
    pub count: i64,
    pub overdue: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PointRow {
    pub id: i64,
    pub lat: f64,
    pub lng: f64,
    pub status: String,
    pub category_id: i64,
    pub accept_due_at: Option<i64>,
    pub sign_due_at: Option<i64>,
    pub due_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ClusterRow {
    pub lat: f64,
    pub lng: f64,
    pub count: i64,
    pub overdue: i64,
}

/// Headline numbers (rates as total/good pairs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub new_today: i64,
    pub open: i64,
    pub overdue: i64,
    pub signed: (i64, i64),
    pub on_time: (i64, i64),
    pub satisfied: (i64, i64),
    /// (day number since the epoch in Beijing time, created, closed)
    pub trend: Vec<(i64, i64, i64)>,
}

/// One case as the map sees it: 96 bytes.
#[derive(Debug, Clone, Copy)]
struct Case {
    id: i64,
    /// NaN when absent, so that every box comparison fails as with NULL.
    lat: f64,
    lng: f64,
    created_at: i64,
    resolved_at: i64,
    closed_at: i64,
    accept_due_at: i64,
    sign_due_at: i64,
    due_at: i64,
    created_by: u32,
    category: u32,
    department: u32,
    area: u32,
    status: u8,
    satisfaction: Satisfaction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Satisfaction {
    None,
    /// `satisfied` or `basically_satisfied`.
    Good,
    Other,
}

fn opt(t: i64) -> Option<i64> {
    (t != NO_TIME).then_some(t)
}

impl Case {
    fn status(&self) -> Option<Status> {
        Status::ALL.get(self.status as usize).copied()
    }

    fn overdue(&self, now: i64) -> bool {
        self.status().is_some_and(|s| {
            is_overdue(
                s,
                opt(self.accept_due_at),
                opt(self.sign_due_at),
                opt(self.due_at),
                now,
            )
        })
    }

    fn in_box(&self, (w, s, e, n): (f64, f64, f64, f64)) -> bool {
        self.lat >= s && self.lat <= n && self.lng >= w && self.lng <= e
    }
}

/// Small tables that turn repeated values into `u32` keys.
#[derive(Debug)]
struct Interner<T> {
    values: Vec<T>,
    keys: HashMap<T, u32>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            values: Vec::new(),
            keys: HashMap::new(),
        }
    }
}

impl<T: Hash + Eq + Clone> Interner<T> {
    fn key(&mut self, v: &T) -> u32 {
        if let Some(k) = self.keys.get(v) {
            return *k;
        }
        let k = self.values.len() as u32;
        self.values.push(v.clone());
        self.keys.insert(v.clone(), k);
        k
    }

    fn find(&self, v: &T) -> u32 {
        self.keys.get(v).copied().unwrap_or(UNSEEN)
    }

    fn bytes(&self) -> usize {
        // Values live twice (vector and map); a map slot costs about a key, a value and a byte.
        self.values.capacity() * std::mem::size_of::<T>()
            + self.keys.capacity() * (std::mem::size_of::<T>() + 5)
    }
}

/// The index's contents, as of `cursor`.
#[derive(Debug, Default)]
struct Data {
    /// The newest event reflected; `None` before the first build.
    cursor: Option<i64>,
    /// Sorted by id.
    cases: Vec<Case>,
    /// `(case id, at)` of every `sign` event, sorted by case id.
    signs: Vec<(i64, i64)>,
    paths: Interner<String>,
    users: Interner<i64>,
    categories: Interner<i64>,
    departments: Interner<i64>,
    /// 吹哨报到: per department id, the cases it is summoned to (its handlers see them as
    /// their own). A summons is never deleted, only its state changes.
    summoned: HashMap<i64, std::collections::HashSet<i64>>,
    /// Counts of `cases`, kept with them.
    agg: Aggregates,
}

/// A filter and scope turned into the index's keys.
struct Matcher {
    scope: ScopeKeys,
    category: Option<u32>,
    department: Option<u32>,
    /// Bit `i` admits `Status::ALL[i]`; `None` admits every status.
    statuses: Option<u16>,
    created_from: Option<i64>,
    created_to: Option<i64>,
}

enum ScopeKeys {
    All,
    Owner(u32),
    /// A department's cases and the cases it is summoned to (by id).
    Department(u32, std::collections::HashSet<i64>),
    /// Indexed by area key: whether that area is in the subtree.
    Areas(Vec<bool>),
    Nothing,
}

impl Matcher {
    fn admits(&self, c: &Case) -> bool {
        let in_scope = match &self.scope {
            ScopeKeys::All => true,
            ScopeKeys::Owner(u) => c.created_by == *u,
            ScopeKeys::Department(d, summoned) => c.department == *d || summoned.contains(&c.id),
            ScopeKeys::Areas(mask) => mask.get(c.area as usize).copied().unwrap_or(false),
            ScopeKeys::Nothing => false,
        };
        in_scope
            && self.category.is_none_or(|k| c.category == k)
            && self.department.is_none_or(|k| c.department == k)
            && self
                .statuses
                .is_none_or(|bits| c.status < 16 && bits & (1 << c.status) != 0)
            && self.created_from.is_none_or(|t| c.created_at >= t)
            && self.created_to.is_none_or(|t| c.created_at < t)
    }
}

/// A cluster's sums of latitude and longitude, its count and how many are overdue.
type ClusterSums = (f64, f64, i64, i64);

/// The figures being added up, case by case.
struct Tally {
    fig: Figures,
    created: Vec<i64>,
    closed: Vec<i64>,
    since: i64,
    today: i64,
    now: i64,
    first: i64,
}

impl Tally {
    fn count_day(v: &mut [i64], t: i64, since: i64, first: i64) {
        if t != NO_TIME && t >= since {
            let day = agg::day(t);
            if let Some(n) = usize::try_from(day - first).ok().and_then(|i| v.get_mut(i)) {
                *n += 1;
            }
        }
    }

    /// Adds one admitted case and its sign events.
    fn case(&mut self, c: &Case, signs: &[(i64, i64)]) {
        let (since, fig) = (self.since, &mut self.fig);
        for &(_, at) in signs {
            if at >= since {
                fig.signed.0 += 1;
                fig.signed.1 += i64::from(c.sign_due_at != NO_TIME && at <= c.sign_due_at);
            }
        }
        fig.new_today += i64::from(c.created_at >= self.today);
        // Unknown statuses count as open, as `NOT IN ('closed', 'rejected', 'merged')` did.
        fig.open += i64::from(c.status().is_none_or(|s| !s.is_terminal()));
        fig.overdue += i64::from(c.overdue(self.now));
        if c.resolved_at != NO_TIME && c.resolved_at >= since {
            fig.on_time.0 += 1;
            fig.on_time.1 += i64::from(c.due_at != NO_TIME && c.resolved_at <= c.due_at);
            if c.satisfaction != Satisfaction::None {
                fig.satisfied.0 += 1;
                fig.satisfied.1 += i64::from(c.satisfaction == Satisfaction::Good);
            }
        }
        Self::count_day(&mut self.created, c.created_at, since, self.first);
        Self::count_day(&mut self.closed, c.closed_at, since, self.first);
    }
}

impl Matcher {
    /// Whether the aggregates can answer: they have no creation times, and no owners.
    fn aggregable(&self) -> bool {
        self.created_from.is_none()
            && self.created_to.is_none()
            && !matches!(self.scope, ScopeKeys::Owner(_))
    }

    /// Whether every case of an aggregate group passes (a department's summoned cases
    /// aside: see [`Data::extras`]); `status` `None` for groups of every status.
    fn admits_group(&self, area: u32, category: u32, department: u32, status: Option<u8>) -> bool {
        let in_scope = match &self.scope {
            ScopeKeys::All => true,
            ScopeKeys::Owner(_) | ScopeKeys::Nothing => false,
            ScopeKeys::Department(d, _) => department == *d,
            ScopeKeys::Areas(mask) => mask.get(area as usize).copied().unwrap_or(false),
        };
        in_scope
            && self.category.is_none_or(|k| category == k)
            && self.department.is_none_or(|k| department == k)
            && status.is_none_or(|s| {
                self.statuses
                    .is_none_or(|bits| s < 16 && bits & (1 << s) != 0)
            })
    }
}

impl Data {
    /// The cases a scope admits beyond its aggregate groups: a department's summoned cases
    /// of other departments.
    fn extras<'a>(&'a self, m: &'a Matcher) -> impl Iterator<Item = &'a Case> + 'a {
        let summoned = match &m.scope {
            ScopeKeys::Department(d, summoned) => Some((*d, summoned)),
            _ => None,
        };
        summoned.into_iter().flat_map(move |(d, ids)| {
            ids.iter().filter_map(move |id| {
                let i = self.cases.binary_search_by_key(id, |c| c.id).ok()?;
                let c = &self.cases[i];
                (c.department != d && m.admits(c)).then_some(c)
            })
        })
    }

    fn matcher(&self, scope: &Scope, f: &MapFilter) -> Matcher {
        let scope = match scope {
            Scope::All => ScopeKeys::All,
            Scope::Owner(u) => ScopeKeys::Owner(self.users.find(u)),
            Scope::Department(d) => ScopeKeys::Department(
                self.departments.find(d),
                self.summoned.get(d).cloned().unwrap_or_default(),
            ),
            Scope::Subtree(p) => ScopeKeys::Areas(
                self.paths
                    .values
                    .iter()
                    .map(|ap| ap.starts_with(p.as_str()))
                    .collect(),
            ),
            Scope::Nothing => ScopeKeys::Nothing,
        };
        let statuses = (!f.statuses.is_empty()).then(|| {
            f.statuses
                .iter()
                .filter_map(|s| Status::ALL.iter().position(|a| a == s))
                .fold(0u16, |bits, i| bits | 1 << i)
        });
        Matcher {
            scope,
            category: f.category_id.map(|v| self.categories.find(&v)),
            department: f.department_id.map(|v| self.departments.find(&v)),
            statuses,
            created_from: f.created_from,
            created_to: f.created_to,
        }
    }

    fn matching<'a>(&'a self, m: &'a Matcher) -> impl DoubleEndedIterator<Item = &'a Case> + 'a {
        self.cases.iter().filter(move |c| m.admits(c))
    }

    fn compact(&mut self, r: &MapCaseRow) -> Case {
        let time = |t: Option<i64>| t.unwrap_or(NO_TIME);
        Case {
            id: r.id,
            lat: r.lat.unwrap_or(f64::NAN),
            lng: r.lng.unwrap_or(f64::NAN),
            created_at: r.created_at,
            resolved_at: time(r.resolved_at),
            closed_at: time(r.closed_at),
            accept_due_at: time(r.accept_due_at),
            sign_due_at: time(r.sign_due_at),
            due_at: time(r.due_at),
            created_by: self.users.key(&r.created_by),
            category: self.categories.key(&r.category_id),
            department: r.department_id.map_or(NO_KEY, |d| self.departments.key(&d)),
            area: r.area_path.as_ref().map_or(NO_KEY, |p| self.paths.key(p)),
            status: Status::parse(&r.status)
                .and_then(|s| Status::ALL.iter().position(|a| *a == s))
                .map_or(UNKNOWN_STATUS, |i| i as u8),
            satisfaction: match r.satisfaction.as_deref() {
                None => Satisfaction::None,
                Some("satisfied" | "basically_satisfied") => Satisfaction::Good,
                Some(_) => Satisfaction::Other,
            },
        }
    }

    /// Stores a case's current row (new cases nearly always come last).
    fn upsert(&mut self, r: &MapCaseRow) {
        let c = self.compact(r);
        if self.cases.last().is_none_or(|last| last.id < c.id) {
            self.cases.push(c);
            return;
        }
        match self.cases.binary_search_by_key(&c.id, |x| x.id) {
            Ok(i) => self.cases[i] = c,
            Err(i) => self.cases.insert(i, c),
        }
    }

    fn bytes(&self) -> usize {
        self.cases.capacity() * std::mem::size_of::<Case>()
            + self.signs.capacity() * std::mem::size_of::<(i64, i64)>()
            + self.paths.bytes()
            + self
                .paths
                .values
                .iter()
                .map(|p| 2 * p.capacity())
                .sum::<usize>()
            + self.users.bytes()
            + self.categories.bytes()
            + self.departments.bytes()
            + self.agg.bytes()
    }

    /// The sign events of one case.
    fn signs_of(&self, id: i64) -> &[(i64, i64)] {
        let lo = self.signs.partition_point(|(c, _)| *c < id);
        let hi = lo + self.signs[lo..].partition_point(|(c, _)| *c == id);
        &self.signs[lo..hi]
    }

    /// Counts the indexed case `id` in (`sign` 1) or out (-1) of the aggregates.
    fn count(&mut self, id: i64, sign: i32) {
        if let Ok(i) = self.cases.binary_search_by_key(&id, |c| c.id) {
            let c = self.cases[i];
            let lo = self.signs.partition_point(|(c, _)| *c < id);
            let hi = lo + self.signs[lo..].partition_point(|(c, _)| *c == id);
            self.agg.apply(&c, &self.signs[lo..hi], sign, true);
        }
    }

    /// The aggregates of `cases` from scratch.
    fn aggregate(&self) -> Aggregates {
        let mut agg = Aggregates::default();
        let mut lo = 0;
        for c in &self.cases {
            lo += self.signs[lo..].partition_point(|(case, _)| *case < c.id);
            let hi = lo + self.signs[lo..].partition_point(|(case, _)| *case == c.id);
            agg.apply(c, &self.signs[lo..hi], 1, false);
            lo = hi;
        }
        agg.sort();
        agg
    }
}

/// The progress map's in-memory index, shared by the requests of one instance.
#[derive(Debug, Default)]
pub struct MapIndex {
    data: RwLock<Data>,
    /// One catch-up at a time; readers wait on it only when the log has moved.
    catching_up: tokio::sync::Mutex<()>,
}

/// A read of the index, brought up to date with the database.
pub struct MapView<'a>(RwLockReadGuard<'a, Data>);

impl MapIndex {
    fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Data> {
        self.data.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Brings the index up to the newest event of the log (one cheap query when nothing is new).
    pub async fn catch_up(&self, db: &Db) -> StoreResult<()> {
        let newest = db.last_event_id().await?;
        if self.read().cursor.is_some_and(|c| c >= newest) {
            return Ok(());
        }
        let _one = self.catching_up.lock().await;
        let cursor = self.read().cursor;
        let mut cursor = match cursor {
            Some(c) => c,
            None => self.build(db).await?,
        };
        while cursor < newest {
            let rows = db.map_changes_after(cursor, BATCH).await?;
            let Some(last) = rows.last().map(|r| r.event_id) else {
                break;
            };
            // A whistle summons departments: read them before taking the lock.
            let whistled: Vec<i64> = rows
                .iter()
                .filter(|r| r.kind == "whistle")
                .map(|r| r.case.id)
                .collect();
            let summons = db.summons_of(&whistled).await?;
            let mut d = self.write();
            for s in summons {
                d.summoned
                    .entry(s.department_id)
                    .or_default()
                    .insert(s.case_id);
            }
            // Each changed case leaves the aggregates with its old row and signs and comes
            // back with its new ones.
            let mut changed: Vec<i64> = rows.iter().map(|r| r.case.id).collect();
            changed.sort_unstable();
            changed.dedup();
            for id in &changed {
                d.count(*id, -1);
            }
            let mut signed = false;
            for r in &rows {
                d.upsert(&r.case);
                if r.kind == "sign" {
                    d.signs.push((r.case.id, r.at));
                    signed = true;
                }
            }
            if signed {
                // A stable sort of a sorted run and a short tail: about linear.
                d.signs.sort_by_key(|(case, _)| *case);
            }
            for id in &changed {
                d.count(*id, 1);
            }
            d.cursor = Some(last);
            cursor = last;
            if (rows.len() as i64) < BATCH {
                break;
            }
        }
        Ok(())
    }

    /// Loads every case and sign event; returns the cursor it covers.
    async fn build(&self, db: &Db) -> StoreResult<i64> {
        // Rows read after the cursor may already show later changes: the events after the
        // cursor reload them again, so the index never ends behind the log.
        let cursor = db.last_event_id().await?;
        let mut d = Data::default();
        db.each_map_case(|r| d.upsert(&r)).await?;
        for (case, department) in db.all_summons().await? {
            d.summoned.entry(department).or_default().insert(case);
        }
        d.signs = db.sign_events_upto(cursor).await?;
        d.signs.sort_by_key(|(case, _)| *case);
        d.cases.shrink_to_fit();
        d.signs.shrink_to_fit();
        d.agg = d.aggregate();
        d.cursor = Some(cursor);
        tracing::info!(
            cases = d.cases.len(),
            signs = d.signs.len(),
            bytes = d.bytes(),
            "map index built"
        );
        *self.write() = d;
        Ok(cursor)
    }

    /// Catches up, then answers from the index.
    pub async fn fresh(&self, db: &Db) -> StoreResult<MapView<'_>> {
        self.catch_up(db).await?;
        Ok(MapView(self.read()))
    }

    /// Roughly how much memory the index holds, and for how many cases.
    pub fn size(&self) -> (usize, usize) {
        let d = self.read();
        (d.bytes(), d.cases.len())
    }
}

impl MapView<'_> {
    /// Case counts grouped by area path and status, with how many are overdue at `now`.
    pub fn counts_by_area(&self, scope: &Scope, f: &MapFilter, now: i64) -> Vec<AreaStatusCount> {
        let d = &self.0;
        let m = d.matcher(scope, f);
        // Per area key (the last slot for "no area"), per status (the last for unknown ones).
        let width = Status::ALL.len() + 1;
        let areas = d.paths.values.len();
        let mut acc = vec![(0i64, 0i64); (areas + 1) * width];
        let mut add = |area: u32, status: u8, count: i64, overdue: i64| {
            let area = if area == NO_KEY { areas } else { area as usize };
            let status = (status as usize).min(Status::ALL.len());
            let slot = &mut acc[area * width + status];
            slot.0 += count;
            slot.1 += overdue;
        };
        if m.aggregable() {
            for (k, cell) in &d.agg.cells {
                if m.admits_group(k.area, k.category, k.department, Some(k.status)) {
                    add(k.area, k.status, cell.count, cell.overdue(now));
                }
            }
            for c in d.extras(&m) {
                add(c.area, c.status, 1, i64::from(c.overdue(now)));
            }
        } else {
            for c in d.matching(&m) {
                add(c.area, c.status, 1, i64::from(c.overdue(now)));
            }
        }
        let mut out = Vec::new();
        for (i, (count, overdue)) in acc.into_iter().enumerate() {
            if count == 0 {
                continue;
            }
            let (area, status) = (i / width, i % width);
            out.push(AreaStatusCount {
                area_path: d.paths.values.get(area).cloned(),
                status: Status::ALL
                    .get(status)
                    .map_or("", |s| s.as_str())
                    .to_string(),
                count,
                overdue,
            });
        }
        out
    }

    /// The map's figures over `[since, now]`, `today` being the start of the day.
    pub fn figures(
        &self,
        scope: &Scope,
        f: &MapFilter,
        since: i64,
        today: i64,
        now: i64,
    ) -> Figures {
        let d = &self.0;
        let m = d.matcher(scope, f);
        let first = agg::day(since);
        let last = agg::day(now);
        let mut t = Tally {
            fig: Figures::default(),
            created: vec![0i64; (last - first + 1).max(0) as usize],
            closed: vec![0i64; (last - first + 1).max(0) as usize],
            since,
            today,
            now,
            first,
        };
        // The daily table counts whole days: usable when `since` and `today` start days.
        let whole_days = since + BEIJING_MS >= 0
            && (since + BEIJING_MS) % DAY_MS == 0
            && (today + BEIJING_MS) % DAY_MS == 0
            && agg::day(today) == last;
        if m.aggregable() && m.statuses.is_none() && whole_days {
            let fig = &mut t.fig;
            for (k, cell) in &d.agg.cells {
                if m.admits_group(k.area, k.category, k.department, Some(k.status)) {
                    // Unknown statuses count as open, as `NOT IN ('closed', ...)` did.
                    let status = Status::ALL.get(k.status as usize);
                    if status.is_none_or(|s| !s.is_terminal()) {
                        fig.open += cell.count;
                    }
                    fig.overdue += cell.overdue(now);
                }
            }
            for (&day, groups) in d.agg.days.range(first..) {
                for (g, s) in groups {
                    if !m.admits_group(g.area, g.category, g.department, None) {
                        continue;
                    }
                    if day <= last {
                        let i = (day - first) as usize;
                        t.created[i] += i64::from(s.created);
                        t.closed[i] += i64::from(s.closed);
                    }
                    if day >= last {
                        fig.new_today += i64::from(s.created);
                    }
                    fig.signed.0 += i64::from(s.signs);
                    fig.signed.1 += i64::from(s.signs_on_time);
                    fig.on_time.0 += i64::from(s.resolved);
                    fig.on_time.1 += i64::from(s.resolved_on_time);
                    fig.satisfied.0 += i64::from(s.rated);
                    fig.satisfied.1 += i64::from(s.rated_good);
                }
            }
            for c in d.extras(&m) {
                t.case(c, d.signs_of(c.id));
            }
        } else {
            let mut lo = 0;
            for c in &d.cases {
                lo += d.signs[lo..].partition_point(|(case, _)| *case < c.id);
                let hi = lo + d.signs[lo..].partition_point(|(case, _)| *case == c.id);
                if m.admits(c) {
                    t.case(c, &d.signs[lo..hi]);
                }
                lo = hi;
            }
        }
        let mut fig = t.fig;
        fig.trend = (first..=last)
            .zip(t.created.into_iter().zip(t.closed))
            .map(|(day, (cr, cl))| (day, cr, cl))
            .collect();
        fig
    }

    /// Cases with coordinates inside the box `(west, south, east, north)`.
    pub fn count_in_box(&self, scope: &Scope, f: &MapFilter, bbox: (f64, f64, f64, f64)) -> i64 {
        let m = self.0.matcher(scope, f);
        self.0.matching(&m).filter(|c| c.in_box(bbox)).count() as i64
    }

    /// The newest `limit` cases in the box.
    pub fn points_in_box(
        &self,
        scope: &Scope,
        f: &MapFilter,
        bbox: (f64, f64, f64, f64),
        limit: i64,
    ) -> Vec<PointRow> {
        let d = &self.0;
        let m = d.matcher(scope, f);
        d.matching(&m)
            .rev()
            .filter(|c| c.in_box(bbox))
            .take(limit.max(0) as usize)
            .map(|c| PointRow {
                id: c.id,
                lat: c.lat,
                lng: c.lng,
                status: c.status().map_or("", |s| s.as_str()).to_string(),
                category_id: d.categories.values[c.category as usize],
                accept_due_at: opt(c.accept_due_at),
                sign_due_at: opt(c.sign_due_at),
                due_at: opt(c.due_at),
            })
            .collect()
    }

    /// Cases in the box grouped into a `cells` × `cells` grid, one row per non-empty cell
    /// (ordered by cell, south-west first).
    pub fn clusters_in_box(
        &self,
        scope: &Scope,
        f: &MapFilter,
        bbox: (f64, f64, f64, f64),
        cells: i64,
        now: i64,
    ) -> Vec<ClusterRow> {
        self.box_summary(scope, f, bbox, cells, now).1
    }

    /// How many cases are in the box, and their clusters: one pass for both.
    pub fn box_summary(
        &self,
        scope: &Scope,
        f: &MapFilter,
        bbox: (f64, f64, f64, f64),
        cells: i64,
        now: i64,
    ) -> (i64, Vec<ClusterRow>) {
        let (w, s, e, n) = bbox;
        let cells = cells.max(1);
        let cell_lng = ((e - w) / cells as f64).max(1e-9);
        let cell_lat = ((n - s) / cells as f64).max(1e-9);
        let m = self.0.matcher(scope, f);
        // (sum of lat, sum of lng, count, overdue) per cell; a case on the north or east
        // edge falls in one more row or column, and rounding may put one a cell further.
        let side = (cells + 3) as usize;
        let mut acc: Vec<ClusterSums> = vec![(0.0, 0.0, 0, 0); side * side];
        let mut far: HashMap<(i64, i64), ClusterSums> = HashMap::new();
        let mut total = 0;
        for c in self.0.matching(&m).filter(|c| c.in_box(bbox)) {
            total += 1;
            let cell = (
                ((c.lat - s) / cell_lat).floor() as i64,
                ((c.lng - w) / cell_lng).floor() as i64,
            );
            let a = match (usize::try_from(cell.0), usize::try_from(cell.1)) {
                (Ok(y), Ok(x)) if y < side && x < side => &mut acc[y * side + x],
                _ => far.entry(cell).or_default(),
            };
            a.0 += c.lat;
            a.1 += c.lng;
            a.2 += 1;
            a.3 += i64::from(c.overdue(now));
        }
        let mut groups: Vec<_> = far.into_iter().collect();
        for (i, a) in acc.into_iter().enumerate() {
            if a.2 > 0 {
                groups.push((((i / side) as i64, (i % side) as i64), a));
            }
        }
        groups.sort_by_key(|(cell, _)| *cell);
        let clusters = groups
            .into_iter()
            .map(|(_, (lat, lng, count, overdue))| ClusterRow {
                lat: lat / count as f64,
                lng: lng / count as f64,
                count,
                overdue,
            })
            .collect();
        (total, clusters)
    }
}

#[cfg(test)]
mod tests {
    //! The index against the SQL it replaced (`storage/map_reference.rs`), on random ledgers
    //! changed between reads, for random filters and scopes.

    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::storage::{
        CaseChange, CategoryRecord, NewAreaRecord, NewCaseRecord, NewEvent, NewUserRecord,
    };

    const HOUR: i64 = 3_600_000;

    struct Ledger {
        db: Db,
        paths: Vec<String>,
        areas: Vec<i64>,
        users: Vec<i64>,
        categories: Vec<i64>,
        departments: Vec<i64>,
        cases: Vec<(i64, i64)>,
    }

    async fn ledger(url: &str) -> Ledger {
        let db = Db::connect(url, 2, std::time::Duration::from_secs(5))
            .await
            .expect("connect");
        db.migrate().await.expect("migrate");
        let mut areas = Vec::new();
        for (i, parent) in [None, Some(0), Some(0), Some(1), Some(1), Some(2), Some(3)]
            .into_iter()
            .enumerate()
        {
            let code = format!("A{i}");
            let id = db
                .create_area(
                    &NewAreaRecord {
                        parent_id: parent.map(|p: usize| areas[p]),
                        level: "grid",
                        code: &code,
                        name: &code,
                        name_en: None,
                        lat: None,
                        lng: None,
                        boundary: None,
                    },
                    None,
                    0,
                )
                .await
                .expect("area");
            areas.push(id);
        }
        let paths = db
            .areas()
            .await
            .expect("areas")
            .into_iter()
            .map(|a| a.path)
            .collect();
        let mut departments = Vec::new();
        for i in 0..3 {
            let code = format!("D{i}");
            departments.push(
                db.create_department(&DepartmentRecord::plain(&code, &code, None, None), None, 0)
                    .await
                    .expect("dept"),
            );
        }
        let mut categories = Vec::new();
        for i in 0..3 {
            let code = format!("C{i}");
            let id = db
                .create_category(
                    &CategoryRecord {
                        code: &code,
                        name: &code,
                        name_en: None,
                        tier: "normal",
                        resolve_hours: 72,
                        resolve_workdays: None,
                        accept_hours: 4,
                        sign_hours: 2,
                        default_department_id: None,
                        active: true,
                    },
                    None,
                    0,
                )
                .await
                .expect("category");
            categories.push(id);
        }
        let mut users = Vec::new();
        for i in 0..4 {
            let name = format!("u{i}");
            let u = NewUserRecord {
                username: Some(&name),
                password_hash: None,
                openid: None,
                display_name: &name,
                role: "resident",
                department_id: None,
                area_id: None,
                all_areas: false,
            };
            users.push(db.create_user(&u, 0).await.expect("user"));
        }
        Ledger {
            db,
            paths,
            areas,
            users,
            categories,
            departments,
            cases: Vec::new(),
        }
    }

    /// Times around `now`, some of them equal to each other so that `<=` and `<` matter.
    fn time(rng: &mut StdRng, now: i64) -> i64 {
        match rng.gen_range(0..4) {
            0 => now - rng.gen_range(0..40) * 24 * HOUR,
            1 => now - rng.gen_range(0..48) * HOUR,
            2 => now + rng.gen_range(0..48) * HOUR,
            _ => now - rng.gen_range(0..6) * 24 * HOUR + rng.gen_range(0..3) * HOUR,
        }
    }

    fn maybe(rng: &mut StdRng, p: f64, now: i64) -> Option<i64> {
        rng.gen_bool(p).then(|| time(rng, now))
    }

    async fn add_cases(l: &mut Ledger, rng: &mut StdRng, n: usize, now: i64) {
        for _ in 0..n {
            let located = rng.gen_bool(0.85);
            let rec = NewCaseRecord {
                client_request_id: uuid::Uuid::new_v4().to_string(),
                created_by: *l.users.choose(rng).unwrap(),
                actor_role: "resident".into(),
                channel: "web".into(),
                category_id: *l.categories.choose(rng).unwrap(),
                description: "x".into(),
                lat: located.then(|| 25.0 + f64::from(rng.gen_range(0..40)) * 0.025),
                lng: located.then(|| 103.0 + f64::from(rng.gen_range(0..40)) * 0.025),
                address: None,
                area_id: rng.gen_bool(0.9).then(|| *l.areas.choose(rng).unwrap()),
                anonymous: false,
                public: false,
                contact_name: None,
                contact_phone: None,
                accept_due_at: time(rng, now),
                origin: None,
                content_check: None,
            };
            let (c, _) = l.db.create_case(&rec, time(rng, now)).await.expect("case");
            l.cases.push((c.id, c.version));
        }
    }

    async fn change_cases(l: &mut Ledger, rng: &mut StdRng, n: usize, now: i64) {
        for _ in 0..n {
            let i = rng.gen_range(0..l.cases.len());
            let (id, version) = l.cases[i];
            let status = *Status::ALL.choose(rng).unwrap();
            let ch = CaseChange {
                department_id: Some(
                    rng.gen_bool(0.8)
                        .then(|| *l.departments.choose(rng).unwrap()),
                ),
                category_id: rng
                    .gen_bool(0.2)
                    .then(|| *l.categories.choose(rng).unwrap()),
                sign_due_at: Some(maybe(rng, 0.8, now)),
                due_at: Some(maybe(rng, 0.8, now)),
                satisfaction: match rng.gen_range(0..4) {
                    0 => Some("satisfied".into()),
                    1 => Some("basically_satisfied".into()),
                    2 => Some("unsatisfied".into()),
                    _ => None,
                },
                resolved_at: maybe(rng, 0.5, now),
                closed_at: maybe(rng, 0.4, now),
                ..Default::default()
            };
            // Now and then a department is summoned (吹哨): its scope then takes in a case
            // of another department, beyond the aggregates' groups.
            let whistle = rng.gen_bool(0.1);
            let ch = CaseChange {
                summons: if whistle {
                    vec![crate::storage::SummonOp::Summon {
                        department_id: *l.departments.choose(rng).unwrap(),
                        role: "co",
                        due_at: now + HOUR,
                    }]
                } else {
                    Vec::new()
                },
                ..ch
            };
            let ev = NewEvent {
                actor_id: None,
                actor_role: "system".into(),
                kind: if whistle {
                    "whistle"
                } else if rng.gen_bool(0.4) {
                    "sign"
                } else {
                    "progress"
                }
                .into(),
                from_status: None,
                to_status: status.as_str().into(),
                note: None,
                data: None,
            };
            let at = time(rng, now);
            let c =
                l.db.change_case(id, version, status, &ch, &ev, at)
                    .await
                    .expect("change");
            l.cases[i].1 = c.version;
        }
    }

    fn filters(l: &Ledger, rng: &mut StdRng, now: i64) -> (Scope, MapFilter) {
        let scope = match rng.gen_range(0..6) {
            0 | 1 => Scope::All,
            2 => Scope::Owner(*l.users.choose(rng).unwrap()),
            3 => Scope::Department(*l.departments.choose(rng).unwrap()),
            4 => Scope::Subtree(l.paths.choose(rng).unwrap().clone()),
            _ => Scope::Department(99_999),
        };
        let mut statuses: Vec<Status> = Status::ALL.to_vec();
        statuses.shuffle(rng);
        statuses.truncate(if rng.gen_bool(0.5) {
            0
        } else {
            rng.gen_range(1..4)
        });
        let f = MapFilter {
            category_id: rng
                .gen_bool(0.3)
                .then(|| *l.categories.choose(rng).unwrap()),
            department_id: match rng.gen_range(0..5) {
                0 => Some(*l.departments.choose(rng).unwrap()),
                1 => Some(99_999),
                _ => None,
            },
            statuses,
            created_from: rng.gen_bool(0.3).then(|| time(rng, now)),
            created_to: rng.gen_bool(0.3).then(|| time(rng, now)),
        };
        (scope, f)
    }

    fn same_clusters(mut a: Vec<ClusterRow>, mut b: Vec<ClusterRow>) -> bool {
        let key = |c: &ClusterRow| {
            (
                c.count,
                c.overdue,
                (c.lat * 1e6) as i64,
                (c.lng * 1e6) as i64,
            )
        };
        a.sort_by_key(key);
        b.sort_by_key(key);
        a.len() == b.len()
            && a.iter().zip(&b).all(|(x, y)| {
                x.count == y.count
                    && x.overdue == y.overdue
                    && (x.lat - y.lat).abs() < 1e-9
                    && (x.lng - y.lng).abs() < 1e-9
            })
    }

    async fn compare(l: &Ledger, index: &MapIndex, rng: &mut StdRng, now: i64) {
        for _ in 0..40 {
            let (scope, f) = filters(l, rng, now);
            let view = index.fresh(&l.db).await.expect("catch up");
            // The aggregates kept up to date equal the ones counted afresh.
            assert!(
                view.0.agg == view.0.aggregate(),
                "aggregates kept as the index caught up differ from a recount"
            );
            let mut got = view.counts_by_area(&scope, &f, now);
            let (fig, total, points, clusters);
            let today = (now + BEIJING_MS) / DAY_MS * DAY_MS - BEIJING_MS;
            let since = today - rng.gen_range(0..40) * DAY_MS;
            let w = 103.0 + f64::from(rng.gen_range(0..20)) * 0.025;
            let s = 25.0 + f64::from(rng.gen_range(0..20)) * 0.025;
            let bbox = (
                w,
                s,
                w + rng.gen_range(0.01..0.6),
                s + rng.gen_range(0.01..0.6),
            );
            let limit = rng.gen_range(1..60);
            fig = view.figures(&scope, &f, since, today, now);
            total = view.count_in_box(&scope, &f, bbox);
            points = view.points_in_box(&scope, &f, bbox, limit);
            clusters = view.clusters_in_box(&scope, &f, bbox, 8, now);
            drop(view);
            let db = &l.db;
            let mut want = db.reference_counts_by_area(&scope, &f, now).await.unwrap();
            got.sort();
            want.sort();
            let ctx = format!("{scope:?} {f:?}");
            assert_eq!(got, want, "counts by area, {ctx}");
            assert_eq!(
                fig,
                db.reference_figures(&scope, &f, since, today, now)
                    .await
                    .unwrap(),
                "figures, {ctx}"
            );
            assert_eq!(
                total,
                db.reference_count_in_box(&scope, &f, bbox).await.unwrap(),
                "count in {bbox:?}, {ctx}"
            );
            assert_eq!(
                points,
                db.reference_points_in_box(&scope, &f, bbox, limit)
                    .await
                    .unwrap(),
                "points in {bbox:?}, {ctx}"
            );
            let want = db
                .reference_clusters_in_box(&scope, &f, bbox, 8, now)
                .await
                .unwrap();
            assert!(
                same_clusters(clusters.clone(), want.clone()),
                "clusters in {bbox:?}, {ctx}: {clusters:?} vs {want:?}"
            );
        }
    }

    async fn agrees_with_sql_on(url: &str) {
        let mut l = ledger(url).await;
        let mut rng = StdRng::seed_from_u64(8);
        let now = crate::now_ms();
        let index = MapIndex::default();
        // Empty, then built from a ledger, then caught up after each round of changes.
        compare(&l, &index, &mut rng, now).await;
        add_cases(&mut l, &mut rng, 150, now).await;
        change_cases(&mut l, &mut rng, 150, now).await;
        compare(&l, &index, &mut rng, now).await;
        for _ in 0..3 {
            add_cases(&mut l, &mut rng, 40, now).await;
            change_cases(&mut l, &mut rng, 120, now).await;
            compare(&l, &index, &mut rng, now).await;
        }
        // A second index built from scratch agrees too.
        compare(&l, &MapIndex::default(), &mut rng, now).await;
        l.db.close().await;
    }

    #[tokio::test]
    async fn index_answers_like_the_sql_it_replaced() {
        let dir = std::env::temp_dir().join(format!("minsheng-mapindex-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        agrees_with_sql_on(&format!("sqlite://{}/t.db", dir.display())).await;
        let _ = std::fs::remove_dir_all(&dir);
        // PostgreSQL too when a server we may create databases on is given.
        if let Ok(admin) = std::env::var("MINSHENG_TEST_POSTGRES_URL")
            && !admin.is_empty()
        {
            use sqlx::Connection;
            let name = format!("minsheng_mapindex_{}", uuid::Uuid::new_v4().simple());
            let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
            let create = format!("CREATE DATABASE \"{name}\"");
            sqlx::query(sqlx::AssertSqlSafe(create))
                .execute(&mut c)
                .await
                .unwrap();
            let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
            agrees_with_sql_on(&url).await;
            let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            sqlx::query(sqlx::AssertSqlSafe(drop))
                .execute(&mut c)
                .await
                .unwrap();
        }
    }
}
