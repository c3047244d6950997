//! The HTTP API (axum): routes, wire types, and the mapping of errors to statuses.
//!
//! Architecture invariant: this is the only module that knows axum or JSON.

pub mod dto;
pub mod errors;
pub mod limits;
pub mod routes;

pub use routes::{app, AppState};
