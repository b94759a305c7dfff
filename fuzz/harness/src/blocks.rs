//! `block_routes`: sequences of block-service requests against a model.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use arbitrary::{Arbitrary, Unstructured};
use hbf_db::{key_to_hex, BlockKind, BlockStore, Database};
use hbf_http::blocks::{BlockService, BlocksConfig};
use hbf_http::{App, BearerToken, ServerConfig};
use tokio::runtime::Runtime;

use crate::http::{exchange, responses};

/// The token block writes need in the fuzzed server.
const TOKEN: &str = "fuzz-block-token-0123";
/// The largest cache entry of the fuzzed server (small, so 413 is reachable).
const MAX_BLOB: usize = 8192;
/// The most operations of one input.
const MAX_OPS: usize = 48;

struct Server {
    runtime: Runtime,
    app: Arc<App>,
    db: Database,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let (db, app, runtime) = crate::http::test_pod_app(1, ServerConfig::default());
        let service = BlockService::start(
            &db,
            BlocksConfig {
                max_blob: MAX_BLOB as u64,
                max_bytes: None,
                token: Some(BearerToken::new("HBF_BLOCK_TOKEN", TOKEN).expect("a valid token")),
            },
        )
        .expect("the block service");
        let app = Arc::new(app.with_blocks(service));
        Server { runtime, app, db }
    })
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Auth {
    Token,
    Missing,
    Wrong,
}

#[derive(Arbitrary, Debug)]
enum Content {
    /// One of a few small contents (so that PUTs repeat and share rows).
    Pool(u8),
    Bytes(Vec<u8>),
    /// `n` bytes of filler: sizes up to past the cache-entry limit.
    Filler(u16, u8),
}

impl Content {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Content::Pool(i) => format!("pooled content {}", i % 5).into_bytes(),
            Content::Bytes(b) => b.clone(),
            Content::Filler(n, b) => vec![*b; usize::from(*n) % (MAX_BLOB + 64)],
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Name {
    /// The n-th key stored by this input (whatever happened to it since).
    Known(u8),
    Key([u8; 32]),
    /// Any text as the last path segment.
    Text(String),
}

#[derive(Arbitrary, Debug)]
enum Op {
    PutBlock(Content, Auth),
    GetBlock(Name, bool),
    DeleteBlock(Name, Auth),
    PutCas(Content, Option<Name>, Auth),
    GetCas(Name, bool),
    PutAc(u8, Content, Auth),
    GetAc(u8, bool),
    Status,
    /// Any method on any path the block service claims: never a 500.
    Raw(u8, String),
}

/// What the store must hold.
#[derive(Default)]
struct Model {
    blocks: BTreeMap<[u8; 32], Vec<u8>>,
    cas: BTreeMap<[u8; 32], Vec<u8>>,
    ac: BTreeMap<[u8; 32], Vec<u8>>,
    /// Every key stored, in order ([`Name::Known`]).
    stored: Vec<[u8; 32]>,
}

impl Model {
    fn segment(&self, name: &Name) -> (String, Option<[u8; 32]>) {
        match name {
            Name::Known(i) if !self.stored.is_empty() => {
                let key = self.stored[usize::from(*i) % self.stored.len()];
                (key_to_hex(&key), Some(key))
            }
            Name::Known(_) => ("0".repeat(64), Some([0; 32])),
            Name::Key(key) => (key_to_hex(key), Some(*key)),
            Name::Text(text) => {
                let text: String = text
                    .chars()
                    // Characters a request target may hold as they are (RFC
                    // 3986's unreserved and sub-delims, ':' and '@'): any other
                    // is refused by the HTTP parser (400) before the route.
                    .filter(|c| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@".contains(*c))
                    .collect();
                let key = hbf_db::key_from_hex(&text);
                (text, key)
            }
        }
    }
}

fn ac_key(slot: u8) -> [u8; 32] {
    [slot % 4; 32]
}

/// One request on its own connection: the status, the body (empty for
/// `HEAD`) and the `Content-Length` sent.
fn request(
    server: &Server,
    method: &str,
    path: &str,
    auth: Auth,
    body: Option<&[u8]>,
) -> (u16, Vec<u8>) {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n");
    match auth {
        Auth::Token => head.push_str(&format!("Authorization: Bearer {TOKEN}\r\n")),
        Auth::Wrong => head.push_str("Authorization: Bearer not-the-block-token\r\n"),
        Auth::Missing => {}
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut input = head.into_bytes();
    if let Some(body) = body {
        input.extend_from_slice(body);
    }
    let out = exchange(&server.runtime, &server.app, &input);
    let mut budget = 10;
    let parsed = responses(&out, &mut budget).unwrap_or_else(|e| {
        panic!(
            "{method} {path}: {e}\nresponse: {:?}",
            String::from_utf8_lossy(&out)
        )
    });
    assert_eq!(
        parsed.len(),
        1,
        "{method} {path}: one response, got {parsed:?}"
    );
    parsed.into_iter().next().expect("one response")
}

fn sha256_hex(data: &[u8]) -> String {
    key_to_hex(&crate::sha256(data))
}

/// `block_routes`: up to 48 operations of the block service (`PUT`, `GET`,
/// `HEAD`, `DELETE /block`; `PUT`/`GET`/`HEAD` of `/cas/` and `/ac/`
/// entries; `/blocks/status`; any method on any path of the service), with
/// the right token, none or a wrong one, on the real routes of a server with
/// a token and an 8 KiB cache-entry limit. Every answer is compared with a
/// model: status, body (a `PUT`'s hash is `sha256sum` of the bytes, a `GET`
/// returns exactly the bytes stored, a `HEAD` none), the counts of
/// `/blocks/status`; a deleted block is never served again (the block cache
/// included). No path or method gets a 500. Afterwards every entry is
/// deleted and the counts are zero, so that every input meets an empty
/// store.
pub fn block_routes(data: &[u8]) {
    let server = server();
    let mut u = Unstructured::new(data);
    let mut model = Model::default();
    for _ in 0..MAX_OPS {
        if u.is_empty() {
            break; // (arbitrary would go on with zeros)
        }
        let Ok(op) = Op::arbitrary(&mut u) else {
            break;
        };
        step(server, &mut model, &op);
    }
    let store = BlockStore::new(server.db.clone());
    for key in model.blocks.keys() {
        assert!(store.delete(BlockKind::Block, key).expect("delete a block"));
        let (status, _) = request(
            server,
            "GET",
            &format!("/block/{}", key_to_hex(key)),
            Auth::Missing,
            None,
        );
        assert_eq!(status, 404, "a deleted block is still served");
    }
    for key in model.cas.keys() {
        assert!(store
            .delete(BlockKind::Cas, key)
            .expect("delete a CAS entry"));
    }
    for key in model.ac.keys() {
        assert!(store
            .delete(BlockKind::Ac, key)
            .expect("delete an AC entry"));
    }
    let status = store.status().expect("status");
    assert_eq!(
        (status.block.count, status.cas.count, status.ac.count),
        (0, 0, 0),
        "entries left after deleting every one the model knows"
    );
    assert_eq!(
        (status.block.bytes, status.cas.bytes, status.ac.bytes),
        (0, 0, 0)
    );
}

fn step(server: &Server, model: &mut Model, op: &Op) {
    match op {
        Op::PutBlock(content, auth) => {
            let data = content.bytes();
            let (status, body) = request(server, "PUT", "/block", *auth, Some(&data));
            let expected = match auth {
                Auth::Missing | Auth::Wrong => 401,
                Auth::Token if data.is_empty() => 400,
                Auth::Token => 200,
            };
            assert_eq!(
                status,
                expected,
                "PUT /block of {} bytes: {body:?}",
                data.len()
            );
            if status == 200 {
                assert_eq!(String::from_utf8_lossy(&body), sha256_hex(&data));
                let key = crate::sha256(&data);
                model.blocks.insert(key, data);
                model.stored.push(key);
            }
        }
        Op::GetBlock(name, head) => {
            let (segment, key) = model.segment(name);
            let method = if *head { "HEAD" } else { "GET" };
            let (status, body) = request(
                server,
                method,
                &format!("/block/{segment}"),
                Auth::Missing,
                None,
            );
            let stored = key.and_then(|k| model.blocks.get(&k));
            match (key, stored) {
                (None, _) => assert_eq!(status, 400, "{method} /block/{segment:?}"),
                (Some(_), None) => assert_eq!(status, 404, "{method} /block/{segment}"),
                (Some(_), Some(data)) => {
                    assert_eq!(status, 200, "{method} /block/{segment}");
                    if !head {
                        assert!(
                            body == *data,
                            "GET /block/{segment}: other bytes than stored"
                        );
                    }
                }
            }
        }
        Op::DeleteBlock(name, auth) => {
            let (segment, key) = model.segment(name);
            let (status, _) = request(server, "DELETE", &format!("/block/{segment}"), *auth, None);
            let expected = match (auth, key) {
                (Auth::Missing | Auth::Wrong, _) => 401,
                (Auth::Token, None) => 400,
                (Auth::Token, Some(k)) if model.blocks.remove(&k).is_some() => 200,
                (Auth::Token, Some(_)) => 404,
            };
            assert_eq!(status, expected, "DELETE /block/{segment}");
        }
        Op::PutCas(content, name, auth) => {
            let data = content.bytes();
            let (segment, key) = match name {
                None => (sha256_hex(&data), Some(crate::sha256(&data))),
                Some(name) => model.segment(name),
            };
            let (status, body) = request(
                server,
                "PUT",
                &format!("/cas/{segment}"),
                *auth,
                Some(&data),
            );
            let expected = match (auth, key) {
                (Auth::Missing | Auth::Wrong, _) => 401,
                (Auth::Token, None) => 400,
                (Auth::Token, Some(_)) if data.len() > MAX_BLOB => 413,
                (Auth::Token, Some(k)) if k != crate::sha256(&data) => 400,
                (Auth::Token, Some(_)) => 200,
            };
            assert_eq!(
                status,
                expected,
                "PUT /cas/{segment} of {} bytes: {body:?}",
                data.len()
            );
            if let (200, Some(key)) = (status, key) {
                model.cas.insert(key, data);
                model.stored.push(key);
            }
        }
        Op::GetCas(name, head) => {
            let (segment, key) = model.segment(name);
            let method = if *head { "HEAD" } else { "GET" };
            let (status, body) = request(
                server,
                method,
                &format!("/cas/{segment}"),
                Auth::Missing,
                None,
            );
            match key {
                None => assert_eq!(status, 400, "{method} /cas/{segment:?}"),
                Some(k) => match model.cas.get(&k) {
                    None => assert_eq!(status, 404, "{method} /cas/{segment}"),
                    Some(data) => {
                        assert_eq!(status, 200, "{method} /cas/{segment}");
                        assert!(*head || body == *data, "GET /cas/{segment}: other bytes");
                    }
                },
            }
        }
        Op::PutAc(slot, content, auth) => {
            let data = content.bytes();
            let key = ac_key(*slot);
            let path = format!("/main/ac/{}", key_to_hex(&key));
            let (status, _) = request(server, "PUT", &path, *auth, Some(&data));
            let expected = match auth {
                Auth::Missing | Auth::Wrong => 401,
                Auth::Token if data.len() > MAX_BLOB => 413,
                Auth::Token => 200,
            };
            assert_eq!(status, expected, "PUT {path} of {} bytes", data.len());
            if status == 200 {
                model.ac.insert(key, data);
            }
        }
        Op::GetAc(slot, head) => {
            let key = ac_key(*slot);
            let method = if *head { "HEAD" } else { "GET" };
            let path = format!("/ac/{}", key_to_hex(&key));
            let (status, body) = request(server, method, &path, Auth::Missing, None);
            match model.ac.get(&key) {
                None => assert_eq!(status, 404, "{method} {path}"),
                Some(data) => {
                    assert_eq!(status, 200, "{method} {path}");
                    assert!(*head || body == *data, "GET {path}: other bytes");
                }
            }
        }
        Op::Status => {
            let (status, body) = request(server, "GET", "/blocks/status", Auth::Missing, None);
            assert_eq!(status, 200);
            let json: serde_json::Value = serde_json::from_slice(&body).expect("status JSON");
            let sizes = |m: &BTreeMap<[u8; 32], Vec<u8>>| {
                (
                    m.len() as u64,
                    m.values().map(|d| d.len() as u64).sum::<u64>(),
                )
            };
            for (kind, entries) in [
                ("block", &model.blocks),
                ("cas", &model.cas),
                ("ac", &model.ac),
            ] {
                let got = (
                    json[kind]["count"].as_u64().expect("a count"),
                    json[kind]["bytes"].as_u64().expect("bytes"),
                );
                assert_eq!(got, sizes(entries), "/blocks/status {kind}: {json}");
            }
        }
        Op::Raw(method, path) => {
            let path: String = path
                .chars()
                .filter(|c| c.is_ascii_graphic() && !matches!(c, '?' | '#' | '%'))
                .collect();
            let path = format!("/{}", path.trim_start_matches('/'));
            if hbf_http::route::block_target(&path).is_none() {
                return; // the pod's, not the block service's
            }
            let method = ["GET", "HEAD", "PUT", "DELETE", "POST", "PATCH", "OPTIONS"]
                [usize::from(*method) % 7];
            // Without the token no write happens, so the model still holds.
            let body = matches!(method, "PUT" | "POST" | "PATCH").then_some(&b"raw"[..]);
            let (status, body) = request(server, method, &path, Auth::Missing, body);
            assert_ne!(
                status,
                500,
                "{method} {path}: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}
