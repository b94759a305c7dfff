//! The WHATWG URL parser for `URL` (`js/web.js`): the `url` crate (Servo's,
//! which follows the URL Standard and its web-platform tests), with the
//! standard's getters and setters from its `quirks` module. JavaScript keeps
//! only the object around the parts this returns.

use rquickjs::function::Opt;
use rquickjs::{Array, Ctx};
use url::{quirks, Url};

/// A URL's parts in the order `js/web.js` reads them: href, origin,
/// protocol, username, password, host, hostname, port, pathname, search,
/// hash.
fn parts<'js>(ctx: &Ctx<'js>, url: &Url) -> rquickjs::Result<Array<'js>> {
    let list = Array::new(ctx.clone())?;
    let origin = quirks::origin(url);
    let values: [&str; 11] = [
        quirks::href(url),
        &origin,
        quirks::protocol(url),
        quirks::username(url),
        quirks::password(url),
        quirks::host(url),
        quirks::hostname(url),
        quirks::port(url),
        quirks::pathname(url),
        quirks::search(url),
        quirks::hash(url),
    ];
    for (i, value) in values.into_iter().enumerate() {
        list.set(i, value)?;
    }
    Ok(list)
}

/// `new URL(input, base)`: the parts, or `None` when either does not parse.
pub(super) fn parse<'js>(
    ctx: Ctx<'js>,
    input: String,
    base: Opt<String>,
) -> rquickjs::Result<Option<Array<'js>>> {
    let parsed = match base.0 {
        Some(base) => Url::parse(&base).and_then(|base| base.join(&input)),
        None => Url::parse(&input),
    };
    parsed.ok().map(|url| parts(&ctx, &url)).transpose()
}

/// Sets the URL `href`'s part `setter` to `value` as the standard's setter
/// does (ignoring what it ignores); the new parts, or `None` for an unknown
/// setter or an `href` that does not parse.
pub(super) fn set<'js>(
    ctx: Ctx<'js>,
    href: String,
    setter: String,
    value: String,
) -> rquickjs::Result<Option<Array<'js>>> {
    let Ok(mut url) = Url::parse(&href) else {
        return Ok(None);
    };
    let url_ref = &mut url;
    // The setters report failure by leaving the URL as it was, as the
    // standard's do.
    let _ = match setter.as_str() {
        "protocol" => quirks::set_protocol(url_ref, &value),
        "username" => quirks::set_username(url_ref, &value),
        "password" => quirks::set_password(url_ref, &value),
        "host" => quirks::set_host(url_ref, &value),
        "hostname" => quirks::set_hostname(url_ref, &value),
        "port" => quirks::set_port(url_ref, &value),
        "pathname" => {
            quirks::set_pathname(url_ref, &value);
            Ok(())
        }
        "search" => {
            quirks::set_search(url_ref, &value);
            Ok(())
        }
        "hash" => {
            quirks::set_hash(url_ref, &value);
            Ok(())
        }
        _ => return Ok(None),
    };
    parts(&ctx, &url).map(Some)
}
