//! Outbound `fetch()` through real HTTP, in both isolation modes (issue 26
//! point 1): a pod fetches from an upstream server this test runs on
//! 127.0.0.1, allowed by `--allow-net 127.0.0.1` (an IP rule: loopback is
//! refused otherwise). GET and POST with headers and bodies, redirects
//! (follow, manual, error, too many, to a denied address, credentials not
//! crossing origins), an abort by signal, the request's deadline, a body past
//! the memory limit, a hostile upstream that answers garbage, the
//! subrequest limit, gzip/deflate/br bodies decoded (a zip bomb refused),
//! and the policy's refusals: no `--allow-net`, `*`
//! (public addresses only) and a private address; HTTPS against the
//! operator's CA, and HTTP/2 where the upstream offers it. The server serves
//! on after each.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::Server;

/// A small HTTP/1.1 upstream on 127.0.0.1: one thread per connection, one
/// request per connection.
fn upstream() -> u16 {
    bomb(); // made before any request waits for it
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = serve(stream, port);
            });
        }
    });
    port
}

fn serve(stream: TcpStream, port: u16) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut out = stream;
    let reply = |out: &mut TcpStream, status: &str, extra: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n",
            body.len()
        );
        out.write_all(head.as_bytes())?;
        out.write_all(body)
    };
    match path.as_str() {
        "/json" => reply(
            &mut out,
            "200 OK",
            "content-type: application/json\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n",
            br#"{"hello":"upstream"}"#,
        ),
        "/echo" => {
            let test = headers
                .iter()
                .find(|(n, _)| n == "x-test")
                .map_or("", |(_, v)| v.as_str());
            let text = format!(
                "{method} x-test={test} body={}",
                String::from_utf8_lossy(&body)
            );
            reply(
                &mut out,
                "201 Created",
                "content-type: text/plain\r\n",
                text.as_bytes(),
            )
        }
        "/headers" => {
            let auth = headers
                .iter()
                .find(|(n, _)| n == "authorization")
                .map_or("none", |(_, v)| v.as_str());
            reply(
                &mut out,
                "200 OK",
                "",
                format!("authorization={auth}").as_bytes(),
            )
        }
        "/redirect" => reply(&mut out, "302 Found", "location: /json\r\n", b""),
        "/see-other" => reply(&mut out, "303 See Other", "location: /echo\r\n", b""),
        "/redirect-private" => reply(
            &mut out,
            "302 Found",
            "location: http://10.255.255.1/\r\n",
            b"",
        ),
        "/redirect-other-origin" => reply(
            &mut out,
            "307 Temporary Redirect",
            &format!("location: http://localhost:{port}/headers\r\n"),
            b"",
        ),
        "/loop" => reply(&mut out, "302 Found", "location: /loop\r\n", b""),
        "/slow" => {
            std::thread::sleep(Duration::from_secs(4));
            reply(&mut out, "200 OK", "", b"late")
        }
        "/big" => reply(&mut out, "200 OK", "", &vec![b'x'; 20 << 20]),
        "/six" => reply(&mut out, "200 OK", "", &vec![b'x'; 6 << 20]),
        // 6 MiB at once, then its last byte a second later: its body is
        // held, incomplete, for that second.
        "/six-held" => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                (6 << 20) + 1
            );
            out.write_all(head.as_bytes())?;
            out.write_all(&vec![b'x'; 6 << 20])?;
            std::thread::sleep(Duration::from_secs(1));
            out.write_all(b"x")
        }
        "/garbage" => out.write_all(b"THIS IS NOT HTTP\r\n\r\n"),
        "/gzip" => reply(
            &mut out,
            "200 OK",
            "content-encoding: gzip\r\n",
            &gzip(br#"{"coded":"gzip"}"#),
        ),
        "/deflate" => {
            let mut coder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            coder.write_all(br#"{"coded":"deflate"}"#)?;
            reply(
                &mut out,
                "200 OK",
                "content-encoding: deflate\r\n",
                &coder.finish()?,
            )
        }
        "/br" => {
            let mut coded = Vec::new();
            brotli::BrotliCompress(
                &mut &br#"{"coded":"br"}"#[..],
                &mut coded,
                &Default::default(),
            )?;
            reply(&mut out, "200 OK", "content-encoding: br\r\n", &coded)
        }
        "/bomb" => reply(&mut out, "200 OK", "content-encoding: gzip\r\n", bomb()),
        _ => reply(&mut out, "404 Not Found", "", b"no such route"),
    }
}

/// 32 MiB of zeros in about 32 KiB, more than the 16 MiB limit once
/// inflated: one gzip member of 1 MiB of zeros, 32 times (a body of several
/// members inflates to all of them). Made once: compressing 32 MiB in an
/// unoptimized test build would take seconds.
fn bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| gzip(&vec![0; 1 << 20]).repeat(32))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut coder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    coder.write_all(bytes).unwrap();
    coder.finish().unwrap()
}

const POD: &str = r#"
const UP = 'http://127.0.0.1:PORT'
const failure = async (promise) => {
  try { await promise; return 'resolved' } catch (e) { return `${e.name}: ${e.message}` }
}
const routes = {
  '/get': async () => {
    const r = await fetch(`${UP}/json`)
    return { status: r.status, ok: r.ok, type: r.headers.get('content-type'), cookies: r.headers.getSetCookie(),
      body: await r.json(), url: r.url, redirected: r.redirected }
  },
  '/post': async () => {
    const r = await fetch(new Request(`${UP}/echo`, { method: 'POST', body: 'hi there', headers: { 'x-test': 'yes' } }))
    return { status: r.status, text: await r.text() }
  },
  '/follow': async () => { const r = await fetch(`${UP}/redirect`); return [r.status, r.redirected, r.url, await r.text()] },
  '/see-other': async () => { const r = await fetch(`${UP}/see-other`, { method: 'POST', body: 'dropped' }); return [r.status, await r.text()] },
  '/manual': async () => { const r = await fetch(`${UP}/redirect`, { redirect: 'manual' }); return [r.status, r.headers.get('location')] },
  '/error': () => failure(fetch(`${UP}/redirect`, { redirect: 'error' })),
  '/loop': () => failure(fetch(`${UP}/loop`)),
  '/redirect-private': () => failure(fetch(`${UP}/redirect-private`)),
  '/cross-origin': async () => {
    const same = await (await fetch(`${UP}/headers`, { headers: { authorization: 'Bearer t' } })).text()
    const other = await (await fetch(`${UP}/redirect-other-origin`, { headers: { authorization: 'Bearer t' } })).text()
    return [same, other]
  },
  '/abort': async () => {
    const started = Date.now()
    const outcome = await failure(fetch(`${UP}/slow`, { signal: AbortSignal.timeout(200) }))
    return [outcome, Date.now() - started < 2000]
  },
  '/pre-aborted': () => failure(fetch(`${UP}/json`, { signal: AbortSignal.abort() })),
  '/slow': async () => new Response(await (await fetch(`${UP}/slow`)).text()),
  '/big': () => failure(fetch(`${UP}/big`)),
  // Three bodies of 6 MiB under way at once hold more than 16 MiB together:
  // one fails, even though each alone would fit.
  '/big-together': async () => (await Promise.all([1, 2, 3].map(() => failure(fetch(`${UP}/six-held`).then((r) => r.arrayBuffer()))))).sort(),
  // One after another, each body goes into the heap and frees its share.
  '/big-in-turn': async () => { let n = 0; for (let i = 0; i < 4; i++) n += (await (await fetch(`${UP}/six`)).arrayBuffer()).byteLength; return n },
  '/garbage': () => failure(fetch(`${UP}/garbage`)),
  '/private': () => failure(fetch('http://10.255.255.1/')),
  '/https': () => failure(fetch('https://example.com/')),
  '/file': () => failure(fetch('file:///etc/passwd')),
  '/limit': async () => {
    const answers = []
    for (let i = 0; i < 6; i++) answers.push(await failure(fetch(`${UP}/json`).then((r) => r.text())))
    return answers
  },
  '/parallel': async () => {
    const all = await Promise.all([1, 2, 3].map(() => fetch(`${UP}/json`).then((r) => r.json())))
    return all.map((j) => j.hello)
  },
  '/try': () => failure(fetch(`${UP}/json`)),
  '/try-localhost': () => failure(fetch(UP.replace('127.0.0.1', 'localhost') + '/json')),
  '/credentials': () => failure(fetch(UP.replace('//', '//user:secret@') + '/json')),
  '/connect': () => failure(fetch(`${UP}/json`, { method: 'CONNECT' })),
  '/coded': async () => Promise.all(['gzip', 'deflate', 'br'].map(async (c) => {
    const r = await fetch(`${UP}/${c}`)
    return [(await r.json()).coded, r.headers.get('content-encoding')]
  })),
  '/bomb': () => failure(fetch(`${UP}/bomb`)),
  '/plain': () => 'still serving',
}
export default {
  async fetch(request) {
    const answer = await routes[new URL(request.url).pathname]()
    return answer instanceof Response ? answer : Response.json(answer)
  },
}
"#;

fn start(mode: &str, port: u16, net: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let source = POD.replace("PORT", &port.to_string());
    let pod = common::write_pod(dir.path(), "fetching", &[("hbf/server.js", &source)]);
    let mut args = vec![
        "--inmem",
        "--pod",
        pod.to_str().unwrap(),
        "--isolation",
        mode,
        "--workers",
        "2",
        "--js-memory",
        "16",
        "--js-wall-timeout",
        "2500",
        "--fetch-max-per-request",
        "5",
    ];
    args.extend_from_slice(net);
    let server = Server::start(&args);
    (dir, server)
}

#[test]
fn fetch_reaches_an_allowed_upstream() {
    let port = upstream();
    for mode in ["snapshot", "worker"] {
        let (_dir, server) = start(mode, port, &["--allow-net", "127.0.0.1,localhost"]);
        let get = server.get("/get");
        assert_eq!(get.status, 200, "{mode}: {}", get.text());
        assert_eq!(
            get.json(),
            serde_json::json!({"status": 200, "ok": true, "type": "application/json",
                "cookies": ["a=1", "b=2"], "body": {"hello": "upstream"},
                "url": format!("http://127.0.0.1:{port}/json"), "redirected": false}),
            "{mode}"
        );
        assert_eq!(
            server.get("/post").json(),
            serde_json::json!({"status": 201, "text": "POST x-test=yes body=hi there"}),
            "{mode}"
        );
        assert_eq!(
            server.get("/follow").json(),
            serde_json::json!([
                200,
                true,
                format!("http://127.0.0.1:{port}/json"),
                r#"{"hello":"upstream"}"#
            ]),
            "{mode}"
        );
        // 303 after a POST: a GET without the body.
        assert_eq!(
            server.get("/see-other").json(),
            serde_json::json!([201, "GET x-test= body="]),
            "{mode}"
        );
        assert_eq!(
            server.get("/manual").json(),
            serde_json::json!([302, "/json"]),
            "{mode}"
        );
        // Authorization goes to the same origin, not across a redirect to another.
        assert_eq!(
            server.get("/cross-origin").json(),
            serde_json::json!(["authorization=Bearer t", "authorization=none"]),
            "{mode}"
        );
        // Content codings are decoded (the header stays as received).
        assert_eq!(
            server.get("/coded").json(),
            serde_json::json!([["gzip", "gzip"], ["deflate", "deflate"], ["br", "br"]]),
            "{mode}"
        );
        assert_eq!(
            server.get("/parallel").json(),
            serde_json::json!(["upstream", "upstream", "upstream"]),
            "{mode}"
        );
        assert!(
            server
                .wait_for_log(
                    &[&format!("fetch GET http://127.0.0.1:{port}/json -> 200")],
                    Duration::from_secs(2)
                )
                .is_some(),
            "{mode}: the outbound request is not in the log:\n{}",
            server.log().join("\n")
        );
    }
}

#[test]
fn fetch_fails_clearly_and_the_server_serves_on() {
    let port = upstream();
    for mode in ["snapshot", "worker"] {
        let (_dir, server) = start(mode, port, &["--allow-net", "127.0.0.1"]);
        let text = |path: &str| {
            let reply = server.get(path);
            assert_eq!(reply.status, 200, "{mode} {path}: {}", reply.text());
            reply.json().as_str().unwrap_or_default().to_owned()
        };
        let expect = |path: &str, wanted: &str| {
            let got = text(path);
            assert!(
                got.starts_with("TypeError: ") || wanted.starts_with("AbortError"),
                "{mode} {path}: {got}"
            );
            assert!(got.contains(wanted), "{mode} {path}: {got}");
        };
        expect("/error", "redirect is 'error'");
        expect("/loop", "more than 20 redirects");
        expect("/redirect-private", "10.255.255.1");
        expect(
            "/private",
            "10.255.255.1:80 (10.255.255.1) is not allowed: not in --allow-net",
        );
        expect("/big", "would hold more than 16777216 bytes");
        expect("/garbage", "fetch:");
        expect("/bomb", "would hold more than 16777216 bytes");
        let together = server.get("/big-together").json();
        assert!(
            together
                .to_string()
                .contains("would hold more than 16777216 bytes"),
            "{mode}: {together}"
        );
        assert_eq!(server.get("/big-in-turn").json(), 4 * (6 << 20), "{mode}");
        expect("/https", "fetch to example.com:443");
        expect("/file", "'file' is not supported");
        expect("/pre-aborted", "AbortError");
        expect("/credentials", "credentials in a URL");
        expect("/connect", "the method CONNECT is forbidden");
        let abort = server.get("/abort").json();
        assert_eq!(
            abort[0], "TimeoutError: The operation timed out.",
            "{mode}: {abort}"
        );
        assert_eq!(abort[1], true, "{mode}: the abort did not stop the wait");
        // The 6th fetch of a request is refused (--fetch-max-per-request 5).
        let limit = server.get("/limit").json();
        assert_eq!(limit[4], "resolved", "{mode}: {limit}");
        assert!(
            limit[5].as_str().unwrap().contains("at most 5 subrequests"),
            "{mode}: {limit}"
        );
        // An upstream slower than the request's deadline: the request's 504.
        let started = Instant::now();
        assert_eq!(server.get("/slow").status, 504, "{mode}");
        assert!(
            started.elapsed() < Duration::from_millis(3800),
            "{mode}: {:?}",
            started.elapsed()
        );
        assert_eq!(server.get("/plain").json(), "still serving", "{mode}");
    }
}

#[test]
fn the_policy_denies_by_default_and_keeps_private_addresses_private() {
    let port = upstream();
    for mode in ["snapshot", "worker"] {
        let (_dir, closed) = start(mode, port, &[]);
        let got = closed.get("/try").text();
        assert!(
            got.contains("this server gives pods no network (start hbf with --allow-net HOSTS)"),
            "{mode}: {got}"
        );
        let (_dir, public) = start(mode, port, &["--allow-net", "*"]);
        let got = public.get("/try").text();
        assert!(
            got.contains("127.0.0.1 is not a public address"),
            "{mode}: {got}"
        );
        // A name alone does not open a private address either.
        let (_dir, named) = start(mode, port, &["--allow-net", "localhost"]);
        let got = named.get("/try-localhost").text();
        assert!(got.contains("is not a public address"), "{mode}: {got}");
        assert_eq!(named.get("/plain").json(), "still serving", "{mode}");
    }
}

#[test]
fn a_bad_allow_net_rule_stops_the_start() {
    let Err(err) = Server::try_start(&["--inmem", "--allow-net", "exa mple.com"]) else {
        panic!("hbf started with a bad --allow-net rule");
    };
    assert!(
        err.contains("--allow-net") && err.contains("exa mple.com"),
        "{err}"
    );
}

/// A self-signed certificate for `localhost` (rcgen): its PEM (the CA file
/// that trusts it) and a TLS server configuration offering `alpn`.
fn self_signed(alpn: &[&[u8]]) -> (String, std::sync::Arc<rustls::ServerConfig>) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let pem = cert.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    #[allow(deprecated)] // ring, as hbf_net uses
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    (pem, std::sync::Arc::new(config))
}

/// An HTTPS upstream (HTTP/1.1) on 127.0.0.1 that answers "secure" to
/// every request.
fn tls_upstream() -> (u16, String) {
    let (pem, config) = self_signed(&[b"http/1.1"]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = std::sync::Arc::clone(&config);
            std::thread::spawn(move || {
                let session = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(session, tcp);
                let mut seen = Vec::new();
                let mut buf = [0u8; 1024];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nsecure",
                );
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    (port, pem)
}

const TLS_POD: &str = r#"
export default {
  async fetch() {
    try { return new Response(await (await fetch('https://localhost:PORT/')).text()) }
    catch (e) { return new Response(`${e.name}: ${e.message}`) }
  },
}
"#;

#[test]
fn https_with_the_operators_ca_and_not_without() {
    let (port, pem) = tls_upstream();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pem).unwrap();
    let source = TLS_POD.replace("PORT", &port.to_string());
    let pod = common::write_pod(dir.path(), "tls", &[("hbf/server.js", &source)]);
    let args = |extra: &[&str]| {
        let mut args = vec![
            "--inmem",
            "--pod",
            pod.to_str().unwrap(),
            "--allow-net",
            "localhost,127.0.0.1",
        ];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    for mode in ["snapshot", "worker"] {
        let trusted = args(&["--isolation", mode, "--ca-file", ca.to_str().unwrap()]);
        let trusted = Server::start(&trusted.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(trusted.get("/").text(), "secure", "{mode}");
        // Without the CA file, the certificate is nobody's: refused.
        let plain = args(&["--isolation", mode]);
        let plain = Server::start(&plain.iter().map(String::as_str).collect::<Vec<_>>());
        let got = plain.get("/").text();
        assert!(
            got.starts_with("TypeError: fetch: TLS with localhost: invalid peer certificate"),
            "{mode}: {got}"
        );
    }
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    let Err(err) = Server::try_start(&["--inmem", "--ca-file", not_pem.to_str().unwrap()]) else {
        panic!("hbf started with a --ca-file that holds no certificate");
    };
    assert!(
        err.contains("--ca-file") && err.contains("no PEM certificate"),
        "{err}"
    );
}

/// An HTTPS upstream that speaks HTTP/2 only (hyper's server): answers
/// the request's HTTP version and the number of its connection.
fn h2_upstream() -> (u16, String) {
    let (pem, config) = self_signed(&[b"h2"]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            for connection in 1u32.. {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(
                        move |request: hyper::Request<hyper::body::Incoming>| async move {
                            let text = format!("{:?} connection {connection}", request.version());
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(bytes::Bytes::from(text)),
                            ))
                        },
                    );
                    let _ = hyper::server::conn::http2::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
                });
            }
        });
    });
    (port, pem)
}

const H2_POD: &str = r#"
export default {
  async fetch() {
    const texts = []
    for (let i = 0; i < 3; i++) texts.push(await (await fetch('https://localhost:PORT/')).text())
    return Response.json(texts)
  },
}
"#;

/// A server that speaks HTTP/2 gets HTTP/2 (ALPN), and one connection
/// carries a request's fetches.
#[test]
fn http2_where_the_server_offers_it() {
    let (port, pem) = h2_upstream();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pem).unwrap();
    let source = H2_POD.replace("PORT", &port.to_string());
    let pod = common::write_pod(dir.path(), "h2", &[("hbf/server.js", &source)]);
    let server = Server::start(&[
        "--inmem",
        "--pod",
        pod.to_str().unwrap(),
        "--allow-net",
        "localhost,127.0.0.1",
        "--ca-file",
        ca.to_str().unwrap(),
    ]);
    let texts = server.get("/").json();
    assert_eq!(
        texts,
        serde_json::json!([
            "HTTP/2.0 connection 1",
            "HTTP/2.0 connection 1",
            "HTTP/2.0 connection 1"
        ])
    );
}
