//! `hbf db ...`: the operator's view of a pod's data: its migrations, a query
//! and an export, all through the pod's own SQL rules ([`hbf_db::UserDb`]).

use std::io::Write;
use std::time::{Duration, Instant};

use hbf_db::rusqlite::types::Value;
use hbf_db::{Database, MigrationState, Params};

use crate::cli::DbCommand;

/// Runs one `hbf db` command, writing its output to `out`.
pub fn run(
    db: &Database,
    command: DbCommand,
    migration_timeout: Duration,
    out: &mut dyn Write,
) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    match command {
        DbCommand::Status => {
            let all = db.migrations().map_err(|e| e.to_string())?;
            if all.is_empty() {
                writeln!(out, "no migrations (add hbf/migrations/0001_name.sql)").map_err(io)?;
            }
            for m in &all {
                writeln!(out, "{}", status_line(m)).map_err(io)?;
            }
            if let Some(changed) = all.iter().find(|m| m.state == MigrationState::Changed) {
                return Err(format!(
                    "{} was changed after it was applied (see `hbf db status`)",
                    changed.path()
                ));
            }
        }
        DbCommand::Migrate => {
            let ran = db.migrate(migration_timeout).map_err(|e| e.to_string())?;
            if ran.is_empty() {
                writeln!(out, "no pending migrations").map_err(io)?;
            }
            for r in ran {
                writeln!(out, "applied {} in {} ms", r.name, r.duration.as_millis()).map_err(io)?;
            }
        }
        DbCommand::Query {
            sql,
            write,
            max_rows,
            timeout,
        } => query(
            db,
            &sql,
            write,
            max_rows,
            Duration::from_millis(timeout),
            out,
        )?,
        DbCommand::Export { table, format } => export(db, &table, &format, out)?,
    }
    Ok(())
}

/// `0001_notes.sql  applied  Sun, 06 Dec 2026 07:50:01 GMT  3 ms  sha256:ab12cd34ef56ab12`.
fn status_line(m: &hbf_db::Migration) -> String {
    let short = |h: &[u8; 32]| hex::encode(&h[..8]);
    let mut line = format!("{}\t{}", m.name, m.state.as_str());
    if let Some(a) = &m.applied {
        line.push_str(&format!(
            "\t{}\t{} ms\tsha256:{}",
            utc(a.applied_at_ms),
            a.duration_ms,
            short(&a.sha256)
        ));
    }
    if m.state == MigrationState::Changed {
        if let Some(now) = &m.sha256 {
            line.push_str(&format!("\tnow sha256:{}", short(now)));
        }
    }
    line
}

/// Milliseconds since the epoch as an HTTP date (`Sun, 06 Dec 2026 07:50:01 GMT`).
fn utc(ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    httpdate::fmt_http_date(at)
}

fn query(
    db: &Database,
    sql: &str,
    write: bool,
    max_rows: u64,
    timeout: Duration,
    out: &mut dyn Write,
) -> Result<(), String> {
    let user = db.user_db().map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    user.set_deadline(Some(deadline));
    let mut lines = Vec::new();
    let mut rows = 0u64;
    let ran = user.scan(sql, &Params::Positional(Vec::new()), !write, |names, row| {
        if rows == 0 {
            lines.push(names.join("\t"));
        }
        rows += 1;
        if rows > max_rows {
            return Err(hbf_db::Error::Sql(format!(
                "the query returned more than {max_rows} rows (--max-rows); add a LIMIT or raise --max-rows"
            )));
        }
        lines.push(row.iter().map(cell).collect::<Vec<_>>().join("\t"));
        Ok(true)
    });
    match ran {
        Err(_) if Instant::now() >= deadline => {
            return Err(format!(
                "the query ran past its time limit of {} ms (--timeout)",
                timeout.as_millis()
            ))
        }
        Err(e) => return Err(e.to_string()),
        Ok(names) if rows == 0 && !names.is_empty() => lines.push(names.join("\t")),
        Ok(_) => {}
    }
    for line in lines {
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A value in `hbf db query`'s tab-separated output: NULL, numbers, text
/// with tabs and line breaks escaped, a blob as `x'hex'` (SQL's literal).
fn cell(value: &Value) -> String {
    match value {
        Value::Null => "NULL".into(),
        Value::Integer(n) => n.to_string(),
        Value::Real(x) => x.to_string(),
        Value::Text(s) => s
            .replace('\\', "\\\\")
            .replace('\t', "\\t")
            .replace('\n', "\\n")
            .replace('\r', "\\r"),
        Value::Blob(b) => format!("x'{}'", hex::encode(b)),
    }
}

/// Every row of `table`, as CSV (RFC 4180, a header row; a blob as its hex)
/// or as JSON (one array of objects, values as the dev API gives them),
/// written row by row.
fn export(db: &Database, table: &str, format: &str, out: &mut dyn Write) -> Result<(), String> {
    let user = db.user_db().map_err(|e| e.to_string())?;
    let exists = !db
        .read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT 1 FROM sqlite_schema WHERE type IN ('table', 'view') AND name = ?1",
            )?;
            Ok(stmt.exists([table])?)
        })
        .map_err(|e| e.to_string())?;
    if exists {
        return Err(format!("no table or view named {table:?}"));
    }
    let sql = format!("SELECT * FROM \"{}\"", table.replace('"', "\"\""));
    let failed = |e: &dyn std::fmt::Display| hbf_db::Error::Sql(e.to_string());
    let none = Params::Positional(Vec::new());
    match format {
        "json" => {
            let mut first = true;
            write!(out, "[").map_err(|e| e.to_string())?;
            user.scan(&sql, &none, true, |names, row| {
                let object: serde_json::Map<String, serde_json::Value> = names
                    .iter()
                    .cloned()
                    .zip(row.iter().map(hbf_http::sql_value_json))
                    .collect();
                let sep = if first { "\n" } else { ",\n" };
                first = false;
                write!(out, "{sep}{}", serde_json::Value::Object(object))
                    .map_err(|e| failed(&e))?;
                Ok(true)
            })
            .map_err(|e| e.to_string())?;
            writeln!(out, "{}]", if first { "" } else { "\n" }).map_err(|e| e.to_string())?;
        }
        _ => {
            let mut csv = csv::Writer::from_writer(out);
            let mut header = false;
            let names = user
                .scan(&sql, &none, true, |names, row| {
                    if !header {
                        csv.write_record(names).map_err(|e| failed(&e))?;
                        header = true;
                    }
                    let fields = row.iter().map(|v| match v {
                        Value::Null => String::new(),
                        Value::Integer(n) => n.to_string(),
                        Value::Real(x) => x.to_string(),
                        Value::Text(s) => s.clone(),
                        Value::Blob(b) => hex::encode(b),
                    });
                    csv.write_record(fields).map_err(|e| failed(&e))?;
                    Ok(true)
                })
                .map_err(|e| e.to_string())?;
            if !header {
                csv.write_record(&names).map_err(|e| e.to_string())?;
            }
            csv.flush().map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
