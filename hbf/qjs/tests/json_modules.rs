//! JSON modules (`import data from './x.json' with { type: 'json' }`) and
//! the clear error for Node's `node:` modules, in both isolation modes.

mod common;

use hbf_qjs::{EngineConfig, Isolation};
use serde_json::json;

fn engine(files: &[(&str, &str)], isolation: Isolation) -> hbf_qjs::Engine {
    let config = EngineConfig {
        isolation,
        isolation_from_pod: false,
        ..EngineConfig::default()
    };
    common::engine(files, config)
}

#[test]
fn a_json_file_imports_as_its_value() {
    let server = r#"
import config from './config.json' with { type: 'json' }
import again from '/hbf/config.json' with { type: 'json' }
import list from './data/list.json' with { type: 'json' }
export default {
  fetch() {
    config.mutated = true // a module's value is shared by its importers, as in browsers
    return Response.json({ config, same: config === again, list })
  },
}
"#;
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let mut e = engine(
            &[
                ("hbf/server.js", server),
                // A line separator, a quote and a would-be script: data, never code.
                ("hbf/config.json", "{\"name\": \"hbf\", \"sep\": \"a\u{2028}b\", \"code\": \"\\\"); globalThis.x = 1; (\\\"\"}"),
                ("hbf/data/list.json", "[1, 2.5, null, true, {\"k\": []}]"),
            ],
            isolation,
        );
        assert_eq!(
            common::json(&mut e, "/"),
            json!({
                "config": {"name": "hbf", "sep": "a\u{2028}b", "code": "\"); globalThis.x = 1; (\"", "mutated": true},
                "same": true,
                "list": [1, 2.5, null, true, {"k": []}],
            }),
            "{isolation:?}"
        );
    }
}

#[test]
fn a_json_module_that_is_not_json_is_an_error_naming_it() {
    let server = "import bad from './bad.json' with { type: 'json' }\nexport default { fetch() { return new Response('') } }\n";
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let config = EngineConfig {
            isolation,
            isolation_from_pod: false,
            ..EngineConfig::default()
        };
        let db = hbf_db::Database::memory().unwrap();
        db.fs().write("hbf/server.js", server).unwrap();
        db.fs()
            .write("hbf/bad.json", "{ name: 'not json' }")
            .unwrap();
        let modules = hbf_qjs::PodCode::new(db.clone());
        let message = match hbf_qjs::Engine::new(db, modules, config) {
            Err(e) => e.to_string(),
            Ok(mut engine) => engine.handle(&common::get("/")).unwrap_err().to_string(),
        };
        assert!(
            message.contains(
                "hbf/bad.json is imported as a JSON module but is not JSON: key must be a string"
            ),
            "{isolation:?}: {message}"
        );
    }
}

#[test]
fn a_node_module_is_a_clear_error() {
    let server =
        "import fs from 'node:fs'\nexport default { fetch() { return new Response('') } }\n";
    let db = hbf_db::Database::memory().unwrap();
    db.fs().write("hbf/server.js", server).unwrap();
    let modules = hbf_qjs::PodCode::new(db.clone());
    let config = EngineConfig {
        isolation: Isolation::Worker,
        isolation_from_pod: false,
        ..EngineConfig::default()
    };
    let message = match hbf_qjs::Engine::new(db, modules, config) {
        Err(e) => e.to_string(),
        Ok(mut engine) => engine.handle(&common::get("/")).unwrap_err().to_string(),
    };
    assert!(
        message.contains("cannot resolve \"node:fs\" imported from hbf/server.js: Node's built-in modules are not available in HBF"),
        "{message}"
    );
}
