//! Two locales: Chinese (the default) and English (`?lang=en`). Strings sit at their call
//! sites as `lang.t("中文", "English")`, so a screen reads top to bottom in both languages.

use minsheng_model::{Action, Satisfaction, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// `?lang=en` (or `en-US`...) selects English; anything else is Chinese.
    pub fn from_query(query: &str) -> Lang {
        let en = query
            .trim_start_matches('?')
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .any(|(k, v)| k == "lang" && v.to_ascii_lowercase().starts_with("en"));
        if en { Lang::En } else { Lang::Zh }
    }

    /// The locale of the current page.
    pub fn from_location() -> Lang {
        Lang::from_query(&crate::util::query_string())
    }

    /// Picks the string for this locale.
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// Picks an owned string for this locale.
    pub fn pick(self, zh: String, en: String) -> String {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// A localized name with an optional English variant (categories, areas).
    pub fn name<'a>(self, zh: &'a str, en: Option<&'a str>) -> &'a str {
        match (self, en) {
            (Lang::En, Some(en)) if !en.is_empty() => en,
            _ => zh,
        }
    }

    pub fn status(self, s: Status) -> &'static str {
        match self {
            Lang::Zh => s.label_zh(),
            Lang::En => s.label_en(),
        }
    }

    pub fn satisfaction(self, s: Satisfaction) -> &'static str {
        match s {
            Satisfaction::Satisfied => self.t("满意", "Satisfied"),
            Satisfaction::BasicallySatisfied => self.t("基本满意", "Basically satisfied"),
            Satisfaction::Unsatisfied => self.t("不满意", "Unsatisfied"),
        }
    }

    /// The label of a timeline entry (`kind` is `submit`, an action, or `auto_close`).
    pub fn event_kind(self, kind: &str) -> &'static str {
        match (kind, Action::parse(kind)) {
            ("submit", _) => self.t("提交诉求", "Submitted"),
            ("auto_close", _) => self.t("逾期未评价，自动销号", "Closed automatically"),
            ("citizen_update", _) => self.t("群众补充", "Citizen's update"),
            ("call_merged", _) => self.t("同一问题来电并入", "A repeat call merged in"),
            (_, Some(a)) => match a {
                Action::Accept => self.t("受理", "Accepted"),
                Action::Reject => self.t("不予受理", "Rejected"),
                Action::Assign => self.t("交办", "Assigned"),
                Action::Sign => self.t("签收", "Signed for"),
                Action::Return => self.t("退回", "Returned"),
                Action::Progress => self.t("办理进展", "Progress"),
                Action::Resolve => self.t("办结", "Resolved"),
                Action::Rate => self.t("评价", "Rated"),
                Action::Reopen => self.t("重新办理", "Reopened"),
                Action::Close => self.t("销号", "Closed"),
                Action::Merge => self.t("合并", "Merged"),
                Action::Escalate => self.t("督办", "Escalated"),
                Action::Whistle => self.t("吹哨", "Whistled"),
                Action::ReportIn => self.t("报到", "Reported in"),
                Action::PartDone => self.t("协办完成", "Part done"),
                Action::Release => self.t("解除协办", "Released"),
                Action::Take => self.t("领导包案", "Taken by a leader"),
                Action::Instruct => self.t("领导批示", "Leader's instruction"),
            },
            _ => self.t("更新", "Updated"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn english_only_when_asked_for() {
        assert_eq!(Lang::from_query(""), Lang::Zh);
        assert_eq!(Lang::from_query("?lat=1&lang=en"), Lang::En);
        assert_eq!(Lang::from_query("?lang=en-US"), Lang::En);
        assert_eq!(Lang::from_query("?lang=zh"), Lang::Zh);
        assert_eq!(Lang::from_query("?xlang=en"), Lang::Zh);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_repeat_call_and_a_citizens_update_read_as_themselves_not_as_an_update() {
        assert_eq!(Lang::Zh.event_kind("call_merged"), "同一问题来电并入");
        assert_eq!(Lang::En.event_kind("citizen_update"), "Citizen's update");
        assert_eq!(Lang::Zh.event_kind("something_new"), "更新");
    }
}
