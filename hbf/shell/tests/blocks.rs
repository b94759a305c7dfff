//! The block service (`--blocks`, issue 14) through the real binary: Buddy
//! Blocks' own scenario, limits, malformed requests, 64 clients at once,
//! `kill -9` during PUTs, the token, Bazel's `/cas` and `/ac` (verification,
//! streaming, instance prefixes), status, eviction, and one content store
//! shared with the versioned filesystem.

mod common;
use common::{test_pod, Reply, Server};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

const TOKEN: &str = "block-token-0123456789";
const WAIT: Duration = Duration::from_secs(5);

/// The test pod in memory with `--blocks` and `extra`.
fn blocks_server(extra: &[&str], env: &[(&str, &str)]) -> Server {
    let pod = test_pod();
    let mut args = vec!["--inmem", "--pod", pod.to_str().unwrap(), "--blocks"];
    args.extend_from_slice(extra);
    Server::try_start_with_env(&args, env).unwrap_or_else(|log| panic!("hbf did not start:\n{log}"))
}

fn sha256_hex(data: &[u8]) -> String {
    hbf_db::key_to_hex(&Sha256::digest(data).into())
}

/// Deterministic pseudo-random bytes (xorshift), distinct per `seed`.
fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn put_block(server: &Server, body: &[u8]) -> Reply {
    server.request("PUT", "/block", &[], Some(body))
}

#[test]
fn buddy_blocks_scenario() {
    let server = blocks_server(&[], &[]);
    let mut sizes = Vec::new();
    let mut kib = 4;
    while kib <= 256 {
        sizes.push(kib << 10);
        sizes.push((kib << 10) - 256);
        kib *= 2;
    }
    for (i, &size) in sizes.iter().enumerate() {
        let data = random_bytes(i as u64 + 1, size);
        let hash = sha256_hex(&data);
        let r = put_block(&server, &data);
        assert_eq!(r.status, 200, "PUT {size}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("text/plain"));
        assert_eq!(r.text(), hash, "PUT {size} answers the SHA-256");
        let path = format!("/block/{hash}");
        let r = server.get(&path);
        assert_eq!(r.status, 200, "GET {size}");
        assert!(r.body == data, "GET {size}: other bytes");
        assert_eq!(r.header("content-type"), Some("application/octet-stream"));
        assert_eq!(r.header("etag"), Some(format!("\"{hash}\"").as_str()));
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        let r = server.request("HEAD", &path, &[], None);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-length"), Some(size.to_string().as_str()));
        let r = server.request("DELETE", &path, &[], None);
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "Block deleted");
        assert_eq!(server.get(&path).status, 404, "GET {size} after DELETE");
        assert_eq!(server.request("HEAD", &path, &[], None).status, 404);
        assert_eq!(server.request("DELETE", &path, &[], None).status, 404);
    }

    // Idempotent: the same block twice is one block.
    let data = random_bytes(99, 5000);
    assert_eq!(put_block(&server, &data).text(), sha256_hex(&data));
    assert_eq!(put_block(&server, &data).text(), sha256_hex(&data));
    let status = server.get("/blocks/status").json();
    assert_eq!(status["block"]["count"], 1);
    assert_eq!(status["block"]["bytes"], 5000);

    // The limits: 512 KiB is a block, a byte more is 413 (answered from the
    // declared length, before the body is sent), an empty body is not one.
    let max = random_bytes(7, 512 << 10);
    let r = put_block(&server, &max);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(server.get(&format!("/block/{}", r.text())).body, max);
    let head = format!(
        "PUT /block HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        (512 << 10) + 1
    );
    let answer = server.raw(head.as_bytes(), WAIT);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(put_block(&server, b"").status, 400);

    // No length: 411, chunked or not.
    let chunked = server.raw(
        b"PUT /block HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        WAIT,
    );
    assert!(chunked.starts_with("HTTP/1.1 411"), "{chunked}");
    let bare = server.raw(
        b"PUT /block HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        WAIT,
    );
    assert!(bare.starts_with("HTTP/1.1 411"), "{bare}");

    // Malformed hashes: 400.
    let good = sha256_hex(b"x");
    for bad in [
        "xyz".to_owned(),
        good[..63].to_owned(),
        format!("{good}0"),
        format!("{}g", &good[..63]),
        format!("{}%20", &good[..61]),
    ] {
        for method in ["GET", "HEAD", "DELETE"] {
            let r = server.request(method, &format!("/block/{bad}"), &[], None);
            assert_eq!(r.status, 400, "{method} /block/{bad}");
        }
        assert_eq!(server.get(&format!("/cas/{bad}")).status, 400, "{bad}");
        let r = server.request("PUT", &format!("/ac/{bad}"), &[], Some(b"x"));
        assert_eq!(r.status, 400, "{bad}");
    }
    // Upper-case hex names the same block.
    let hash = put_block(&server, b"case").text();
    assert_eq!(
        server.get(&format!("/block/{}", hash.to_uppercase())).body,
        b"case"
    );
    // Other methods: 405.
    assert_eq!(server.get("/block").status, 405);
    assert_eq!(
        server
            .request("PUT", &format!("/block/{hash}"), &[], Some(b"x"))
            .status,
        405
    );

    // Keep-alive: two requests on one connection, both answered.
    let two = server.raw(
        b"GET /blocks/status HTTP/1.1\r\nHost: t\r\n\r\nGET /blocks/status HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        WAIT,
    );
    assert_eq!(two.matches("HTTP/1.1 200").count(), 2, "{two}");
}

#[test]
fn sixty_four_clients_put_and_read_at_once() {
    const CLIENTS: u64 = 64;
    const EACH: u64 = 12;
    let server = blocks_server(&[], &[]);
    let base = server.url("");
    std::thread::scope(|s| {
        for client in 0..CLIENTS {
            let (agent, base) = (server.agent.clone(), base.clone());
            s.spawn(move || {
                let mut mine = Vec::new();
                for i in 0..EACH {
                    let seed = client * 1000 + i;
                    let data = random_bytes(seed, 4096 + (seed as usize % 60_000));
                    let mut r = agent.put(format!("{base}/block")).send(&data[..]).unwrap();
                    assert_eq!(r.status(), 200);
                    let hash = r.body_mut().read_to_string().unwrap();
                    assert_eq!(hash, sha256_hex(&data));
                    mine.push((hash, data));
                    // Read back one put earlier (and this one).
                    for (hash, data) in mine.iter().rev().take(2) {
                        let mut r = agent.get(format!("{base}/block/{hash}")).call().unwrap();
                        assert_eq!(r.status(), 200);
                        let got = r
                            .body_mut()
                            .with_config()
                            .limit(1 << 20)
                            .read_to_vec()
                            .unwrap();
                        assert!(&got == data, "client {client}: other bytes for {hash}");
                    }
                }
            });
        }
    });
    let status = server.get("/blocks/status").json();
    assert_eq!(status["block"]["count"], CLIENTS * EACH);
}

#[test]
fn kill_9_during_puts_loses_no_acknowledged_block() {
    const WRITERS: u64 = 16;
    let on_file = common::test_pod_on_file(&["--blocks"]);
    let args = on_file.args();
    let mut server = Server::try_start(&args).unwrap();
    let base = server.url("");
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (agent, base, stop) = (server.agent.clone(), base.clone(), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let data = random_bytes(writer << 32 | i, 4096);
                    match agent.put(format!("{base}/block")).send(&data[..]) {
                        Ok(mut r) if r.status() == 200 => {
                            let hash = r.body_mut().read_to_string().unwrap();
                            assert_eq!(hash, sha256_hex(&data));
                            acknowledged.push((hash, data));
                        }
                        Ok(r) => panic!("status {}", r.status()),
                        Err(_) => break, // the server is gone
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    server.child.kill().unwrap(); // SIGKILL, clients mid-PUT
    server.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert!(
        acknowledged.len() > 100,
        "only {} blocks",
        acknowledged.len()
    );

    let server = Server::try_start(&args).unwrap();
    for (hash, data) in &acknowledged {
        let r = server.get(&format!("/block/{hash}"));
        assert_eq!(r.status, 200, "block {hash} was acknowledged but is gone");
        assert!(&r.body == data, "block {hash} came back different");
    }
    let status = server.get("/blocks/status").json();
    assert!(status["block"]["count"].as_u64().unwrap() >= acknowledged.len() as u64);
}

#[test]
fn writes_need_the_token_when_it_is_set() {
    let server = blocks_server(&[], &[("HBF_BLOCK_TOKEN", TOKEN)]);
    let good = format!("Bearer {TOKEN}");
    let data = b"a block with a token";
    let hash = sha256_hex(data);
    for auth in [
        None,
        Some("Bearer wrong-token-0123456789"),
        Some("Bearer block-token-012345678"), // a prefix
        Some("Basic YmxvY2s6dG9rZW4="),
    ] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", *a)).collect();
        let r = server.request("PUT", "/block", &headers, Some(data));
        assert_eq!(r.status, 401, "{auth:?}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        let r = server.request("PUT", &format!("/cas/{hash}"), &headers, Some(data));
        assert_eq!(r.status, 401, "{auth:?}");
        let r = server.request("PUT", &format!("/ac/{hash}"), &headers, Some(data));
        assert_eq!(r.status, 401, "{auth:?}");
    }
    assert_eq!(server.get(&format!("/block/{hash}")).status, 404);
    let r = server.request("PUT", "/block", &[("authorization", &good)], Some(data));
    assert_eq!(r.status, 200);
    // Reads are open.
    assert_eq!(server.get(&format!("/block/{hash}")).body, data);
    assert_eq!(server.get("/blocks/status").status, 200);
    let path = format!("/block/{hash}");
    assert_eq!(server.request("DELETE", &path, &[], None).status, 401);
    assert_eq!(server.get(&path).status, 200);
    let r = server.request("DELETE", &path, &[("authorization", &good)], None);
    assert_eq!(r.status, 200);
    assert_eq!(server.get(&path).status, 404);

    // A token too short is refused at start.
    let pod = test_pod();
    let refused = Server::try_start_with_env(
        &["--inmem", "--pod", pod.to_str().unwrap(), "--blocks"],
        &[("HBF_BLOCK_TOKEN", "short")],
    );
    match refused {
        Ok(_) => panic!("a 5-character token was accepted"),
        Err(log) => assert!(log.contains("HBF_BLOCK_TOKEN"), "{log}"),
    }
}

#[test]
fn bazel_cas_and_ac() {
    let server = blocks_server(&["--blocks-max-blob", "8000000"], &[]);
    // Small: verified.
    let data = b"an output file".to_vec();
    let hash = sha256_hex(&data);
    let r = server.request("PUT", &format!("/cas/{hash}"), &[], Some(&data));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(server.get(&format!("/cas/{hash}")).body, data);
    let other = sha256_hex(b"something else");
    let r = server.request("PUT", &format!("/cas/{other}"), &[], Some(&data));
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("SHA-256"), "{}", r.text());
    assert_eq!(server.get(&format!("/cas/{other}")).status, 404);

    // Large (streamed in pieces both ways): a round trip, and a mismatch
    // found only at the end of the body.
    let big = random_bytes(5, (5 << 20) + 12_345);
    let big_hash = sha256_hex(&big);
    let r = server.request("PUT", &format!("/cas/{big_hash}"), &[], Some(&big));
    assert_eq!(r.status, 200, "{}", r.text());
    let r = server.get(&format!("/cas/{big_hash}"));
    assert_eq!(r.status, 200);
    assert!(r.body == big, "the 5 MiB entry came back different");
    let r = server.request("HEAD", &format!("/cas/{big_hash}"), &[], None);
    assert_eq!(
        r.header("content-length"),
        Some(big.len().to_string().as_str())
    );
    let mut tampered = big.clone();
    tampered[3 << 20] ^= 1;
    let wrong = sha256_hex(b"not the big one");
    let r = server.request("PUT", &format!("/cas/{wrong}"), &[], Some(&tampered));
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(server.get(&format!("/cas/{wrong}")).status, 404);
    // Over --blocks-max-blob: 413 at once.
    let head = format!("PUT /cas/{wrong} HTTP/1.1\r\nHost: t\r\nContent-Length: 8000001\r\n\r\n");
    let answer = server.raw(head.as_bytes(), WAIT);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // A chunked upload (no length, as a streaming client sends): stored in
    // pieces as it arrives, verified at its end.
    let chunked = random_bytes(6, 700_000);
    let chunked_hash = sha256_hex(&chunked);
    let mut request = format!(
        "PUT /cas/{chunked_hash} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for piece in chunked.chunks(100_000) {
        request.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        request.extend_from_slice(piece);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let answer = server.raw(&request, WAIT);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(server.get(&format!("/cas/{chunked_hash}")).body == chunked);
    assert_eq!(
        server
            .request("HEAD", &format!("/cas/{wrong}"), &[], None)
            .status,
        404
    );
    // A client's copy is current: 304.
    let etag = format!("\"{hash}\"");
    let r = server.request(
        "GET",
        &format!("/cas/{hash}"),
        &[("if-none-match", &etag)],
        None,
    );
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    // If-None-Match is a list of tags, compared weakly (RFC 9110 13.1.2): a
    // list naming it, or its weak form, is as current (a byte comparison
    // once missed both); another tag is not.
    for current in [
        format!("\"other\", {etag}"),
        format!("W/{etag}"),
        "*".to_owned(),
    ] {
        let r = server.request(
            "GET",
            &format!("/cas/{hash}"),
            &[("if-none-match", &current)],
            None,
        );
        assert_eq!(r.status, 304, "If-None-Match: {current}");
    }
    let r = server.request(
        "GET",
        &format!("/cas/{hash}"),
        &[("if-none-match", "\"other\"")],
        None,
    );
    assert_eq!(r.status, 200);

    // Action cache: any content under any key, replaced by a later PUT.
    let action = sha256_hex(b"an action");
    let ac = format!("/ac/{action}");
    assert_eq!(server.get(&ac).status, 404);
    assert_eq!(
        server.request("PUT", &ac, &[], Some(b"result 1")).status,
        200
    );
    assert_eq!(server.get(&ac).body, b"result 1");
    assert_eq!(
        server.request("PUT", &ac, &[], Some(b"result 2")).status,
        200
    );
    let r = server.get(&ac);
    assert_eq!(r.body, b"result 2");
    assert_eq!(
        r.header("etag"),
        Some(format!("\"{}\"", sha256_hex(b"result 2")).as_str())
    );

    // An instance prefix names the same store.
    let r = server.request("PUT", &format!("/main/ac/{action}"), &[], Some(b"result 3"));
    assert_eq!(r.status, 200);
    assert_eq!(server.get(&ac).body, b"result 3");
    assert_eq!(server.get(&format!("/ci/linux/cas/{hash}")).body, data);
    assert_eq!(
        server.get(&format!("/main/cas/{big_hash}")).body.len(),
        big.len()
    );

    let status = server.get("/blocks/status").json();
    assert_eq!(status["cas"]["count"], 3);
    assert_eq!(
        status["cas"]["bytes"],
        (data.len() + big.len() + chunked.len()) as u64
    );
    assert_eq!(status["ac"]["count"], 1);
    assert_eq!(status["ac"]["bytes"], 8);
    assert_eq!(status["block"]["count"], 0);
    assert_eq!(status["max_bytes"], serde_json::Value::Null);
    assert_eq!(status["max_blob"], 8_000_000);
}

#[test]
fn eviction_keeps_the_cache_under_its_limit_and_every_block() {
    let server = blocks_server(&["--blocks-max-bytes", "250000"], &[]);
    // A block larger than the whole cache limit: blocks do not count, and stay.
    let block = random_bytes(1, 300_000);
    let block_hash = put_block(&server, &block).text();
    let entry = |seed| random_bytes(seed, 100_000);
    let put_cas = |data: &[u8]| {
        let r = server.request(
            "PUT",
            &format!("/cas/{}", sha256_hex(data)),
            &[],
            Some(data),
        );
        assert_eq!(r.status, 200, "{}", r.text());
    };
    let has = |data: &[u8]| {
        server
            .request("HEAD", &format!("/cas/{}", sha256_hex(data)), &[], None)
            .status
            == 200
    };
    let (a, b, c) = (entry(10), entry(11), entry(12));
    put_cas(&a);
    put_cas(&b);
    assert_eq!(server.get(&format!("/cas/{}", sha256_hex(&a))).status, 200); // a is now the newer
    put_cas(&c);
    assert!(has(&a), "a was used after b");
    assert!(!has(&b), "b was the least recently used");
    assert!(has(&c));
    assert_eq!(server.get(&format!("/block/{block_hash}")).body, block);
    let status = server.get("/blocks/status").json();
    assert_eq!(status["cas"]["count"], 2);
    assert_eq!(status["block"]["count"], 1);
    assert_eq!(status["max_bytes"], 250_000);
}

#[test]
fn a_block_and_a_file_share_content_and_outlive_each_other() {
    let dev_token = "dev-token-0123456789";
    let server = blocks_server(&["--dev"], &[("HBF_DEV_TOKEN", dev_token)]);
    let auth = format!("Bearer {dev_token}");
    let data = random_bytes(3, 20_000);
    let file = "/__dev/api/file?path=static/shared.bin";
    let put_file = || {
        let r = server.request("PUT", file, &[("authorization", &auth)], Some(&data));
        assert!(r.status == 200 || r.status == 201, "{}", r.text());
    };
    put_file();
    let hash = put_block(&server, &data).text();
    assert_eq!(hash, sha256_hex(&data));
    // Deleting the block leaves the file.
    assert_eq!(
        server
            .request("DELETE", &format!("/block/{hash}"), &[], None)
            .status,
        200
    );
    assert_eq!(server.get("/static/shared.bin").body, data);
    // Deleting the file leaves the block.
    assert_eq!(put_block(&server, &data).text(), hash);
    let r = server.request("DELETE", file, &[("authorization", &auth)], None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(server.get("/static/shared.bin").status, 404);
    assert_eq!(server.get(&format!("/block/{hash}")).body, data);
    // And the file's old version still reads after the block goes.
    assert_eq!(
        server
            .request("DELETE", &format!("/block/{hash}"), &[], None)
            .status,
        200
    );
    let r = server.request(
        "GET",
        "/__dev/api/file?path=static/shared.bin&version=1",
        &[("authorization", &auth)],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, data);
}

#[test]
fn without_blocks_the_paths_are_the_pods() {
    let server = Server::test_pod(&[]);
    let hash = sha256_hex(b"x");
    assert_eq!(server.request("PUT", "/block", &[], Some(b"x")).status, 404);
    for path in [
        format!("/block/{hash}"),
        format!("/cas/{hash}"),
        format!("/ac/{hash}"),
        format!("/main/cas/{hash}"),
        "/blocks/status".to_owned(),
    ] {
        assert_eq!(server.get(&path).status, 404, "{path}");
        assert_eq!(
            server.request("PUT", &path, &[], Some(b"x")).status,
            404,
            "{path}"
        );
    }
    // --blocks-max-bytes without --blocks is a mistake said at once.
    let pod = test_pod();
    let refused = Server::try_start(&[
        "--inmem",
        "--pod",
        pod.to_str().unwrap(),
        "--blocks-max-bytes",
        "1000",
    ]);
    assert!(refused.is_err());
}

/// The pieces of an upload stored so far, read with the `sqlite3` tool
/// (installed by `.ci/run`, as for `hbf/db/tests/sqlite3_cli.rs`; the test
/// fails without it).
/// Sends the head of a 2 MB `PUT /cas/hash` and 700 kB of `byte`, and waits
/// until the server has stored pieces of it; the connection stays open.
fn start_upload(
    server: &Server,
    db: &std::path::Path,
    hash: &str,
    byte: u8,
) -> std::net::TcpStream {
    use std::io::Write;
    let mut client = std::net::TcpStream::connect(&server.addr).unwrap();
    write!(
        client,
        "PUT /cas/{hash} HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n"
    )
    .unwrap();
    client.write_all(&vec![byte; 700_000]).unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while upload_pieces(db) < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no pieces were stored"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    client
}

fn upload_pieces(db: &std::path::Path) -> u64 {
    let out = std::process::Command::new("sqlite3")
        .arg(db)
        .arg("SELECT count(*) FROM hbf_block_upload")
        .output()
        .expect("the sqlite3 command-line tool must be installed (apt-get install sqlite3)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn an_abandoned_upload_leaves_no_pieces() {
    let on_file = common::test_pod_on_file(&["--blocks"]);
    let (db, args) = (&on_file.db, on_file.args());
    let mut server = Server::try_start(&args).unwrap();
    let hash = sha256_hex(b"never sent whole");
    let first = start_upload(&server, db, &hash, b'x');
    let deadline = std::time::Instant::now() + WAIT;
    drop(first); // gone mid-body
    while upload_pieces(db) > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "an abandoned upload's pieces stay"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.get(&format!("/cas/{hash}")).status, 404);

    // Pieces a killed server left are deleted at the next start.
    let client = start_upload(&server, db, &hash, b'y');
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(client);
    assert!(upload_pieces(db) >= 2);
    let _server = Server::try_start(&args).unwrap();
    assert_eq!(upload_pieces(db), 0);
}
