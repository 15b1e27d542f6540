//! tfparity: gate infrastructure changes on dev/prod parity.
//!
//! Data flows one way: load → graph → model → checks → report / fix.

pub mod error;
pub mod graph;
pub mod inventory;
pub mod load;
pub mod model;
pub mod value;
