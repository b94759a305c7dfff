//! The network policy against a hostile pod (issue 26): every way it might
//! name a loopback, private or metadata address — IPv4 literals in decimal,
//! octal and hex, IPv6 and IPv4-mapped forms, a name that resolves to
//! 127.0.0.1 (`localhost`, from /etc/hosts), a redirect to the metadata
//! address — is refused under `--allow-net '*'`, before any byte is sent;
//! the per-request cap holds; with no `--allow-net`, nothing is reachable.
//! A local server counts the connections it gets: it must get none.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::Server;

/// A server on 127.0.0.1 that counts its connections and answers each with
/// a redirect to the cloud metadata address.
fn bait() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest/meta-data/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (port, count)
}

const POD: &str = r#"
const PORT = 'THE_PORT'
const attempt = async (url) => {
  try { await fetch(url); return 'reached' } catch (e) { return `${e.name}: ${e.message}` }
}
export default {
  async fetch(request) {
    const path = new URL(request.url).pathname
    if (path === '/targets') {
      const targets = [
        `http://127.0.0.1:${PORT}/`,
        `http://2130706433:${PORT}/`,
        `http://0x7f000001:${PORT}/`,
        `http://0177.0.0.1:${PORT}/`,
        `http://0x7f.1:${PORT}/`,
        `http://127.1:${PORT}/`,
        `http://[::1]:${PORT}/`,
        `http://[::ffff:127.0.0.1]:${PORT}/`,
        `http://[::ffff:7f00:1]:${PORT}/`,
        `http://localhost:${PORT}/`,
        'http://169.254.169.254/latest/meta-data/',
        'http://[fd00:ec2::254]/',
        'http://100.100.100.200/',
        'http://10.0.0.1/',
        'http://192.168.1.1/',
        'http://0.0.0.0/',
      ]
      const out = {}
      for (const t of targets) out[t] = await attempt(t)
      return Response.json(out)
    }
    if (path === '/redirect') return Response.json(await attempt(`http://127.0.0.1:${PORT}/`))
    return new Response('still serving')
  },
}
"#;

fn start(port: u16, net: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let source = POD.replace("THE_PORT", &port.to_string());
    let pod = common::write_pod(dir.path(), "hostile", &[("hbf/server.js", &source)]);
    let mut args = vec![
        "--inmem",
        "--pod",
        pod.to_str().unwrap(),
        "--fetch-max-per-request",
        "50",
    ];
    args.extend_from_slice(net);
    (dir, Server::start(&args))
}

#[test]
fn every_form_of_a_private_address_is_refused_under_star() {
    let (port, count) = bait();
    for mode in ["snapshot", "worker"] {
        let (_dir, server) = start(port, &["--allow-net", "*", "--isolation", mode]);
        let reply = server.get("/targets");
        assert_eq!(reply.status, 200, "{mode}: {}", reply.text());
        let found = reply.json();
        for (target, outcome) in found.as_object().unwrap() {
            let outcome = outcome.as_str().unwrap();
            assert!(
                outcome.starts_with("TypeError: fetch to ")
                    && outcome.contains("is not a public address"),
                "{mode}: {target} -> {outcome}"
            );
        }
        assert_eq!(server.get("/").text(), "still serving", "{mode}");
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        0,
        "a refused address got a connection"
    );
}

#[test]
fn a_redirect_to_the_metadata_address_is_refused() {
    let (port, count) = bait();
    for mode in ["snapshot", "worker"] {
        // The bait itself is allowed by IP; where it redirects is not.
        let rule = format!("127.0.0.1:{port}");
        let (_dir, server) = start(port, &["--allow-net", &rule, "--isolation", mode]);
        let outcome = server.get("/redirect").json();
        let outcome = outcome.as_str().unwrap();
        assert!(
            outcome.contains("169.254.169.254") && outcome.contains("not allowed"),
            "{mode}: {outcome}"
        );
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "one connection per mode, to the bait only"
    );
}

#[test]
fn without_allow_net_nothing_is_reachable() {
    let (port, count) = bait();
    let (_dir, server) = start(port, &[]);
    let found = server.get("/targets").json();
    for (target, outcome) in found.as_object().unwrap() {
        assert!(
            outcome
                .as_str()
                .unwrap()
                .contains("start hbf with --allow-net"),
            "{target} -> {outcome}"
        );
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(count.load(Ordering::SeqCst), 0);
}
