//! Signed tracking links: an official-account follower has no password, so the reply that
//! names their case carries a link that shows that one case, read-only, for
//! [`VALID_DAYS`] days. The token is `<case id>.<expiry, unix seconds>.<HMAC-SHA256>`
//! (the MAC in unpadded base64url over `track-link/v1/<case id>/<expiry>`); the key is
//! `MINSHENG_LINK_SECRET`, or, without one, derived from the official account's token so
//! that a deployment with the account gets working links with no new setting.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Config;

type HmacSha256 = Hmac<Sha256>;

/// How long a link works.
pub const VALID_DAYS: i64 = 30;
/// The longest token (two 19-digit numbers, two dots, 43 characters of MAC).
pub const TOKEN_MAX: usize = 84;

/// The signing key, when links can be made at all.
pub fn key(cfg: &Config) -> Option<Vec<u8>> {
    if let Some(s) = cfg.link_secret.as_ref().filter(|s| !s.expose().is_empty()) {
        return Some(s.expose().as_bytes().to_vec());
    }
    let token = cfg.wechat_token.as_ref()?;
    // Domain-separated: the link key is not the callback token itself.
    let mut mac = HmacSha256::new_from_slice(token.expose().as_bytes()).ok()?;
    mac.update(b"minsheng track-link key");
    Some(mac.finalize().into_bytes().to_vec())
}

fn mac(key: &[u8], case_id: i64, expires_s: i64) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(format!("track-link/v1/{case_id}/{expires_s}").as_bytes());
    m
}

/// A token for this case, valid until `now_s` + [`VALID_DAYS`].
pub fn sign(key: &[u8], case_id: i64, now_s: i64) -> String {
    let expires = now_s + VALID_DAYS * 86_400;
    let tag = mac(key, case_id, expires).finalize().into_bytes();
    format!("{case_id}.{expires}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Why a token opens nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkError {
    /// Malformed, or not signed with our key.
    Invalid,
    /// Signed by us, past its expiry.
    Expired,
}

/// The case a token opens at `now_s`.
pub fn verify(key: &[u8], token: &str, now_s: i64) -> Result<i64, LinkError> {
    let mut parts = token.split('.');
    let (Some(id), Some(exp), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LinkError::Invalid);
    };
    let id: i64 = id.parse().map_err(|_| LinkError::Invalid)?;
    let exp: i64 = exp.parse().map_err(|_| LinkError::Invalid)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| LinkError::Invalid)?;
    // Constant-time comparison inside `verify_slice`.
    mac(key, id, exp)
        .verify_slice(&tag)
        .map_err(|_| LinkError::Invalid)?;
    if now_s > exp {
        return Err(LinkError::Expired);
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_case_until_it_expires_and_nothing_else() {
        let t = sign(b"k", 42, 1_000);
        assert!(t.len() <= TOKEN_MAX);
        assert_eq!(verify(b"k", &t, 1_000), Ok(42));
        assert_eq!(verify(b"k", &t, 1_000 + VALID_DAYS * 86_400), Ok(42));
        assert_eq!(
            verify(b"k", &t, 1_001 + VALID_DAYS * 86_400),
            Err(LinkError::Expired)
        );
        assert_eq!(verify(b"other", &t, 1_000), Err(LinkError::Invalid));
        let forged = t.replacen("42.", "43.", 1);
        assert_eq!(verify(b"k", &forged, 1_000), Err(LinkError::Invalid));
        assert_eq!(verify(b"k", "42", 1_000), Err(LinkError::Invalid));
    }
}
