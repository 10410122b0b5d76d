//! The little XML the channels speak: WeChat's flat `<xml>` messages in, escaped text out.

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::events::Event;

/// Text escaped for an XML element or attribute.
pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// Text as a CDATA section (a `]]>` inside is split across two sections).
pub fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

/// The children of a document's root element as name → text (CDATA or escaped text).
/// Nested elements deeper than the root's children are ignored; malformed XML is `None`.
pub fn parse_flat(xml: &str) -> Option<HashMap<String, String>> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut depth = 0usize;
    let mut roots = 0usize;
    let mut current: Option<String> = None;
    let mut out = HashMap::new();
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                depth += 1;
                if depth == 1 {
                    roots += 1;
                } else if depth == 2 {
                    let name = String::from_utf8(e.name().as_ref().to_vec()).ok()?;
                    out.entry(name.clone()).or_insert_with(String::new);
                    current = Some(name);
                }
            }
            Event::Empty(e) => {
                if depth == 0 {
                    roots += 1;
                } else if depth == 1 {
                    let name = String::from_utf8(e.name().as_ref().to_vec()).ok()?;
                    out.entry(name).or_insert_with(String::new);
                }
            }
            Event::End(_) => {
                if depth == 0 {
                    return None;
                }
                if depth == 2 {
                    current = None;
                }
                depth -= 1;
            }
            Event::Text(t) if depth == 2 => {
                let text = t.unescape().ok()?;
                if let Some(v) = current.as_ref().and_then(|c| out.get_mut(c)) {
                    v.push_str(&text);
                }
            }
            Event::CData(c) if depth == 2 => {
                let text = String::from_utf8(c.into_inner().into_owned()).ok()?;
                if let Some(v) = current.as_ref().and_then(|c| out.get_mut(c)) {
                    v.push_str(&text);
                }
            }
            // Text outside the children (other than whitespace, trimmed away) is not a message.
            Event::Text(t) if depth <= 1 && !t.is_empty() => return None,
            Event::DocType(_) => return None,
            Event::Eof => break,
            _ => {}
        }
    }
    (depth == 0 && roots == 1).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cdata_and_text_children() {
        let m = parse_flat("<xml><A><![CDATA[x]]></A><B>1 &amp; 2</B><C/></xml>").unwrap();
        assert_eq!(m["A"], "x");
        assert_eq!(m["B"], "1 & 2");
        assert_eq!(m["C"], "");
    }

    #[test]
    fn rejects_broken_documents() {
        assert!(parse_flat("<xml><A>x</xml>").is_none());
        assert!(parse_flat("<xml><A>x</A>").is_none());
        assert!(parse_flat("not xml").is_none());
        assert!(
            parse_flat(
                "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><A>&e;</A></xml>"
            )
            .is_none()
        );
    }

    #[test]
    fn cdata_survives_its_terminator() {
        let m = parse_flat(&format!("<xml><A>{}</A></xml>", cdata("a]]>b"))).unwrap();
        assert_eq!(m["A"], "a]]>b");
    }
}
