//! The benchmark's categories and their routes (the C99 HBF's categories),
//! and a custom pod's routes from a small TOML file.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{BenchError, Result};

/// The dev token `hbf-bench` starts `hbf --dev` with (HBF_DEV_TOKEN).
pub const DEV_TOKEN: &str = "hbf-bench-dev-token-0123456789";

/// A group of routes measured together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Static files of the base pod.
    Static,
    /// The base pod's JavaScript routes.
    Runtime,
    /// The dev API over the versioned filesystem (`hbf --dev`).
    Fs,
    /// The content-addressed block service (`hbf --blocks`).
    Blocks,
    /// A custom pod's routes (`--pod DIR --routes FILE`).
    Custom,
}

impl Category {
    /// Every category `--category` accepts, in the order they run.
    pub const ALL: [Category; 5] = [
        Category::Static,
        Category::Runtime,
        Category::Fs,
        Category::Blocks,
        Category::Custom,
    ];

    /// Its name on the command line and in the database.
    pub fn name(self) -> &'static str {
        match self {
            Category::Static => "static",
            Category::Runtime => "runtime",
            Category::Fs => "fs",
            Category::Blocks => "blocks",
            Category::Custom => "custom",
        }
    }

    /// Parses a `--category` value.
    pub fn parse(s: &str) -> Result<Category> {
        Category::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                BenchError::Usage(format!(
                    "unknown category {s:?} (static, runtime, fs, blocks, custom)"
                ))
            })
    }

    /// Whether the peers (Node.js, Bun, Deno) serve this category: they serve
    /// the base pod's static and JavaScript routes; the dev API, blocks and a
    /// custom pod are HBF's alone.
    pub fn peers_serve(self) -> bool {
        matches!(self, Category::Static | Category::Runtime)
    }
}

/// A request body: a fixed one, or one no other request sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    None,
    Fixed(String),
    /// This many bytes, different on every request (content-addressed writes
    /// must not be deduplicated).
    Distinct(usize),
}

/// One route to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub category: Category,
    /// Its name in the database and the reports, e.g. `GET /hello`.
    pub name: String,
    pub method: String,
    /// The request path; `{n}` is replaced by a counter modulo 1000.
    pub path: String,
    pub body: Body,
    pub headers: Vec<(String, String)>,
    /// The status the route must answer (checked once before measuring, and
    /// any status >= 400 during the load counts as an error); `None`: any 2xx.
    pub expect: Option<u16>,
}

impl Route {
    fn get(category: Category, path: &str) -> Route {
        Route {
            category,
            name: format!("GET {path}"),
            method: "GET".into(),
            path: path.into(),
            body: Body::None,
            headers: Vec::new(),
            expect: Some(200),
        }
    }

    /// Whether wrk needs a request() function (a path or body that changes).
    pub fn varies(&self) -> bool {
        self.path.contains("{n}") || matches!(self.body, Body::Distinct(_))
    }
}

/// The built-in routes of a category (none for `custom`: see [`custom`]).
/// Blocks' `GET /block/{hash}` gets its hash from a block written before the
/// load (see the runner).
pub fn builtin(category: Category) -> Vec<Route> {
    let auth = vec![("Authorization".to_string(), format!("Bearer {DEV_TOKEN}"))];
    match category {
        Category::Static => vec![
            Route::get(category, "/static/style.css"),
            Route::get(category, "/static/favicon.ico"),
        ],
        Category::Runtime => vec![
            Route::get(category, "/hello"),
            Route::get(category, "/user/42"),
            Route::get(category, "/echo"),
        ],
        Category::Fs => vec![
            Route {
                name: "PUT /__dev/api/file".into(),
                method: "PUT".into(),
                // 1 KiB of new content to one of 1000 files: a durable write each.
                path: "/__dev/api/file?path=bench/f{n}.txt".into(),
                body: Body::Distinct(1024),
                headers: auth.clone(),
                // 201 for a new file, 200 for a new version.
                expect: None,
                category,
            },
            Route {
                name: "GET /__dev/api/files".into(),
                headers: auth,
                path: "/__dev/api/files?prefix=".into(),
                ..Route::get(category, "")
            },
        ],
        Category::Blocks => vec![
            Route {
                name: "PUT /block".into(),
                method: "PUT".into(),
                path: "/block".into(),
                body: Body::Distinct(4096),
                headers: Vec::new(),
                expect: None,
                category,
            },
            Route {
                name: "GET /block/<hash>".into(),
                path: "/block/{hash}".into(),
                ..Route::get(category, "")
            },
        ],
        Category::Custom => Vec::new(),
    }
}

/// A custom routes file:
///
/// ```toml
/// ready = "/health"          # the path polled until the server answers 200 (default /health)
/// [[route]]
/// method = "POST"            # default GET
/// path = "/api/items"
/// body = '{"name":"a"}'      # optional
/// status = 201               # expected status (default 200)
/// headers = { "Content-Type" = "application/json" }
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutesFile {
    ready: Option<String>,
    route: Vec<RouteEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteEntry {
    method: Option<String>,
    path: String,
    body: Option<String>,
    status: Option<u16>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// A custom pod's routes and readiness path.
#[derive(Debug, Clone, PartialEq)]
pub struct Custom {
    pub ready: String,
    pub routes: Vec<Route>,
}

/// Reads a custom routes file.
pub fn custom(path: &Path) -> Result<Custom> {
    let text = std::fs::read_to_string(path).map_err(BenchError::io(path))?;
    parse_custom(&text).map_err(|detail| BenchError::Routes {
        path: path.into(),
        detail,
    })
}

fn parse_custom(text: &str) -> std::result::Result<Custom, String> {
    let file: RoutesFile = toml::from_str(text).map_err(|e| e.to_string())?;
    if file.route.is_empty() {
        return Err("no [[route]]".into());
    }
    let mut routes = Vec::new();
    for r in file.route {
        if !r.path.starts_with('/') {
            return Err(format!("path {:?} does not start with /", r.path));
        }
        let method = r
            .method
            .unwrap_or_else(|| "GET".into())
            .to_ascii_uppercase();
        routes.push(Route {
            category: Category::Custom,
            name: format!("{method} {}", r.path),
            method,
            path: r.path,
            body: r.body.map_or(Body::None, Body::Fixed),
            headers: r.headers.into_iter().collect(),
            expect: Some(r.status.unwrap_or(200)),
        });
    }
    Ok(Custom {
        ready: file.ready.unwrap_or_else(|| "/health".into()),
        routes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_parse_and_name_themselves() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.name()).unwrap(), c);
        }
        assert!(Category::parse("disk")
            .unwrap_err()
            .to_string()
            .contains("static"));
        assert!(builtin(Category::Runtime).iter().all(|r| !r.varies()));
        assert!(builtin(Category::Fs)[0].varies());
        assert!(builtin(Category::Blocks)[0].varies());
    }

    #[test]
    fn a_routes_file_parses_with_defaults() {
        let c = parse_custom(
            r#"
            [[route]]
            path = "/a"
            [[route]]
            method = "post"
            path = "/b"
            body = "x=1"
            status = 201
            headers = { "Content-Type" = "text/plain" }
            "#,
        )
        .unwrap();
        assert_eq!(c.ready, "/health");
        assert_eq!(c.routes[0].name, "GET /a");
        assert_eq!(c.routes[0].expect, Some(200));
        let b = &c.routes[1];
        assert_eq!((b.name.as_str(), b.expect), ("POST /b", Some(201)));
        assert_eq!(b.body, Body::Fixed("x=1".into()));
        assert_eq!(
            b.headers,
            vec![("Content-Type".into(), "text/plain".into())]
        );
    }

    #[test]
    fn a_bad_routes_file_says_why() {
        assert!(parse_custom("ready = \"/\"\nroute = []")
            .unwrap_err()
            .contains("no [[route]]"));
        assert!(parse_custom("[[route]]\npath = \"a\"")
            .unwrap_err()
            .contains("start with /"));
        assert!(parse_custom("[[route]]\npath = \"/a\"\nverb = \"GET\"")
            .unwrap_err()
            .contains("verb"));
    }
}
