//! The browser editor at `/__dev/` (issue 13) through the real binary: the
//! embedded files and their headers, conditional requests, methods, the
//! redirect, `--editor-dir`, and the dev API's headers on its errors.

mod common;
use common::{dev_server, repo, test_pod, Reply, Server, DEV_TOKEN as TOKEN};

use std::time::Duration;

/// One raw request on its own connection (no client-side URL normalization
/// or redirect following); the answer's head and body.
fn raw(server: &Server, method: &str, target: &str, headers: &str) -> (String, String) {
    let answer = server.raw(
        format!("{method} {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{headers}\r\n")
            .as_bytes(),
        Duration::from_secs(5),
    );
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete head: {answer:?}"));
    (head.to_ascii_lowercase(), body.to_owned())
}

fn assert_editor_headers(r: &Reply, what: &str) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"));
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap_or_else(|| panic!("{what}: no script-src in {csp}"));
    assert!(script_src.contains("'self'"), "{what}: {csp}");
    assert!(!script_src.contains("unsafe-inline"), "{what}: {csp}");
    assert!(!script_src.contains("unsafe-eval"), "{what}: {csp}");
    assert!(csp.contains("connect-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
    assert_eq!(r.header("cache-control"), Some("no-cache"), "{what}");
}

/// Every `src="..."` and `href="..."` of an HTML text.
fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let end = rest.find('"').unwrap();
            out.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    out
}

fn expected_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap() {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        other => panic!("an editor file of an unexpected type: {other}"),
    }
}

#[test]
fn the_page_and_everything_it_loads_are_served_with_the_policy() {
    let server = dev_server(&[]);
    let r = server.get("/__dev/");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_editor_headers(&r, "/__dev/");
    let index = std::fs::read(repo().join("hbf/dev/editor/index.html")).unwrap();
    assert_eq!(r.body, index, "/__dev/ is index.html");
    assert_eq!(server.get("/__dev/index.html").body, index);

    let refs = references(&r.text());
    assert!(refs.iter().any(|r| r == "main.js"), "{refs:?}");
    for reference in refs {
        assert!(
            !reference.contains(':') && !reference.starts_with('/'),
            "index.html must load only its own files, relative to /__dev/: {reference}"
        );
        let r = server.get(&format!("/__dev/{reference}"));
        assert_eq!(r.status, 200, "{reference}");
        assert_eq!(
            r.header("content-type"),
            Some(expected_type(&reference)),
            "{reference}"
        );
        assert_editor_headers(&r, &reference);
    }
    // Every file of the editor directory, too.
    for entry in std::fs::read_dir(repo().join("hbf/dev/editor")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let r = server.get(&format!("/__dev/{name}"));
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(
            r.header("content-type"),
            Some(expected_type(&name)),
            "{name}"
        );
        let disk = std::fs::read(repo().join("hbf/dev/editor").join(&name)).unwrap();
        assert!(r.body == disk, "{name} is not the file");
    }

    let r = server.get("/__dev/codemirror.mjs");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let bundle = std::fs::read(repo().join("third_party/codemirror/codemirror.mjs")).unwrap();
    assert!(
        r.body == bundle,
        "/__dev/codemirror.mjs is not the vendored bundle"
    );
    assert_eq!(r.header("content-encoding"), None, "asked for no encoding");

    // Asked for gzip: the same bytes, about a third of the size on the wire,
    // under their own ETag.
    let gz = server.request(
        "GET",
        "/__dev/codemirror.mjs",
        &[("accept-encoding", "br, gzip;q=0.8")],
        None,
    );
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.header("vary"), Some("accept-encoding"));
    assert!(gz.body.len() * 2 < bundle.len(), "{} bytes", gz.body.len());
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(gz.body.as_slice()),
        &mut unzipped,
    )
    .unwrap();
    assert!(unzipped == bundle, "the gzip body is not the bundle");
    let gz_etag = gz.header("etag").unwrap().to_owned();
    assert_ne!(Some(gz_etag.as_str()), r.header("etag"));
    let again = server.request(
        "GET",
        "/__dev/codemirror.mjs",
        &[("accept-encoding", "gzip"), ("if-none-match", &gz_etag)],
        None,
    );
    assert_eq!(again.status, 304);
    let refused = server.request(
        "GET",
        "/__dev/codemirror.mjs",
        &[("accept-encoding", "gzip;q=0")],
        None,
    );
    assert_eq!(refused.header("content-encoding"), None);
    assert!(refused.body == bundle);
}

#[test]
fn etags_head_methods_and_unknown_names() {
    let server = dev_server(&[]);
    let r = server.get("/__dev/main.js");
    let etag = r.header("etag").expect("an ETag").to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() == 66,
        "{etag}"
    );
    let again = server.request("GET", "/__dev/main.js", &[("if-none-match", &etag)], None);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_editor_headers(&again, "304");
    let other = server.request("GET", "/__dev/main.js", &[("if-none-match", "\"x\"")], None);
    assert_eq!(other.status, 200);

    let (head, body) = raw(&server, "HEAD", "/__dev/codemirror.mjs", "");
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let bundle = std::fs::metadata(repo().join("third_party/codemirror/codemirror.mjs")).unwrap();
    assert!(
        head.contains(&format!("\r\ncontent-length: {}\r\n", bundle.len())),
        "{head}"
    );
    assert!(head.contains("\r\ncontent-security-policy: "), "{head}");
    assert!(body.is_empty(), "HEAD has no body: {} bytes", body.len());

    for method in ["POST", "PUT", "DELETE"] {
        let r = server.request(method, "/__dev/main.js", &[], Some(b"x"));
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
        assert_editor_headers(&r, method);
    }
    for name in [
        "nope.js",
        "api",
        "Main.js",
        "main.js/",
        "hbf/server.js",
        "..%2Fserver.js",
    ] {
        let r = server.get(&format!("/__dev/{name}"));
        assert_eq!(r.status, 404, "{name}");
        assert_editor_headers(&r, name);
    }

    // /__dev (no slash): a permanent redirect that keeps the method.
    let (head, _) = raw(&server, "GET", "/__dev", "");
    assert!(head.starts_with("http/1.1 308"), "{head}");
    assert!(head.contains("\r\nlocation: /__dev/\r\n"), "{head}");
    let (head, _) = raw(&server, "GET", "/__dev?x=1", "");
    assert!(head.contains("\r\nlocation: /__dev/?x=1\r\n"), "{head}");
}

#[test]
fn without_dev_the_editor_is_not_found() {
    let server = Server::test_pod(&[]);
    for path in ["/__dev/", "/__dev/index.html", "/__dev/codemirror.mjs"] {
        assert_eq!(server.get(path).status, 404, "{path}");
    }
    let (head, _) = raw(&server, "GET", "/__dev", "");
    assert!(head.starts_with("http/1.1 404"), "{head}");
}

#[test]
fn dev_api_answers_even_errors_with_nosniff_and_no_store() {
    let server = dev_server(&[]);
    let auth = format!("Bearer {TOKEN}");
    for (headers, status) in [
        (vec![], 401),
        (
            vec![("authorization", "Bearer wrong-token-0123456789")],
            401,
        ),
        (vec![("authorization", auth.as_str())], 200),
    ] {
        let r = server.request("GET", "/__dev/api/files", &headers, None);
        assert_eq!(r.status, status, "{headers:?}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    let r = server.request("GET", "/__dev/api/nope", &[("authorization", &auth)], None);
    assert_eq!(r.status, 404);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = server.request(
        "GET",
        "/__dev/api/file?path=a.txt",
        &[("authorization", &auth)],
        None,
    );
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
}

#[test]
fn a_chosen_token_is_not_printed_but_the_editor_url_is() {
    let server = dev_server(&[]);
    let line = server
        .wait_for_log(&["/__dev/"], Duration::from_secs(5))
        .expect("the start-up line with the editor's URL");
    assert!(
        line.contains(&format!("http://{}/__dev/ ", server.addr)),
        "{line}"
    );
    assert!(line.contains("#token=<HBF_DEV_TOKEN>"), "{line}");
    assert!(!line.contains(TOKEN), "{line}");
}

#[test]
fn an_editor_dir_is_read_on_every_request_and_only_by_table_names() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("editor");
    std::fs::create_dir(&dir).unwrap();
    for entry in std::fs::read_dir(repo().join("hbf/dev/editor")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    std::fs::write(root.path().join("secret.txt"), "secret").unwrap();
    std::fs::write(dir.join("extra.js"), "not in the table").unwrap();
    let tree_js = std::fs::read(dir.join("tree.js")).unwrap();
    std::fs::remove_file(dir.join("tree.js")).unwrap();
    let server = dev_server(&["--editor-dir", dir.to_str().unwrap()]);

    let r = server.get("/__dev/main.js");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, std::fs::read(dir.join("main.js")).unwrap());
    let first = r.header("etag").unwrap().to_owned();
    std::fs::write(dir.join("main.js"), "export const edited = 1;\n").unwrap();
    let r = server.request("GET", "/__dev/main.js", &[("if-none-match", &first)], None);
    assert_eq!(r.status, 200, "a changed file is not the old ETag's");
    assert_eq!(r.body, b"export const edited = 1;\n");
    assert_eq!(
        r.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_editor_headers(&r, "main.js from --editor-dir");
    let second = r.header("etag").unwrap().to_owned();
    assert_ne!(first, second);
    let r = server.request("GET", "/__dev/main.js", &[("if-none-match", &second)], None);
    assert_eq!(r.status, 304);

    // A table name the directory lacks is the embedded copy (the CodeMirror
    // bundle is never in hbf/dev/editor/).
    let r = server.get("/__dev/tree.js");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, tree_js);
    let r = server.get("/__dev/codemirror.mjs");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        std::fs::read(repo().join("third_party/codemirror/codemirror.mjs")).unwrap()
    );
    // A file it has but the table does not, and every way of naming a file
    // outside it: 404.
    assert_eq!(server.get("/__dev/extra.js").status, 404);
    for target in [
        "/__dev/../secret.txt",
        "/__dev/..%2Fsecret.txt",
        "/__dev/%2e%2e/secret.txt",
        "/__dev/./../secret.txt",
        "/__dev//etc/passwd",
        "/__dev/%2Fetc%2Fpasswd",
    ] {
        let (head, body) = raw(&server, "GET", target, "");
        assert!(head.starts_with("http/1.1 404"), "{target}: {head}");
        assert!(
            !body.contains("secret") && !body.contains("root:"),
            "{target}: {body}"
        );
    }
}

#[test]
fn editor_dir_must_be_a_directory_and_needs_dev() {
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("file.txt");
    std::fs::write(&file, "x").unwrap();
    let pod = test_pod();
    let pod = pod.to_str().unwrap();
    for dir in [file.clone(), root.path().join("missing")] {
        let dir = dir.to_str().unwrap();
        let log = Server::try_start_with_env(
            &["--inmem", "--pod", pod, "--dev", "--editor-dir", dir],
            &[("HBF_DEV_TOKEN", TOKEN)],
        )
        .err()
        .expect("an --editor-dir that is no directory must not start");
        assert!(log.contains("--editor-dir") && log.contains(dir), "{log}");
    }
    let log = Server::try_start(&[
        "--inmem",
        "--pod",
        pod,
        "--editor-dir",
        root.path().to_str().unwrap(),
    ])
    .err()
    .expect("--editor-dir without --dev must not start");
    assert!(log.contains("--dev"), "{log}");
}
