//! The router and its handlers. Handlers parse, hand the work to the engine on a blocking
//! thread, and convert the result; nothing else.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::trace::TraceLayer;

use crate::http::dto::{DocumentDto, HealthDto, SearchResponseDto};
use crate::http::errors::ApiError;
use crate::search::{SearchEngine, SearchRequest};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The search backend.
    pub engine: Arc<dyn SearchEngine>,
}

/// The whole API.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/search", get(search))
        .route("/documents/{id}", get(document))
        .route("/health", get(health))
        .fallback(not_found)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn search(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<SearchResponseDto>, ApiError> {
    let raw = raw.unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    let request = SearchRequest::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let response = tokio::task::spawn_blocking(move || state.engine.search(&request)).await??;
    Ok(Json(response.into()))
}

async fn document(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<DocumentDto>, ApiError> {
    let Path(id) = id.map_err(|err| ApiError::BadRequest(err.body_text()))?;
    let lookup = id.clone();
    let record = tokio::task::spawn_blocking(move || state.engine.document(&lookup)).await??;
    match record {
        Some(record) => Ok(Json(record.into())),
        None => Err(ApiError::NotFound(format!("no document with id '{id}'"))),
    }
}

async fn health(State(state): State<AppState>) -> Json<HealthDto> {
    Json(HealthDto {
        status: "ok",
        documents: state.engine.num_documents(),
    })
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint; see GET /search, /documents/{id}, /health".to_string())
}
