//! Compiling ES modules to QuickJS bytecode.
//!
//! Compiling only parses and nothing runs. QuickJS does look up a module's imports
//! while compiling it, so the compiler's runtime answers every import with an empty
//! stand-in module: a module compiles without its dependencies or host modules,
//! and its bytecode records only the specifiers, resolved for real at run time. The bytecode embeds
//! the module's name (its pod path), against which its relative imports resolve
//! at run time, and keeps debug information so that stack traces show lines.
//!
//! TypeScript and JSX modules (`.ts`, `.mts`, `.tsx`, `.jsx`) are transformed to
//! JavaScript first ([`hbf_ts`]), keeping their lines and their own names, so a
//! stack trace shows `hbf/lib/x.ts:12`. Their bytecode depends on the transform's
//! settings as well as on the source, so it is stored under [`module_key`]
//! instead of the source's hash.

use std::sync::OnceLock;

use rquickjs::{Context, Ctx, Module, Object, Runtime, Value, WriteOptions};
use sha2::{Digest, Sha256};

use crate::hooks::{Hooks, ModuleSource};
use crate::{Error, Result};

/// A QuickJS runtime kept for compiling many modules in a row.
pub struct Compiler {
    // Field order matters: the context must be dropped before its runtime.
    context: Context,
    _runtime: Runtime,
}

impl Compiler {
    pub fn new() -> Result<Self> {
        let runtime = Runtime::new()?;
        runtime.set_loader(Hooks(StandIns), Hooks(StandIns));
        let context = Context::full(&runtime)?;
        Ok(Self {
            context,
            _runtime: runtime,
        })
    }

    /// Compiles the pod module `name`: transformed first if it is TypeScript or
    /// JSX ([`hbf_ts::is_transformed`]) with the pod's settings `ts`, then
    /// [`compile_module`](Self::compile_module). Errors name the module as the
    /// pod wrote it, with line and column.
    pub fn compile_pod_module(
        &self,
        name: &str,
        source: &[u8],
        ts: &hbf_ts::Options,
    ) -> Result<Vec<u8>> {
        if hbf_ts::is_transformed(name) {
            let js = hbf_ts::transform(name, source, ts)?;
            self.compile_module(name, js.as_bytes())
        } else {
            self.compile_module(name, source)
        }
    }

    /// Parses `source` as the ES module `name` and returns its bytecode, or a
    /// [`Error::Syntax`] that names the module, line and column.
    pub fn compile_module(&self, name: &str, source: &[u8]) -> Result<Vec<u8>> {
        self.context.with(|ctx| {
            let module = Module::declare(ctx.clone(), name, source)
                .map_err(|e| exception_error(&ctx, name, e))?;
            Ok(module.write(WriteOptions::default())?)
        })
    }
}

/// Resolves every import to its specifier and loads an empty module for it.
#[derive(Clone, Copy)]
struct StandIns;

impl ModuleSource for StandIns {
    fn resolve(&self, _base: &str, name: &str) -> rquickjs::Result<String> {
        Ok(name.to_owned())
    }

    fn load<'js>(&self, ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Module<'js>> {
        Module::declare(ctx.clone(), name, "")
    }
}

/// Identifies this engine build: the SHA-256 of the bytecode it writes for a
/// reference module. Bytecode is stored with this fingerprint and loaded only by an
/// engine with the same one, so an upgraded QuickJS never reads bytecode in a
/// format it does not share.
pub fn engine_fingerprint() -> &'static [u8; 32] {
    static FINGERPRINT: OnceLock<[u8; 32]> = OnceLock::new();
    FINGERPRINT.get_or_init(|| {
        const REFERENCE: &str = "import { a } from './a.js';\n\
            export const f = async (x, ...r) => ({ x, r, y: `${a}`, z: 1n << 65n, w: /a+b/giu });\n\
            export class C extends Array { #p = 1; static s = null; get p() { return this.#p?.toString(); } }\n";
        let bytecode = Compiler::new()
            .and_then(|c| c.compile_module("hbf/fingerprint.js", REFERENCE.as_bytes()))
            .expect("the reference module compiles");
        let mut hash = Sha256::new();
        hash.update(b"rquickjs 0.14 / quickjs-ng\0");
        hash.update(&bytecode);
        hash.finalize().into()
    })
}

/// The key a module's bytecode is stored under in the module cache: the
/// source's SHA-256 for JavaScript; for a transformed module, a hash of that and
/// of everything else its JavaScript depends on (the transformer's version and
/// the pod's settings), so a changed `hbf/tsconfig.json` or a new transformer
/// never reuses bytecode made from another transform.
pub fn module_key(module: &str, source_sha256: [u8; 32], ts: &hbf_ts::Options) -> [u8; 32] {
    if !hbf_ts::is_transformed(module) {
        return source_sha256;
    }
    let mut hash = Sha256::new();
    hash.update(b"hbf-ts\0");
    hash.update(ts.cache_tag().as_bytes());
    hash.update(b"\0");
    hash.update(source_sha256);
    hash.finalize().into()
}

/// Turns a failed evaluation into an error carrying the JavaScript exception.
pub(crate) fn exception_error(ctx: &Ctx<'_>, module: &str, error: rquickjs::Error) -> Error {
    if !matches!(error, rquickjs::Error::Exception) {
        return Error::Engine(error);
    }
    let thrown = ctx.catch();
    let (name, message, stack) = describe(&thrown);
    if name == "SyntaxError" {
        Error::Syntax {
            location: first_location(&stack).unwrap_or_else(|| module.to_owned()),
            message,
        }
    } else {
        Error::Exception {
            module: module.to_owned(),
            message: if stack.is_empty() {
                format!("{name}: {message}")
            } else {
                format!("{name}: {message}\n{stack}")
            },
        }
    }
}

/// The name, message and stack of a thrown value (anything may be thrown).
pub(crate) fn describe(thrown: &Value<'_>) -> (String, String, String) {
    if let Some(obj) = thrown.as_object() {
        let get = |o: &Object<'_>, key: &str| o.get::<_, Option<String>>(key).ok().flatten();
        let name = get(obj, "name").unwrap_or_else(|| "Error".into());
        let message = get(obj, "message").unwrap_or_default();
        let stack = get(obj, "stack").unwrap_or_default();
        return (name, message, stack);
    }
    let text = thrown
        .as_string()
        .and_then(|s| s.to_string().ok())
        .unwrap_or_else(|| format!("{thrown:?}"));
    ("Error".into(), text, String::new())
}

/// `file:line:column` from the first frame of a QuickJS stack ("    at f (x.js:3:5)").
fn first_location(stack: &str) -> Option<String> {
    let line = stack.lines().next()?.trim();
    let loc = line.strip_prefix("at ")?;
    let loc = match (loc.rfind('('), loc.ends_with(')')) {
        (Some(open), true) => &loc[open + 1..loc.len() - 1],
        _ => loc,
    };
    Some(loc.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_without_resolving_imports() {
        let c = Compiler::new().unwrap();
        let bc = c
            .compile_module(
                "hbf/x.js",
                b"import { y } from './missing.js'; export const x = y + 1;",
            )
            .unwrap();
        assert!(!bc.is_empty());
        // Deterministic: the same source gives the same bytes.
        let again = Compiler::new()
            .unwrap()
            .compile_module(
                "hbf/x.js",
                b"import { y } from './missing.js'; export const x = y + 1;",
            )
            .unwrap();
        assert_eq!(bc, again);
    }

    #[test]
    fn syntax_errors_name_the_module_and_line() {
        let c = Compiler::new().unwrap();
        let err = c
            .compile_module("hbf/lib/bad.js", b"export const ok = 1;\n\nconst x = (;\n")
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Syntax { .. }), "{msg}");
        assert!(msg.starts_with("hbf/lib/bad.js:3"), "{msg}");
        // The compiler stays usable after an error.
        c.compile_module("hbf/ok.js", b"export default 1;").unwrap();
    }

    #[test]
    fn typescript_compiles_and_its_errors_name_the_ts_file() {
        let c = Compiler::new().unwrap();
        let ts = hbf_ts::Options::default();
        c.compile_pod_module("hbf/a.ts", b"export const a: number = 1;\n", &ts)
            .unwrap();
        let err = c
            .compile_pod_module("hbf/lib/b.ts", b"\nexport const a: = 1;\n", &ts)
            .unwrap_err();
        assert!(matches!(err, Error::Syntax { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("hbf/lib/b.ts:2:17: SyntaxError: "),
            "{err}"
        );
        // JavaScript is not transformed: type syntax in a .js file is QuickJS's error.
        let err = c
            .compile_pod_module("hbf/c.js", b"export const a: number = 1;\n", &ts)
            .unwrap_err();
        assert!(err.to_string().starts_with("hbf/c.js:1"), "{err}");
    }

    #[test]
    fn transformed_modules_are_keyed_by_their_settings_too() {
        let sha = [7; 32];
        let ts = hbf_ts::Options::default();
        assert_eq!(module_key("hbf/a.js", sha, &ts), sha);
        let key = module_key("hbf/a.tsx", sha, &ts);
        assert_ne!(key, sha);
        let preact = hbf_ts::Options {
            jsx_import_source: "preact".into(),
        };
        assert_ne!(module_key("hbf/a.tsx", sha, &preact), key);
    }

    #[test]
    fn the_fingerprint_is_stable() {
        assert_eq!(engine_fingerprint(), engine_fingerprint());
    }
}
