//! TypeScript, TSX and JSX pods through the real binary: the test pod's
//! TypeScript routes in both handler styles, live edits through the dev API,
//! errors that name the `.ts` file and line, and `.ts` static files for the
//! browser.

mod common;

use std::path::Path;

use common::{dev_server, repo, Server, DEV_TOKEN};

const TS_JSON: &str = r#"{"id":"o-1","items":2,"total":"5.40 EUR","size":3,"sizeName":"Large","first":"tea","fields":["items","id","discount"]}"#;
const TSX_HTML: &str = "<!doctype html><h1>A&lt;b&gt; &amp; &quot;c&quot;</h1><ul>\
    <li class=\"drink\" data-size=\"1\">tea: 2.50 EUR</li>\
    <li class=\"drink\" data-size=\"3\">coffee: 3.50 EUR</li></ul><hr>";
// preact escapes `<`, `&` and `"` in text, not `>` (valid HTML either way).
const PREACT_HTML: &str = "<section><h2>A&lt;b> &amp; &quot;c&quot;</h2><ul>\
    <li>tea: 2.50 EUR</li><li>coffee: 3.50 EUR</li></ul><output>3</output></section>";
const TITLE: &str = "title=A%3Cb%3E%20%26%20%22c%22";

/// The TypeScript routes, as both handler styles must answer them.
fn check_ts_routes(server: &Server) {
    let r = server.get("/t/ts");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), TS_JSON);
    let r = server.get(&format!("/t/tsx?{TITLE}"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(r.text(), TSX_HTML);
    let r = server.get(&format!("/t/tsx-preact?{TITLE}"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), PREACT_HTML);
    assert_eq!(r.header("x-powered-by"), Some("HBF"));
    // A throw in a .ts module: 500, and in dev mode a stack naming the .ts
    // lines (hbf/lib/ts/fail.ts line 9 throws, routes.ts line 44 calls it).
    let r = server.get("/t/ts-throw");
    assert_eq!(r.status, 500);
    let body = r.json();
    assert_eq!(body["message"], "Error: failed with 7: on purpose");
    let stack = body["stack"].as_str().unwrap();
    assert!(stack.contains("(hbf/lib/ts/fail.ts:9:"), "{stack}");
    assert!(stack.contains("(hbf/lib/ts/routes.ts:44:"), "{stack}");
}

#[test]
fn hbf_style_typescript_routes() {
    check_ts_routes(&dev_server(&[]));
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn fetch_style_typescript_server() {
    // The test pod with hbf/fetch-style.ts as its server module (server.ts).
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("ts-pod");
    copy_tree(&repo().join("pods/test"), &pod);
    // Not an overlay of the base pod: its hbf/server.js would be the server.
    std::fs::remove_file(pod.join("base")).unwrap();
    std::fs::remove_file(pod.join("hbf/server.js")).unwrap();
    std::fs::rename(pod.join("hbf/fetch-style.ts"), pod.join("hbf/server.ts")).unwrap();
    let server = Server::try_start_with_env(
        &["--inmem", "--pod", pod.to_str().unwrap(), "--dev"],
        &[("HBF_DEV_TOKEN", DEV_TOKEN)],
    )
    .unwrap_or_else(|log| panic!("hbf did not start:\n{log}"));
    check_ts_routes(&server);
    let r = server.get("/hello");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["path"], "/hello");
}

fn put(server: &Server, path: &str, body: &str) -> u16 {
    put_reply(server, path, body).status
}

fn put_reply(server: &Server, path: &str, body: &str) -> common::Reply {
    let auth = format!("Bearer {DEV_TOKEN}");
    server.request(
        "PUT",
        &format!("/__dev/api/file?path={path}"),
        &[("authorization", &auth)],
        Some(body.as_bytes()),
    )
}

/// How many times the server logged transforming `module`.
fn transforms_of(server: &Server, module: &str) -> usize {
    let quoted = format!("module=\"{module}\"");
    server
        .log()
        .iter()
        .filter(|l| l.contains("transformed to JavaScript") && l.contains(&quoted))
        .count()
}

#[test]
fn a_live_edit_of_a_ts_module_applies_next_request_and_is_transformed_once() {
    let server = dev_server(&["--log-level", "debug", "--workers", "2"]);
    let fail = "hbf/lib/ts/fail.ts";
    assert_eq!(server.get("/t/ts-throw").status, 500);
    // Packed: loaded from the packer's bytecode, no transform at run time.
    assert_eq!(transforms_of(&server, fail), 0, "{:#?}", server.log());

    let edited = "// Edited live: no longer throws.\n\
        interface Reason { code: number; text: string }\n\
        export function fail(reason: Reason): never {\n\
          const body = JSON.stringify({ edited: reason.code });\n\
          return { status: 200, type: 'application/json', body } as never;\n\
        }\n";
    assert!(matches!(put(&server, fail, edited), 200 | 201));
    for _ in 0..20 {
        let r = server.get("/t/ts-throw");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.text(), r#"{"edited":7}"#);
    }
    // Both workers ran the new version; it was transformed once.
    assert_eq!(transforms_of(&server, fail), 1, "{:#?}", server.log());

    // A type-syntax error in a live edit: 500 naming the .ts file, line and column.
    let broken = "export function fail(reason: { code: number }): never {\n  let x: = 1;\n}\n";
    let saved = put_reply(&server, fail, broken);
    assert_eq!(saved.status, 200);
    // The dev API saves it and says what is wrong.
    let warning = &saved.json()["warnings"][0];
    assert_eq!(
        (&warning["path"], &warning["line"], &warning["column"]),
        (
            &serde_json::json!(fail),
            &serde_json::json!(2),
            &serde_json::json!(10)
        ),
        "{warning}"
    );
    let r = server.get("/t/ts-throw");
    assert_eq!(r.status, 500);
    let message = r.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("hbf/lib/ts/fail.ts:2:10: SyntaxError: "),
        "{message}"
    );
    // Routes that do not import it keep working (hbf/server.js imports the
    // TypeScript routes when one is asked for); the fix applies on the next
    // request.
    assert_eq!(server.get("/hello").status, 200);
    assert!(matches!(put(&server, fail, edited), 200 | 201));
    assert_eq!(server.get("/t/ts-throw").text(), r#"{"edited":7}"#);
}

#[test]
fn typescript_static_files_are_javascript_for_module_scripts() {
    let server = dev_server(&[]);
    let path = "/static/shared/price.ts";
    let script = server.request("GET", path, &[("sec-fetch-dest", "script")], None);
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(script.header("vary"), Some("Sec-Fetch-Dest"));
    let js = script.text();
    assert!(
        js.contains("export function formatPrice(amount, currency = \"EUR\")"),
        "{js}"
    );
    assert!(!js.contains("type Currency"), "{js}");

    let source = server.get(path);
    assert_eq!(source.status, 200);
    assert_eq!(
        source.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(source.header("vary"), Some("Sec-Fetch-Dest"));
    assert_eq!(
        source.text(),
        std::fs::read_to_string(repo().join("pods/test/static/shared/price.ts")).unwrap()
    );
    let (js_etag, ts_etag) = (
        script.header("etag").unwrap(),
        source.header("etag").unwrap(),
    );
    assert_ne!(js_etag, ts_etag);
    let again = server.request(
        "GET",
        path,
        &[("sec-fetch-dest", "script"), ("if-none-match", js_etag)],
        None,
    );
    assert_eq!(again.status, 304);

    // Named as its compiled file (`./price.js`, TypeScript's rule), the source
    // is what a module script gets; anything else gets 404 (there is no such
    // file), and a real `.js` file wins.
    let compiled = "/static/shared/price.js";
    let r = server.request("GET", compiled, &[("sec-fetch-dest", "script")], None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag"), Some(js_etag));
    assert_eq!(r.text(), js);
    assert_eq!(server.get(compiled).status, 404);
    assert!(matches!(
        put(
            &server,
            "static/shared/price.js",
            "export const real = 1;\n"
        ),
        200 | 201
    ));
    let r = server.request("GET", compiled, &[("sec-fetch-dest", "script")], None);
    assert_eq!(r.text(), "export const real = 1;\n");
    let missing = server.request(
        "GET",
        "/static/shared/none.js",
        &[("sec-fetch-dest", "script")],
        None,
    );
    assert_eq!(missing.status, 404);

    // A syntax error: 500 with file, line and column, for the browser's console.
    assert!(matches!(
        put(
            &server,
            "static/shared/broken.tsx",
            "export const a = <b>;\n"
        ),
        200 | 201
    ));
    let r = server.request(
        "GET",
        "/static/shared/broken.tsx",
        &[("sec-fetch-dest", "script")],
        None,
    );
    assert_eq!(r.status, 500);
    assert!(
        r.text().starts_with("static/shared/broken.tsx:1:"),
        "{}",
        r.text()
    );
}
