//! Coverage of a visit round (走访覆盖率): visited / total households, overdue follow-ups,
//! flagged check-ins and meetings attended, per community, supervisor or responsible cadre.

use std::collections::{BTreeMap, HashMap, HashSet};

use minsheng_model::visits::CoverageRow;

use super::community_of;
use crate::storage::{AreaRow, CoverageHousehold, CoverageMeeting, CoverageVisit, SupervisorArea};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageBy {
    Community,
    Supervisor,
    Responsible,
}

impl CoverageBy {
    pub fn parse(s: &str) -> Option<CoverageBy> {
        match s {
            "community" => Some(CoverageBy::Community),
            "supervisor" => Some(CoverageBy::Supervisor),
            "responsible" => Some(CoverageBy::Responsible),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Acc {
    name: String,
    households: HashSet<i64>,
    visited: HashSet<i64>,
    visits: i64,
    overdue: i64,
    flagged: i64,
    meetings: i64,
}

impl Acc {
    fn add_visit(&mut self, v: &CoverageVisit) {
        self.visited.insert(v.household_id);
        self.visits += 1;
        self.overdue += v.overdue;
        self.flagged += i64::from(v.flagged);
    }
}

/// The coverage rows of one round, sorted by name. Visits to households outside
/// `households` (outside the round or the viewer's scope) are not counted.
pub fn tally(
    by: CoverageBy,
    households: &[CoverageHousehold],
    visits: &[CoverageVisit],
    meetings: &[CoverageMeeting],
    supervisors: &[SupervisorArea],
    areas: &[AreaRow],
) -> Vec<CoverageRow> {
    let home: HashMap<i64, &CoverageHousehold> = households.iter().map(|h| (h.id, h)).collect();
    let visits: Vec<&CoverageVisit> = visits
        .iter()
        .filter(|v| home.contains_key(&v.household_id))
        .collect();
    let mut acc: BTreeMap<Option<i64>, Acc> = BTreeMap::new();
    match by {
        CoverageBy::Community => {
            let key = |path: &str| community_of(areas, path).map(|c| (c.id, c.name.clone()));
            for h in households {
                let k = key(&h.area_path);
                let a = acc.entry(k.as_ref().map(|k| k.0)).or_default();
                a.name = k.map(|k| k.1).unwrap_or_else(|| "未归属社区".into());
                a.households.insert(h.id);
            }
            for v in &visits {
                let k = key(&home[&v.household_id].area_path).map(|k| k.0);
                acc.entry(k).or_default().add_visit(v);
            }
            for m in meetings {
                if let Some(a) = key(&m.area_path).and_then(|k| acc.get_mut(&Some(k.0))) {
                    a.meetings += 1;
                }
            }
        }
        CoverageBy::Responsible => {
            for h in households {
                let a = acc.entry(h.responsible_user_id).or_default();
                a.name = h
                    .responsible_name
                    .clone()
                    .unwrap_or_else(|| "未落实包保责任人".into());
                a.households.insert(h.id);
            }
            for v in &visits {
                acc.entry(home[&v.household_id].responsible_user_id)
                    .or_default()
                    .add_visit(v);
            }
        }
        CoverageBy::Supervisor => {
            let mut paths: BTreeMap<i64, (String, Vec<&str>)> = BTreeMap::new();
            for s in supervisors {
                let e = paths
                    .entry(s.user_id)
                    .or_insert_with(|| (s.display_name.clone(), Vec::new()));
                e.1.push(&s.area_path);
            }
            for (id, (name, ps)) in &paths {
                let mut a = Acc {
                    name: name.clone(),
                    ..Acc::default()
                };
                for h in households {
                    if ps.iter().any(|p| h.area_path.starts_with(p)) {
                        a.households.insert(h.id);
                    }
                }
                for v in visits.iter().filter(|v| v.visitor_id == *id) {
                    a.add_visit(v);
                }
                // A supervisor's coverage is of their own communities, by their own visits.
                a.visited.retain(|h| a.households.contains(h));
                a.meetings = meetings.iter().filter(|m| m.supervisor_id == *id).count() as i64;
                if !a.households.is_empty() || a.visits > 0 {
                    acc.insert(Some(*id), a);
                }
            }
        }
    }
    let mut rows: Vec<CoverageRow> = acc
        .into_iter()
        .map(|(key, a)| {
            let total = a.households.len() as i64;
            let visited = a.visited.intersection(&a.households).count() as i64;
            CoverageRow {
                key_id: key,
                name: a.name,
                households: total,
                visited,
                rate: (total > 0).then(|| visited as f64 / total as f64),
                visits: a.visits,
                overdue_follow_ups: a.overdue,
                flagged_visits: a.flagged,
                meetings_attended: a.meetings,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.key_id.cmp(&b.key_id)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(id: i64, level: &str, path: &str, name: &str) -> AreaRow {
        AreaRow {
            id,
            parent_id: None,
            level: level.into(),
            code: format!("A{id}"),
            name: name.into(),
            name_en: None,
            path: path.into(),
            lat: None,
            lng: None,
            boundary: None,
            boundary_multi: None,
            active: true,
            shape: None,
        }
    }

    fn hh(id: i64, path: &str, resp: Option<i64>) -> CoverageHousehold {
        CoverageHousehold {
            id,
            area_path: path.into(),
            responsible_user_id: resp,
            responsible_name: resp.map(|r| format!("干部{r}")),
        }
    }

    fn visit(h: i64, by: i64, flagged: bool, overdue: i64) -> CoverageVisit {
        CoverageVisit {
            household_id: h,
            visitor_id: by,
            flagged,
            overdue,
        }
    }

    /// Two communities: 麻黄 with households 1–3, 寥廓 with 4. Supervisor 10 covers 麻黄 and
    /// visited households 1 and 2 (2 twice, once flagged), supervisor 11 visited 4 though it
    /// is not theirs; cadre 20 is responsible for 1 and 4.
    fn world() -> (
        Vec<AreaRow>,
        Vec<CoverageHousehold>,
        Vec<CoverageVisit>,
        Vec<SupervisorArea>,
    ) {
        let areas = vec![
            area(1, "district", "/1/", "区"),
            area(2, "community", "/1/2/", "麻黄社区"),
            area(3, "grid", "/1/2/3/", "麻黄一格"),
            area(4, "community", "/1/4/", "寥廓社区"),
        ];
        let households = vec![
            hh(1, "/1/2/3/", Some(20)),
            hh(2, "/1/2/3/", None),
            hh(3, "/1/2/", None),
            hh(4, "/1/4/", Some(20)),
        ];
        let visits = vec![
            visit(1, 10, false, 1),
            visit(2, 10, true, 0),
            visit(2, 10, false, 0),
            visit(4, 11, false, 0),
            // outside the round or scope: ignored
            visit(99, 10, true, 1),
        ];
        let sups = vec![
            SupervisorArea {
                user_id: 10,
                display_name: "监督员甲".into(),
                area_path: "/1/2/".into(),
            },
            SupervisorArea {
                user_id: 11,
                display_name: "监督员乙".into(),
                area_path: "/1/2/".into(),
            },
        ];
        (areas, households, visits, sups)
    }

    #[test]
    fn community_coverage_counts_households_visited_by_anyone() {
        let (areas, h, v, s) = world();
        let meetings = vec![CoverageMeeting {
            area_path: "/1/2/".into(),
            supervisor_id: 10,
        }];
        let rows = tally(CoverageBy::Community, &h, &v, &meetings, &s, &areas);
        let mh = rows.iter().find(|r| r.name == "麻黄社区").unwrap();
        assert_eq!((mh.households, mh.visited, mh.visits), (3, 2, 3));
        assert_eq!(
            (
                mh.overdue_follow_ups,
                mh.flagged_visits,
                mh.meetings_attended
            ),
            (1, 1, 1)
        );
        assert!((mh.rate.unwrap() - 2.0 / 3.0).abs() < 1e-9);
        let lk = rows.iter().find(|r| r.name == "寥廓社区").unwrap();
        assert_eq!((lk.households, lk.visited), (1, 1));
    }

    #[test]
    fn a_supervisor_is_judged_by_their_own_visits_in_their_own_communities() {
        let (areas, h, v, s) = world();
        let rows = tally(CoverageBy::Supervisor, &h, &v, &[], &s, &areas);
        let a = rows.iter().find(|r| r.key_id == Some(10)).unwrap();
        assert_eq!(
            (a.households, a.visited, a.visits, a.flagged_visits),
            (3, 2, 3, 1)
        );
        let b = rows.iter().find(|r| r.key_id == Some(11)).unwrap();
        // Their one visit was outside their communities: it counts as a visit, not as coverage.
        assert_eq!((b.households, b.visited, b.visits), (3, 0, 1));
    }

    #[test]
    fn responsible_cadres_are_judged_by_visits_to_their_households() {
        let (areas, h, v, s) = world();
        let rows = tally(CoverageBy::Responsible, &h, &v, &[], &s, &areas);
        let c = rows.iter().find(|r| r.key_id == Some(20)).unwrap();
        assert_eq!((c.households, c.visited), (2, 2));
        let none = rows.iter().find(|r| r.key_id.is_none()).unwrap();
        assert_eq!((none.households, none.visited), (2, 1));
    }
}
