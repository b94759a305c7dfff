//! The WHATWG URL Pattern standard for `URLPattern` (`js/urlpattern.js`): the
//! `urlpattern` crate (Deno's) parses a pattern into its eight components and
//! matches URLs against them; JavaScript keeps only the pattern's input and
//! the strings this returns.
//!
//! A compiled pattern's regular expressions never live in the JavaScript
//! heap (a snapshot's restore would forget them without freeing them), and
//! no handle to one is ever given out: every call brings the pattern's input
//! again, and the compiled pattern is looked up by that input in a small
//! per-thread cache, compiled again when it is not there. An entry belongs
//! to the request that compiled it (or, made while no request runs, to the
//! pod's load, shared by all): a request never finds another request's
//! entry, not even by the time a lookup takes.
//!
//! Untrusted patterns: the regular expressions are the `regex` crate's,
//! linear in their input (no backreferences, no lookaround: such a pattern
//! is a TypeError), with their compiled size and lazy-DFA cache bounded; a
//! pattern's strings are bounded to [`MAX_PATTERN_BYTES`] and an input's to
//! [`MAX_INPUT_BYTES`], so no call can hold its worker for long (the
//! deadline cannot interrupt native code).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use rquickjs::{Array, Ctx, Exception, Object, Value};
use urlpattern::quirks::{self, StringOrInit};
use urlpattern::regexp::RegExp;
use urlpattern::{RegexSyntax, UrlPatternOptions};

/// The most bytes of strings one pattern is made of (its pattern string or
/// init members, and base URL). Routes are far shorter.
pub(crate) const MAX_PATTERN_BYTES: usize = 8 * 1024;
/// The most bytes one matched input may have (its string or init members,
/// and base URL): hyper refuses a request target longer than 64 KiB.
pub(crate) const MAX_INPUT_BYTES: usize = 64 * 1024;
/// The compiled size of one component's regular expression (the `regex`
/// crate's default is 10 MiB), and of its lazy DFA's cache.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
const REGEX_DFA_LIMIT: usize = 256 * 1024;
/// Compiled patterns kept per worker thread.
const CACHE_ENTRIES: usize = 64;

/// A component's regular expression: the `regex` crate with the flags the
/// standard asks for (the crate's own impl ignores `i`) and the size limits.
#[derive(Debug)]
pub(crate) struct Bounded(regex::Regex);

impl RegExp for Bounded {
    fn syntax() -> RegexSyntax {
        RegexSyntax::Rust
    }

    fn parse(pattern: &str, flags: &str, _force_eval: bool) -> Result<Self, ()> {
        regex::RegexBuilder::new(pattern)
            .case_insensitive(flags.contains('i'))
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_DFA_LIMIT)
            .build()
            .map(Bounded)
            .map_err(|_| ())
    }

    fn matches<'a>(&self, text: &'a str) -> Option<Vec<Option<&'a str>>> {
        let captures = self.0.captures(text)?;
        Some(
            captures
                .iter()
                .skip(1)
                .map(|c| c.map(|m| m.as_str()))
                .collect(),
        )
    }

    fn pattern_string(&self) -> &str {
        self.0.as_str()
    }
}

type Pattern = urlpattern::UrlPattern<Bounded>;

/// What a pattern is made from: its input (a string or the init's members,
/// in [`FIELDS`] order), base URL and `ignoreCase`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    input: Input,
    base: Option<String>,
    ignore_case: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Input {
    String(String),
    Init([Option<String>; 9]),
}

/// The members of a URLPatternInit, in the order `Input::Init` keeps them.
const FIELDS: [&str; 9] = [
    "protocol", "username", "password", "hostname", "port", "pathname", "search", "hash", "baseURL",
];

impl Input {
    fn read<'js>(ctx: &Ctx<'js>, value: &Value<'js>, limit: usize) -> rquickjs::Result<Self> {
        let input = if let Some(s) = value.as_string() {
            Input::String(s.to_string()?)
        } else if let Some(object) = value.as_object() {
            let mut fields: [Option<String>; 9] = Default::default();
            for (field, name) in fields.iter_mut().zip(FIELDS) {
                *field = object.get(name)?;
            }
            Input::Init(fields)
        } else {
            return Err(Exception::throw_type(
                ctx,
                "URLPattern: the input must be a string or a URLPatternInit",
            ));
        };
        if input.len() > limit {
            return Err(too_long(ctx, limit));
        }
        Ok(input)
    }

    fn len(&self) -> usize {
        match self {
            Input::String(s) => s.len(),
            Input::Init(fields) => fields.iter().flatten().map(String::len).sum(),
        }
    }

    fn as_quirks(&self) -> StringOrInit<'_> {
        match self {
            Input::String(s) => StringOrInit::String(s.as_str().into()),
            Input::Init(f) => StringOrInit::Init(quirks::UrlPatternInit {
                protocol: f[0].clone(),
                username: f[1].clone(),
                password: f[2].clone(),
                hostname: f[3].clone(),
                port: f[4].clone(),
                pathname: f[5].clone(),
                search: f[6].clone(),
                hash: f[7].clone(),
                base_url: f[8].clone(),
            }),
        }
    }
}

fn too_long(ctx: &Ctx<'_>, limit: usize) -> rquickjs::Error {
    Exception::throw_type(
        ctx,
        &format!("URLPattern: at most {limit} bytes of pattern or input"),
    )
}

fn type_error(ctx: &Ctx<'_>, what: &str, error: impl std::fmt::Display) -> rquickjs::Error {
    Exception::throw_type(ctx, &format!("URLPattern: {what}: {error}"))
}

/// Runs the crate on untrusted strings: a panic of its own (it asserts) is
/// a TypeError, never an unwind through QuickJS.
fn guarded<T>(ctx: &Ctx<'_>, what: &str, f: impl FnOnce() -> T) -> rquickjs::Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| type_error(ctx, what, "not supported"))
}

fn compile(ctx: &Ctx<'_>, key: &Key) -> rquickjs::Result<Pattern> {
    let what = "invalid pattern";
    let parsed = guarded(ctx, what, || {
        let init =
            quirks::process_construct_pattern_input(key.input.as_quirks(), key.base.as_deref())?;
        let options = UrlPatternOptions {
            regex_syntax: RegexSyntax::Rust,
            ignore_case: key.ignore_case,
        };
        quirks::parse_pattern_as_lib::<Bounded>(init, options)
    })?;
    parsed.map_err(|e| type_error(ctx, what, e))
}

struct Entry<T> {
    key: Key,
    /// The request that compiled it; 0: the pod's load, shared.
    owner: u64,
    pattern: Rc<T>,
}

thread_local! {
    static CACHE: RefCell<VecDeque<Entry<Pattern>>> = const { RefCell::new(VecDeque::new()) };
}

/// The compiled pattern for `key`: this request's (or the load's) from the
/// cache, or compiled now and kept (the entries of other requests go first).
fn pattern(ctx: &Ctx<'_>, key: Key) -> rquickjs::Result<Rc<Pattern>> {
    let request = super::request_id();
    CACHE.with(|cache| {
        cached(&mut cache.borrow_mut(), key, request, |key| {
            compile(ctx, key)
        })
    })
}

/// The cache's rule, apart from QuickJS: an entry is found only by the
/// request that made it, or by all if made outside any request (request 0).
fn cached<T, E>(
    cache: &mut VecDeque<Entry<T>>,
    key: Key,
    request: u64,
    compile: impl FnOnce(&Key) -> Result<T, E>,
) -> Result<Rc<T>, E> {
    let found = cache
        .iter()
        .find(|e| (e.owner == 0 || e.owner == request) && e.key == key);
    if let Some(entry) = found {
        return Ok(entry.pattern.clone());
    }
    let pattern = Rc::new(compile(&key)?);
    cache.retain(|e| e.owner == 0 || e.owner == request);
    if cache.len() >= CACHE_ENTRIES {
        cache.pop_front();
    }
    cache.push_back(Entry {
        key,
        owner: request,
        pattern: pattern.clone(),
    });
    Ok(pattern)
}

fn key<'js>(
    ctx: &Ctx<'js>,
    input: Value<'js>,
    base: Option<String>,
    ignore_case: bool,
) -> rquickjs::Result<Key> {
    let input = Input::read(ctx, &input, MAX_PATTERN_BYTES)?;
    if input.len() + base.as_ref().map_or(0, String::len) > MAX_PATTERN_BYTES {
        return Err(too_long(ctx, MAX_PATTERN_BYTES));
    }
    Ok(Key {
        input,
        base,
        ignore_case,
    })
}

/// The components of a pattern, in the standard's getter order: protocol,
/// username, password, hostname, port, pathname, search, hash.
fn components(pattern: &Pattern) -> [&urlpattern::component::Component<Bounded>; 8] {
    [
        &pattern.protocol,
        &pattern.username,
        &pattern.password,
        &pattern.hostname,
        &pattern.port,
        &pattern.pathname,
        &pattern.search,
        &pattern.hash,
    ]
}

/// `new URLPattern(input, baseURL, {ignoreCase})`: the eight component
/// pattern strings and `hasRegExpGroups`; a TypeError for a pattern the
/// standard refuses.
pub(super) fn compile_parts<'js>(
    ctx: Ctx<'js>,
    input: Value<'js>,
    ignore_case: bool,
    base: Option<String>,
) -> rquickjs::Result<Array<'js>> {
    let key = key(&ctx, input, base, ignore_case)?;
    let pattern = pattern(&ctx, key)?;
    let parts = Array::new(ctx.clone())?;
    for (i, component) in components(&pattern).into_iter().enumerate() {
        parts.set(i, component.pattern_string.as_str())?;
    }
    parts.set(8, pattern.has_regexp_groups())?;
    Ok(parts)
}

/// `test()` and `exec()`: matches `target` (a string or URLPatternInit, with
/// `target_base`) against the pattern made of `input`, `base` and
/// `ignore_case`. `null` when it does not match (or the target is not a
/// URL); else, for `exec`, the eight `[input, groups]` pairs (groups in the
/// pattern's order, an unmatched one undefined), for `test`, `true`.
#[allow(clippy::too_many_arguments)]
pub(super) fn match_input<'js>(
    ctx: Ctx<'js>,
    input: Value<'js>,
    ignore_case: bool,
    base: Option<String>,
    target: Value<'js>,
    target_base: Option<String>,
    exec: bool,
) -> rquickjs::Result<Value<'js>> {
    let pattern = pattern(&ctx, key(&ctx, input, base, ignore_case)?)?;
    let target = Input::read(&ctx, &target, MAX_INPUT_BYTES)?;
    if target.len() + target_base.as_ref().map_or(0, String::len) > MAX_INPUT_BYTES {
        return Err(too_long(&ctx, MAX_INPUT_BYTES));
    }
    let what = "invalid input";
    let processed = guarded(&ctx, what, || {
        quirks::process_match_input(target.as_quirks(), target_base.as_deref())
    })?
    .map_err(|e| type_error(&ctx, what, e))?;
    let Some(values) = processed.and_then(|(input, _)| quirks::parse_match_input(input)) else {
        return Ok(Value::new_null(ctx));
    };
    let values = [
        values.protocol,
        values.username,
        values.password,
        values.hostname,
        values.port,
        values.pathname,
        values.search,
        values.hash,
    ];
    let mut matched = Vec::with_capacity(8);
    for (component, value) in components(&pattern).into_iter().zip(&values) {
        // The crate's matcher compares a prefix before its regex case-
        // sensitively; with `ignoreCase`, the component's whole regex
        // (compiled with `i`) decides.
        let found = guarded(&ctx, what, || match &component.regexp {
            Ok(regexp) if ignore_case => regexp.matches(value),
            _ => component.matcher.matches(value),
        })?;
        match found {
            Some(groups) => matched.push(
                groups
                    .into_iter()
                    .map(|g| g.map(str::to_owned))
                    .collect::<Vec<_>>(),
            ),
            None => return Ok(Value::new_null(ctx)),
        }
    }
    if !exec {
        return Ok(Value::new_bool(ctx, true));
    }
    let result = Array::new(ctx.clone())?;
    for (i, ((component, value), groups)) in components(&pattern)
        .into_iter()
        .zip(&values)
        .zip(matched)
        .enumerate()
    {
        let named = Object::new(ctx.clone())?;
        for (name, group) in component.group_name_list.iter().zip(groups) {
            named.set(name.as_str(), group)?;
        }
        let pair = Array::new(ctx.clone())?;
        pair.set(0, value.as_str())?;
        pair.set(1, named)?;
        result.set(i, pair)?;
    }
    Ok(result.into_value())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> Key {
        Key {
            input: Input::String(format!("/route/{n}")),
            base: None,
            ignore_case: false,
        }
    }

    /// Compiles through the cache, returning whether it compiled.
    fn compiled(cache: &mut VecDeque<Entry<usize>>, n: usize, request: u64) -> bool {
        let mut did = false;
        let got = cached(cache, key(n), request, |_| {
            did = true;
            Ok::<_, ()>(n)
        });
        assert_eq!(*got.unwrap(), n);
        did
    }

    #[test]
    fn a_request_never_finds_another_requests_patterns() {
        let mut cache = VecDeque::new();
        assert!(compiled(&mut cache, 1, 0), "the pod's load compiles");
        assert!(compiled(&mut cache, 2, 7), "request 7 compiles its own");
        assert!(!compiled(&mut cache, 2, 7), "and finds it again");
        assert!(!compiled(&mut cache, 1, 7), "the load's are shared");
        assert!(!compiled(&mut cache, 1, 8), "with every request");
        assert!(
            compiled(&mut cache, 2, 8),
            "request 8 does not find request 7's"
        );
        assert!(
            cache.iter().all(|e| e.owner != 7),
            "which went when 8 compiled"
        );
        assert!(!compiled(&mut cache, 2, 8));
    }

    #[test]
    fn the_cache_is_bounded() {
        let mut cache = VecDeque::new();
        for n in 0..CACHE_ENTRIES * 3 {
            compiled(&mut cache, n, 0);
        }
        assert_eq!(cache.len(), CACHE_ENTRIES);
        assert!(
            !compiled(&mut cache, CACHE_ENTRIES * 3 - 1, 0),
            "the newest stay"
        );
        assert!(compiled(&mut cache, 0, 0), "the oldest went");
    }
}
