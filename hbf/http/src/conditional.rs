//! Conditional and partial requests (RFC 9110 13 and 14), one parser for each
//! header, used by every handler that answers with a validator: static files,
//! the editor's files and the block service.
//!
//! `If-None-Match`, `If-Modified-Since` and `If-Range` are read with the
//! `headers` crate. `Range` is parsed here: the crate's
//! `Range::satisfiable_ranges` neither clamps a range to the content nor
//! checks it against the length (`bytes=-1000` of 100 bytes would be no range
//! rather than the whole content, `bytes=100-` of 100 bytes a range rather
//! than `416`).

use std::time::SystemTime;

use headers::{ETag, HeaderMapExt, IfModifiedSince, IfNoneMatch, IfRange};
use hyper::header::{self, HeaderMap, HeaderValue};

/// `etag` (a quoted entity tag, as sent in `ETag`) as the `headers` crate's type.
fn entity_tag(etag: &HeaderValue) -> Option<ETag> {
    etag.to_str().ok()?.parse().ok()
}

/// False when a header `name` has an entity tag with a byte the grammar
/// forbids inside its quotes (a space, a tab, DEL): such a header is ignored,
/// as malformed, before the `headers` crate reads it (its parser asserts
/// those bytes away in debug builds rather than refusing them).
fn well_formed_tags(headers: &HeaderMap, name: header::HeaderName) -> bool {
    headers.get_all(name).iter().all(|value| {
        let mut quoted = false;
        value.as_bytes().iter().all(|&b| {
            if b == b'"' {
                quoted = !quoted;
                true
            } else {
                !quoted || (b > 0x20 && b != 0x7f)
            }
        })
    })
}

/// The client's copy is current: `If-None-Match` (when present, it decides)
/// names `etag`, weakly compared as RFC 9110 13.1.2 asks (`W/` tags and lists
/// match, and `*`), or else `If-Modified-Since` is not older than `modified`.
/// Without a known modification time, `If-Modified-Since` cannot say so.
pub fn not_modified(headers: &HeaderMap, etag: &HeaderValue, modified: Option<SystemTime>) -> bool {
    if headers.contains_key(header::IF_NONE_MATCH) {
        if !well_formed_tags(headers, header::IF_NONE_MATCH) {
            return false;
        }
        let (Some(inm), Some(ours)) = (headers.typed_get::<IfNoneMatch>(), entity_tag(etag)) else {
            return false;
        };
        return !inm.precondition_passes(&ours);
    }
    match (modified, headers.typed_get::<IfModifiedSince>()) {
        (Some(modified), Some(since)) => !since.is_modified(modified),
        _ => false,
    }
}

/// A `Range` header, read against a content of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// Serve the whole content: no `Range`, several ranges, a header this
    /// server does not understand, or an `If-Range` that no longer holds.
    Whole,
    /// Inclusive byte positions.
    Satisfiable(u64, u64),
    /// `416`.
    Unsatisfiable,
}

/// The range a request asks for, of a content of `len` bytes whose current
/// validator is `etag`: an `If-Range` must name it exactly (strong
/// comparison); a date there never matches, as this server's modification
/// times are not strong validators.
pub fn range(headers: &HeaderMap, len: u64, etag: &HeaderValue) -> RangeRequest {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return RangeRequest::Whole;
    };
    if headers.contains_key(header::IF_RANGE) {
        let current = well_formed_tags(headers, header::IF_RANGE)
            && headers
                .typed_get::<IfRange>()
                .zip(entity_tag(etag))
                .is_some_and(|(if_range, ours)| !if_range.is_modified(Some(&ours), None));
        if !current {
            return RangeRequest::Whole;
        }
    }
    parse_range(value, len)
}

/// One `bytes=first-last`, `bytes=first-` or `bytes=-suffix` range.
fn parse_range(header: &str, len: u64) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    match (start.is_empty(), end.is_empty()) {
        (true, true) => RangeRequest::Whole,
        (true, false) => match parse(end) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if len == 0 => RangeRequest::Unsatisfiable,
            Some(suffix) => RangeRequest::Satisfiable(len.saturating_sub(suffix), len - 1),
            None => RangeRequest::Whole,
        },
        (false, _) => {
            let Some(first) = parse(start) else {
                return RangeRequest::Whole;
            };
            let last = if end.is_empty() {
                Some(u64::MAX)
            } else {
                parse(end)
            };
            match last {
                None => RangeRequest::Whole,
                Some(last) if last < first => RangeRequest::Whole,
                Some(_) if first >= len => RangeRequest::Unsatisfiable,
                Some(last) => RangeRequest::Satisfiable(first, last.min(len - 1)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn with(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(n.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        let etag = HeaderValue::from_static("\"ab\"");
        let inm = |v: &str| not_modified(&with(&[(header::IF_NONE_MATCH, v)]), &etag, None);
        assert!(inm("\"ab\""));
        assert!(inm("\"x\", W/\"ab\""));
        assert!(inm("W/\"ab\""));
        assert!(inm("*"));
        assert!(!inm("\"abc\""));
        assert!(!inm("\"a\""));
        assert!(!inm("ab"));
        assert!(!not_modified(&HeaderMap::new(), &etag, None));
        // Two header lines are one list.
        let two = with(&[
            (header::IF_NONE_MATCH, "\"x\""),
            (header::IF_NONE_MATCH, "\"ab\""),
        ]);
        assert!(not_modified(&two, &etag, None));
    }

    /// The fuzz smoke's crash: a space or tab inside a tag's quotes made the
    /// `headers` crate's parser panic (a debug assertion); such a header is
    /// malformed and ignored.
    #[test]
    fn a_space_or_tab_inside_a_tag_is_malformed_not_a_panic() {
        let etag = HeaderValue::from_static("\"a b\"");
        for bad in ["\"a b\"", "\"a\tb\"", "\"x\", \"a b\""] {
            let inm = with(&[(header::IF_NONE_MATCH, bad)]);
            assert!(!not_modified(&inm, &etag, None), "{bad:?}");
            let if_range = with(&[(header::RANGE, "bytes=0-0"), (header::IF_RANGE, bad)]);
            assert_eq!(range(&if_range, 10, &etag), RangeRequest::Whole, "{bad:?}");
        }
    }

    #[test]
    fn if_modified_since_needs_a_known_time_and_yields_to_if_none_match() {
        let etag = HeaderValue::from_static("\"ab\"");
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let since = |date: SystemTime| httpdate::fmt_http_date(date);
        let ims = with(&[(header::IF_MODIFIED_SINCE, &since(t))]);
        assert!(not_modified(&ims, &etag, Some(t)));
        assert!(not_modified(
            &ims,
            &etag,
            Some(t + Duration::from_millis(999))
        ));
        assert!(!not_modified(&ims, &etag, Some(t + Duration::from_secs(1))));
        assert!(!not_modified(&ims, &etag, None));
        let both = with(&[
            (header::IF_MODIFIED_SINCE, &since(t)),
            (header::IF_NONE_MATCH, "\"other\""),
        ]);
        assert!(!not_modified(&both, &etag, Some(t)));
    }

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-9", 100), Satisfiable(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), Satisfiable(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), Satisfiable(90, 99));
        assert_eq!(parse_range("bytes=-1000", 100), Satisfiable(0, 99));
        assert_eq!(parse_range("bytes=50-1000", 100), Satisfiable(50, 99));
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-2", 100), Whole);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Whole);
        assert_eq!(parse_range("items=0-1", 100), Whole);
        assert_eq!(parse_range("bytes=x-1", 100), Whole);
        assert_eq!(parse_range("bytes=0-0", 0), Unsatisfiable);
    }

    #[test]
    fn if_range_must_name_the_current_tag() {
        use RangeRequest::*;
        let etag = HeaderValue::from_static("\"ab\"");
        let ask = |if_range: Option<&str>| {
            let mut h = with(&[(header::RANGE, "bytes=0-9")]);
            if let Some(v) = if_range {
                h.insert(header::IF_RANGE, HeaderValue::from_str(v).unwrap());
            }
            range(&h, 100, &etag)
        };
        assert_eq!(ask(None), Satisfiable(0, 9));
        assert_eq!(ask(Some("\"ab\"")), Satisfiable(0, 9));
        assert_eq!(ask(Some("\"old\"")), Whole);
        assert_eq!(ask(Some("W/\"ab\"")), Whole);
        assert_eq!(ask(Some("Thu, 01 Jan 2099 00:00:00 GMT")), Whole);
        assert_eq!(range(&HeaderMap::new(), 100, &etag), Whole);
    }
}
