//! The packer keeps only the package files a pod's modules reach, and the
//! packed pod runs them from bytecode.

use std::path::Path;

use hbf_db::Database;
use hbf_pack::{pack, PackOptions};
use hbf_qjs::{EngineConfig, Isolation, PodCode};

fn write(root: &Path, path: &str, text: &str) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

/// A pod with packages: some of their files reached, most not.
fn pod_with_packages() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "hbf/server.js",
        "import { greet } from 'greeter'\nimport { one } from '#one'\nexport default { async fetch() { const { n } = await import('@acme/num'); return new Response(greet(one + n)) } }\n",
    );
    write(
        root,
        "hbf/lib/one.ts",
        "import type { T } from 'types-only'\nimport { page } from './page.tsx'\nexport const one: number = page\n",
    );
    // The JSX runtime is imported by the transform, not by the source.
    write(
        root,
        "hbf/lib/page.tsx",
        "/** @jsxImportSource jsxlib */\nexport const page = <p />\n",
    );
    write(
        root,
        "node_modules/jsxlib/package.json",
        r#"{"exports": {"./jsx-runtime": "./rt.js"}}"#,
    );
    write(
        root,
        "node_modules/jsxlib/rt.js",
        "export const jsx = () => 1, jsxs = jsx, Fragment = 0\n",
    );
    write(
        root,
        "package.json",
        r##"{"dependencies": {"greeter": "1"}, "imports": {"#one": "./hbf/lib/one.ts"}}"##,
    );
    write(root, "package-lock.json", "{}");
    write(
        root,
        "node_modules/greeter/package.json",
        r#"{"type": "module", "exports": {".": {"require": "./cjs/index.cjs", "import": "./esm/index.js"}}}"#,
    );
    write(
        root,
        "node_modules/greeter/esm/index.js",
        "export { greet } from './greet.js'\n",
    );
    write(
        root,
        "node_modules/greeter/esm/greet.js",
        "import { fmt } from 'fmt'\nexport const greet = (n) => fmt(n)\n",
    );
    write(
        root,
        "node_modules/greeter/esm/unused.js",
        "export const x = 1\n",
    );
    write(
        root,
        "node_modules/greeter/cjs/index.cjs",
        &"module.exports = 1\n".repeat(1000),
    );
    write(
        root,
        "node_modules/greeter/README.md",
        &"docs ".repeat(10_000),
    );
    write(
        root,
        "node_modules/greeter/index.d.ts",
        "export declare const greet: (n: number) => string\n",
    );
    // A dependency of a dependency, nested, and a top-level one nobody imports.
    write(
        root,
        "node_modules/greeter/node_modules/fmt/package.json",
        r#"{"module": "./fmt.js"}"#,
    );
    write(
        root,
        "node_modules/greeter/node_modules/fmt/fmt.js",
        "export const fmt = (n) => `got ${n}`\n",
    );
    write(
        root,
        "node_modules/fmt/package.json",
        r#"{"module": "./wrong.js"}"#,
    );
    write(
        root,
        "node_modules/fmt/wrong.js",
        "export const fmt = () => 'wrong'\n",
    );
    write(
        root,
        "node_modules/@acme/num/package.json",
        r#"{"exports": "./n.js"}"#,
    );
    write(root, "node_modules/@acme/num/n.js", "export const n = 41\n");
    write(
        root,
        "node_modules/types-only/package.json",
        r#"{"exports": "./t.js"}"#,
    );
    write(root, "node_modules/types-only/t.js", "export {}\n");
    write(root, "node_modules/.bin/tool", "#!/bin/sh\n");
    dir
}

#[test]
fn only_the_package_files_the_pod_reaches_are_packed() {
    let pod = pod_with_packages();
    let out = tempfile::tempdir().unwrap();
    let report = pack(
        pod.path(),
        &out.path().join("fs.db"),
        &PackOptions::default(),
    )
    .unwrap();
    let db =
        Database::memory_from_template(&std::fs::read(out.path().join("fs.db")).unwrap()).unwrap();
    let mut packed: Vec<String> = db
        .fs()
        .list("node_modules/")
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    packed.sort();
    assert_eq!(
        packed,
        [
            "node_modules/@acme/num/n.js",
            "node_modules/@acme/num/package.json",
            "node_modules/greeter/esm/greet.js",
            "node_modules/greeter/esm/index.js",
            "node_modules/greeter/node_modules/fmt/fmt.js",
            "node_modules/greeter/node_modules/fmt/package.json",
            "node_modules/greeter/package.json",
            "node_modules/jsxlib/package.json",
            "node_modules/jsxlib/rt.js",
        ]
    );
    assert_eq!(report.dropped.files, 9, "{report}");
    assert!(report.dropped.bytes > 50_000, "{report}");
    assert!(
        report.to_string().contains("left out 9 package files"),
        "{report}"
    );
    // The package modules were compiled too: 3 pod modules + 5 package ones.
    assert_eq!(report.modules, 8, "{report}");

    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let config = EngineConfig {
            isolation,
            isolation_from_pod: false,
            ..EngineConfig::default()
        };
        let modules = PodCode::new(db.clone()).with_log();
        let mut engine = hbf_qjs::Engine::new(db.clone(), modules.clone(), config).unwrap();
        let request = hbf_qjs::JsRequest {
            id: 1,
            method: "GET".into(),
            url: "http://localhost/".into(),
            path: "/".into(),
            query: String::new(),
            headers: vec![],
            body: vec![],
        };
        let response = engine.handle(&request).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&response.body),
            "got 42",
            "{isolation:?}"
        );
        let from_source: Vec<_> = modules
            .log()
            .entries()
            .into_iter()
            .filter(|(_, from)| *from == hbf_qjs::LoadedFrom::Source)
            .collect();
        assert!(from_source.is_empty(), "{isolation:?}: {from_source:?}");
    }
}

#[test]
fn a_pod_without_packages_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "hbf/server.js",
        "import x from 'unmapped'\nexport default { fetch() { return new Response(x) } }\n",
    );
    write(dir.path(), "static/a.txt", "a");
    let out = tempfile::tempdir().unwrap();
    let report = pack(
        dir.path(),
        &out.path().join("fs.db"),
        &PackOptions::default(),
    )
    .unwrap();
    assert_eq!(report.files, 2);
    assert_eq!(report.dropped.files, 0);
}
