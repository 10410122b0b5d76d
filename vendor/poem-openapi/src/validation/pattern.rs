use std::{
    collections::HashMap,
    sync::{LazyLock, RwLock},
};

use derive_more::Display;
use regex::Regex;

use crate::{
    registry::MetaSchema,
    validation::{Validator, ValidatorMeta},
};

#[derive(Display)]
#[display("pattern(\"{pattern}\")")]
pub struct Pattern {
    pattern: &'static str,
}

impl Pattern {
    #[inline]
    pub fn new(pattern: &'static str) -> Self {
        Self { pattern }
    }
}

/// Each pattern compiled once (Minsheng's patch: 5.1.16 compiled the regular expression on
/// every check, a third of a request's CPU on the submit path). Patterns are `'static`
/// literals from the derive macros, so the cache holds one entry per pattern in the program,
/// kept for the life of the process (shared rather than cloned: a clone of a `Regex` starts
/// with an empty pool of match caches).
static COMPILED: LazyLock<RwLock<HashMap<&'static str, &'static Regex>>> =
    LazyLock::new(Default::default);

fn compiled(pattern: &'static str) -> &'static Regex {
    if let Some(re) = COMPILED
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(pattern)
    {
        return re;
    }
    COMPILED
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .entry(pattern)
        .or_insert_with(|| Box::leak(Box::new(Regex::new(pattern).unwrap())))
}

impl<T: AsRef<str>> Validator<T> for Pattern {
    #[inline]
    fn check(&self, value: &T) -> bool {
        compiled(self.pattern).is_match(value.as_ref())
    }
}

impl ValidatorMeta for Pattern {
    fn update_meta(&self, meta: &mut MetaSchema) {
        meta.pattern = Some(self.pattern.to_string());
    }
}
