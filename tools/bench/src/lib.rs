//! `hbf-bench`: HBF's HTTP benchmark (issue 15).
//!
//! `run` drives wrk ([`wrk`]) against `hbf` and its peers ([`servers`]) with
//! the method of DOCS/PERF.md ([`runner`]), and stores every measurement with
//! where it was taken in SQLite ([`store`]); `compare`, `check` and `trend`
//! judge runs against each other with Welch's t-test over the repetitions
//! ([`stats`], [`analysis`]); `report` and `export` render a stored run
//! ([`report`]). The binary (src/main.rs) is a thin shell over these.

#![forbid(unsafe_code)]

pub mod analysis;
pub mod error;
pub mod report;
pub mod routes;
pub mod runner;
pub mod servers;
pub mod stats;
pub mod store;
pub mod system;
pub mod wrk;

pub use error::{BenchError, Result};
