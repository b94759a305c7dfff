//! HBF's outbound network: what a pod's `fetch()` may reach and how it gets
//! there.
//!
//! - [`policy`]: `--allow-net`, deny by default; addresses checked after DNS.
//! - [`client`]: the HTTP client (hyper on its own small runtime), connecting
//!   only to checked addresses, following redirects under the same checks,
//!   bounded in time, size and connections.
//!
//! It knows nothing of JavaScript: `hbf_qjs` turns a `fetch()` into an
//! [`Outbound`] and the answer back into a `Response`.

pub mod client;
mod error;
pub mod policy;

pub use client::{BodyBudget, Client, Inbound, Outbound, Pending, Redirect};
pub use error::Error;
pub use policy::NetPolicy;
