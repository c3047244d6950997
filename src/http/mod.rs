//! The HTTP layer (axum on hyper): the JSON API, the search page, metrics and the OpenAPI
//! document, and the loop that serves them ([`server::serve`]).
//!
//! Architecture invariant: this is the only module that knows axum, HTML or JSON.

pub mod dto;
pub mod errors;
pub mod i18n;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod page;
pub mod routes;
pub mod server;

pub use routes::{app, AppState};
