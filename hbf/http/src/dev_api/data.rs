//! The dev API's view of the pod's data (`/__dev/api/db/...`): its tables,
//! a paged read-only query, its migrations and applying the pending ones:
//! what the editor's Data panel shows.
//!
//! Queries are pod SQL ([`hbf_db::UserDb`]: the pod's authorizer, read-only
//! here, stopped after [`QUERY_TIME_LIMIT`]); a page holds at most
//! [`MAX_PAGE_ROWS`] rows and [`MAX_PAGE_BYTES`] bytes of values, and the
//! rows after it are never read.

use std::time::{Duration, Instant};

use hbf_db::rusqlite::types::Value as SqlValue;
use hbf_db::{MigrationState, Params};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::{json, Value};

use crate::respond::{self, blocking, HttpError, HttpResponse};
use crate::App;

/// How long one query of the Data panel may run.
pub const QUERY_TIME_LIMIT: Duration = Duration::from_secs(5);
/// The most rows one page may ask for.
pub const MAX_PAGE_ROWS: usize = 1000;
/// The rows of a page when the request does not say.
const DEFAULT_PAGE_ROWS: usize = 100;
/// The most bytes of text and blobs one page may hold.
pub const MAX_PAGE_BYTES: usize = 8 << 20;

/// A value of a row as JSON: `null`, a number, a string, and a blob as
/// `{"$blob": "<base64>", "size": N}` (JSON has no bytes). Integers are
/// written exactly (a reader in JavaScript sees those past 2^53 rounded).
pub fn sql_value_json(value: &SqlValue) -> Value {
    use base64ct::{Base64, Encoding};
    match value {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(n) => json!(n),
        SqlValue::Real(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        SqlValue::Text(s) => Value::String(s.clone()),
        SqlValue::Blob(b) => json!({"$blob": Base64::encode_string(b), "size": b.len()}),
    }
}

/// `GET db/tables`: the pod's tables and views with their columns and row
/// counts (`null` for a view).
pub(super) async fn tables(app: &App) -> Result<HttpResponse, HttpError> {
    let db = app.db.clone();
    let list = blocking(move || {
        db.read(|conn| {
            let mut names = conn.prepare(
                "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view')
                 AND name NOT LIKE 'hbf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                 AND name NOT LIKE '\\_litestream\\_%' ESCAPE '\\' AND lower(name) <> 'sqlar'
                 ORDER BY name",
            )?;
            let objects = names
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<hbf_db::rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::new();
            for (name, kind) in objects {
                let mut info = conn.prepare(
                    "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid",
                )?;
                let columns = info
                    .query_map([&name], |r| {
                        Ok(json!({
                            "name": r.get::<_, String>(0)?,
                            "type": r.get::<_, String>(1)?,
                            "notnull": r.get::<_, i64>(2)? != 0,
                            "pk": r.get::<_, i64>(3)?,
                        }))
                    })?
                    .collect::<hbf_db::rusqlite::Result<Vec<_>>>()?;
                let rows = match kind.as_str() {
                    "table" => conn
                        .query_row(
                            &format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\"")),
                            [],
                            |r| r.get::<_, i64>(0),
                        )
                        .ok(),
                    _ => None,
                };
                out.push(json!({"name": name, "type": kind, "columns": columns, "rows": rows}));
            }
            Ok(out)
        })
    })
    .await?;
    Ok(respond::json(StatusCode::OK, body_of(&Value::Array(list))))
}

/// `POST db/query` with `{"sql", "params", "offset", "limit"}`: one page of
/// a read-only statement's rows, `{"columns", "rows", "offset", "more"}`.
pub(super) async fn query(
    app: &App,
    request: Request<Incoming>,
) -> Result<HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let body = crate::body::read_request_body(&app.config, &parts.headers, body).await?;
    let bad = |m: String| HttpError::BadRequest(m);
    let asked: Value = serde_json::from_slice(&body).map_err(|e| {
        bad(format!(
            "the body must be JSON like {{\"sql\": \"SELECT ...\"}}: {e}"
        ))
    })?;
    let sql = asked
        .get("sql")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("the body needs \"sql\": a string".into()))?
        .to_owned();
    let count = |name: &str, default: usize, min: usize, max: usize| -> Result<usize, HttpError> {
        match asked.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .filter(|&n| (min..=max).contains(&n))
                .ok_or_else(|| bad(format!("\"{name}\" must be an integer from {min} to {max}"))),
        }
    };
    let offset = count("offset", 0, 0, usize::MAX)?;
    let limit = count("limit", DEFAULT_PAGE_ROWS, 1, MAX_PAGE_ROWS)?;
    let params = match asked.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| match v {
                Value::Null => Ok(SqlValue::Null),
                Value::Bool(b) => Ok(SqlValue::Integer(i64::from(*b))),
                Value::Number(n) => Ok(n
                    .as_i64()
                    .map(SqlValue::Integer)
                    .unwrap_or_else(|| SqlValue::Real(n.as_f64().unwrap_or(f64::NAN)))),
                Value::String(s) => Ok(SqlValue::Text(s.clone())),
                _ => Err(bad(
                    "\"params\" holds null, booleans, numbers and strings only".into(),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("\"params\" must be an array".into())),
    };
    let db = app.db.clone();
    let page = tokio::task::spawn_blocking(move || -> Result<Value, HttpError> {
        let user = db.user_db()?;
        let deadline = Instant::now() + QUERY_TIME_LIMIT;
        user.set_deadline(Some(deadline));
        let (mut seen, mut bytes, mut rows, mut more) = (0usize, 0usize, Vec::new(), false);
        let ran = user.scan(&sql, &Params::Positional(params), true, |_, row| {
            seen += 1;
            if seen <= offset {
                return Ok(true);
            }
            if rows.len() == limit {
                more = true;
                return Ok(false);
            }
            bytes += row
                .iter()
                .map(|v| match v {
                    SqlValue::Text(s) => s.len(),
                    SqlValue::Blob(b) => b.len() * 4 / 3,
                    _ => 8,
                })
                .sum::<usize>();
            if bytes > MAX_PAGE_BYTES {
                return Err(hbf_db::Error::Sql(format!(
                    "the page is larger than {MAX_PAGE_BYTES} bytes; ask for fewer rows or columns"
                )));
            }
            rows.push(Value::Array(row.iter().map(sql_value_json).collect()));
            Ok(true)
        });
        match ran {
            Ok(columns) => {
                Ok(json!({"columns": columns, "rows": rows, "offset": offset, "more": more}))
            }
            Err(_) if Instant::now() >= deadline => Err(HttpError::BadRequest(format!(
                "the query ran past the Data panel's {} s limit",
                QUERY_TIME_LIMIT.as_secs()
            ))),
            Err(e) => Err(HttpError::BadRequest(e.to_string())),
        }
    })
    .await
    .map_err(|e| HttpError::Internal(format!("a query task failed: {e}")))??;
    Ok(respond::json(StatusCode::OK, body_of(&page)))
}

/// `GET db/migrations`: every migration with its state, and the last
/// failure of this process.
pub(super) async fn migrations(app: &App) -> Result<HttpResponse, HttpError> {
    let db = app.db.clone();
    let (all, last) = blocking(move || Ok((db.migrations()?, db.last_migration_error()))).await?;
    let list: Vec<Value> = all
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "path": m.path(),
                "status": m.state.as_str(),
                "sha256": m.sha256.map(hex::encode),
                "applied_sha256": m.applied.as_ref().map(|a| hex::encode(a.sha256)),
                "applied_at": m.applied.as_ref().map(|a| a.applied_at_ms),
                "duration_ms": m.applied.as_ref().map(|a| a.duration_ms),
            })
        })
        .collect();
    let last = last.map(|e| json!({"name": e.name, "message": e.message, "at": e.at_ms}));
    let pending = all
        .iter()
        .filter(|m| m.state == MigrationState::Pending)
        .count();
    Ok(respond::json(
        StatusCode::OK,
        body_of(&json!({"migrations": list, "pending": pending, "last_error": last})),
    ))
}

/// `POST db/migrate`: applies the pending migrations in order.
pub(super) async fn migrate(app: &App) -> Result<HttpResponse, HttpError> {
    let db = app.db.clone();
    let timeout = app.config.migration_timeout;
    let ran = blocking(move || {
        db.migrate(timeout).inspect_err(|e| {
            tracing::warn!("applying the migrations through the dev API failed: {e}");
        })
    })
    .await?;
    for r in &ran {
        tracing::info!(migration = %r.name, ms = r.duration.as_millis() as u64, "applied the migration");
    }
    let applied: Vec<Value> = ran
        .iter()
        .map(|r| json!({"name": r.name, "duration_ms": r.duration.as_millis() as u64}))
        .collect();
    Ok(respond::json(
        StatusCode::OK,
        body_of(&json!({"applied": applied})),
    ))
}

fn body_of(value: &Value) -> bytes::Bytes {
    bytes::Bytes::from(value.to_string())
}
