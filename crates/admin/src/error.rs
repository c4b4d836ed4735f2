//! Errors of the admin surfaces.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// A failure of the server behind the API.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A component the answer needs is not available (store down): 503.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The request names something that cannot exist (a malformed AOR): 400.
    #[error("invalid: {0}")]
    Invalid(String),
}

/// Why an API token was refused at configuration time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Shorter than [`MIN_TOKEN_LEN`](crate::MIN_TOKEN_LEN) bytes.
    #[error("admin token must be at least {min} characters long (got {got})")]
    TooShort {
        /// Required length.
        min: usize,
        /// Length given.
        got: usize,
    },
    /// Holds a character a bearer token may not (RFC 6750 `b64token`).
    #[error("admin token may only hold letters, digits and -._~+/= (RFC 6750)")]
    BadCharacter,
}

/// An API error answer: a status and `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What to tell the client.
    pub message: String,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        match e {
            BackendError::Unavailable(m) => Self::new(StatusCode::SERVICE_UNAVAILABLE, m),
            BackendError::Invalid(m) => Self::bad_request(m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}
