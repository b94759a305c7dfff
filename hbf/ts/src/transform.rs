//! One module through oxc: parse, check, transform, print, then put the lines back.

use std::path::{Path, PathBuf};

use oxc_allocator::Allocator;
use oxc_codegen::Codegen;
use oxc_parser::Parser;
use oxc_semantic::SemanticBuilder;
use oxc_span::SourceType;
use oxc_transformer::{JsxOptions, JsxRuntime, TransformOptions, Transformer};

use crate::{layout, Error, Options};

/// The transformer and its version, as it goes into cache keys.
pub const TRANSFORMER: &str = "oxc 0.128.0";

/// The file endings of the modules that are transformed (`.d.ts` files are not
/// modules and are never loaded).
pub const TRANSFORMED_EXTENSIONS: [&str; 4] = [".ts", ".mts", ".tsx", ".jsx"];

/// True for a path this crate transforms: `.ts`, `.mts`, `.tsx`, `.jsx`.
pub fn is_transformed(path: &str) -> bool {
    TRANSFORMED_EXTENSIONS.iter().any(|e| path.ends_with(e))
        && !path.ends_with(".d.ts")
        && !path.ends_with(".d.mts")
}

/// Transforms the module at pod path `path` (its extension decides the
/// language: `.ts`/`.mts` TypeScript, `.tsx` TypeScript with JSX, `.jsx`
/// JavaScript with JSX) into an ES module in plain JavaScript whose statements
/// sit on the lines they had in `source`.
pub fn transform(path: &str, source: &[u8], options: &Options) -> Result<String, Error> {
    let text = std::str::from_utf8(source).map_err(|_| Error::NotUtf8 {
        path: path.to_owned(),
    })?;
    let source_type = source_type(path);
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, text, source_type).parse();
    if let Some(first) = parsed.errors.first() {
        return Err(syntax_error(path, text, first));
    }
    if parsed.panicked {
        return Err(Error::Syntax {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: "the parser gave up on this module".into(),
        });
    }
    let mut program = parsed.program;
    let semantic = SemanticBuilder::new()
        .with_check_syntax_error(true)
        .with_excess_capacity(2.0)
        .with_enum_eval(true)
        .build(&program);
    if let Some(first) = semantic.errors.first() {
        return Err(syntax_error(path, text, first));
    }
    let scoping = semantic.semantic.into_scoping();
    let transformed = Transformer::new(&allocator, Path::new(path), &transform_options(options))
        .build_with_scoping(scoping, &mut program);
    if let Some(first) = transformed.errors.first() {
        return Err(syntax_error(path, text, first));
    }
    let printed = Codegen::new()
        .with_options(layout::codegen_options(Some(PathBuf::from(path))))
        .with_scoping(Some(transformed.scoping))
        .build(&program);
    let map = printed.map.expect("a source map was asked for");
    Ok(layout::keep_lines(&printed.code, &map))
}

pub(crate) fn source_type(path: &str) -> SourceType {
    let base = if path.ends_with(".tsx") {
        SourceType::tsx()
    } else if path.ends_with(".jsx") {
        SourceType::jsx()
    } else {
        SourceType::ts()
    };
    base.with_module(true)
}

/// TypeScript as `tsc --isolatedModules` emits it (imports used only as types
/// dropped, enums and namespaces kept), JSX on the automatic runtime, and no
/// down-levelling: QuickJS runs current ECMAScript.
fn transform_options(options: &Options) -> TransformOptions {
    TransformOptions {
        jsx: JsxOptions {
            runtime: JsxRuntime::Automatic,
            import_source: Some(options.jsx_import_source.clone()),
            // No `/* @__PURE__ */` marks (comments are not printed) and no
            // `displayName` guesses (a React class-component convention).
            pure: false,
            display_name_plugin: false,
            ..JsxOptions::enable()
        },
        ..TransformOptions::default()
    }
}

/// The first diagnostic as `path:line:column: message`.
pub(crate) fn syntax_error(
    path: &str,
    text: &str,
    diagnostic: &oxc_diagnostics::OxcDiagnostic,
) -> Error {
    let offset = diagnostic
        .labels
        .as_ref()
        // The primary label, else the last: where the problem was noticed (a
        // redeclaration has the first declaration, then the second).
        .and_then(|labels| labels.iter().find(|l| l.primary()).or(labels.last()))
        .map_or(0, |label| label.offset());
    let (line, column) = line_and_column(text, offset);
    let mut message = diagnostic.message.to_string();
    if let Some(help) = &diagnostic.help {
        message = format!("{message} ({help})");
    }
    Error::Syntax {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[start..].chars().count() + 1;
    (line as u32, column as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(source: &str) -> String {
        transform("hbf/x.ts", source.as_bytes(), &Options::default()).unwrap()
    }

    #[test]
    fn strips_types_and_keeps_what_typescript_emits() {
        let js = ts("import type { A } from './a.ts';\n\
             import { B, type C } from './b.ts';\n\
             interface I<T> { x: T }\n\
             enum Color { Red, Green = 'g' }\n\
             namespace N { export const k = 1; }\n\
             class P { constructor(private readonly x: number, public y?: string) {} }\n\
             const v = { a: 1 } satisfies Record<string, number>;\n\
             export function id<T>(x: T): T { return x as T; }\n\
             export { B, Color, N, P, v };\n");
        for gone in [
            "interface",
            "type ",
            "satisfies",
            ": T",
            "private",
            "readonly",
            "<T>",
        ] {
            assert!(!js.contains(gone), "{gone:?} left in:\n{js}");
        }
        for kept in [
            "Color[\"Red\"]",
            "this.x = x",
            "this.y = y",
            "import { B } from",
        ] {
            assert!(js.contains(kept), "{kept:?} missing from:\n{js}");
        }
        assert!(
            !js.contains("./a.ts"),
            "a type-only import is dropped:\n{js}"
        );
    }

    #[test]
    fn jsx_uses_the_automatic_runtime_of_the_import_source() {
        let js = transform(
            "hbf/page.tsx",
            b"export const Page = (p: { n: number }) => <><b class=\"x\">{p.n}</b>{p.n}</>;\n",
            &Options::default(),
        )
        .unwrap();
        assert!(js.contains("from \"hbf:jsx/jsx-runtime\""), "{js}");
        assert!(js.contains("_Fragment"), "{js}");
        let preact = Options {
            jsx_import_source: "preact".into(),
        };
        let js = transform("hbf/p.jsx", b"export default <i/>;\n", &preact).unwrap();
        assert!(js.contains("from \"preact/jsx-runtime\""), "{js}");
        // A file's own pragma wins.
        let js = transform(
            "hbf/p.jsx",
            b"/** @jsxImportSource other */\nexport default <i/>;\n",
            &preact,
        )
        .unwrap();
        assert!(js.contains("from \"other/jsx-runtime\""), "{js}");
    }

    #[test]
    fn syntax_errors_name_file_line_and_column() {
        let err = transform(
            "hbf/lib/bad.ts",
            b"export const ok = 1;\n\nlet x: number = ;\n",
            &Options::default(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("hbf/lib/bad.ts:3:17: SyntaxError: "),
            "{text}"
        );
        assert!(err.is_syntax());
        // Type syntax in a .jsx file is an error too: it is JavaScript.
        let err = transform("hbf/a.jsx", b"let x: number = 1;\n", &Options::default()).unwrap_err();
        assert!(err.to_string().starts_with("hbf/a.jsx:1:"), "{err}");
        // A semantic rule: a redeclared `let`.
        let err =
            transform("hbf/b.ts", b"let a = 1;\nlet a = 2;\n", &Options::default()).unwrap_err();
        assert!(err.to_string().starts_with("hbf/b.ts:2:5: "), "{err}");
        let err = transform("hbf/c.ts", b"\xff", &Options::default()).unwrap_err();
        assert_eq!(
            err,
            Error::NotUtf8 {
                path: "hbf/c.ts".into()
            }
        );
    }

    #[test]
    fn which_paths_are_transformed() {
        for yes in ["hbf/a.ts", "hbf/a.mts", "static/a.tsx", "hbf/a.jsx"] {
            assert!(is_transformed(yes), "{yes}");
        }
        for no in [
            "hbf/a.js",
            "hbf/a.mjs",
            "hbf/types.d.ts",
            "static/a.css",
            "hbf/ts",
        ] {
            assert!(!is_transformed(no), "{no}");
        }
    }
}
