//! The dev API's bearer token: chosen by the operator or generated, compared
//! in constant time, and never printed. Apart from the routes because it is
//! also the shell's configuration (`HBF_DEV_TOKEN`).

use std::sync::Arc;

/// The dev API's secret. Its `Debug` does not show it, so it cannot reach the
/// log through a printed configuration.
#[derive(Clone)]
pub struct DevToken(Arc<str>);

impl std::fmt::Debug for DevToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevToken(..)")
    }
}

impl DevToken {
    /// The shortest token accepted from `HBF_DEV_TOKEN`.
    pub const MIN_LEN: usize = 16;

    /// A token chosen by the operator: at least [`DevToken::MIN_LEN`]
    /// characters, all visible ASCII (it travels in a header and a URL).
    pub fn new(token: &str) -> Result<Self, String> {
        if token.len() < Self::MIN_LEN {
            return Err(format!(
                "HBF_DEV_TOKEN is {} characters long; it must have at least {}",
                token.len(),
                Self::MIN_LEN
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "HBF_DEV_TOKEN may hold only visible ASCII characters (no spaces)".to_owned(),
            );
        }
        Ok(Self(token.into()))
    }

    /// A random 256-bit token (64 hex digits) from the kernel's generator.
    pub fn generate() -> std::io::Result<Self> {
        use std::io::Read;
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self(hex.into()))
    }

    /// The token itself, to show the operator once.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// True when `presented` is the token. The time taken depends only on the
    /// lengths, never on where the first difference is.
    pub fn matches(&self, presented: &[u8]) -> bool {
        constant_time_eq(self.0.as_bytes(), presented)
    }
}

/// The credentials of an `Authorization: Bearer <credentials>` value (the
/// scheme in any case), or `None` for another scheme or none at all.
pub(crate) fn bearer_credentials(value: &[u8]) -> Option<&[u8]> {
    let scheme = b"bearer ";
    (value.len() > scheme.len() && value[..scheme.len()].eq_ignore_ascii_case(scheme))
        .then(|| &value[scheme.len()..])
}

/// True when `presented` equals `expected`, in a time that depends only on
/// the lengths (the block service's token is compared the same way).
pub(crate) fn constant_time_eq(expected: &[u8], presented: &[u8]) -> bool {
    let mut diff = expected.len() ^ presented.len();
    for (i, &e) in expected.iter().enumerate() {
        diff |= usize::from(e ^ presented.get(i).copied().unwrap_or(!e));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        let token = DevToken::new("0123456789abcdef").unwrap();
        assert!(token.matches(b"0123456789abcdef"));
        assert!(!token.matches(b"0123456789abcdeF"));
        assert!(!token.matches(b"0123456789abcde"));
        assert!(!token.matches(b"0123456789abcdef0"));
        assert!(!token.matches(b""));
        assert!(DevToken::new("short").is_err());
        assert!(DevToken::new("has a space in it ok").is_err());
        let generated = DevToken::generate().unwrap();
        assert_eq!(generated.reveal().len(), 64);
        assert_ne!(generated.reveal(), DevToken::generate().unwrap().reveal());
        assert_eq!(format!("{generated:?}"), "DevToken(..)");
    }
}
