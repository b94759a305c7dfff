//! TypeScript and JSX pods in the engine: what they may use, how they are loaded
//! and reloaded, and where their errors point.

mod common;

use common::{get, json};
use hbf_db::Database;
use hbf_qjs::{Engine, EngineConfig, Isolation, JsError, PodCode};

/// An engine over `files` with `isolation`, and its loader (clones share the
/// transform count).
fn engine(files: &[(&str, &str)], isolation: Isolation) -> (Engine, PodCode, Database) {
    let db = Database::memory().unwrap();
    for (path, source) in files {
        db.fs().write(path, *source).unwrap();
    }
    let modules = PodCode::new(db.clone());
    let config = EngineConfig {
        isolation,
        isolation_from_pod: false,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(db.clone(), modules.clone(), config).unwrap();
    engine.warm_up();
    (engine, modules, db)
}

const MODES: [Isolation; 2] = [Isolation::Snapshot, Isolation::Worker];

/// A fetch-style server in TypeScript using the language's runtime-relevant
/// features: interfaces, generics, type-only imports, an enum, `satisfies`, a
/// class with parameter properties, a namespace, extension-free imports.
const SERVER_TS: &str = r#"import type { Shape } from "./lib/types.ts";
import { type Named, Kind, describe } from "./lib/shapes";
import { Stack } from "./lib/stack.ts";

interface Reply<T> {
  ok: boolean;
  value: T;
}

function reply<T>(value: T): Reply<T> {
  return { ok: true, value };
}

const config = { greeting: "hello", retries: 3 } satisfies Record<string, string | number>;

class Circle implements Shape, Named {
  constructor(public readonly name: string, private radius: number) {}
  area(): number {
    return Math.round(Math.PI * this.radius ** 2);
  }
}

namespace Units {
  export const cm = "cm";
}

export default {
  fetch(request: Request): Response {
    const stack = new Stack<number>();
    stack.push(1);
    stack.push(2);
    const c = new Circle("c", 2);
    const body = reply({
      kind: Kind.Square,
      kindName: Kind[Kind.Square],
      color: describe(c),
      area: c.area(),
      popped: stack.pop(),
      greeting: config.greeting,
      unit: Units.cm,
      fields: Object.keys(c),
    });
    return Response.json(body);
  },
};
"#;

const TYPES_TS: &str = "export interface Shape { area(): number }\n";

const SHAPES_TS: &str = r#"export interface Named { readonly name: string }
export enum Kind { Circle, Square = 5 }
export const enum Never { A }
export function describe<T extends Named>(thing: T): string {
  return `shape ${thing.name}`;
}
"#;

const STACK_TS: &str = r#"export class Stack<T> {
  private items: T[] = [];
  push(item: T): void { this.items.push(item); }
  pop(): T | undefined { return this.items.pop(); }
}
"#;

fn ts_pod() -> Vec<(&'static str, &'static str)> {
    vec![
        ("hbf/server.ts", SERVER_TS),
        ("hbf/lib/types.ts", TYPES_TS),
        ("hbf/lib/shapes.ts", SHAPES_TS),
        ("hbf/lib/stack.ts", STACK_TS),
    ]
}

#[test]
fn a_typescript_pod_runs_in_every_isolation() {
    for mode in MODES {
        let (mut engine, _, _) = engine(&ts_pod(), mode);
        let body = json(&mut engine, "/");
        assert_eq!(
            body,
            serde_json::json!({"ok": true, "value": {
                "kind": 5, "kindName": "Square", "color": "shape c", "area": 13,
                "popped": 2, "greeting": "hello", "unit": "cm", "fields": ["name", "radius"],
            }}),
            "{mode:?}"
        );
    }
}

#[test]
fn an_hbf_style_tsx_pod_renders_with_hbf_jsx() {
    let page = r#"import { renderToString } from "hbf:jsx";
type Item = { name: string; price: number };
function Row({ item }: { item: Item }) {
  return <li class="item" data-price={item.price}>{item.name}</li>;
}
export function Page({ items }: { items: Item[] }) {
  return (
    <>
      <h1 title={'"quoted" & <b>'}>Menu</h1>
      <ul>{items.map((item) => <Row item={item} />)}</ul>
      <br />
      <input disabled value="x" onClick={() => 1} />
      <div style={{ fontSize: "2px", color: "red" }} dangerouslySetInnerHTML={{ __html: "<i>raw</i>" }} />
      {false}{null}{0}
    </>
  );
}
globalThis.app = {
  handle(req: any, res: any) {
    const items: Item[] = [{ name: "<script>", price: 3 }, { name: "tea & cake", price: 4 }];
    res.set("content-type", "text/html").send(renderToString(<Page items={items} />));
  },
};
"#;
    for mode in MODES {
        let (mut engine, _, _) = engine(&[("hbf/server.tsx", page)], mode);
        let response = engine.handle(&get("/")).unwrap();
        assert_eq!(response.status, 200.0, "{mode:?}");
        assert_eq!(
            String::from_utf8(response.body).unwrap(),
            "<h1 title=\"&quot;quoted&quot; &amp; &lt;b&gt;\">Menu</h1>\
             <ul><li class=\"item\" data-price=\"3\">&lt;script&gt;</li>\
             <li class=\"item\" data-price=\"4\">tea &amp; cake</li></ul>\
             <br><input disabled value=\"x\">\
             <div style=\"font-size:2px;color:red\"><i>raw</i></div>0",
            "{mode:?}"
        );
    }
}

fn exception(result: Result<hbf_qjs::JsResponse, JsError>) -> (String, String) {
    match result {
        Err(JsError::Exception { message, stack }) => (message, stack),
        other => panic!("expected an exception, got {other:?}"),
    }
}

#[test]
fn an_error_thrown_in_a_ts_module_names_its_ts_line() {
    let lib = "// A comment, then types that vanish in JavaScript.\n\
        export interface Options {\n\
          strict: boolean;\n\
        }\n\
        type Id = string;\n\
        \n\
        export function check(id: Id, options: Options): never {\n\
          throw new Error(`bad id ${id} (strict: ${options.strict})`);\n\
        }\n";
    let server = "import { check } from './lib/check';\n\
        export default {\n\
          fetch(): Response {\n\
            check('x', { strict: true });\n\
            return new Response('unreachable');\n\
          },\n\
        };\n";
    for mode in MODES {
        let (mut engine, _, _) = engine(
            &[("hbf/server.ts", server), ("hbf/lib/check.ts", lib)],
            mode,
        );
        let (message, stack) = exception(engine.handle(&get("/")));
        assert_eq!(message, "Error: bad id x (strict: true)", "{mode:?}");
        assert!(stack.contains("hbf/lib/check.ts:8:"), "{mode:?}: {stack}");
        assert!(stack.contains("hbf/server.ts:4:"), "{mode:?}: {stack}");
        assert!(
            !stack.contains('#'),
            "{mode:?}: instance names leaked: {stack}"
        );
    }
}

#[test]
fn a_live_edit_of_a_ts_module_runs_next_request_transformed_once() {
    for mode in MODES {
        let (mut engine, modules, db) = engine(&ts_pod(), mode);
        json(&mut engine, "/");
        let before = modules.transforms();
        // Each module once at warm-up; lib/types.ts is imported for its types
        // only, so the import is gone and the module never loaded.
        assert_eq!(before, 3, "{mode:?}");
        db.fs()
            .write(
                "hbf/lib/shapes.ts",
                SHAPES_TS.replace("shape ${thing.name}", "edited ${thing.name as string}"),
            )
            .unwrap();
        for _ in 0..5 {
            let body = json(&mut engine, "/");
            assert_eq!(body["value"]["color"], "edited c", "{mode:?}");
        }
        assert_eq!(
            modules.transforms(),
            before + 1,
            "{mode:?}: only the edited module, once"
        );

        // A type-syntax error in a live edit: the request fails naming the
        // .ts file, line and column; fixing it recovers.
        db.fs()
            .write(
                "hbf/lib/stack.ts",
                "export class Stack<T> {\n  private items: T[] = ;\n}\n",
            )
            .unwrap();
        let (message, _) = exception(engine.handle(&get("/")));
        assert!(
            message.contains("hbf/lib/stack.ts:2:24: SyntaxError: "),
            "{mode:?}: {message}"
        );
        db.fs().write("hbf/lib/stack.ts", STACK_TS).unwrap();
        assert_eq!(json(&mut engine, "/")["value"]["popped"], 2, "{mode:?}");
    }
}

#[test]
fn tsconfig_names_the_jsx_runtime_and_an_edit_of_it_applies() {
    let runtime = "export const jsx = (type, props) => ({ via: 'mine', type, props });\n\
        export const jsxs = jsx;\n";
    let server = "export default {\n\
          fetch() {\n\
            const el = <b>hi</b>;\n\
            return Response.json({ via: el.via ?? 'hbf:jsx', text: String(el) });\n\
          },\n\
        };\n";
    for mode in MODES {
        let (mut engine, _, db) = engine(
            &[
                ("hbf/server.jsx", server),
                ("hbf/mine/jsx-runtime.js", runtime),
                (
                    "static/importmap.json",
                    r#"{"imports": {"mine/": "/hbf/mine/"}}"#,
                ),
            ],
            mode,
        );
        assert_eq!(
            json(&mut engine, "/"),
            serde_json::json!({"via": "hbf:jsx", "text": "<b>hi</b>"}),
            "{mode:?}"
        );
        db.fs()
            .write(
                "hbf/tsconfig.json",
                r#"{"compilerOptions": {"jsx": "react-jsx", "jsxImportSource": "mine"}}"#,
            )
            .unwrap();
        assert_eq!(json(&mut engine, "/")["via"], "mine", "{mode:?}");
        // A setting that cannot be honoured fails the request with its reason.
        db.fs()
            .write(
                "hbf/tsconfig.json",
                r#"{"compilerOptions": {"jsx": "preserve"}}"#,
            )
            .unwrap();
        let (message, _) = exception(engine.handle(&get("/")));
        assert!(
            message.contains("hbf/tsconfig.json: \"jsx\""),
            "{mode:?}: {message}"
        );
    }
}

#[test]
fn extension_free_imports_follow_the_documented_order() {
    let server = "import a from './lib/a';\n\
        import b from './lib/b';\n\
        import c from './lib/c';\n\
        import d from '/hbf/lib/d';\n\
        export default { fetch: () => Response.json([a, b, c, d]) };\n";
    let (mut engine, _, _) = engine(
        &[
            ("hbf/server.ts", server),
            // `.ts` before `.js`.
            ("hbf/lib/a.ts", "export default 'a.ts';\n"),
            ("hbf/lib/a.js", "export default 'a.js';\n"),
            // `.tsx` before `.mjs`.
            ("hbf/lib/b.mjs", "export default 'b.mjs';\n"),
            ("hbf/lib/b.tsx", "export default 'b.tsx';\n"),
            // A directory's index.
            ("hbf/lib/c/index.ts", "export default 'c/index.ts';\n"),
            ("hbf/lib/d.jsx", "export default 'd.jsx';\n"),
        ],
        Isolation::Snapshot,
    );
    assert_eq!(
        json(&mut engine, "/"),
        serde_json::json!(["a.ts", "b.tsx", "c/index.ts", "d.jsx"])
    );
}

#[test]
fn a_missing_js_file_names_its_typescript_source() {
    let server = "import a from './lib/a.js';\n\
        import b from './lib/b.js';\n\
        import c from './lib/c.mjs';\n\
        import d from './lib/d.jsx';\n\
        import e from '/hbf/lib/e.js';\n\
        export default { fetch: () => Response.json([a, b, c, d, e]) };\n";
    for mode in [Isolation::Snapshot, Isolation::Worker] {
        let (mut engine, _, _) = engine(
            &[
                ("hbf/server.ts", server),
                // Only the TypeScript source exists.
                ("hbf/lib/a.ts", "export default 'a.ts';\n"),
                // The JavaScript file exists: it is the one imported.
                ("hbf/lib/b.js", "export default 'b.js';\n"),
                ("hbf/lib/b.ts", "export default 'b.ts';\n"),
                ("hbf/lib/c.mts", "export default 'c.mts';\n"),
                ("hbf/lib/d.tsx", "export default 'd.tsx';\n"),
                ("hbf/lib/e.tsx", "export default 'e.tsx';\n"),
            ],
            mode,
        );
        assert_eq!(
            json(&mut engine, "/"),
            serde_json::json!(["a.ts", "b.js", "c.mts", "d.tsx", "e.tsx"]),
            "{mode:?}"
        );
    }
    // Neither exists: the error names the file imported.
    let (mut engine, _, _) = engine(
        &[(
            "hbf/server.ts",
            "import x from './lib/none.js';\nexport default { fetch: () => new Response(x) };\n",
        )],
        Isolation::Snapshot,
    );
    let (message, _) = exception(engine.handle(&get("/")));
    assert!(message.contains("hbf/lib/none.js"), "{message}");
}

#[test]
fn an_edit_of_shared_static_code_reaches_the_server_in_every_isolation() {
    let server = "import { price } from '/static/shared/price.ts';\n\
        export default { fetch: () => Response.json(price(2)) };\n";
    for mode in MODES {
        let (mut engine, _, db) = engine(
            &[
                ("hbf/server.ts", server),
                (
                    "static/shared/price.ts",
                    "export const price = (n: number): string => `${n} EUR`;\n",
                ),
            ],
            mode,
        );
        assert_eq!(json(&mut engine, "/"), "2 EUR", "{mode:?}");
        db.fs()
            .write(
                "static/shared/price.ts",
                "export const price = (n: number) => `${n} USD`;\n",
            )
            .unwrap();
        assert_eq!(json(&mut engine, "/"), "2 USD", "{mode:?}");
    }
}
