//! labsearch: search for the diaries, blog posts and reports of public-sector innovation labs.
//!
//! Data flows one way: [`pipeline`] reads files and turns them into [`record::Record`]s,
//! [`index`] stores them in tantivy, [`search`] answers [`search::SearchRequest`]s, and
//! [`http`] serves that over JSON. See `ARCHITECTURE.md`.

#![warn(missing_docs)]

pub mod analysis;
pub mod engine;
pub mod eval;
pub mod gencorpus;
pub mod http;
pub mod index;
pub mod jobs;
pub mod lang;
pub mod matching;
pub mod opensearch;
pub mod pipeline;
pub mod record;
pub mod search;
pub mod semantic;
pub mod translate;
pub mod vocab;
