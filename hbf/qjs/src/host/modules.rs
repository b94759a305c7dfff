//! The host modules (`hbf:db`, `hbf:fs`, `hbf:blob`, `hbf:console`,
//! `hbf:jsx`) as a resolver and loader of their own, composed before the
//! pod's ([`crate::PodCode`]) as LLRT composes its `ModuleBuilder`s: a
//! name it does not know falls through to the pod.

use rquickjs::{Ctx, Module};

use super::{DbModule, FsModule};
use crate::bytecode;
use crate::hooks::ModuleSource;

/// `hbf:console`: the console functions as a module.
const CONSOLE_SOURCE: &str = "\
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
const JSX_SOURCE: &str = include_str!("../../js/jsx.js");

/// The names the host modules answer to (the JSX runtime also under the
/// names the automatic JSX transform imports).
const NAMES: [&str; 7] = [
    "hbf:db",
    "hbf:fs",
    "hbf:blob",
    "hbf:console",
    "hbf:jsx",
    "hbf:jsx/jsx-runtime",
    "hbf:jsx/jsx-dev-runtime",
];

/// The host modules' resolver and loader.
#[derive(Clone, Copy, Default)]
pub(crate) struct HostModules;

impl ModuleSource for HostModules {
    fn resolve(&self, base: &str, name: &str) -> rquickjs::Result<String> {
        match NAMES.contains(&name) {
            true => Ok(name.to_owned()),
            // No message: the pod's resolver, next, says why it fails.
            false => Err(rquickjs::Error::new_resolving(base, name)),
        }
    }

    fn load<'js>(&self, ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Module<'js>> {
        let Some(&name) = NAMES.iter().find(|n| **n == name) else {
            return Err(rquickjs::Error::new_loading(name));
        };
        match name {
            "hbf:db" => Module::declare_def::<DbModule, _>(ctx.clone(), name),
            "hbf:fs" => Module::declare_def::<FsModule, _>(ctx.clone(), name),
            "hbf:blob" => Module::declare_def::<super::blob::BlobModule, _>(ctx.clone(), name),
            "hbf:console" => embedded(ctx, name, CONSOLE_SOURCE),
            // The JSX runtime, under each of its names.
            _ => embedded(ctx, name, JSX_SOURCE),
        }
    }
}

/// A host module written in JavaScript, from the bytecode compiled once per
/// process.
fn embedded<'js>(
    ctx: &Ctx<'js>,
    name: &'static str,
    source: &'static str,
) -> rquickjs::Result<Module<'js>> {
    bytecode::embedded(name, source)
        .map_err(|e| rquickjs::Error::new_loading_message(name, e.to_string()))?
        .load(ctx)
}
