//! SPEC 7, line by line, against the real binary serving the test pod.

mod common;
use common::Server;

#[test]
fn every_acceptance_line_of_spec_7() {
    let server = Server::test_pod(&[]);
    for path in [
        "/health",
        "/static/style.css",
        "/static/favicon.ico",
        "/",
        "/hello",
        "/user/42",
        "/user/alice",
        "/echo",
        "/esm-test",
        "/esm-test-static",
    ] {
        let reply = server.get(path);
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    }
    for path in ["/does-not-exist", "/static/nonexistent.html"] {
        assert_eq!(server.get(path).status, 404, "{path}");
    }
    let bodies = [
        ("/hello", r#"{"message":"Hello, World!"}"#),
        ("/user/42", r#"{"userId":"42"}"#),
        ("/esm-test", r#"{"message":"Hello, ESM!","value":42}"#),
        (
            "/esm-test-static",
            r#"{"message":"Hello, Static ESM!","value":42}"#,
        ),
    ];
    for (path, body) in bodies {
        let reply = server.get(path);
        assert_eq!(reply.text(), body, "{path}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/json"),
            "{path}"
        );
    }
    for path in [
        "/",
        "/hello",
        "/user/alice",
        "/echo",
        "/esm-test",
        "/esm-test-static",
        "/does-not-exist",
    ] {
        assert_eq!(
            server.get(path).header("x-powered-by"),
            Some("HBF"),
            "{path}"
        );
    }
    let health = server.get("/health");
    assert_eq!(health.text(), r#"{"status":"ok"}"#);
    assert_eq!(health.header("content-type"), Some("application/json"));
    assert!(
        health.header("x-powered-by").is_none(),
        "/health never touches JS"
    );
    assert!(health.header("date").is_some());
}

#[test]
fn the_base_pod_is_embedded_and_serves_the_same_lines() {
    let server = Server::start(&["--inmem"]);
    assert_eq!(
        server.get("/hello").text(),
        r#"{"message":"Hello, World!"}"#
    );
    assert_eq!(server.get("/user/42").text(), r#"{"userId":"42"}"#);
    assert_eq!(server.get("/static/style.css").status, 200);
    assert!(
        server.get("/").text().contains("/hello"),
        "the home page lists its routes"
    );
    // Its TSX page (hbf/lib/about.tsx), rendered by hbf:jsx.
    let about = server.get("/about");
    assert_eq!(about.status, 200, "{}", about.text());
    assert_eq!(
        about.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = about.text();
    assert!(
        html.starts_with("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"),
        "{html}"
    );
    assert!(
        html.contains("<li><a href=\"https://oxc.rs\">oxc</a> <span class=\"description\">"),
        "{html}"
    );
    assert!(
        server.get("/").text().contains("/about"),
        "listed on the home page"
    );
}

#[test]
fn echo_sees_method_path_query_headers_and_body() {
    let server = Server::test_pod(&[]);
    let reply = server.request(
        "PUT",
        "/echo?a=1&b=%20x",
        &[("X-Custom", "yes")],
        Some("héllo".as_bytes()),
    );
    let json = reply.json();
    assert_eq!(json["method"], "PUT");
    assert_eq!(json["path"], "/echo");
    assert_eq!(json["query"], "a=1&b=%20x");
    assert_eq!(json["headers"]["x-custom"], "yes");
    assert_eq!(json["body"], "héllo");
}
