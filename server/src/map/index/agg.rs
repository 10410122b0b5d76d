//! Counts kept up to date as the index follows the log, so that the common map requests (no
//! filter, a scope, a status, a category or department) add up a few thousand cells instead
//! of scanning every case.
//!
//! Two tables: per (area, category, department, status), how many cases and the sorted times
//! from which the open ones are overdue (so "overdue at `now`" is a binary search); and per
//! Beijing day and (area, category, department), what the figures count on that day (cases
//! created, closed, resolved — on time, rated, rated well — and signs, in time). A changed case
//! is taken out with its old row and sign events and put back with the new ones.

use std::collections::{BTreeMap, HashMap};

use minsheng_model::Status;

use super::{Case, DAY_MS, NO_TIME, Satisfaction};
use crate::storage::BEIJING_MS;

/// The Beijing day of a time, as the figures count days.
pub(super) fn day(t: i64) -> i64 {
    (t + BEIJING_MS) / DAY_MS
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct CellKey {
    pub area: u32,
    pub category: u32,
    pub department: u32,
    pub status: u8,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Cell {
    pub count: i64,
    /// For each case that can fall overdue: from when it is (overdue iff this < now), sorted.
    pub deadlines: Vec<i64>,
}

impl Cell {
    /// Cases of this cell overdue at `now`.
    pub fn overdue(&self, now: i64) -> i64 {
        self.deadlines.partition_point(|t| *t < now) as i64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct GroupKey {
    pub area: u32,
    pub category: u32,
    pub department: u32,
}

/// What one day adds to the figures, for one group.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct DayStat {
    pub created: i32,
    pub closed: i32,
    pub resolved: i32,
    pub resolved_on_time: i32,
    pub rated: i32,
    pub rated_good: i32,
    pub signs: i32,
    pub signs_on_time: i32,
}

impl DayStat {
    fn add(&mut self, o: &DayStat, sign: i32) {
        self.created += sign * o.created;
        self.closed += sign * o.closed;
        self.resolved += sign * o.resolved;
        self.resolved_on_time += sign * o.resolved_on_time;
        self.rated += sign * o.rated;
        self.rated_good += sign * o.rated_good;
        self.signs += sign * o.signs;
        self.signs_on_time += sign * o.signs_on_time;
    }

    fn is_empty(&self) -> bool {
        *self == DayStat::default()
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Aggregates {
    pub cells: HashMap<CellKey, Cell>,
    pub days: BTreeMap<i64, HashMap<GroupKey, DayStat>>,
}

impl Case {
    /// The time from which this case is overdue in its status (`is_overdue`: a deadline that
    /// has passed, `t < now`), if any.
    pub(super) fn overdue_from(&self) -> Option<i64> {
        let present = |t: i64| (t != NO_TIME).then_some(t);
        match self.status()? {
            Status::Submitted => present(self.accept_due_at),
            Status::Assigned | Status::Reopened => {
                match (present(self.sign_due_at), present(self.due_at)) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            Status::InProgress => present(self.due_at),
            _ => None,
        }
    }

    pub(super) fn cell_key(&self) -> CellKey {
        CellKey {
            area: self.area,
            category: self.category,
            department: self.department,
            status: self.status,
        }
    }

    pub(super) fn group_key(&self) -> GroupKey {
        GroupKey {
            area: self.area,
            category: self.category,
            department: self.department,
        }
    }

    /// What this case (with its sign events) adds to each day.
    fn day_stats(&self, signs: &[(i64, i64)], mut f: impl FnMut(i64, DayStat)) {
        f(
            day(self.created_at),
            DayStat {
                created: 1,
                ..Default::default()
            },
        );
        if self.closed_at != NO_TIME {
            f(
                day(self.closed_at),
                DayStat {
                    closed: 1,
                    ..Default::default()
                },
            );
        }
        if self.resolved_at != NO_TIME {
            let rated = self.satisfaction != Satisfaction::None;
            f(
                day(self.resolved_at),
                DayStat {
                    resolved: 1,
                    resolved_on_time: i32::from(
                        self.due_at != NO_TIME && self.resolved_at <= self.due_at,
                    ),
                    rated: i32::from(rated),
                    rated_good: i32::from(self.satisfaction == Satisfaction::Good),
                    ..Default::default()
                },
            );
        }
        for &(_, at) in signs {
            f(
                day(at),
                DayStat {
                    signs: 1,
                    signs_on_time: i32::from(self.sign_due_at != NO_TIME && at <= self.sign_due_at),
                    ..Default::default()
                },
            );
        }
    }
}

impl Aggregates {
    /// Counts a case in (`sign` 1) or out (-1). With `sorted` false the deadlines are only
    /// pushed (a build sorts them once at the end, see [`Aggregates::sort`]).
    pub fn apply(&mut self, c: &Case, signs: &[(i64, i64)], sign: i32, sorted: bool) {
        let key = c.cell_key();
        let cell = self.cells.entry(key).or_default();
        cell.count += i64::from(sign);
        if let Some(t) = c.overdue_from() {
            if sign > 0 {
                if sorted {
                    let i = cell.deadlines.partition_point(|x| *x < t);
                    cell.deadlines.insert(i, t);
                } else {
                    cell.deadlines.push(t);
                }
            } else {
                let i = cell.deadlines.partition_point(|x| *x < t);
                debug_assert_eq!(cell.deadlines.get(i), Some(&t));
                if cell.deadlines.get(i) == Some(&t) {
                    cell.deadlines.remove(i);
                }
            }
        }
        if cell.count == 0 {
            self.cells.remove(&key);
        }
        let group = c.group_key();
        c.day_stats(signs, |d, s| {
            let groups = self.days.entry(d).or_default();
            let stat = groups.entry(group).or_default();
            stat.add(&s, sign);
            if stat.is_empty() {
                groups.remove(&group);
                if groups.is_empty() {
                    self.days.remove(&d);
                }
            }
        });
    }

    /// Sorts the deadlines pushed unsorted by a build.
    pub fn sort(&mut self) {
        for cell in self.cells.values_mut() {
            cell.deadlines.sort_unstable();
            cell.deadlines.shrink_to_fit();
        }
    }

    /// Roughly how much memory the tables hold.
    pub fn bytes(&self) -> usize {
        let slot = |k: usize, v: usize| k + v + 1;
        self.cells.capacity() * slot(size_of::<CellKey>(), size_of::<Cell>())
            + self
                .cells
                .values()
                .map(|c| c.deadlines.capacity() * 8)
                .sum::<usize>()
            + self
                .days
                .values()
                .map(|g| {
                    // A B-tree entry and the day's own map.
                    48 + g.capacity() * slot(size_of::<GroupKey>(), size_of::<DayStat>())
                })
                .sum::<usize>()
    }
}
