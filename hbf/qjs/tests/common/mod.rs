//! Helpers shared by the engine's integration tests.

use hbf_qjs::JsRequest;

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
