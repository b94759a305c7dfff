//! Per-request module instances for [`Isolation::Request`](crate::Isolation):
//! how one kept context loads a fresh copy of the pod's modules for every
//! request.
//!
//! QuickJS keeps every module it loaded in its context, by name, and hands the
//! same instance to every later import of that name. So each request loads the
//! pod's modules under names of its own: the pod path plus `#<n>`, with `n` the
//! request's instance number (`hbf/lib/router.js#17`). The resolver keeps the
//! importing module's suffix on what it resolves, so one request's modules import
//! each other (one instance each per request), never another request's.
//!
//! Bytecode names its module inside (the packer compiled `hbf/lib/router.js`), and
//! QuickJS resolves a module's imports against that name while reading it, so the
//! bytecode is renamed before loading: [`rename_module`] rewrites the name in the
//! bytecode's atom table. Error messages and stack traces lose the suffix again
//! ([`strip_suffixes`]): users see their file names.

/// The name of instance `n` of module `path`.
pub fn instance_name(path: &str, n: u64) -> String {
    format!("{path}#{n}")
}

/// Splits an instance name into the module path and the suffix (with its `#`).
/// Only names made by [`instance_name`] reach this, so the last `#` is the one.
pub fn split_instance(name: &str) -> (&str, &str) {
    match name.rfind('#') {
        Some(i) if name[i + 1..].bytes().all(|b| b.is_ascii_digit()) && i + 1 < name.len() => {
            (&name[..i], &name[i..])
        }
        _ => (name, ""),
    }
}

/// Removes instance suffixes from a message or stack trace: every `#<digits>`
/// right after a module file name (`.js`, `.mjs`) or a host module name.
pub fn strip_suffixes(text: &str) -> String {
    const ENDINGS: [&str; 12] = [
        ".js",
        ".mjs",
        ".ts",
        ".mts",
        ".tsx",
        ".jsx",
        "hbf:db",
        "hbf:fs",
        "hbf:blob",
        "hbf:console",
        "hbf:jsx",
        "/jsx-runtime",
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('#') {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        let digits = after[1..].bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && ENDINGS.iter().any(|e| out.ends_with(e)) {
            rest = &after[1 + digits..];
        } else {
            out.push('#');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Why bytecode could not be renamed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot rename module {from:?} in its bytecode: {reason}")]
pub struct RenameError {
    pub from: String,
    pub reason: &'static str,
}

/// Returns a copy of a module's bytecode (`JS_WriteObject` output) with the
/// module named `to` instead of `from`.
///
/// The format (QuickJS-NG `JS_WriteObjectAtoms`): a version byte, a 32-bit
/// checksum of everything after these five bytes, the atom count (LEB128), then
/// each atom: a byte `0x80 | n` (or `0xC0 | low bits` and a LEB128) for a
/// predefined atom, or a type byte and a string (LEB128 of `len << 1 | wide`,
/// then the characters). The code that follows refers to atoms by index, so
/// replacing one string changes nothing else. The checksum is recomputed. The
/// engine fingerprint (see `compile.rs`) pins the QuickJS build, and the tests
/// load renamed bytecode, so a format change cannot go unnoticed.
pub fn rename_module(bytecode: &[u8], from: &str, to: &str) -> Result<Vec<u8>, RenameError> {
    let fail = |reason| RenameError {
        from: from.to_owned(),
        reason,
    };
    let mut r = Reader {
        buf: bytecode,
        pos: 5,
    };
    if bytecode.len() < 5 {
        return Err(fail("too short"));
    }
    let count = r.leb128().ok_or_else(|| fail("truncated atom count"))?;
    let mut found = None;
    for _ in 0..count {
        let kind = r.byte().ok_or_else(|| fail("truncated atom table"))?;
        if kind & 0x80 != 0 {
            if kind & 0x40 != 0 {
                r.leb128().ok_or_else(|| fail("truncated atom"))?;
            }
            continue;
        }
        let start = r.pos;
        let header = r.leb128().ok_or_else(|| fail("truncated string"))?;
        let (len, wide) = ((header >> 1) as usize, header & 1 == 1);
        let bytes = if wide { len * 2 } else { len };
        let text = r.take(bytes).ok_or_else(|| fail("truncated string"))?;
        // The module name is a plain (not symbol) string atom of 8-bit characters.
        if kind == 1 && !wide && text == from.as_bytes() && found.is_none() {
            found = Some((start, r.pos));
        }
    }
    let (start, end) = found.ok_or_else(|| fail("the name is not in the atom table"))?;
    if !to.is_ascii() {
        return Err(fail("the new name is not ASCII"));
    }
    let mut out = Vec::with_capacity(bytecode.len() + to.len());
    out.extend_from_slice(&bytecode[..start]);
    put_leb128(&mut out, (to.len() as u32) << 1);
    out.extend_from_slice(to.as_bytes());
    out.extend_from_slice(&bytecode[end..]);
    let sum = checksum(&out[5..]);
    out[1..5].copy_from_slice(&sum.to_le_bytes());
    Ok(out)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(out)
    }

    fn leb128(&mut self) -> Option<u32> {
        let mut value = 0u32;
        for shift in (0..35).step_by(7) {
            let b = self.byte()?;
            value |= u32::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
}

fn put_leb128(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// QuickJS-NG's `bc_csum`, bit for bit (including that a final group of exactly
/// four bytes is not summed).
fn checksum(p: &[u8]) -> u32 {
    const K: u32 = 0x9e37_0001;
    let n = p.len();
    // Whole words while at least one byte follows them (`i + 4 < n` in C).
    let words = n.saturating_sub(1) / 4;
    let mut h: u32 = 0;
    for word in p[..words * 4].chunks_exact(4) {
        let word: [u8; 4] = word.try_into().expect("chunks of four");
        h = h.wrapping_add(u32::from_le_bytes(word)).wrapping_mul(K);
    }
    let i = words * 4;
    let (mut a, mut b, mut c) = (0u32, 0u32, 0u32);
    let tail = n - i;
    if tail == 3 {
        c = u32::from(p[i + 2]);
    }
    if (2..=3).contains(&tail) {
        b = u32::from(p[i + 1]);
    }
    if (1..=3).contains(&tail) {
        a = u32::from(p[i]);
    }
    h = h.wrapping_add(a | (b << 8) | (c << 16));
    h.wrapping_mul(K)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rquickjs::{Context, Module, Runtime, WriteOptions};

    fn compile(ctx: &rquickjs::Ctx<'_>, name: &str, source: &str) -> Vec<u8> {
        Module::declare(ctx.clone(), name, source)
            .unwrap()
            .write(WriteOptions::default())
            .unwrap()
    }

    #[test]
    fn renamed_bytecode_loads_under_the_new_name_and_runs() {
        let rt = Runtime::new().unwrap();
        let context = Context::full(&rt).unwrap();
        context.with(|ctx| {
            let source = "import * as me from './a.js'; export const answer = 6 * 7;";
            let bytecode = compile(&ctx, "hbf/lib/a.js", source);
            // Our own serialization matches QuickJS's checksum.
            assert_eq!(checksum(&bytecode[5..]).to_le_bytes(), bytecode[1..5]);
            for n in [0, 7, 123_456_789_012] {
                let name = instance_name("hbf/lib/a.js", n);
                let renamed = rename_module(&bytecode, "hbf/lib/a.js", &name).unwrap();
                // SAFETY: compiled just above by this QuickJS build.
                let module = unsafe { Module::load(ctx.clone(), &renamed) }.unwrap();
                assert_eq!(module.name::<String>().unwrap(), name);
                let (module, promise) = module.eval().unwrap();
                promise.finish::<()>().unwrap();
                assert_eq!(module.get::<_, i32>("answer").unwrap(), 42);
            }
        });
    }

    #[test]
    fn checksum_matches_quickjs_for_every_tail_length() {
        let rt = Runtime::new().unwrap();
        let context = Context::full(&rt).unwrap();
        context.with(|ctx| {
            for pad in 0..8 {
                let source = format!("export const s = '{}';", "x".repeat(pad));
                let bytecode = compile(&ctx, "m.js", &source);
                assert_eq!(checksum(&bytecode[5..]).to_le_bytes(), bytecode[1..5]);
            }
        });
    }

    #[test]
    fn refuses_what_it_cannot_rename() {
        let rt = Runtime::new().unwrap();
        let context = Context::full(&rt).unwrap();
        context.with(|ctx| {
            let bytecode = compile(&ctx, "hbf/a.js", "export default 1");
            assert!(rename_module(&bytecode, "hbf/b.js", "x").is_err());
            assert!(rename_module(&bytecode[..3], "hbf/a.js", "x").is_err());
            assert!(rename_module(&bytecode[..8], "hbf/a.js", "x").is_err());
            assert!(rename_module(&bytecode, "hbf/a.js", "é").is_err());
        });
    }

    #[test]
    fn names_and_suffixes() {
        assert_eq!(split_instance("hbf/a.js#12"), ("hbf/a.js", "#12"));
        assert_eq!(split_instance("hbf/a#1.js#3"), ("hbf/a#1.js", "#3"));
        assert_eq!(split_instance("hbf/a.js"), ("hbf/a.js", ""));
        assert_eq!(split_instance("hbf/a.js#"), ("hbf/a.js#", ""));
        assert_eq!(
            strip_suffixes("at f (hbf/server.js#17:3:5)\n at hbf:fs#2 issue #12 a#b.js#4"),
            "at f (hbf/server.js:3:5)\n at hbf:fs issue #12 a#b.js"
        );
    }
}
