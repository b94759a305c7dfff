//! File paths of the versioned filesystem.
//!
//! A path names a file inside a pod, like `hbf/server.js` or `static/style.css`.
//! Paths are relative and `/`-separated; they can never name something outside the
//! pod, so code that joins them onto a directory (export, static serving) is safe.
//!
//! [`normalize`] accepts a path, removes `.` segments and checks the rules:
//! not empty, not absolute, no `..`, no empty segment (`a//b`, a trailing `/`),
//! no backslash, no NUL or other control character, at most [`MAX_PATH_BYTES`]
//! bytes. Normalizing a normalized path returns it unchanged.

/// The longest path accepted, in bytes of UTF-8.
pub const MAX_PATH_BYTES: usize = 1024;

/// Why a path was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is empty")]
    Empty,
    #[error("absolute paths are not allowed; use a path relative to the pod, like static/app.js")]
    Absolute,
    #[error("'..' segments are not allowed")]
    ParentSegment,
    #[error("empty segments ('//' or a trailing '/') are not allowed")]
    EmptySegment,
    #[error("backslashes are not allowed; use '/' to separate segments")]
    Backslash,
    #[error("control characters (like NUL or newline) are not allowed")]
    ControlCharacter,
    #[error("the path is {len} bytes long; the limit is {MAX_PATH_BYTES}")]
    TooLong { len: usize },
}

/// Checks `path` and returns its normal form (`.` segments removed).
pub fn normalize(path: &str) -> Result<String, PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong { len: path.len() });
    }
    if path.chars().any(char::is_control) {
        return Err(PathError::ControlCharacter);
    }
    if path.contains('\\') {
        return Err(PathError::Backslash);
    }
    if path.starts_with('/') {
        return Err(PathError::Absolute);
    }
    let mut out = String::with_capacity(path.len());
    for segment in path.split('/') {
        match segment {
            "" => return Err(PathError::EmptySegment),
            "." => continue,
            ".." => return Err(PathError::ParentSegment),
            _ => {
                if !out.is_empty() {
                    out.push('/');
                }
                out.push_str(segment);
            }
        }
    }
    if out.is_empty() {
        return Err(PathError::Empty);
    }
    Ok(out)
}

/// [`normalize`], with the error wrapped for the crate's API.
pub(crate) fn checked(path: &str) -> crate::Result<String> {
    normalize(path).map_err(|problem| crate::Error::InvalidPath {
        path: path.to_owned(),
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_normalizes() {
        assert_eq!(normalize("hbf/server.js").unwrap(), "hbf/server.js");
        assert_eq!(normalize("./static/./a.css").unwrap(), "static/a.css");
        assert_eq!(normalize("a").unwrap(), "a");
        assert_eq!(
            normalize("dir.with.dots/..hidden").unwrap(),
            "dir.with.dots/..hidden"
        );
        assert_eq!(normalize("ünïcödé/文件.txt").unwrap(), "ünïcödé/文件.txt");
        let max = "a".repeat(MAX_PATH_BYTES);
        assert_eq!(normalize(&max).unwrap(), max);
    }

    #[test]
    fn rejects_what_spec_rejects() {
        assert_eq!(normalize(""), Err(PathError::Empty));
        assert_eq!(normalize("."), Err(PathError::Empty));
        assert_eq!(normalize("./."), Err(PathError::Empty));
        assert_eq!(normalize("../x"), Err(PathError::ParentSegment));
        assert_eq!(normalize("a/../b"), Err(PathError::ParentSegment));
        assert_eq!(normalize("a/.."), Err(PathError::ParentSegment));
        assert_eq!(normalize("/abs"), Err(PathError::Absolute));
        assert_eq!(normalize("a//b"), Err(PathError::EmptySegment));
        assert_eq!(normalize("a/"), Err(PathError::EmptySegment));
        assert_eq!(normalize("a\0b"), Err(PathError::ControlCharacter));
        assert_eq!(normalize("a\nb"), Err(PathError::ControlCharacter));
        assert_eq!(normalize("a\\b"), Err(PathError::Backslash));
        let long = "a".repeat(MAX_PATH_BYTES + 1);
        assert_eq!(normalize(&long), Err(PathError::TooLong { len: 1025 }));
    }

    /// SPEC 2's rules, stated directly: relative, `/`-separated, no `..`, no
    /// empty segments, no NUL or control characters (nor backslashes), at most
    /// 1024 bytes, and something left once `.` segments are dropped.
    fn spec_accepts(raw: &str) -> bool {
        !raw.is_empty()
            && raw.len() <= MAX_PATH_BYTES
            && !raw.starts_with('/')
            && !raw.chars().any(|c| c.is_control() || c == '\\')
            && raw.split('/').all(|s| !s.is_empty() && s != "..")
            && raw.split('/').any(|s| s != ".")
    }

    /// Paths built from segments that matter to the rules, sometimes absolute,
    /// sometimes near the length limit.
    fn spec_path() -> impl Strategy<Value = String> {
        let segment = prop_oneof![
            4 => "[a-z0-9_.-]{1,8}",
            1 => Just(".".to_owned()),
            1 => Just("..".to_owned()),
            1 => Just(String::new()),
            1 => Just("...".to_owned()),
            1 => "[ü文\\\\\\x00\\n\\x7f\\u{85} a]{1,3}",
            1 => "[a-zé]{1000,1030}",
        ];
        (any::<bool>(), prop::collection::vec(segment, 1..6)).prop_map(|(absolute, segments)| {
            let joined = segments.join("/");
            if absolute {
                format!("/{joined}")
            } else {
                joined
            }
        })
    }

    proptest! {
        #[test]
        fn normalize_is_idempotent_and_stays_inside(raw in "[a-z./\\\\\\x00\\n]{0,40}") {
            if let Ok(once) = normalize(&raw) {
                prop_assert_eq!(normalize(&once), Ok(once.clone()));
                prop_assert!(!once.starts_with('/'));
                prop_assert!(once.split('/').all(|s| !s.is_empty() && s != "." && s != ".."));
                prop_assert!(!once.contains('\0') && !once.contains('\\'));
                // Joined onto a root, it never leaves it.
                let joined = std::path::Path::new("/root").join(&once);
                prop_assert!(joined.starts_with("/root"));
                prop_assert!(joined.components().all(|c| c != std::path::Component::ParentDir));
            }
        }

        #[test]
        fn accepts_exactly_what_spec_2_allows(raw in spec_path()) {
            let got = normalize(&raw);
            prop_assert_eq!(got.is_ok(), spec_accepts(&raw), "{:?} -> {:?}", raw, got);
            if let Ok(path) = got {
                // Only `.` segments are removed; nothing else changes.
                let kept: Vec<&str> = raw.split('/').filter(|s| *s != ".").collect();
                prop_assert_eq!(path.split('/').collect::<Vec<_>>(), kept);
                prop_assert!(path.len() <= MAX_PATH_BYTES);
                prop_assert_eq!(normalize(&path), Ok(path.clone()));
            }
        }

        #[test]
        fn any_string_is_normalized_or_rejected_consistently(raw in any::<String>()) {
            let got = normalize(&raw);
            prop_assert_eq!(got.is_ok(), spec_accepts(&raw));
            if let Ok(path) = got {
                prop_assert_eq!(normalize(&path), Ok(path.clone()));
                let joined = std::path::Path::new("/root").join(&path);
                prop_assert!(joined.starts_with("/root"));
            }
        }

        #[test]
        fn rejects_any_parent_segment(prefix in "[a-z]{1,5}(/[a-z]{1,5}){0,3}", suffix in "(/[a-z]{1,5}){0,3}") {
            let raw = format!("{prefix}/..{suffix}");
            prop_assert_eq!(normalize(&raw), Err(PathError::ParentSegment));
        }
    }
}
