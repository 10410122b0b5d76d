//! Masking of personal data for viewers who are not entitled to it.

/// `13812345678` → `138****5678`; short numbers keep only their last two digits.
pub fn phone(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let n = chars.len();
    if n >= 7 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[n - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        let tail: String = chars[n.saturating_sub(2)..].iter().collect();
        format!("****{tail}")
    }
}

/// `张三丰` → `张**`: the family name stays, the rest is starred.
pub fn name(n: &str) -> String {
    let mut it = n.chars();
    match it.next() {
        Some(first) => std::iter::once(first).chain(it.map(|_| '*')).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_keep_only_what_identifies_nobody() {
        assert_eq!(super::phone("13812345678"), "138****5678");
        assert_eq!(super::phone("12345"), "****45");
        assert_eq!(super::name("张三丰"), "张**");
        assert_eq!(super::name(""), "");
    }
}
