//! 64 clients x 500 requests at once, mixing JavaScript routes, static files and
//! versioned-filesystem writes through `hbf:fs`: no errors, no crash, and every
//! acknowledged write is in the database afterwards.

mod common;
use common::{test_pod, Server};
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;

const CLIENTS: usize = 64;
const REQUESTS: usize = 500;

#[test]
fn sixty_four_clients_mixing_js_static_and_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let pod = test_pod();
    let mut server = Server::start(&["--db", db.to_str().unwrap(), "--pod", pod.to_str().unwrap()]);
    let server_ref = Arc::new(server.url(""));
    let agent = server.agent.clone();
    let style = server.get("/static/style.css").body;
    let handles: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (agent, base, style) = (agent.clone(), Arc::clone(&server_ref), style.clone());
            std::thread::spawn(move || {
                let mut written = Vec::new();
                for i in 0..REQUESTS {
                    match i % 10 {
                        0..=3 => {
                            let path = if i % 2 == 0 {
                                "/hello".to_owned()
                            } else {
                                format!("/user/{client}-{i}")
                            };
                            let mut r = agent.get(&format!("{base}{path}")).call().unwrap();
                            assert_eq!(r.status(), 200, "{path}");
                            let body = r.body_mut().read_to_string().unwrap();
                            assert!(body.starts_with('{'), "{body}");
                        }
                        4..=6 => {
                            let mut r = agent
                                .get(&format!("{base}/static/style.css"))
                                .call()
                                .unwrap();
                            assert_eq!(r.status(), 200);
                            assert_eq!(r.body_mut().read_to_vec().unwrap(), style);
                        }
                        _ => {
                            let path = format!("static/load/{client}/{i}.txt");
                            let content = format!("client {client} request {i}");
                            let mut r = agent
                                .post(&format!("{base}/t/fs/write?path={path}&as=text"))
                                .send(content.as_bytes())
                                .unwrap();
                            let body = r.body_mut().read_to_string().unwrap();
                            assert_eq!(r.status(), 200, "{body}");
                            written.push((path, content.len()));
                        }
                    }
                }
                written
            })
        })
        .collect();
    let mut expected = BTreeSet::new();
    for handle in handles {
        for (path, size) in handle.join().expect("a client failed") {
            expected.insert(format!("{path}\tv1\t{size} bytes"));
        }
    }
    assert_eq!(expected.len(), CLIENTS * REQUESTS * 3 / 10);
    assert_eq!(server.get("/health").status, 200, "still serving");
    assert!(server.terminate().success());
    let out = Command::new(env!("CARGO_BIN_EXE_hbf"))
        .args(["--db", db.to_str().unwrap(), "fs", "ls", "static/load/"])
        .output()
        .unwrap();
    let listed: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once('\t').unwrap().0.to_owned())
        .collect();
    assert_eq!(listed, expected, "every acknowledged write is stored");
}
