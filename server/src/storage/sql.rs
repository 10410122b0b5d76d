//! A small SQL builder: fragments are static text, values are always bound as `$n`.

/// One bound value.
#[derive(Debug, Clone)]
pub enum Bind {
    I64(i64),
    OptI64(Option<i64>),
    F64(f64),
    OptF64(Option<f64>),
    Str(String),
    OptStr(Option<String>),
    Bool(bool),
}

/// SQL text with numbered placeholders and the values that fill them.
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<Bind>,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            binds: Vec::new(),
        }
    }

    /// Appends static text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: Bind) -> &mut Self {
        self.binds.push(value);
        self.text.push('$');
        self.text.push_str(&self.binds.len().to_string());
        self
    }

    /// Appends ` AND <column> IN ($a, $b, ...)` for a non-empty list.
    pub fn push_in(&mut self, column: &str, values: impl IntoIterator<Item = String>) -> &mut Self {
        let mut values = values.into_iter().peekable();
        if values.peek().is_none() {
            return self;
        }
        self.push(" AND ").push(column).push(" IN (");
        for (i, v) in values.enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(Bind::Str(v));
        }
        self.push(")")
    }

    /// Appends ` AND <column> IN ($a, $b, ...)` for a non-empty list of ids.
    pub fn push_in_i64(&mut self, column: &str, ids: &[i64]) -> &mut Self {
        if ids.is_empty() {
            return self;
        }
        self.push(" AND ").push(column).push(" IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(Bind::I64(*id));
        }
        self.push(")")
    }

    /// The text, asserted safe: only static fragments and placeholders went into it.
    pub fn sql(&self) -> sqlx::AssertSqlSafe<String> {
        sqlx::AssertSqlSafe(self.text.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut s = Sql::new("SELECT 1 WHERE a = ");
        s.bind(Bind::I64(1))
            .push(" AND b = ")
            .bind(Bind::Str("x".into()));
        assert_eq!(s.text, "SELECT 1 WHERE a = $1 AND b = $2");
        assert_eq!(s.binds.len(), 2);
    }
}
