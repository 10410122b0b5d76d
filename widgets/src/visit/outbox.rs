//! The outbox of records made on the phone (visits, meeting records) and what the server
//! said about each. Pure data, kept in `localStorage` as JSON by the widget: a record stays
//! here until the server has answered for it, and it keeps the id it was made with, so a
//! resend after a lost answer is recognised by the server instead of stored twice.

use minsheng_model::visits::{MeetingInput, SyncResult, SyncStatus, VisitFlag, VisitInput};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// How many answered records the phone remembers (rejected ones are kept until dismissed).
pub const DONE_MAX: usize = 50;

/// A record the phone can queue.
pub trait Record: Clone + PartialEq + Serialize + DeserializeOwned {
    /// The phone-generated id the server deduplicates on.
    fn id(&self) -> &str;
    /// What it is about: the household of a visit, the community of a meeting.
    fn subject(&self) -> i64;
}

impl Record for VisitInput {
    fn id(&self) -> &str {
        &self.id
    }
    fn subject(&self) -> i64 {
        self.household_id
    }
}

impl Record for MeetingInput {
    fn id(&self) -> &str {
        &self.id
    }
    fn subject(&self) -> i64 {
        self.area_id
    }
}

/// A record waiting to be sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
pub struct Pending<T> {
    pub record: T,
    /// What the list shows: the household's address, the community's name.
    pub label: String,
    /// When it was saved on the phone (epoch ms).
    pub queued_at: i64,
    /// Photos chosen with it, uploaded once the server has accepted it.
    #[serde(default)]
    pub photos: Vec<String>,
}

/// What the server said about one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub id: String,
    pub subject: i64,
    pub label: String,
    pub queued_at: i64,
    pub answered_at: i64,
    pub status: SyncStatus,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub flags: Vec<VisitFlag>,
    #[serde(default)]
    pub case_ids: Vec<i64>,
    /// Photos of an accepted record still to upload.
    #[serde(default)]
    pub photos: Vec<String>,
}

/// Counts of one applied answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    pub accepted: usize,
    pub rejected: usize,
}

/// Records waiting to be sent, oldest first, and the answers to those sent, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
pub struct Outbox<T> {
    #[serde(default = "Vec::new")]
    pub pending: Vec<Pending<T>>,
    #[serde(default)]
    pub done: Vec<Outcome>,
    /// Why the last attempt did not get through (cleared by the next answer).
    #[serde(default)]
    pub last_error: Option<String>,
}

impl<T> Default for Outbox<T> {
    fn default() -> Self {
        Outbox {
            pending: Vec::new(),
            done: Vec::new(),
            last_error: None,
        }
    }
}

impl<T: Record> Outbox<T> {
    /// Queues a record; one with the same id (a correction not yet sent) is replaced in place.
    pub fn enqueue(&mut self, record: T, label: String, now: i64, photos: Vec<String>) {
        match self
            .pending
            .iter_mut()
            .find(|p| p.record.id() == record.id())
        {
            Some(p) => {
                p.record = record;
                p.label = label;
                p.photos.extend(photos);
            }
            None => self.pending.push(Pending {
                record,
                label,
                queued_at: now,
                photos,
            }),
        }
    }

    /// How many records wait to be sent.
    pub fn waiting(&self) -> usize {
        self.pending.len()
    }

    /// The next batch to send: the oldest `max` records, as they are now.
    pub fn batch(&self, max: usize) -> Vec<T> {
        self.pending
            .iter()
            .take(max)
            .map(|p| p.record.clone())
            .collect()
    }

    /// Applies the server's answer to `sent`: each answered record leaves the queue (unless
    /// it was changed meanwhile: the newer version still waits) and its outcome is kept.
    /// Records the answer does not mention stay queued.
    pub fn apply(&mut self, sent: &[T], results: &[SyncResult], now: i64) -> Applied {
        let mut applied = Applied::default();
        for (i, r) in results.iter().enumerate() {
            let record = sent
                .iter()
                .find(|s| s.id() == r.id)
                .or_else(|| sent.get(i).filter(|_| r.id.is_empty()));
            let Some(record) = record else { continue };
            let outcome = self.answered(record, now, r.status, |o| {
                o.code = r.code.clone();
                o.message = r.message.clone();
                o.flags = r.flags.clone();
                o.case_ids = r.case_ids.clone();
            });
            match outcome {
                SyncStatus::Accepted => applied.accepted += 1,
                SyncStatus::Rejected => applied.rejected += 1,
            }
        }
        if !results.is_empty() {
            self.last_error = None;
        }
        self.trim();
        applied
    }

    /// Marks one sent record refused as a whole (the batch endpoint refused it alone).
    pub fn refuse(&mut self, record: &T, code: Option<String>, message: String, now: i64) {
        self.answered(record, now, SyncStatus::Rejected, |o| {
            o.code = code;
            o.message = Some(message);
        });
        self.trim();
    }

    /// The attempt failed before any answer: everything stays queued.
    pub fn failed(&mut self, message: String) {
        self.last_error = Some(message);
    }

    /// Forgets an answered record (the user read why it was rejected).
    pub fn dismiss(&mut self, id: &str) {
        self.done.retain(|o| o.id != id);
    }

    /// Whether a record about `subject` waits to be sent.
    pub fn waits_for(&self, subject: i64) -> bool {
        self.pending.iter().any(|p| p.record.subject() == subject)
    }

    /// Whether the server accepted a record about `subject` (as far as this phone knows).
    pub fn accepted_for(&self, subject: i64) -> bool {
        self.done
            .iter()
            .any(|o| o.subject == subject && o.status == SyncStatus::Accepted)
    }

    fn answered(
        &mut self,
        record: &T,
        now: i64,
        status: SyncStatus,
        fill: impl FnOnce(&mut Outcome),
    ) -> SyncStatus {
        let id = record.id().to_string();
        let pos = self.pending.iter().position(|p| p.record.id() == id);
        let (label, queued_at, photos) = match pos {
            Some(i) if self.pending[i].record == *record => {
                let p = self.pending.remove(i);
                (p.label, p.queued_at, p.photos)
            }
            // Changed while the answer was on its way: the new version is sent next time.
            Some(i) => (
                self.pending[i].label.clone(),
                self.pending[i].queued_at,
                Vec::new(),
            ),
            None => (String::new(), now, Vec::new()),
        };
        let old = self
            .done
            .iter()
            .position(|o| o.id == id)
            .map(|i| self.done.remove(i));
        let mut o = Outcome {
            id,
            subject: record.subject(),
            label: if label.is_empty() {
                old.as_ref().map(|o| o.label.clone()).unwrap_or_default()
            } else {
                label
            },
            queued_at,
            answered_at: now,
            status,
            code: None,
            message: None,
            flags: Vec::new(),
            case_ids: Vec::new(),
            photos: if status == SyncStatus::Accepted {
                let mut p = old.map(|o| o.photos).unwrap_or_default();
                p.extend(photos);
                p
            } else {
                Vec::new()
            },
        };
        fill(&mut o);
        self.done.insert(0, o);
        status
    }

    /// Keeps the newest [`DONE_MAX`] outcomes, but never drops a rejection nobody has read
    /// or an accepted record whose photos still wait.
    fn trim(&mut self) {
        let mut kept = 0;
        self.done.retain(|o| {
            let keep = o.status == SyncStatus::Rejected || !o.photos.is_empty() || kept < DONE_MAX;
            if o.status == SyncStatus::Accepted && o.photos.is_empty() {
                kept += 1;
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn meeting(id: &str, notes: &str) -> MeetingInput {
        MeetingInput {
            id: id.into(),
            area_id: 7,
            held_at: chrono::DateTime::from_timestamp_millis(1_700_000_000_000).unwrap(),
            attended: true,
            checked: None,
            notes: Some(notes.into()),
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_correction_made_while_the_answer_travels_stays_queued() {
        let mut o = Outbox::default();
        o.enqueue(meeting("meeting-1", "a"), "麻黄社区".into(), 1, vec![]);
        let sent = o.batch(10);
        o.enqueue(meeting("meeting-1", "b"), "麻黄社区".into(), 2, vec![]);
        let answer = SyncResult {
            id: "meeting-1".into(),
            status: SyncStatus::Accepted,
            code: None,
            message: None,
            flags: vec![],
            case_ids: vec![],
        };
        o.apply(&sent, &[answer], 3);
        assert_eq!(o.waiting(), 1);
        assert_eq!(o.pending[0].record.notes.as_deref(), Some("b"));
        assert_eq!(o.done.len(), 1);
    }
}
