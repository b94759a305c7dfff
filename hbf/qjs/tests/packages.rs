//! Packages in a pod: bare specifiers and `#` imports resolved through
//! `node_modules` and `package.json` (`exports`, `imports`, conditions,
//! patterns, `module`/`main`), the import map first, nothing outside the
//! pod; and modules of packages running in both isolation modes.

mod common;

use std::collections::HashMap;

use hbf_qjs::{resolve_in, EngineConfig, ImportMap, Isolation, PackageFiles};

/// A pod's files in memory.
struct Files(HashMap<String, Vec<u8>>);

impl PackageFiles for Files {
    fn read(&self, path: &str) -> hbf_qjs::Result<Option<Vec<u8>>> {
        Ok(self.0.get(path).cloned())
    }
    fn exists(&self, path: &str) -> hbf_qjs::Result<bool> {
        Ok(self.0.contains_key(path))
    }
}

fn files(list: &[(&str, &str)]) -> Files {
    Files(
        list.iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect(),
    )
}

/// A pod with packages in every shape the rules cover.
fn pod() -> Files {
    files(&[
        ("hbf/server.js", ""),
        // exports with conditions, in file order: `node` and `require` are not ours.
        (
            "node_modules/cond/package.json",
            r#"{"exports": {".": {"types": "./t.d.ts", "node": "./node.js", "require": "./c.cjs", "import": "./esm.js", "default": "./d.js"}, "./browser": {"default": "./d.js", "browser": "./b.js"}, "./nested": {"worker": {"import": "./w.js"}, "default": "./d.js"}, "./gone": null, "./fallback": ["./f.js"]}}"#,
        ),
        // Patterns: the most specific wins; a null pattern excludes.
        (
            "node_modules/pat/package.json",
            r#"{"exports": {"./*": "./dist/*.js", "./lib/*.js": "./dist/lib/*.js", "./lib/private/*": null, "./data/*": "./d/*"}}"#,
        ),
        (
            "node_modules/@scope/pkg/package.json",
            r#"{"exports": "./main.js"}"#,
        ),
        (
            "node_modules/legacy/package.json",
            r#"{"module": "./esm/index.js", "main": "./cjs/index.js"}"#,
        ),
        (
            "node_modules/mainonly/package.json",
            r#"{"main": "lib/entry"}"#,
        ),
        ("node_modules/mainonly/lib/entry.js", ""),
        ("node_modules/bare/package.json", "{}"),
        (
            "node_modules/cjs/package.json",
            r#"{"exports": {"require": "./index.cjs"}}"#,
        ),
        (
            "node_modules/cjsmain/package.json",
            r#"{"main": "./index.cjs"}"#,
        ),
        (
            "node_modules/escape/package.json",
            r#"{"exports": {".": "./../../hbf/server.js", "./abs": "/etc/passwd", "./nm": "./node_modules/x/y.js", "./star/*": "./s/*"}}"#,
        ),
        (
            "node_modules/badmain/package.json",
            r#"{"main": "../../etc/passwd"}"#,
        ),
        ("node_modules/broken/package.json", "{"),
        (
            "node_modules/mixed/package.json",
            r#"{"exports": {".": "./a.js", "import": "./b.js"}}"#,
        ),
        // imports: `#` names, a pattern, and one that names another package.
        (
            "node_modules/withimports/package.json",
            r##"{"exports": "./index.js", "imports": {"#util": {"import": "./src/util.js"}, "#dep": "cond", "#int/*": "./internal/*.js", "#up": "../x.js"}}"##,
        ),
        // A nested copy of a dependency wins over the top-level one.
        (
            "node_modules/outer/package.json",
            r#"{"exports": "./index.js"}"#,
        ),
        (
            "node_modules/outer/node_modules/cond/package.json",
            r#"{"exports": "./inner.js"}"#,
        ),
        (
            "hbf/node_modules/local/package.json",
            r#"{"exports": "./l.js"}"#,
        ),
        (
            "package.json",
            r##"{"imports": {"#config": "./hbf/config.js"}}"##,
        ),
    ])
}

fn ok(files: &Files, base: &str, specifier: &str) -> String {
    resolve_in(files, &ImportMap::default(), base, specifier)
        .unwrap_or_else(|e| panic!("{specifier}: {e}"))
}

fn err(files: &Files, base: &str, specifier: &str) -> String {
    match resolve_in(files, &ImportMap::default(), base, specifier) {
        Ok(path) => panic!("{specifier} resolved to {path}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn exports_conditions_patterns_and_fallbacks() {
    let p = pod();
    let s = "hbf/server.js";
    assert_eq!(ok(&p, s, "cond"), "node_modules/cond/esm.js");
    // `default` comes first in the file, so it wins: file order decides.
    assert_eq!(ok(&p, s, "cond/browser"), "node_modules/cond/d.js");
    assert_eq!(ok(&p, s, "cond/nested"), "node_modules/cond/w.js");
    assert_eq!(ok(&p, s, "cond/fallback"), "node_modules/cond/f.js");
    assert_eq!(ok(&p, s, "pat/a/b"), "node_modules/pat/dist/a/b.js");
    assert_eq!(ok(&p, s, "pat/lib/x.js"), "node_modules/pat/dist/lib/x.js");
    assert_eq!(ok(&p, s, "pat/data/x.json"), "node_modules/pat/d/x.json");
    assert_eq!(ok(&p, s, "@scope/pkg"), "node_modules/@scope/pkg/main.js");
    assert_eq!(ok(&p, s, "legacy"), "node_modules/legacy/esm/index.js");
    assert_eq!(ok(&p, s, "legacy/other.js"), "node_modules/legacy/other.js");
    assert_eq!(ok(&p, s, "mainonly"), "node_modules/mainonly/lib/entry.js");
    assert_eq!(ok(&p, s, "bare"), "node_modules/bare/index.js");
}

#[test]
fn lookup_walks_up_and_imports_resolve() {
    let p = pod();
    assert_eq!(
        ok(&p, "node_modules/outer/index.js", "cond"),
        "node_modules/outer/node_modules/cond/inner.js"
    );
    assert_eq!(
        ok(&p, "node_modules/outer/lib/deep/x.js", "cond"),
        "node_modules/outer/node_modules/cond/inner.js"
    );
    assert_eq!(
        ok(&p, "hbf/lib/a.js", "local"),
        "hbf/node_modules/local/l.js"
    );
    let w = "node_modules/withimports/index.js";
    assert_eq!(ok(&p, w, "#util"), "node_modules/withimports/src/util.js");
    assert_eq!(ok(&p, w, "#dep"), "node_modules/cond/esm.js");
    assert_eq!(
        ok(&p, w, "#int/a"),
        "node_modules/withimports/internal/a.js"
    );
    assert_eq!(ok(&p, "hbf/server.js", "#config"), "hbf/config.js");
}

#[test]
fn the_import_map_wins() {
    let p = pod();
    let map = ImportMap::parse(br#"{"imports": {"cond": "/hbf/mine.js"}}"#).unwrap();
    assert_eq!(
        resolve_in(&p, &map, "hbf/server.js", "cond").unwrap(),
        "hbf/mine.js"
    );
}

#[test]
fn failures_name_the_specifier_the_importer_and_why() {
    let p = pod();
    let s = "hbf/server.js";
    let e = err(&p, s, "cond/missing");
    assert!(e.contains("cond/missing") && e.contains(s), "{e}");
    assert!(e.contains("package 'cond' has no export './missing' for conditions workerd, worker, browser, import, default"), "{e}");
    let e = err(&p, s, "cond/gone");
    assert!(e.contains("has no export './gone'"), "{e}");
    let e = err(&p, s, "pat/lib/private/x");
    assert!(e.contains("has no export './lib/private/x'"), "{e}");
    let e = err(&p, s, "nothere/x");
    assert!(e.contains("no package 'nothere' is installed in the pod (looked in hbf/node_modules, node_modules"), "{e}");
    let e = err(&p, s, "cjs");
    assert!(e.contains("has no export '.'"), "{e}");
    let e = err(&p, s, "cjsmain");
    assert!(
        e.contains("CommonJS") && e.contains("node_modules/cjsmain/index.cjs"),
        "{e}"
    );
    let e = err(&p, s, "broken");
    assert!(
        e.contains("node_modules/broken/package.json is not valid JSON"),
        "{e}"
    );
    let e = err(&p, s, "mixed");
    assert!(e.contains("invalid \"exports\""), "{e}");
    let e = err(&p, "node_modules/withimports/index.js", "#nope");
    assert!(e.contains("has no \"imports\" entry '#nope'"), "{e}");
    for bad in ["@scope", ".hidden", "a\\b", "@s/../x"] {
        err(&p, s, bad);
    }
}

#[test]
fn nothing_resolves_outside_a_package() {
    let p = pod();
    let s = "hbf/server.js";
    for (specifier, why) in [
        ("escape", "'..'"),
        ("escape/abs", "does not start with './'"),
        ("escape/nm", "'node_modules'"),
        ("escape/star/../../../hbf/server.js", "what '*' matched"),
        ("escape/star/a/../../x", "what '*' matched"),
        ("badmain", "leaves the package"),
    ] {
        let e = err(&p, s, specifier);
        assert!(e.contains(why), "{specifier}: {e}");
    }
    let e = err(&p, "node_modules/withimports/index.js", "#up");
    assert!(e.contains("does not start with './'"), "{e}");
}

fn engine(files: &[(&str, &str)], isolation: Isolation) -> hbf_qjs::Engine {
    let config = EngineConfig {
        isolation,
        isolation_from_pod: false,
        ..EngineConfig::default()
    };
    common::engine(files, config)
}

#[test]
fn package_modules_run_in_both_modes() {
    let server = r#"
import { greet } from 'greeter'
import { version } from 'greeter/version'
import data from 'greeter/data.json' with { type: 'json' }
import { id } from '@acme/ids'
export default {
  async fetch() {
    const lazy = await import('greeter/lazy')
    return Response.json({ greeting: greet('pod'), version, data, id: id(), lazy: lazy.default })
  },
}
"#;
    let files = [
        ("hbf/server.js", server),
        (
            "node_modules/greeter/package.json",
            r#"{"type": "module", "exports": {".": {"require": "./index.cjs", "workerd": "./worker.js", "default": "./index.js"}, "./version": "./src/version.js", "./data.json": "./data.json", "./lazy": "./lazy.js"}}"#,
        ),
        (
            "node_modules/greeter/worker.js",
            "import { prefix } from '#prefix'\nexport const greet = (n) => `${prefix} ${n}`\n",
        ),
        (
            "node_modules/greeter/index.js",
            "export const greet = () => 'wrong condition'\n",
        ),
        ("node_modules/greeter/index.cjs", "module.exports = 1\n"),
        (
            "node_modules/greeter/src/version.js",
            "export const version = '1.2.3'\n",
        ),
        ("node_modules/greeter/data.json", "{\"ok\": true}"),
        ("node_modules/greeter/lazy.js", "export default 'lazy'\n"),
        (
            "node_modules/greeter/prefix.js",
            "export const prefix = 'hello'\n",
        ),
        ("node_modules/greeter/package.json.bak", ""),
        (
            "node_modules/@acme/ids/package.json",
            r#"{"module": "./esm.js", "main": "./cjs.js"}"#,
        ),
        (
            "node_modules/@acme/ids/esm.js",
            "export const id = () => 'id-1'\n",
        ),
    ];
    let mut with_imports: Vec<(&str, &str)> = files.to_vec();
    with_imports[1].1 = r##"{"type": "module", "imports": {"#prefix": "./prefix.js"}, "exports": {".": {"require": "./index.cjs", "workerd": "./worker.js", "default": "./index.js"}, "./version": "./src/version.js", "./data.json": "./data.json", "./lazy": "./lazy.js"}}"##;
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let mut e = engine(&with_imports, isolation);
        assert_eq!(
            common::json(&mut e, "/"),
            serde_json::json!({"greeting": "hello pod", "version": "1.2.3", "data": {"ok": true}, "id": "id-1", "lazy": "lazy"}),
            "{isolation:?}"
        );
    }
}

#[test]
fn an_unresolvable_package_import_is_a_clear_error() {
    let server =
        "import { x } from 'hono/nope'\nexport default { fetch() { return new Response(x) } }\n";
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let config = EngineConfig {
            isolation,
            isolation_from_pod: false,
            ..EngineConfig::default()
        };
        let db = hbf_db::Database::memory().unwrap();
        db.fs().write("hbf/server.js", server).unwrap();
        db.fs()
            .write(
                "node_modules/hono/package.json",
                r#"{"exports": {".": "./index.js"}}"#,
            )
            .unwrap();
        let modules = hbf_qjs::PodCode::new(db.clone());
        let message = match hbf_qjs::Engine::new(db, modules, config) {
            Err(e) => e.to_string(),
            Ok(mut engine) => engine.handle(&common::get("/")).unwrap_err().to_string(),
        };
        assert!(
            message.contains("hono/nope")
                && message.contains("hbf/server.js")
                && message.contains("package 'hono' has no export './nope' for conditions workerd, worker, browser, import, default"),
            "{isolation:?}: {message}"
        );
    }
}
