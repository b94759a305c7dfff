//! `hbf:db`: the pod's SQL (`query`, `execute`, `transaction`) on its own
//! connection ([`hbf_db::UserDb`]), with values converted as the parent
//! module's documentation says.

use hbf_db::rusqlite::types::Value as SqlValue;
use hbf_db::Params;
use rquickjs::function::Opt;
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::{Array, BigInt, Ctx, Exception, Function, IntoJs, Object, TypedArray, Value};

use super::{bytes_if_any, host_fn, state};

/// JavaScript value -> SQL value.
fn to_sql<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> rquickjs::Result<SqlValue> {
    if value.is_null() || value.is_undefined() {
        return Ok(SqlValue::Null);
    }
    if let Some(b) = value.as_bool() {
        return Ok(SqlValue::Integer(b as i64));
    }
    if let Some(i) = value.as_int() {
        return Ok(SqlValue::Integer(i as i64));
    }
    if let Some(f) = value.as_float() {
        if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
            return Ok(SqlValue::Integer(f as i64));
        }
        return Ok(SqlValue::Real(f));
    }
    if let Some(big) = value.as_big_int() {
        return big
            .clone()
            .to_i64()
            .map(SqlValue::Integer)
            .map_err(|_| Exception::throw_range(ctx, "a bigint parameter must fit in 64 bits"));
    }
    if let Some(s) = value.as_string() {
        return Ok(SqlValue::Text(s.to_string()?));
    }
    if value.is_object() && !value.is_function() && !value.is_array() {
        if let Some(bytes) = bytes_if_any(value) {
            return Ok(SqlValue::Blob(bytes));
        }
    }
    Err(Exception::throw_type(
        ctx,
        &format!(
            "cannot bind a {} to SQL (use a number, bigint, string, boolean, null or Uint8Array)",
            value.type_name()
        ),
    ))
}

/// SQL value -> JavaScript value.
fn from_sql<'js>(ctx: &Ctx<'js>, value: SqlValue) -> rquickjs::Result<Value<'js>> {
    Ok(match value {
        SqlValue::Null => Value::new_null(ctx.clone()),
        SqlValue::Integer(i) if i.unsigned_abs() <= (1u64 << 53) => (i as f64).into_js(ctx)?,
        SqlValue::Integer(i) => BigInt::from_i64(ctx.clone(), i)?.into_value(),
        SqlValue::Real(f) => f.into_js(ctx)?,
        SqlValue::Text(s) => s.into_js(ctx)?,
        SqlValue::Blob(b) => TypedArray::<u8>::new_copy(ctx.clone(), b)?.into_value(),
    })
}

fn params<'js>(ctx: &Ctx<'js>, value: Opt<Value<'js>>) -> rquickjs::Result<Params> {
    let Some(value) = value.0.filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(Params::Positional(Vec::new()));
    };
    if let Some(array) = value.as_array() {
        let mut out = Vec::with_capacity(array.len());
        for item in array.iter::<Value>() {
            out.push(to_sql(ctx, &item?)?);
        }
        return Ok(Params::Positional(out));
    }
    if let Some(obj) = value.as_object().filter(|_| bytes_if_any(&value).is_none()) {
        let mut out = Vec::new();
        for key in obj.keys::<String>() {
            let key = key?;
            let item: Value = obj.get(&key)?;
            out.push((key, to_sql(ctx, &item)?));
        }
        return Ok(Params::Named(out));
    }
    Err(Exception::throw_type(
        ctx,
        "parameters must be an array (positional) or an object (named)",
    ))
}

fn sql_error<'js>(ctx: &Ctx<'js>, e: hbf_db::Error) -> rquickjs::Error {
    Exception::throw_message(ctx, &e.to_string())
}

fn db_query<'js>(
    ctx: Ctx<'js>,
    sql: String,
    args: Opt<Value<'js>>,
) -> rquickjs::Result<Array<'js>> {
    let st = state(&ctx)?;
    let params = params(&ctx, args)?;
    let rows = st
        .user
        .query(&sql, &params)
        .map_err(|e| sql_error(&ctx, e))?;
    let out = Array::new(ctx.clone())?;
    for (i, row) in rows.into_iter().enumerate() {
        let obj = Object::new(ctx.clone())?;
        for (name, value) in row {
            obj.set(name, from_sql(&ctx, value)?)?;
        }
        out.set(i, obj)?;
    }
    Ok(out)
}

fn db_execute<'js>(
    ctx: Ctx<'js>,
    sql: String,
    args: Opt<Value<'js>>,
) -> rquickjs::Result<Object<'js>> {
    let st = state(&ctx)?;
    let params = params(&ctx, args)?;
    let done = st
        .user
        .execute(&sql, &params)
        .map_err(|e| sql_error(&ctx, e))?;
    let out = Object::new(ctx.clone())?;
    out.set("changes", done.changes as f64)?;
    out.set(
        "lastInsertRowid",
        from_sql(&ctx, SqlValue::Integer(done.last_insert_rowid))?,
    )?;
    Ok(out)
}

/// Why a transaction body failed: a JavaScript exception (rethrown as is) or a
/// storage error.
enum TxError {
    Js(rquickjs::Error),
    Db(hbf_db::Error),
}

impl From<hbf_db::Error> for TxError {
    fn from(e: hbf_db::Error) -> Self {
        TxError::Db(e)
    }
}

fn db_transaction<'js>(ctx: Ctx<'js>, body: Function<'js>) -> rquickjs::Result<Value<'js>> {
    let st = state(&ctx)?;
    let result = st.user.transaction(|_| {
        let value: Value = body.call(()).map_err(TxError::Js)?;
        if value.as_promise().is_some() {
            return Err(TxError::Js(Exception::throw_type(
                &ctx,
                "transaction(fn): fn must be synchronous (it returned a promise); the transaction was rolled back",
            )));
        }
        Ok(value)
    });
    match result {
        Ok(value) => Ok(value),
        Err(TxError::Js(e)) => Err(e),
        Err(TxError::Db(e)) => Err(sql_error(&ctx, e)),
    }
}

/// `hbf:db`: the pod's own SQL.
pub(crate) struct DbModule;

impl ModuleDef for DbModule {
    fn declare(decl: &Declarations) -> rquickjs::Result<()> {
        for name in ["query", "execute", "transaction", "default"] {
            decl.declare(name)?;
        }
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> rquickjs::Result<()> {
        let all = Object::new(ctx.clone())?;
        let query = host_fn(ctx, db_query)?.with_name("query")?;
        let execute = host_fn(ctx, db_execute)?.with_name("execute")?;
        let transaction = host_fn(ctx, db_transaction)?.with_name("transaction")?;
        all.set("query", query.clone())?;
        all.set("execute", execute.clone())?;
        all.set("transaction", transaction.clone())?;
        exports.export("query", query)?;
        exports.export("execute", execute)?;
        exports.export("transaction", transaction)?;
        exports.export("default", all)?;
        Ok(())
    }
}
