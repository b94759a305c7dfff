//! Trusted QuickJS bytecode, and the one place that loads bytecode.
//!
//! QuickJS reads bytecode without checking it: a crafted buffer is memory
//! corruption. So bytecode reaches [`Trusted::load`] only from sources this
//! process trusts (ARCHITECTURE.md, invariant 7): what a [`Compiler`] of this
//! process wrote ([`Trusted::compiled`], [`embedded`]), or what the module
//! cache hands out as trusted ([`Trusted::stored`]: written by this engine
//! build for this module and source, and vouched for by this process or the
//! template the database came from). Nothing else makes a [`Trusted`].

use std::sync::Arc;

use parking_lot::Mutex;

use rquickjs::{Ctx, Module};

use crate::compile::Compiler;
use crate::Result;

/// Bytecode from a trusted source; cheap to clone.
#[derive(Clone)]
pub(crate) struct Trusted(Arc<[u8]>);

impl Trusted {
    /// Bytecode a [`Compiler`] of this process just wrote.
    pub(crate) fn compiled(bytes: Vec<u8>) -> Self {
        Self(bytes.into())
    }

    /// Bytecode the module cache returned for this engine build
    /// (`hbf_db::ModuleCache::get`, which returns only what this process
    /// trusts).
    pub(crate) fn stored(bytes: Vec<u8>) -> Self {
        Self(bytes.into())
    }

    /// The module, declared (not yet evaluated) in `ctx`.
    pub(crate) fn load<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Module<'js>> {
        // SAFETY: a `Trusted` is made only from bytecode that this QuickJS
        // build wrote, in this process or as recorded by the module cache's
        // trust rules (see the module documentation). QuickJS copies the
        // buffer; nothing else reads it meanwhile.
        unsafe { Module::load(ctx.clone(), &self.0) }
    }
}

/// The bytecode of a module embedded in the binary (the prelude, the Web
/// APIs, the JavaScript host modules), compiled once per process.
pub(crate) fn embedded(name: &'static str, source: &'static str) -> Result<Trusted> {
    static COMPILED: Mutex<Vec<(&str, Trusted)>> = Mutex::new(Vec::new());
    let mut compiled = COMPILED.lock();
    if let Some((_, trusted)) = compiled.iter().find(|(n, _)| *n == name) {
        return Ok(trusted.clone());
    }
    let trusted = Trusted::compiled(Compiler::new()?.compile_module(name, source.as_bytes())?);
    compiled.push((name, trusted.clone()));
    Ok(trusted)
}
