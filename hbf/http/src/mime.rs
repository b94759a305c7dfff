//! The content type of a file name: the `mime_guess` crate's table (one for
//! the whole repository: static files, the dev API's reads, the editor's
//! files), with `charset=utf-8` on text, and the few answers where this server
//! knows better than the table:
//!
//! * JavaScript (`.js`, `.mjs`, `.cjs`) is `text/javascript` (RFC 9239), which
//!   the table gives only for `.js`;
//! * TypeScript and JSX (`.ts`, `.mts`, `.tsx`, `.jsx`) are served as their
//!   source, `text/plain` (the table calls `.ts` an MPEG stream): a module
//!   script gets the JavaScript instead, with its own type
//!   ([`JAVASCRIPT`]);
//! * source maps are JSON, fonts `font/*` (RFC 8081) and XML
//!   `application/xml` (RFC 7303), where the table has older names.

/// JavaScript's content type.
pub const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Bytes of an unknown kind.
const UNKNOWN: &str = "application/octet-stream";

/// The content type for a file name (by its extension, in any case).
pub fn content_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((_, ext)) = name.rsplit_once('.') else {
        return UNKNOWN;
    };
    let ext = ext.to_ascii_lowercase();
    let mime = match ext.as_str() {
        "js" | "mjs" | "cjs" => return JAVASCRIPT,
        "ts" | "mts" | "tsx" | "jsx" => "text/plain",
        "map" => "application/json",
        "woff" => "font/woff",
        "otf" => "font/otf",
        "xml" => "application/xml",
        _ => match mime_guess::from_ext(&ext).first_raw() {
            Some(mime) => mime,
            None => return UNKNOWN,
        },
    };
    with_charset(mime)
}

/// Text is UTF-8 here: saying so keeps a browser from guessing.
fn with_charset(mime: &'static str) -> &'static str {
    match mime {
        "text/html" => "text/html; charset=utf-8",
        "text/css" => "text/css; charset=utf-8",
        "text/plain" => "text/plain; charset=utf-8",
        "text/markdown" => "text/markdown; charset=utf-8",
        "text/csv" => "text/csv; charset=utf-8",
        "text/javascript" => JAVASCRIPT,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_by_extension() {
        for (path, mime) in [
            ("static/a.html", "text/html; charset=utf-8"),
            ("static/a.css", "text/css; charset=utf-8"),
            ("static/a.js", JAVASCRIPT),
            ("static/a.mjs", JAVASCRIPT),
            ("static/a.cjs", JAVASCRIPT),
            ("static/a.json", "application/json"),
            ("static/a.map", "application/json"),
            ("static/a.webmanifest", "application/manifest+json"),
            ("static/a.txt", "text/plain; charset=utf-8"),
            ("static/a.ts", "text/plain; charset=utf-8"),
            ("static/a.mts", "text/plain; charset=utf-8"),
            ("static/a.tsx", "text/plain; charset=utf-8"),
            ("static/a.jsx", "text/plain; charset=utf-8"),
            ("static/a.md", "text/markdown; charset=utf-8"),
            ("static/a.csv", "text/csv; charset=utf-8"),
            ("static/a.xml", "application/xml"),
            ("static/a.svg", "image/svg+xml"),
            ("static/a.png", "image/png"),
            ("static/a.JPG", "image/jpeg"),
            ("static/a.webp", "image/webp"),
            ("static/a.avif", "image/avif"),
            ("static/a.ico", "image/x-icon"),
            ("static/a.wasm", "application/wasm"),
            ("static/a.woff", "font/woff"),
            ("static/a.woff2", "font/woff2"),
            ("static/a.ttf", "font/ttf"),
            ("static/a.otf", "font/otf"),
            ("static/a.pdf", "application/pdf"),
            ("static/a.gz", "application/gzip"),
            ("static/a.mp3", "audio/mpeg"),
            ("static/a.webm", "video/webm"),
            ("static/A.CSS", "text/css; charset=utf-8"),
            ("static/noext", UNKNOWN),
            ("static/a.dir/noext", UNKNOWN),
            ("static/a.unknown-kind", UNKNOWN),
            ("index.html", "text/html; charset=utf-8"),
        ] {
            assert_eq!(content_type(path), mime, "{path}");
        }
    }
}
