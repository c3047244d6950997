//! `GET /openapi.json`: the OpenAPI 3.1 description of every route, generated from the
//! handlers' annotations and the wire types (utoipa), with an example for each JSON response.

use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::http::dto::{
    DocumentDto, HealthDto, IngestStartedDto, IngestStatusDto, SearchResponseDto,
};

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "labsearch",
        description = "Search for the diaries, blog posts and reports of public-sector innovation labs: a JSON API, a search page for staff, and the operations surface."
    ),
    paths(
        crate::http::routes::search,
        crate::http::routes::document,
        crate::http::routes::health,
        crate::http::routes::start_ingest,
        crate::http::routes::ingest_status,
        crate::http::metrics::metrics,
        crate::http::page::search_page,
        crate::http::page::document_page,
        openapi_json,
    ),
    components(schemas(
        SearchResponseDto, DocumentDto, HealthDto, IngestStartedDto, IngestStatusDto, ErrorResponse
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "search", description = "The JSON search API"),
        (name = "page", description = "HTML for people: the search page and the document view"),
        (name = "operations", description = "Health, metrics, ingest runs, this document"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// The shape of every error: `{"error": {"code", "message", "parameter"?}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorResponse {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `invalid_parameter`, `bad_request`, `not_found`, `unauthorized`, `disabled`,
    /// `method_not_allowed`, `conflict` or `internal`.
    code: String,
    /// A sentence for the caller.
    message: String,
    /// The parameter at fault, for `invalid_parameter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<String>,
}

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json", body = Object))
)]
pub(crate) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The example responses of the document (each checked against its schema by a test).
pub mod examples {
    use serde_json::{json, Value};

    /// `GET /search?q=tjenestedesign`.
    pub fn search() -> Value {
        json!({
            "query": "tjenestedesign", "total": 1, "took_ms": 0.9, "limit": 10, "offset": 0,
            "hits": [{
                "id": "004_44a1b2c1af52ecf0", "title": "Tjenestedesign i Bærum kommune",
                "score": 1.77, "lang": "nb", "country": "NO", "years": [2019],
                "methods": ["service-design", "workshops"], "source": "004_44a1b2c1af52ecf0.txt",
                "snippet": "… <mark>tjenestedesign</mark> …", "published": null, "url": null,
                "organisation": "Bærum kommune",
                "matched": ["tjenestedesign", "title:tjenestedesign", "tag:service-design"]
            }],
            "facets": {"country": {"NO": 1}, "year": {"2019": 1},
                       "method": {"service-design": 1, "workshops": 1}, "lang": {"nb": 1}},
            "mode": "keyword"
        })
    }

    /// `GET /documents/{id}`.
    pub fn document() -> Value {
        json!({
            "id": "004_44a1b2c1af52ecf0", "title": "Tjenestedesign i Bærum kommune", "lang": "nb",
            "country": "NO", "years": [2019], "methods": ["service-design"],
            "source": "004_44a1b2c1af52ecf0.txt", "published": null,
            "url": "https://example.org/baerum", "organisation": "Bærum kommune",
            "method_evidence": {"service-design": "brukt tjenestedesign"},
            "body": "Bærum kommune har brukt tjenestedesign …"
        })
    }

    /// `GET /ingest/status` after a run.
    pub fn ingest_status() -> Value {
        json!({
            "run_id": 3, "state": "succeeded", "trigger": "request",
            "started": "2026-11-25T09:12:29Z", "finished": "2026-11-25T09:12:31Z",
            "files_total": 1001, "files_done": 1001,
            "counts": {"files_read": 1001, "added": 1000, "updated": 0, "unchanged": 0,
                       "deleted": 0, "failed": 1, "skipped": 0, "documents_indexed": 1000,
                       "documents_total": 1000, "elapsed_ms": 2034},
            "errors": [{"source": "bad.txt", "reason": "not valid UTF-8 (first invalid byte at offset 0)"}],
            "error": null
        })
    }

    fn error(code: &str, message: &str) -> Value {
        json!({"error": {"code": code, "message": message}})
    }

    /// A 400.
    pub fn invalid_parameter() -> Value {
        json!({"error": {"code": "invalid_parameter", "message": "limit must be between 1 and 100", "parameter": "limit"}})
    }

    /// A 404.
    pub fn not_found() -> Value {
        error("not_found", "no document with id 'nope'")
    }

    /// A 401.
    pub fn unauthorized() -> Value {
        error("unauthorized", "the bearer token is wrong")
    }

    /// A 403.
    pub fn disabled() -> Value {
        error(
            "disabled",
            "POST /ingest is disabled: start the server with LABSEARCH_ADMIN_TOKEN set",
        )
    }

    /// A 409.
    pub fn conflict() -> Value {
        error("conflict", "ingest run 3 is still running; see GET /ingest/status and try again when it has finished")
    }

    /// A 500.
    pub fn internal() -> Value {
        error(
            "internal",
            "the server failed to answer; the error is logged",
        )
    }
}
