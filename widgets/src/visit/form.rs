//! The visit and meeting forms' data, apart from the DOM: turned into the server's request
//! types and checked with the server's own rules (`minsheng_model::visits`), plus the
//! choices the widget makes on its own (which round, which households match a search).

use chrono::{DateTime, Utc};
use minsheng_model::validate::FieldError;
use minsheng_model::visits::{
    self, FindingInput, HouseholdView, MeetingInput, RoundView, VisitInput, VisitPurpose,
};
use minsheng_model::{AreaLevel, AreaView, Satisfaction};

/// A GPS fix as the phone reported it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub lat: f64,
    pub lng: f64,
    pub accuracy: Option<f64>,
}

/// One finding row of the form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FindingDraft {
    pub id: String,
    pub text: String,
    pub raise_case: bool,
    pub category_id: Option<i64>,
}

/// A visit being written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VisitDraft {
    pub purpose: Option<VisitPurpose>,
    pub notes: String,
    pub satisfaction: Option<Satisfaction>,
    /// `YYYY-MM-DD` or empty.
    pub follow_up_on: String,
    pub findings: Vec<FindingDraft>,
}

/// What is wrong with a draft: by field, and by finding row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Problems {
    pub fields: Vec<FieldError>,
    pub findings: Vec<(usize, FieldError)>,
}

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.findings.is_empty()
    }

    pub fn field(&self, name: &str) -> Option<&FieldError> {
        self.fields.iter().find(|e| e.field == name)
    }

    pub fn finding(&self, row: usize) -> Option<&FieldError> {
        self.findings
            .iter()
            .find(|(i, _)| *i == row)
            .map(|(_, e)| e)
    }
}

fn field_error(field: &'static str, code: &'static str, zh: &str, en: &str) -> FieldError {
    FieldError {
        field,
        code,
        message_zh: zh.into(),
        message_en: en.into(),
    }
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl VisitDraft {
    /// The request record (the purpose defaults to 其他 only here: [`VisitDraft::check`]
    /// asks for one before anything is queued).
    pub fn to_input(
        &self,
        id: &str,
        household_id: i64,
        round_id: Option<i64>,
        visited_at: DateTime<Utc>,
        fix: Option<Fix>,
    ) -> VisitInput {
        let findings: Vec<FindingInput> = self
            .findings
            .iter()
            .map(|f| FindingInput {
                id: f.id.clone(),
                text: f.text.trim().to_string(),
                category_id: f.category_id.filter(|_| f.raise_case),
                raise_case: Some(f.raise_case),
            })
            .collect();
        VisitInput {
            id: id.to_string(),
            household_id,
            round_id,
            visited_at,
            lat: fix.map(|f| f.lat),
            lng: fix.map(|f| f.lng),
            accuracy: fix.and_then(|f| f.accuracy),
            purpose: self.purpose.unwrap_or(VisitPurpose::Other),
            notes: opt(&self.notes),
            satisfaction: self.satisfaction,
            follow_up_on: opt(&self.follow_up_on),
            findings: (!findings.is_empty()).then_some(findings),
            revision: Some(1),
            // The fix comes from the browser's navigator.geolocation.
            coord_system: fix.map(|_| minsheng_model::CoordSystem::Wgs84),
        }
    }

    /// Every problem with `input` (made from this draft), each finding checked on its own
    /// so the form can point at the row, then the whole record as the server will check it.
    pub fn check(&self, input: &VisitInput, now: i64) -> Problems {
        let mut p = Problems::default();
        if self.purpose.is_none() {
            p.fields.push(field_error(
                "purpose",
                "required",
                "请选择走访目的",
                "Choose the purpose",
            ));
        }
        for (i, f) in input.findings.iter().flatten().enumerate() {
            // Only this finding, and none of the fields checked before findings.
            let one = VisitInput {
                findings: Some(vec![f.clone()]),
                notes: None,
                follow_up_on: None,
                ..input.clone()
            };
            if let Err(e) = visits::visit(&one, now)
                && e.field.starts_with("findings")
            {
                p.findings.push((i, e));
            }
        }
        if let Err(e) = visits::visit(input, now)
            && !e.field.starts_with("findings.")
        {
            p.fields.push(e);
        }
        p
    }
}

/// A meeting record being written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeetingDraft {
    pub area_id: Option<i64>,
    /// Epoch ms.
    pub held_at: Option<i64>,
    pub attended: bool,
    pub checked: String,
    pub notes: String,
}

impl MeetingDraft {
    pub fn to_input(&self, id: &str, now: i64) -> MeetingInput {
        let held = self.held_at.unwrap_or(now);
        MeetingInput {
            id: id.to_string(),
            area_id: self.area_id.unwrap_or_default(),
            held_at: DateTime::from_timestamp_millis(held).unwrap_or_default(),
            attended: self.attended,
            checked: opt(&self.checked),
            notes: opt(&self.notes),
        }
    }

    pub fn check(&self, input: &MeetingInput, now: i64) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.area_id.is_none() {
            errors.push(field_error(
                "area_id",
                "required",
                "请选择社区",
                "Choose the community",
            ));
        }
        if self.held_at.is_none() {
            errors.push(field_error(
                "held_at",
                "required",
                "请填写例会时间",
                "Enter when it was held",
            ));
        }
        if let Err(e) = visits::meeting(input, now) {
            errors.push(e);
        }
        errors
    }
}

/// The round to show first: the first (newest) whose days include `today` (`YYYY-MM-DD`),
/// else the newest.
pub fn default_round(rounds: &[RoundView], today: &str) -> Option<i64> {
    rounds
        .iter()
        .find(|r| r.starts_on.as_str() <= today && today <= r.due_on.as_str())
        .or_else(|| rounds.first())
        .map(|r| r.id)
}

/// Whether a household matches a search over its address, head's name, tags and grid:
/// every word of the query must appear somewhere. Case is ignored for Latin letters only
/// (Chinese has none, and full Unicode case tables would weigh on the download).
pub fn matches(h: &HouseholdView, query: &str) -> bool {
    let q = query.trim().to_ascii_lowercase();
    if q.is_empty() {
        return true;
    }
    let has = |s: &str, word: &str| s.to_ascii_lowercase().contains(word);
    q.split_whitespace().all(|word| {
        has(&h.address, word)
            || h.head_name.as_deref().is_some_and(|n| has(n, word))
            || h.tags.iter().any(|t| has(t, word))
            || has(&h.area_name, word)
            || h.community_name.as_deref().is_some_and(|n| has(n, word))
    })
}

/// The communities the listed households belong to, for the meeting form: `(id, name)`,
/// named from `areas` when it knows them.
pub fn communities(households: &[HouseholdView], areas: &[AreaView]) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = Vec::new();
    for h in households {
        let own = areas
            .iter()
            .find(|a| a.id == h.area_id && a.level == AreaLevel::Community);
        let found = match (h.community_id, own) {
            (Some(id), _) => Some((id, h.community_name.clone().unwrap_or_default())),
            (None, Some(a)) => Some((a.id, a.name.clone())),
            (None, None) => None,
        };
        if let Some((id, mut name)) = found
            && !out.iter().any(|(o, _)| *o == id)
        {
            if let Some(a) = areas.iter().find(|a| a.id == id) {
                name = a.name.clone();
            }
            out.push((id, name));
        }
    }
    out
}
