//! Values between the engine and the prelude's dispatcher: the request's
//! parts in, the `{status, headers, body}` it returns out.

use rquickjs::function::Args;
use rquickjs::{Ctx, Object, TypedArray, Value};

use super::{JsRequest, JsResponse};
use crate::host;

/// Calls the prelude's dispatcher with the pod's namespace and the parts of
/// the `req` object of SPEC 4, which it builds (an object literal there keeps
/// its shape between requests): id, method, url, path, query, `headers` (an
/// object, repeated names joined), every header in arrival order as one flat
/// list `[name, value, ...]` (for the fetch style), body text and body bytes.
pub(super) fn dispatch_args<'js>(
    ctx: &Ctx<'js>,
    namespace: &Object<'js>,
    r: &JsRequest,
) -> rquickjs::Result<Args<'js>> {
    let headers = Object::new(ctx.clone())?;
    let list = rquickjs::Array::new(ctx.clone())?;
    let mut at = 0;
    // Repeated names are joined here, not by reading the object back: that
    // would see inherited properties (a `constructor` header found a function),
    // and assigning `__proto__` would set the prototype instead of a header.
    let mut joined: Vec<(&str, String)> = Vec::new();
    for (name, value) in &r.headers {
        match joined.iter_mut().find(|(n, _)| *n == name) {
            Some((_, previous)) => {
                previous.push_str(", ");
                previous.push_str(value);
            }
            None => joined.push((name, value.clone())),
        }
        list.set(at, name.as_str())?;
        list.set(at + 1, value.as_str())?;
        at += 2;
    }
    for (name, value) in joined {
        // Defined, not assigned: an own data property whatever the name.
        headers.prop(
            name,
            rquickjs::object::Property::from(value)
                .writable()
                .enumerable()
                .configurable(),
        )?;
    }
    let mut args = Args::new(ctx.clone(), 11);
    args.push_arg(namespace.clone())?;
    args.push_arg(r.id as f64)?;
    args.push_arg(r.method.as_str())?;
    args.push_arg(r.url.as_str())?;
    args.push_arg(r.path.as_str())?;
    args.push_arg(r.query.as_str())?;
    args.push_arg(headers)?;
    args.push_arg(list)?;
    args.push_arg(String::from_utf8_lossy(&r.body).as_ref())?;
    args.push_arg(TypedArray::<u8>::new_copy(ctx.clone(), &r.body)?)?;
    Ok(args)
}

/// Reads the dispatcher's `{status, headers, body}`.
pub(super) fn response_from<'js>(
    ctx: &Ctx<'js>,
    out: &Object<'js>,
) -> rquickjs::Result<JsResponse> {
    // Any number: whether it is an HTTP status is the server's question.
    let status = out
        .get::<_, Value>("status")?
        .as_number()
        .unwrap_or(f64::NAN);
    let mut headers = Vec::new();
    let list: rquickjs::Array = out.get("headers")?;
    for pair in list.iter::<rquickjs::Array>() {
        let pair = pair?;
        headers.push((pair.get::<String>(0)?, pair.get::<String>(1)?));
    }
    let body: Value = out.get("body")?;
    let body = if body.is_null() || body.is_undefined() {
        Vec::new()
    } else if let Some(s) = body.as_string() {
        s.to_string()?.into_bytes()
    } else {
        host::bytes_of(ctx, &body)?
    };
    Ok(JsResponse {
        status,
        headers,
        body,
    })
}
