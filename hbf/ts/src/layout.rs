//! Putting the generated code back on the source's lines.
//!
//! oxc prints the transformed program in its own layout: an interface of ten
//! lines disappears, a call spread over three lines comes out on one. QuickJS
//! numbers lines in what it is given, so without help a stack trace of a `.ts`
//! module would point at the wrong line. Rather than keep a source map beside
//! every module and rewrite every stack trace, the output is re-laid so that each
//! generated line starts on the source line its first token came from (the
//! code generator's source map says which): blank lines are added where the
//! source had more, and a line whose origin is not below the current one is
//! joined onto it with a space. Stack traces, error positions and `err.stack`
//! read by the pod itself then name the right line with nothing to map. Columns
//! are right for the first token of a line (it is indented as in the source).
//!
//! Why joining and padding keep the program's meaning: the printed code ends
//! every statement with `;` (no automatic semicolon insertion depends on a line
//! break), prints no comments (a `//` comment would swallow a joined line), and
//! only breaks lines between tokens. The exception is a line break inside a
//! token, in a template literal or a string with a line continuation: those
//! stay exactly as printed. A check confirms it: the re-laid code must parse and
//! print back to exactly the same text; if it ever did not, the code is used as
//! printed (right, with lines off) rather than risk changing what it does.

use std::path::PathBuf;

use oxc_allocator::Allocator;
use oxc_ast::ast::{StringLiteral, TemplateElement};
use oxc_ast_visit::Visit;
use oxc_codegen::{Codegen, CodegenOptions, CommentOptions};
use oxc_parser::Parser;
use oxc_sourcemap::SourceMap;
use oxc_span::SourceType;

/// How the output is printed: no comments (a `//` comment would swallow the
/// lines [`keep_lines`] joins onto it), and a source map when `map` names the file.
pub(crate) fn codegen_options(map: Option<PathBuf>) -> CodegenOptions {
    CodegenOptions {
        comments: CommentOptions::disabled(),
        source_map_path: map,
        ..CodegenOptions::default()
    }
}

/// `code` (printed by oxc, with its source map `map`) re-laid on its source's lines.
pub fn keep_lines(code: &str, map: &SourceMap) -> String {
    try_keep_lines(code, map).unwrap_or_else(|| code.to_owned())
}

/// The re-laid code, or `None` if the check refused it.
fn try_keep_lines(code: &str, map: &SourceMap) -> Option<String> {
    let locked = token_spans(code)?;
    let laid = relayout(code, map, &locked);
    prints_the_same(&laid, code).then_some(laid)
}

/// Byte ranges of the tokens that may hold line breaks (template parts and
/// string literals), or `None` if `code` does not parse.
fn token_spans(code: &str) -> Option<Vec<(usize, usize)>> {
    struct Spans(Vec<(usize, usize)>);
    impl<'a> Visit<'a> for Spans {
        fn visit_template_element(&mut self, it: &TemplateElement<'a>) {
            self.0.push((it.span.start as usize, it.span.end as usize));
        }
        fn visit_string_literal(&mut self, it: &StringLiteral<'a>) {
            self.0.push((it.span.start as usize, it.span.end as usize));
        }
    }
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, code, SourceType::mjs()).parse();
    if !parsed.errors.is_empty() || parsed.panicked {
        return None;
    }
    let mut spans = Spans(Vec::new());
    spans.visit_program(&parsed.program);
    spans.0.sort_unstable();
    Some(spans.0)
}

/// True when `laid` parses and prints as `printed` (the same program).
fn prints_the_same(laid: &str, printed: &str) -> bool {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, laid, SourceType::mjs()).parse();
    if !parsed.errors.is_empty() || parsed.panicked {
        return false;
    }
    let again = Codegen::new()
        .with_options(codegen_options(None))
        .build(&parsed.program);
    again.code == printed
}

fn relayout(code: &str, map: &SourceMap, locked: &[(usize, usize)]) -> String {
    let lines: Vec<&str> = code.split('\n').collect();
    // The tokens of each generated line: (byte offset in the line, source line,
    // source column), in order.
    let mut tokens: Vec<Vec<(usize, u32, u32)>> = vec![Vec::new(); lines.len()];
    for token in map.get_tokens() {
        let line = token.get_dst_line() as usize;
        if let Some(list) = tokens.get_mut(line) {
            let at = utf16_to_byte(lines[line], token.get_dst_col() as usize);
            list.push((at, token.get_src_line(), token.get_src_col()));
        }
    }
    let mut out = String::with_capacity(code.len() + code.len() / 4);
    let mut current = 0u32; // the output line being written
    let mut offset = 0usize; // byte offset of `line` in `code`
    let mut locked = locked.iter().peekable();
    for (i, line) in lines.iter().enumerate() {
        // Is the line break before this line inside a token?
        let break_at = offset.saturating_sub(1);
        while i > 0 && locked.peek().is_some_and(|&&(_, end)| end <= break_at) {
            locked.next();
        }
        let in_token = i > 0
            && locked
                .peek()
                .is_some_and(|&&(start, end)| start <= break_at && break_at < end);
        offset += line.len() + 1;
        if in_token {
            out.push('\n');
            current += 1;
            out.push_str(line);
            continue;
        }
        // Pieces of the line that start where a token from a later source
        // line does: the line's start, and inside it wherever a line break is
        // harmless (see `breakable`).
        let mut pieces: Vec<(usize, Option<(u32, u32)>)> = vec![(0, None)];
        let mut first = true;
        let mut line_of_piece = current;
        for &(at, src_line, src_col) in &tokens[i] {
            if first && line[..at].trim().is_empty() {
                pieces[0].1 = Some((src_line, src_col));
                line_of_piece = line_of_piece.max(src_line);
            } else if src_line > line_of_piece && breakable(&line[..at]) {
                pieces.push((at, Some((src_line, src_col))));
                line_of_piece = src_line;
            }
            first = false;
        }
        let hashbang_before = i == 1 && lines[0].starts_with("#!");
        for (k, &(start, origin)) in pieces.iter().enumerate() {
            let end = pieces.get(k + 1).map_or(line.len(), |p| p.0);
            let piece = &line[start..end];
            let trimmed = piece.trim_start();
            let target = match origin {
                Some((src_line, src_col)) if src_line > current || (i == 0 && k == 0) => {
                    Some((src_line, src_col))
                }
                _ if k == 0 && hashbang_before => Some((current + 1, 0)),
                _ => None,
            };
            match target {
                Some((target, src_col)) => {
                    for _ in current..target {
                        out.push('\n');
                    }
                    current = current.max(target);
                    if !out.is_empty() && !out.ends_with('\n') {
                        out.push(' ');
                    } else {
                        out.extend(std::iter::repeat_n(' ', src_col as usize));
                    }
                    out.push_str(trimmed);
                }
                None if i == 0 && k == 0 => out.push_str(piece),
                None if k > 0 => out.push_str(piece),
                None if trimmed.is_empty() => {}
                None => {
                    if !out.is_empty() && !out.ends_with('\n') {
                        out.push(' ');
                    }
                    out.push_str(trimmed);
                }
            }
        }
    }
    out
}

/// True when a line break may go after `before` (the generated line up to a
/// token) without changing the program: it ends with a punctuator after which
/// no restricted production (`return`/`throw` and their argument, a postfix
/// `++`, the `=>` of an arrow, `async` and what it qualifies) can be split, and
/// after which automatic semicolon insertion never applies.
fn breakable(before: &str) -> bool {
    before
        .trim_end()
        .ends_with([',', '(', '[', '{', ';', ':', '?', '=', '>'])
}

/// The byte offset of UTF-16 column `column` in `line`.
fn utf16_to_byte(line: &str, column: usize) -> usize {
    let mut units = 0;
    for (at, c) in line.char_indices() {
        if units >= column {
            return at;
        }
        units += c.len_utf16();
    }
    line.len()
}

#[cfg(test)]
mod tests {
    use crate::{transform, Options};

    /// Every module here re-lays without falling back to the printed layout:
    /// the check in `keep_lines` never has to refuse what `relayout` made.
    #[test]
    fn the_layout_check_accepts_real_code() {
        let samples = [
            "export const f = async (x: number) => {\n  await x;\n  return x\n    ? 1\n    : 2;\n};\n",
            "let i: number = 0;\ni++\n;[1, 2].forEach((n) => {\n  i += n;\n});\nexport { i };\n",
            "export function* g(): Generator<number> {\n  yield\n  1;\n  yield* [2,\n 3];\n}\n",
            "export class A<T> {\n  static s = 1;\n  #p: T | null = null;\n  get p() { return this.#p; }\n  async\n  m() {}\n}\n",
            "const re = /a\\/b/g;\nconst t = `x\n${`y\n${1}`}\n`;\nexport default { re, t, s: 'a\\\nb' };\n",
            "label: for (const x of [1]) {\n  if (x) continue label;\n  else break label;\n}\nexport {};\n",
            "export const o = {\n  a: 1,\n  ['b']: 2,\n  c() {},\n  get d() { return 1 },\n  ...{ e: 3 },\n};\n",
            "import def, * as ns from './x.ts';\nexport * from './y.ts';\nexport { def as default, ns };\n",
            "export const x = (a?: { b?: () => number }) => a?.b?.() ?? -1;\nexport const y = 2 ** -1;\n",
        ];
        for (i, sample) in samples.iter().enumerate() {
            let printed = {
                use oxc_allocator::Allocator;
                use oxc_codegen::Codegen;
                use oxc_parser::Parser;
                use oxc_semantic::SemanticBuilder;
                use oxc_span::SourceType;
                use oxc_transformer::{TransformOptions, Transformer};
                let allocator = Allocator::default();
                let mut program = Parser::new(&allocator, sample, SourceType::ts())
                    .parse()
                    .program;
                let scoping = SemanticBuilder::new()
                    .build(&program)
                    .semantic
                    .into_scoping();
                let ret = Transformer::new(
                    &allocator,
                    std::path::Path::new("x.ts"),
                    &TransformOptions::default(),
                )
                .build_with_scoping(scoping, &mut program);
                Codegen::new()
                    .with_options(super::codegen_options(Some("x.ts".into())))
                    .with_scoping(Some(ret.scoping))
                    .build(&program)
            };
            let map = printed.map.unwrap();
            assert!(
                super::try_keep_lines(&printed.code, &map).is_some(),
                "sample {i} fell back:\n{}",
                printed.code
            );
            // And the transform as a whole gives code QuickJS-valid enough to re-parse.
            transform("hbf/x.ts", sample.as_bytes(), &Options::default()).unwrap();
        }
    }

    /// The 1-based line of the first line of `js` containing `needle`.
    fn line_of(js: &str, needle: &str) -> usize {
        js.lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not in:\n{js}"))
            + 1
    }

    #[test]
    fn statements_stay_on_their_source_lines() {
        let source = "import type { T } from './t.ts';\n\
            interface Shape {\n\
              area(): number;\n\
            }\n\
            \n\
            enum Kind { Circle, Square }\n\
            export class Circle implements Shape {\n\
              constructor(\n\
                private readonly r: number,\n\
              ) {}\n\
            \x20  area(): number {\n\
                return Math.PI * this.r ** 2;\n\
              }\n\
            }\n\
            type Unused = { a: string;\n b: number };\n\
            export function fail(why: string): never {\n\
              const message: string = `failed:\n\
            ${why}`;\n\
              throw new Error(message);\n\
            }\n";
        let js = transform("hbf/shapes.ts", source.as_bytes(), &Options::default()).unwrap();
        assert_eq!(line_of(&js, "var Kind"), 6, "{js}");
        assert_eq!(line_of(&js, "class Circle"), 7, "{js}");
        assert_eq!(line_of(&js, "this.r = r"), 9, "{js}");
        assert_eq!(line_of(&js, "return Math.PI"), 12, "{js}");
        assert_eq!(line_of(&js, "function fail"), 17, "{js}");
        // The template literal keeps its line break, and what follows it its line.
        assert!(js.contains("`failed:\n${why}`"), "{js}");
        assert_eq!(line_of(&js, "throw new Error"), 20, "{js}");
        // Indented as in the source.
        assert!(js.contains("\n   area() {"), "{js}");
    }

    #[test]
    fn jsx_children_keep_their_lines() {
        let source = "export const Page = (p: { items: string[] }) => (\n\
              <ul>\n\
                {p.items.map((i) => (\n\
                  <li>{i.toUpperCase()}</li>\n\
                ))}\n\
              </ul>\n\
            );\n\
            export const x: number = 1;\n";
        let js = transform("hbf/page.tsx", source.as_bytes(), &Options::default()).unwrap();
        assert_eq!(line_of(&js, "toUpperCase"), 4, "{js}");
        assert_eq!(line_of(&js, "export const x"), 8, "{js}");
    }

    #[test]
    fn a_hashbang_keeps_its_own_line() {
        let js = transform(
            "hbf/x.ts",
            b"#!/usr/bin/env hbf\nlet a: number = 1;\nexport { a };\n",
            &Options::default(),
        )
        .unwrap();
        assert!(js.starts_with("#!/usr/bin/env hbf\n"), "{js}");
        assert_eq!(line_of(&js, "let a"), 2, "{js}");
    }
}
