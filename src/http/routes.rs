//! The router and its handlers. Handlers parse, hand the work to the engine on a blocking
//! thread, and convert the result; nothing else.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use tower_http::trace::TraceLayer;

use crate::http::dto::{
    DocumentDto, HealthDto, IngestStartedDto, IngestStatusDto, SearchResponseDto,
};
use crate::http::errors::ApiError;
use crate::http::limits::{self, Limits};
use crate::jobs::{Jobs, Trigger};
use crate::search::{SearchEngine, SearchRequest};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The search backend.
    pub engine: Arc<dyn SearchEngine>,
    /// Ingest runs, when this server can ingest.
    pub jobs: Option<Jobs>,
    /// The bearer token `POST /ingest` requires; without one the endpoint is disabled.
    pub admin_token: Option<Arc<str>>,
    /// The bearer token every endpoint but `/health` requires, when set.
    pub read_token: Option<Arc<str>>,
    /// Deadline, concurrency and size limits.
    pub limits: Arc<Limits>,
}

impl AppState {
    /// A search-only state: no ingest endpoints.
    pub fn new(engine: Arc<dyn SearchEngine>) -> AppState {
        AppState {
            engine,
            jobs: None,
            admin_token: None,
            read_token: None,
            limits: Arc::new(Limits::default()),
        }
    }

    /// Closes every endpoint but `/health` to callers without `read_token` (or the admin token).
    pub fn with_read_token(mut self, read_token: Option<String>) -> AppState {
        self.read_token = read_token.filter(|t| !t.is_empty()).map(Arc::from);
        self
    }

    /// Replaces the default limits.
    pub fn with_limits(mut self, limits: Limits) -> AppState {
        self.limits = Arc::new(limits);
        self
    }

    /// Enables `GET /ingest/status`, and `POST /ingest` when `admin_token` is set.
    pub fn with_jobs(mut self, jobs: Jobs, admin_token: Option<String>) -> AppState {
        self.jobs = Some(jobs);
        self.admin_token = admin_token.filter(|t| !t.is_empty()).map(Arc::from);
        self
    }
}

/// The whole API.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/search", get(search))
        .route("/documents/{id}", get(document))
        .route("/health", get(health))
        .route("/ingest", post(start_ingest))
        .route("/ingest/status", get(ingest_status))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::read_access,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::bounded,
        ))
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
    limits::check_nesting(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let request = SearchRequest::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let engine = Arc::clone(&state.engine);
    let response = state.limits.run(move || engine.search(&request)).await??;
    Ok(Json(response.into()))
}

async fn document(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<DocumentDto>, ApiError> {
    let Path(id) = id.map_err(|err| ApiError::BadRequest(err.body_text()))?;
    let lookup = id.clone();
    let engine = Arc::clone(&state.engine);
    let record = state.limits.run(move || engine.document(&lookup)).await??;
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

async fn start_ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<IngestStartedDto>), ApiError> {
    let (Some(jobs), Some(token)) = (&state.jobs, &state.admin_token) else {
        return Err(ApiError::Disabled(
            "POST /ingest is disabled: start the server with LABSEARCH_ADMIN_TOKEN set".to_string(),
        ));
    };
    match limits::bearer(&headers) {
        Some(offered) if limits::same_secret(offered, token) => {}
        Some(_) => {
            return Err(ApiError::Unauthorized(
                "the bearer token is wrong".to_string(),
            ))
        }
        None => {
            return Err(ApiError::Unauthorized(
                "POST /ingest needs an Authorization: Bearer <LABSEARCH_ADMIN_TOKEN> header"
                    .to_string(),
            ))
        }
    }
    let run_id = jobs.start(Trigger::Request).map_err(|running| {
        ApiError::Conflict(format!(
            "{running}; see GET /ingest/status and try again when it has finished"
        ))
    })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(IngestStartedDto {
            run_id,
            state: "running",
        }),
    ))
}

/// Counts for everyone; the failed files' paths only for the admin token holder.
async fn ingest_status(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<IngestStatusDto>, ApiError> {
    let jobs = state.jobs.as_ref().ok_or_else(|| {
        ApiError::NotFound("this server does not ingest; see GET /search".to_string())
    })?;
    let status = IngestStatusDto::from(jobs.status());
    let admin = state
        .admin_token
        .as_deref()
        .is_some_and(|token| limits::bearer_matches(&headers, token));
    Ok(Json(if admin {
        status
    } else {
        status.without_paths()
    }))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}

async fn not_found() -> ApiError {
    ApiError::NotFound(
        "no such endpoint; see GET /search, /documents/{id}, /health, /ingest/status and POST /ingest"
            .to_string(),
    )
}
