//! The module loader: the glue between QuickJS's resolver/loader hooks and
//! the pod's code ([`PodCode`]), which supplies every byte. Host modules are
//! a resolver and loader of their own ([`HostModules`]), tried first.

use rquickjs::{Ctx, Module, Runtime, WriteOptions};

use crate::bytecode::Trusted;
use crate::compile::exception_error;
use crate::hooks::{Hooks, ModuleSource};
use crate::host::HostModules;
use crate::pod_code::{Code, LoadedFrom, PodCode};
use crate::Result;

/// Makes `runtime` resolve and load modules as host modules, else through
/// the pod's code.
pub fn install(runtime: &Runtime, code: &PodCode) {
    let hooks = (Hooks(HostModules), Hooks(code.clone()));
    runtime.set_loader(hooks.clone(), hooks);
}

/// Declares the pod module `module` (a pod path) in `ctx`: from trusted
/// bytecode when there is some for its latest source, else compiled from
/// its JavaScript, whose bytecode then serves every later load.
pub fn load_module<'js>(ctx: &Ctx<'js>, code: &PodCode, module: &str) -> Result<Module<'js>> {
    let (loaded, from) = match code.module(module)? {
        Code::Bytecode(bytecode) => {
            let loaded = bytecode
                .load(ctx)
                .map_err(|e| exception_error(ctx, module, e))?;
            (loaded, LoadedFrom::Bytecode)
        }
        Code::Source {
            javascript,
            sha256,
            key,
            generation,
        } => {
            let loaded = Module::declare(ctx.clone(), module, javascript)
                .map_err(|e| exception_error(ctx, module, e))?;
            let bytecode = Trusted::compiled(loaded.write(WriteOptions::default())?);
            code.compiled(module, sha256, key, generation, bytecode);
            (loaded, LoadedFrom::Source)
        }
    };
    code.record(module, from);
    Ok(loaded)
}

/// The pod's half of the runtime's resolver and loader.
impl ModuleSource for PodCode {
    fn resolve(&self, base: &str, name: &str) -> rquickjs::Result<String> {
        PodCode::resolve(self, base, name)
            .map_err(|e| rquickjs::Error::new_resolving_message(base, name, e.to_string()))
    }

    fn load<'js>(&self, ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Module<'js>> {
        load_module(ctx, self, name)
            .map_err(|e| rquickjs::Error::new_loading_message(name, e.to_string()))
    }
}
