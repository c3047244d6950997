//! The router and its handlers. Handlers parse, hand the work to the engine on a blocking
//! thread, and convert the result; nothing else.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use tower_http::trace::TraceLayer;

use crate::http::dto::{
    DocumentDto, HealthDto, IngestStartedDto, IngestStatusDto, SearchResponseDto,
};
use crate::http::errors::ApiError;
use crate::http::i18n::MethodNames;
use crate::http::limits::{self, Limits};
use crate::http::metrics::{Metrics, SearchHits};
use crate::http::{metrics, openapi, page};
use crate::jobs::{Jobs, Trigger};
use crate::search::{SearchEngine, SearchRequest};
use crate::vocab::Vocabulary;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The search backend.
    pub engine: Arc<dyn SearchEngine>,
    /// Ingest runs, when this server can ingest.
    pub jobs: Option<Jobs>,
    /// The bearer token `POST /ingest` requires; without one the endpoint is disabled.
    pub admin_token: Option<Arc<str>>,
    /// The request counters and latency histograms of `GET /metrics`.
    pub metrics: Arc<Metrics>,
    /// Methods' names in each page language, for the search page.
    pub method_names: Arc<MethodNames>,
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
            metrics: Arc::new(Metrics::new()),
            method_names: Arc::new(MethodNames::new(&Vocabulary::embedded())),
            read_token: None,
            limits: Arc::new(Limits::default()),
        }
    }

    /// Names methods on the search page from `vocabulary` (the data directory's own
    /// `methods.toml`) rather than the compiled-in one.
    pub fn with_vocabulary(mut self, vocabulary: &Vocabulary) -> AppState {
        self.method_names = Arc::new(MethodNames::new(vocabulary));
        self
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

/// The whole API, the search page and its assets.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(page::search_page))
        .route("/doc/{id}", get(page::document_page))
        .route("/assets/app.css", get(page::app_css))
        .route("/assets/app.js", get(page::app_js))
        .route("/metrics", get(metrics::metrics))
        .route("/openapi.json", get(openapi::openapi_json))
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
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .with_state(state)
}

#[utoipa::path(
    get,
    path = "/search",
    tag = "search",
    params(
        ("q" = Option<String>, Query, description = "Free text (tantivy query syntax, lenient; at most 500 characters); empty matches everything", example = "tjenestedesign"),
        ("country" = Option<Vec<String>>, Query, description = "Countries (ISO alpha-2); may repeat (OR)", example = "NO"),
        ("method" = Option<Vec<String>>, Query, description = "Method slugs from methods.toml; may repeat (OR)", example = "service-design"),
        ("lang" = Option<Vec<String>>, Query, description = "Languages: sv nb nn da fi nl de en; may repeat (OR)", example = "nb"),
        ("year" = Option<String>, Query, description = "2019, 2016..2018, 2019.. or ..2018", example = "2016..2020"),
        ("limit" = Option<usize>, Query, description = "Hits per page, 1-100 (default 10)", example = 10),
        ("offset" = Option<usize>, Query, description = "Hits to skip, 0-10000 (default 0)", example = 0),
        ("mode" = Option<String>, Query, description = "auto (default), keyword or hybrid. hybrid: keywords fused with meaning by reciprocal rank; answered by keywords, with \"mode\": \"keyword\", when the server has no embedding model. auto: hybrid when the server has the model and every document its vectors (the embedding job has caught up with the last ingest), keyword otherwise", example = "auto"),
    ),
    responses(
        (status = 200, description = "Ranked hits and disjunctive facet counts", body = SearchResponseDto, example = json!(openapi::examples::search())),
        (status = 400, description = "A bad parameter", body = openapi::ErrorResponse, example = json!(openapi::examples::invalid_parameter())),
        (status = 500, description = "Our failure; the detail is logged", body = openapi::ErrorResponse, example = json!(openapi::examples::internal())),
    )
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let mut request = SearchRequest::from_query_string(&raw.unwrap_or_default())?;
    request.deadline = Some(std::time::Instant::now() + state.limits.deadline);
    let engine = Arc::clone(&state.engine);
    let response = state.limits.run(move || engine.search(&request)).await??;
    let hits = SearchHits(response.total);
    Ok((Extension(hits), Json(SearchResponseDto::from(response))))
}

#[utoipa::path(
    get,
    path = "/documents/{id}",
    tag = "search",
    params(("id" = String, Path, description = "Document id; a diary entry's is `<file-id>#<n>` (percent-encode the `#`)", example = "004_44a1b2c1af52ecf0")),
    responses(
        (status = 200, description = "The stored document with its full body", body = DocumentDto, example = json!(openapi::examples::document())),
        (status = 404, description = "No document has this id", body = openapi::ErrorResponse, example = json!(openapi::examples::not_found())),
    )
)]
pub(crate) async fn document(
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

#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses((status = 200, description = "The server answers", body = HealthDto, example = json!({"status": "ok", "documents": 9, "engine": "tantivy"})))
)]
pub(crate) async fn health(State(state): State<AppState>) -> Json<HealthDto> {
    // The engine may ask a cluster: off the async threads, outside the search limits.
    let engine = Arc::clone(&state.engine);
    let answer = tokio::task::spawn_blocking(move || (engine.num_documents(), engine.health()));
    let unknown = crate::search::EngineHealth {
        engine: "unknown",
        cluster: None,
    };
    let (documents, health) = answer.await.unwrap_or((0, unknown));
    Json(HealthDto {
        status: "ok",
        documents,
        engine: health.engine,
        cluster: health.cluster,
    })
}

#[utoipa::path(
    post,
    path = "/ingest",
    tag = "operations",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "A run started", body = IngestStartedDto, example = json!({"run_id": 3, "state": "running"})),
        (status = 401, description = "No or a wrong bearer token", body = openapi::ErrorResponse, example = json!(openapi::examples::unauthorized())),
        (status = 403, description = "The server was started without LABSEARCH_ADMIN_TOKEN", body = openapi::ErrorResponse, example = json!(openapi::examples::disabled())),
        (status = 409, description = "A run is going on", body = openapi::ErrorResponse, example = json!(openapi::examples::conflict())),
    )
)]
pub(crate) async fn start_ingest(
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
#[utoipa::path(
    get,
    path = "/ingest/status",
    tag = "operations",
    responses(
        (status = 200, description = "The current or last run (`idle` before the first)", body = IngestStatusDto, example = json!(openapi::examples::ingest_status())),
        (status = 404, description = "This server does not ingest", body = openapi::ErrorResponse, example = json!(openapi::examples::not_found())),
    )
)]
pub(crate) async fn ingest_status(
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
    ApiError::NotFound("no such endpoint; see GET /openapi.json for every route".to_string())
}
