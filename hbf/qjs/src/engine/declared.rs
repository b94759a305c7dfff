//! The isolation a pod declares (`export const isolation` in
//! `hbf/server.js`), read whenever the server module is evaluated and put in
//! effect between requests.

use rquickjs::{Ctx, Object, Value};

use super::{Engine, Isolation, JsError, SERVER_MODULE};

impl Engine {
    /// False when `hbf/server.js` cannot declare an isolation: its source
    /// does not even contain the word.
    pub(super) fn server_may_declare(&self) -> bool {
        self.db
            .fs()
            .read(self.modules.server_module())
            .map(|source| source.windows(9).any(|w| w == b"isolation"))
            .unwrap_or(true)
    }

    /// Switches to the isolation the pod's server module declared, if that is
    /// not the one in effect; true if it switched. Runs between requests.
    pub(super) fn apply_declared(&mut self) -> bool {
        let Some(wanted) = self.declared.take() else {
            return false;
        };
        if wanted == self.mode {
            return false;
        }
        tracing::info!(from = ?self.mode, to = ?wanted, "the pod's {SERVER_MODULE} declares its isolation");
        self.switch_to(wanted);
        true
    }

    /// Puts `mode` in effect: the contexts of the previous one go, and the
    /// collector's threshold becomes the new mode's.
    pub(super) fn switch_to(&mut self, mode: Isolation) {
        self.mode = mode;
        self.locked = None;
        self.reused = None;
        self.snapshot = None;
        // A snapshot's runtime has a region of its own (and the region's
        // allocator never gives memory back): none for the other modes.
        if self.region.is_some() {
            self.rebuild();
        }
        self.runtime.run_gc();
        self.runtime.set_gc_threshold(self.gc_threshold());
    }

    /// Reads the server module's `export const isolation` (when the pod
    /// decides) and keeps it for [`Self::apply_declared`].
    pub(super) fn note_declared<'js>(
        &self,
        ctx: &Ctx<'js>,
        namespace: &Object<'js>,
    ) -> std::result::Result<(), JsError> {
        if !self.config.isolation_from_pod {
            return Ok(());
        }
        let value: Value = namespace
            .get("isolation")
            .map_err(|e| self.js_error(ctx, e))?;
        let declared = if value.is_undefined() {
            self.config.isolation
        } else {
            let text = value.as_string().and_then(|s| s.to_string().ok());
            match text.as_deref().and_then(Isolation::from_name) {
                Some(mode) => mode,
                None => {
                    let found = match text {
                        Some(text) => format!("'{}'", text.escape_debug()),
                        None => format!("a value of type {}", value.type_name()),
                    };
                    return Err(JsError::Exception {
                        message: format!(
                            "{SERVER_MODULE}: `export const isolation` must be 'snapshot', 'request', 'context' or 'worker', not {found}"
                        ),
                        stack: String::new(),
                    });
                }
            }
        };
        self.declared.set(Some(declared));
        Ok(())
    }
}
