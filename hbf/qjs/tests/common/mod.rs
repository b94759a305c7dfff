//! Helpers shared by the engine's integration tests.
#![allow(dead_code)] // each test file uses some of them

use hbf_db::Database;
use hbf_qjs::{Engine, EngineConfig, JsRequest, PodCode};

/// An engine, warmed up, for a pod made of `files` (path, source).
pub fn engine(files: &[(&str, &str)], config: EngineConfig) -> Engine {
    let db = Database::memory().unwrap();
    for (path, source) in files {
        db.fs().write(path, *source).unwrap();
    }
    let modules = PodCode::new(db.clone());
    let mut engine = Engine::new(db, modules, config).unwrap();
    engine.warm_up();
    engine
}

/// `GET path`, which must answer 200 with JSON.
pub fn json(engine: &mut Engine, path: &str) -> serde_json::Value {
    let response = engine
        .handle(&get(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(response.status, 200.0, "{path}");
    serde_json::from_slice(&response.body).unwrap()
}

/// A `GET` of `path` with no headers and no body.
pub fn get(path: &str) -> JsRequest {
    JsRequest {
        id: 1,
        method: "GET".into(),
        url: format!("http://localhost{path}"),
        path: path.into(),
        query: String::new(),
        headers: vec![],
        body: vec![],
    }
}

/// `millis` of deadline, times `HBF_TEST_SLOWDOWN` (unset: 1): the tests that
/// run under AddressSanitizer (`tools/asan-tests.sh`, 10) run that much slower.
pub fn deadline(millis: u64) -> std::time::Duration {
    let factor = std::env::var("HBF_TEST_SLOWDOWN")
        .ok()
        .and_then(|f| f.parse::<u64>().ok())
        .unwrap_or(1)
        .max(1);
    std::time::Duration::from_millis(millis * factor)
}
