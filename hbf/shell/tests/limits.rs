//! Limits: a request that loops, allocates without bound or recurses without end
//! fails alone with a clear status, and the server keeps serving.

mod common;
use common::Server;
use std::time::{Duration, Instant};

#[test]
fn an_infinite_loop_times_out_while_others_keep_answering() {
    let server = Server::test_pod(&["--js-timeout", "1500", "--workers", "2"]);
    let looping = {
        let agent = server.agent.clone();
        let url = server.url("/t/loop");
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut response = agent.get(&url).call().unwrap();
            let body = response.body_mut().read_to_string().unwrap();
            (response.status().as_u16(), body, start.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    // While one worker is stuck, health and another JS route answer.
    for _ in 0..5 {
        assert_eq!(server.get("/health").status, 200);
        assert_eq!(server.get("/hello").status, 200);
    }
    let (status, body, elapsed) = looping.join().unwrap();
    assert_eq!(status, 504, "{body}");
    assert!(body.contains("time limit"), "{body}");
    assert!(
        elapsed >= Duration::from_millis(1400) && elapsed < Duration::from_secs(6),
        "{elapsed:?}"
    );
    // The async variant (loop after an await) too, then the worker serves again.
    assert_eq!(server.get("/t/loop?async=1").status, 504);
    assert_eq!(
        server.get("/hello").text(),
        r#"{"message":"Hello, World!"}"#
    );
}

#[test]
fn memory_and_stack_limits_fail_the_request_not_the_server() {
    let server = Server::test_pod(&["--js-memory", "64"]);
    for kind in ["bytes", "string", "single"] {
        let reply = server.get(&format!("/t/alloc?mb=200&kind={kind}"));
        assert_eq!(reply.status, 500, "{kind}: {}", reply.text());
        assert_eq!(server.get("/hello").status, 200, "after alloc {kind}");
    }
    assert_eq!(server.get("/t/alloc?mb=2").json()["allocatedMB"], 2);
    let reply = server.get("/t/recurse");
    assert_eq!(reply.status, 500, "{}", reply.text());
    assert_eq!(server.get("/hello").status, 200, "after recursion");
    assert!(server
        .log()
        .iter()
        .any(|l| l.contains("out of memory") || l.contains("memory")));
}
