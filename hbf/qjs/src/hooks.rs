//! QuickJS's module resolver and loader hooks over a simpler trait, so that
//! each module source (the pod's code, the host modules, the compiler's
//! stand-ins) says only what it answers.

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::{Ctx, Module};

/// A module source by name: what QuickJS's resolver and loader hooks ask,
/// without their ceremony. [`Hooks`] turns one into both hooks.
pub(crate) trait ModuleSource {
    /// The name `name`, imported by `base`, stands for; an error without a
    /// message lets the next source in a tuple try.
    fn resolve(&self, base: &str, name: &str) -> rquickjs::Result<String>;
    /// The module named `name`, declared in `ctx`.
    fn load<'js>(&self, ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Module<'js>>;
}

/// QuickJS's resolver and loader over a [`ModuleSource`].
#[derive(Clone)]
pub(crate) struct Hooks<S>(pub(crate) S);

impl<S: ModuleSource> Resolver for Hooks<S> {
    fn resolve<'js>(
        &mut self,
        _ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        self.0.resolve(base, name)
    }
}

impl<S: ModuleSource> Loader for Hooks<S> {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js>> {
        self.0.load(ctx, name)
    }
}
