//! The host modules written in JavaScript (`hbf:console`, `hbf:jsx`), and
//! the table of every host module.

use rquickjs::{Ctx, Module};

use super::{state, DbModule, FsModule};

/// `hbf:console`: the console functions as a module.
pub(crate) const CONSOLE_SOURCE: &str = "\
const c = globalThis.console;
export const log = (...a) => c.log(...a);
export const info = (...a) => c.info(...a);
export const warn = (...a) => c.warn(...a);
export const error = (...a) => c.error(...a);
export const debug = (...a) => c.debug(...a);
export default { log, info, warn, error, debug };
";

/// `hbf:jsx`: the built-in JSX runtime (`jsx`, `jsxs`, `Fragment`,
/// `renderToString`), plain JavaScript.
pub(crate) const JSX_SOURCE: &str = include_str!("../../js/jsx.js");
pub(crate) const JSX_NAME: &str = "hbf:jsx";

pub(crate) const CONSOLE_NAME: &str = "hbf:console";

/// A host module written in JavaScript, under `name`, from `bytecode`: what
/// the engine compiled from `source` as `canonical` once per worker (renamed
/// for another name, such as a per-request instance), so that no load parses
/// it again.
fn compiled_module<'js>(
    ctx: &Ctx<'js>,
    name: &str,
    canonical: &str,
    bytecode: &[u8],
    source: &str,
) -> rquickjs::Result<Module<'js>> {
    let bytecode = if name == canonical {
        std::borrow::Cow::Borrowed(bytecode)
    } else {
        match crate::instances::rename_module(bytecode, canonical, name) {
            Ok(renamed) => std::borrow::Cow::Owned(renamed),
            Err(_) => return Module::declare(ctx.clone(), name, source),
        }
    };
    // SAFETY: compiled at the engine's start in this process by this QuickJS
    // build from the source embedded in the binary (and renamed by
    // `rename_module`, which rewrites only the name); QuickJS copies it.
    unsafe { Module::load(ctx.clone(), &bytecode) }
}

/// Loads host module `module` under `name` (the same, or a per-request instance
/// name), or `None` if there is no such host module.
pub(crate) fn load_host_module<'js>(
    ctx: &Ctx<'js>,
    module: &str,
    name: &str,
) -> Option<rquickjs::Result<Module<'js>>> {
    Some(match module {
        "hbf:db" => Module::declare_def::<DbModule, _>(ctx.clone(), name),
        "hbf:fs" => Module::declare_def::<FsModule, _>(ctx.clone(), name),
        "hbf:blob" => Module::declare_def::<crate::blob::BlobModule, _>(ctx.clone(), name),
        "hbf:console" => state(ctx).and_then(|st| {
            compiled_module(
                ctx,
                name,
                CONSOLE_NAME,
                &st.console_bytecode,
                CONSOLE_SOURCE,
            )
        }),
        // The JSX runtime, under the names the automatic runtime imports too.
        "hbf:jsx" | "hbf:jsx/jsx-runtime" | "hbf:jsx/jsx-dev-runtime" => state(ctx)
            .and_then(|st| compiled_module(ctx, name, JSX_NAME, &st.jsx_bytecode, JSX_SOURCE)),
        _ => return None,
    })
}
