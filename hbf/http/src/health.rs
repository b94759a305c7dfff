//! `GET /health`: answered at once, never through JavaScript or storage.
//! With replication (`hbf --replicate`), the binary adds what it knows of it
//! through [`HealthReport`] (read from memory the supervisor keeps current,
//! so a slow or dead replicator never slows the probe).

use hyper::{Method, StatusCode};

use crate::respond::{self, HttpError, HttpResponse};
use crate::App;

/// Extra sections of `/health`, by name (`replication`).
pub type HealthReport = Box<dyn Fn() -> Vec<(&'static str, serde_json::Value)> + Send + Sync>;

/// `GET /health`.
pub fn serve(app: &App, method: &Method) -> Result<HttpResponse, HttpError> {
    if method != Method::GET && method != Method::HEAD {
        return Err(HttpError::MethodNotAllowed {
            allow: "GET, HEAD",
            message: "use GET",
        });
    }
    let Some(report) = &app.health else {
        return Ok(respond::json(StatusCode::OK, &b"{\"status\":\"ok\"}"[..]));
    };
    let mut body = serde_json::Map::new();
    body.insert("status".into(), "ok".into());
    for (name, value) in report() {
        body.insert(name.into(), value);
    }
    Ok(respond::json(
        StatusCode::OK,
        serde_json::Value::Object(body).to_string(),
    ))
}
