//! `URLPattern` through the real server (issue 24 point 7): a fetch-style pod
//! that routes with patterns made when its module loads, in both isolation
//! modes, and a pattern built from the request's own input refused as a 400.

mod common;
use common::Server;

const SERVER: &str = r#"const routes = [
  [new URLPattern({ pathname: '/books/:id(\\d+){.:format}?' }), ({ pathname }) => Response.json({ book: Number(pathname.groups.id), format: pathname.groups.format ?? 'html' })],
  [new URLPattern({ pathname: '/files/*' }, { ignoreCase: true }), ({ pathname }) => new Response(`file ${pathname.groups[0]}`)],
  [new URLPattern({ pathname: '/match' }), (_, request) => {
    const url = new URL(request.url)
    try {
      const pattern = new URLPattern({ pathname: url.searchParams.get('p') })
      return Response.json({ matched: pattern.test({ pathname: url.searchParams.get('path') }), regex: pattern.hasRegExpGroups })
    } catch (e) {
      return Response.json({ error: e.name }, { status: 400 })
    }
  }],
]
export default {
  fetch(request) {
    for (const [pattern, handle] of routes) {
      const found = pattern.exec(request.url)
      if (found) return handle(found, request)
    }
    return new Response('no route', { status: 404 })
  },
}
"#;

#[test]
fn a_pod_routes_with_url_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let pod = common::write_pod(dir.path(), "routes", &[("hbf/server.js", SERVER)]);
    let pod = pod.to_str().unwrap();
    for mode in ["snapshot", "worker"] {
        let server = Server::start(&["--inmem", "--pod", pod, "--isolation", mode]);
        for _ in 0..2 {
            assert_eq!(
                server.get("/books/12.json").json(),
                serde_json::json!({"book": 12, "format": "json"}),
                "{mode}"
            );
            assert_eq!(server.get("/books/7").json()["format"], "html", "{mode}");
            assert_eq!(
                server.get("/FILES/a/b.txt").text(),
                "file a/b.txt",
                "{mode}"
            );
            assert_eq!(server.get("/books/x").status, 404, "{mode}");
        }
        let matched = server.get("/match?p=/u/(%5Cd%2B)&path=/u/42").json();
        assert_eq!(
            matched,
            serde_json::json!({"matched": true, "regex": true}),
            "{mode}"
        );
        // A pattern the regex crate refuses (lookahead) is the handler's
        // TypeError, and the server goes on serving.
        let refused = server.get("/match?p=/((%3F%3Da)a)&path=/a");
        assert_eq!(refused.status, 400, "{mode}");
        assert_eq!(refused.json()["error"], "TypeError", "{mode}");
        assert_eq!(server.get("/books/1").status, 200, "{mode}");
    }
}
