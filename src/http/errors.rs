//! API errors: the only place that picks an HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::search::{ParamError, SearchError};

/// An error answered as `{"error": {"code", "message", "parameter"?}}`.
#[derive(Debug)]
pub enum ApiError {
    /// The caller sent a bad parameter (400).
    InvalidParameter(ParamError),
    /// The request itself is malformed (400).
    BadRequest(String),
    /// Nothing has this id or path (404).
    NotFound(String),
    /// The request lacks valid credentials (401).
    Unauthorized(String),
    /// The endpoint is switched off in this server's configuration (403).
    Disabled(String),
    /// The path exists, but not for this method (405).
    MethodNotAllowed(String),
    /// The request conflicts with work in progress (409).
    Conflict(String),
    /// The request target is too long (414).
    UriTooLong(String),
    /// The request headers are too many or too large (431).
    HeadersTooLarge(String),
    /// The request body is too large (413).
    PayloadTooLarge(String),
    /// The server cannot answer now (503): busy (with `Retry-After`) or past the deadline.
    Unavailable {
        /// `overloaded` or `timeout`.
        code: &'static str,
        /// What happened.
        message: String,
        /// Seconds after which to try again, sent as `Retry-After`.
        retry_after: Option<u64>,
    },
    /// Our failure (500): the detail is logged, the caller gets a vague message.
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, parameter) = match &self {
            ApiError::InvalidParameter(err) => (
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                err.message.as_str(),
                Some(err.parameter.as_str()),
            ),
            ApiError::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                message.as_str(),
                None,
            ),
            ApiError::NotFound(message) => {
                (StatusCode::NOT_FOUND, "not_found", message.as_str(), None)
            }
            ApiError::Unauthorized(message) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                message.as_str(),
                None,
            ),
            ApiError::Disabled(message) => {
                (StatusCode::FORBIDDEN, "disabled", message.as_str(), None)
            }
            ApiError::MethodNotAllowed(message) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                message.as_str(),
                None,
            ),
            ApiError::Conflict(message) => {
                (StatusCode::CONFLICT, "conflict", message.as_str(), None)
            }
            ApiError::UriTooLong(message) => (
                StatusCode::URI_TOO_LONG,
                "uri_too_long",
                message.as_str(),
                None,
            ),
            ApiError::HeadersTooLarge(message) => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                message.as_str(),
                None,
            ),
            ApiError::PayloadTooLarge(message) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                message.as_str(),
                None,
            ),
            ApiError::Unavailable { code, message, .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                *code,
                message.as_str(),
                None,
            ),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the server failed to answer; the error is logged",
                    None,
                )
            }
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                parameter,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::Unavailable {
            retry_after: Some(seconds),
            ..
        } = &self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*seconds),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<ParamError> for ApiError {
    fn from(err: ParamError) -> Self {
        ApiError::InvalidParameter(err)
    }
}

impl From<SearchError> for ApiError {
    fn from(err: SearchError) -> Self {
        match err {
            SearchError::Timeout => ApiError::Unavailable {
                code: "timeout",
                message: "the search took too long and was stopped".to_string(),
                retry_after: None,
            },
            SearchError::Unavailable(cause) => {
                tracing::warn!(%cause, "search engine unavailable");
                ApiError::Unavailable {
                    code: "engine_unavailable",
                    message: "the search engine cannot be reached; try again shortly".to_string(),
                    retry_after: Some(5),
                }
            }
            SearchError::InvalidQuery(err) => ApiError::InvalidParameter(err),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(err: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("search task failed: {err}"))
    }
}
