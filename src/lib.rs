//! tfparity: gate infrastructure changes on dev/prod parity.
//!
//! Data flows one way: load → graph → model → checks → report / fix.

pub mod allocator;
pub mod app;
pub mod baseline;
pub mod changed;
pub mod checks;
pub mod cli;
pub mod contract;
pub mod error;
pub mod finding;
pub mod fix;
pub mod graph;
pub mod inventory;
pub mod load;
pub mod model;
pub mod report;
pub mod syntax;
pub mod trace;
pub mod value;
