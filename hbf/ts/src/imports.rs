//! The specifiers a module imports, read by oxc's parser without running or
//! transforming it: what the packer follows to keep only the package files a
//! pod reaches.

use oxc_allocator::Allocator;
use oxc_parser::Parser;
use oxc_span::SourceType;

use crate::Error;

/// The specifiers `source` (the module at pod path `path`) imports: every
/// static `import`/`export ... from` except TypeScript's type-only ones, and
/// every dynamic `import()` whose argument is a plain string literal (a
/// computed one cannot be followed before it runs). In source order, each
/// once.
pub fn imports(path: &str, source: &[u8]) -> Result<Vec<String>, Error> {
    let text = std::str::from_utf8(source).map_err(|_| Error::NotUtf8 {
        path: path.to_owned(),
    })?;
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, text, source_type(path)).parse();
    if let Some(first) = parsed.errors.first() {
        return Err(crate::transform::syntax_error(path, text, first));
    }
    let record = &parsed.module_record;
    let mut found: Vec<(u32, String)> = record
        .requested_modules
        .iter()
        .flat_map(|(name, uses)| {
            uses.iter()
                .filter(|u| !u.is_type)
                .map(move |u| (u.span.start, name.to_string()))
        })
        .collect();
    for dynamic in record.dynamic_imports.iter() {
        let span = dynamic.module_request;
        let argument = &text[span.start as usize..span.end as usize];
        if let Some(literal) = string_literal(argument) {
            found.push((span.start, literal));
        }
    }
    found.sort();
    let mut out: Vec<String> = Vec::with_capacity(found.len());
    for (_, name) in found {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// The value of `text` when it is a string literal without escapes.
fn string_literal(text: &str) -> Option<String> {
    let quote = text.chars().next()?;
    if !matches!(quote, '\'' | '"' | '`') || text.len() < 2 || !text.ends_with(quote) {
        return None;
    }
    let inner = &text[1..text.len() - 1];
    let plain = !inner.contains(quote) && !inner.contains('\\') && !inner.contains("${");
    plain.then(|| inner.to_owned())
}

/// JavaScript for `.js`/`.mjs`, else the language its extension names.
fn source_type(path: &str) -> SourceType {
    if path.ends_with(".js") || path.ends_with(".mjs") || path.ends_with(".cjs") {
        SourceType::mjs()
    } else {
        crate::transform::source_type(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_static_and_literal_dynamic_imports() {
        let source = br#"
            import a from "./a.js";
            import type { T } from "./types.ts";
            export { b } from 'pkg/b';
            export * from "./c.js";
            import "./a.js";
            const d = await import("./d.js");
            const e = import(`./e.js`);
            const f = import("./" + name);
            const g = import(`./${name}.js`);
        "#;
        assert_eq!(
            imports("hbf/x.ts", source).unwrap(),
            ["./a.js", "pkg/b", "./c.js", "./d.js", "./e.js"]
        );
    }

    #[test]
    fn a_syntax_error_names_the_file() {
        let err = imports("node_modules/x/index.js", b"import {").unwrap_err();
        assert!(err.to_string().contains("node_modules/x/index.js"), "{err}");
    }
}
