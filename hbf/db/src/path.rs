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
        fn rejects_any_parent_segment(prefix in "[a-z]{1,5}(/[a-z]{1,5}){0,3}", suffix in "(/[a-z]{1,5}){0,3}") {
            let raw = format!("{prefix}/..{suffix}");
            prop_assert_eq!(normalize(&raw), Err(PathError::ParentSegment));
        }
    }
}
