//! The anonymiser every public text passes through: names, phone and ID-card numbers, e-mail
//! addresses and door-level address details are replaced by `*`. It errs on the side of
//! hiding: any run of seven or more digits goes, whatever it was.

use std::sync::LazyLock;

use regex::{Captures, Regex};

fn stars(s: &str) -> String {
    "*".repeat(s.chars().count())
}

/// Seven or more digits, possibly broken up by spaces, dashes or dots (phones, ID cards,
/// bank cards); an ID card's final `X` goes with it.
static LONG_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+?86[\s-]?)?\d(?:[\s\-.]?\d){6,}[Xx]?").expect("valid regex")
});

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+").expect("valid regex"));

/// Numbers that place a door: 12号, 3栋, 2单元, 501室, 5楼, 3组, 12号院, 7号楼.
static DOOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"[0-9０-９一二三四五六七八九十百千零〇两]+\s*(号楼|号院|号|栋|幢|单元|室|楼|层|组|户)",
    )
    .expect("valid regex")
});

/// A name introduced as one: 我叫王小明, 我是李桂英, 联系人:张三, 户主 赵六.
static INTRODUCED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(我叫|我是|本人|联系人|户主|姓名|名叫|叫做|家属)([::\s]*)(\p{Han}{2,4}?)([,,。;;、\s]|$|电话|手机|身份证|住|家住|联系)")
        .expect("valid regex")
});

/// A surname with a form of address: 王先生, 李女士, 张大爷, 刘阿姨.
static ADDRESSED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\p{Han}(先生|女士|小姐|师傅|大爷|大妈|阿姨|老师|奶奶|爷爷|大姐|大哥)")
        .expect("valid regex")
});

/// `text` with personal details replaced by `*`. `known` are names the caller knows belong
/// to people in the record (the contact, the submitter, a household's head).
pub fn scrub(text: &str, known: &[&str]) -> String {
    let mut out = text.to_string();
    let mut names: Vec<&str> = known
        .iter()
        .map(|n| n.trim())
        .filter(|n| n.chars().count() >= 2)
        .collect();
    // Longest first, so 王小明 goes before a shorter name inside it.
    names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
    for n in names {
        out = out.replace(n, &stars(n));
    }
    out = EMAIL
        .replace_all(&out, |c: &Captures| stars(&c[0]))
        .into_owned();
    out = LONG_NUMBER
        .replace_all(&out, |c: &Captures| stars(&c[0]))
        .into_owned();
    out = INTRODUCED
        .replace_all(&out, |c: &Captures| {
            format!("{}{}{}{}", &c[1], &c[2], stars(&c[3]), &c[4])
        })
        .into_owned();
    out = ADDRESSED
        .replace_all(&out, |c: &Captures| format!("*{}", &c[1]))
        .into_owned();
    out = DOOR
        .replace_all(&out, |c: &Captures| format!("*{}", &c[1]))
        .into_owned();
    out
}

/// A door-level part after [`scrub`]: its number (or the stars that replaced it) and its unit.
static DOOR_PART: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"[0-9０-９一二三四五六七八九十百千零〇两*]+\s*(号楼|号院|号|栋|幢|单元|室|楼|层|组|户)",
    )
    .expect("valid regex")
});

/// Any number left, with the dashes, slashes and `#` that join its parts (3-2-501, #12).
static NUMBERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[#＃]?[0-9０-９*]+(?:\s*[-－—/]\s*[0-9０-９*]+)*").expect("valid regex")
});

/// An address as the public may see it: [`scrub`]bed, then every door-level part and every
/// number taken out, so that the road, the estate or the place is left (南宁西路12号3栋2单元501室
/// → 南宁西路).
pub fn scrub_address(address: &str, known: &[&str]) -> String {
    let out = scrub(address, known);
    let out = DOOR_PART.replace_all(&out, "");
    let out = NUMBERS.replace_all(&out, "");
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_matches(|c: char| c.is_ascii_punctuation() || "，,、。;；:：".contains(c))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::{scrub, scrub_address};

    #[test]
    fn a_public_address_keeps_the_road_and_loses_every_number() {
        assert_eq!(scrub_address("南宁西路12号3栋2单元501室", &[]), "南宁西路");
        assert_eq!(
            scrub_address("麒麟区 南宁西路 3-2-501 王小明家", &["王小明"]),
            "麒麟区 南宁西路 家"
        );
        assert_eq!(scrub_address("阳光小区三栋二单元", &[]), "阳光小区");
        assert_eq!(scrub_address("电话 13812345678 东门", &[]), "电话 东门");
    }

    /// A complaint as residents really write them, personal details and all.
    const FULL: &str = "我叫王小明,电话13812345678,身份证号53030219900101123X,家住南宁西路12号3栋2单元501室。\
        楼下李女士家(座机 0874-3123456)漏水三个月了,邮箱 wxm@example.com,联系人:张桂英,谢谢!";

    #[test]
    fn names_numbers_and_door_details_are_gone() {
        let out = scrub(FULL, &["王小明"]);
        for secret in [
            "王小明",
            "13812345678",
            "53030219900101123X",
            "0874-3123456",
            "3123456",
            "12号",
            "3栋",
            "2单元",
            "501室",
            "李女士",
            "wxm@example.com",
            "张桂英",
        ] {
            assert!(!out.contains(secret), "{secret} left in: {out}");
        }
        // What the complaint is about survives.
        assert!(out.contains("漏水三个月了"), "{out}");
        assert!(
            out.contains("南宁西路"),
            "the road stays, its numbers go: {out}"
        );
        assert!(out.contains("*女士"), "{out}");
    }

    #[test]
    fn known_names_go_wherever_they_are_written() {
        let out = scrub("赵六说路灯坏了,赵六的邻居也这么说", &["赵六", " "]);
        assert_eq!(out, "**说路灯坏了,**的邻居也这么说");
    }

    #[test]
    fn plain_complaints_pass_unchanged() {
        let text = "小区门口的路灯坏了一个月,晚上很黑,希望尽快修好";
        assert_eq!(scrub(text, &[]), text);
    }
}
