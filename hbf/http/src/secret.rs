//! Bearer tokens: the dev API's (`HBF_DEV_TOKEN`, or generated) and the block
//! service's writes (`HBF_BLOCK_TOKEN`). Chosen by the operator or generated,
//! compared in constant time, and never printed.

use std::sync::Arc;

use hyper::header::{self, HeaderMap};

use crate::respond::HttpError;

/// A secret a request presents as `Authorization: Bearer <token>`. Its
/// `Debug` does not show it, so it cannot reach the log through a printed
/// configuration.
#[derive(Clone)]
pub struct BearerToken(Arc<str>);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(..)")
    }
}

impl BearerToken {
    /// The shortest token accepted.
    pub const MIN_LEN: usize = 16;

    /// A token chosen by the operator in the environment variable `source`:
    /// at least [`BearerToken::MIN_LEN`] characters, all visible ASCII (it
    /// travels in a header, and the dev token in a URL).
    pub fn new(source: &str, token: &str) -> Result<Self, String> {
        if token.len() < Self::MIN_LEN {
            return Err(format!(
                "{source} is {} characters long; it must have at least {}",
                token.len(),
                Self::MIN_LEN
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "{source} may hold only visible ASCII characters (no spaces)"
            ));
        }
        Ok(Self(token.into()))
    }

    /// A random 256-bit token (64 hex digits) from the kernel's generator.
    pub fn generate() -> std::io::Result<Self> {
        use std::io::Read;
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        Ok(Self(hex::encode(bytes).into()))
    }

    /// The token itself, to show the operator once.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// True when `presented` is the token. The time taken depends only on the
    /// lengths, never on where the first difference is.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        let mut diff = expected.len() ^ presented.len();
        for (i, &e) in expected.iter().enumerate() {
            diff |= usize::from(e ^ presented.get(i).copied().unwrap_or(!e));
        }
        diff == 0
    }

    /// `Ok` when `headers` present the token; else `401` (with
    /// `WWW-Authenticate: Bearer`) saying `missing` (no `Authorization`) or
    /// `invalid` (another token or scheme).
    pub fn authorize(
        &self,
        headers: &HeaderMap,
        missing: &'static str,
        invalid: &'static str,
    ) -> Result<(), HttpError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(HttpError::Unauthorized(missing));
        };
        if bearer_credentials(value.as_bytes()).is_some_and(|t| self.matches(t)) {
            Ok(())
        } else {
            Err(HttpError::Unauthorized(invalid))
        }
    }
}

/// The credentials of an `Authorization: Bearer <credentials>` value (the
/// scheme in any case), or `None` for another scheme or none at all.
fn bearer_credentials(value: &[u8]) -> Option<&[u8]> {
    let scheme = b"bearer ";
    (value.len() > scheme.len() && value[..scheme.len()].eq_ignore_ascii_case(scheme))
        .then(|| &value[scheme.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn tokens_compare_whole() {
        let token = BearerToken::new("HBF_DEV_TOKEN", "0123456789abcdef").unwrap();
        assert!(token.matches(b"0123456789abcdef"));
        assert!(!token.matches(b"0123456789abcdeF"));
        assert!(!token.matches(b"0123456789abcde"));
        assert!(!token.matches(b"0123456789abcdef0"));
        assert!(!token.matches(b""));
        let short = BearerToken::new("HBF_BLOCK_TOKEN", "short").unwrap_err();
        assert!(
            short.starts_with("HBF_BLOCK_TOKEN is 5 characters long"),
            "{short}"
        );
        assert!(BearerToken::new("HBF_DEV_TOKEN", "has a space in it ok").is_err());
        let generated = BearerToken::generate().unwrap();
        assert_eq!(generated.reveal().len(), 64);
        assert!(generated.reveal().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(
            generated.reveal(),
            BearerToken::generate().unwrap().reveal()
        );
        assert_eq!(format!("{generated:?}"), "BearerToken(..)");
    }

    #[test]
    fn authorization_needs_the_bearer_token() {
        let token = BearerToken::new("HBF_DEV_TOKEN", "0123456789abcdef").unwrap();
        let headers = |value: Option<&str>| {
            let mut h = HeaderMap::new();
            if let Some(v) = value {
                h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            }
            h
        };
        let check = |value| token.authorize(&headers(value), "missing", "invalid");
        assert!(check(Some("Bearer 0123456789abcdef")).is_ok());
        assert!(check(Some("bearer 0123456789abcdef")).is_ok());
        assert!(matches!(
            check(None),
            Err(HttpError::Unauthorized("missing"))
        ));
        for bad in ["Bearer wrong", "Basic 0123456789abcdef", "Bearer "] {
            assert!(
                matches!(check(Some(bad)), Err(HttpError::Unauthorized("invalid"))),
                "{bad:?}"
            );
        }
    }
}
