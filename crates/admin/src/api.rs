//! The HTTP surface: `/health`, `/metrics` and the JSON API under `/api/v1`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use sipwarden_events::sanitize_json;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::auth::{bearer, ApiToken, Presented};
use crate::backend::{AdminBackend, Call, HealthStatus};
use crate::error::{ApiError, BackendError};
use crate::metrics::{Metrics, OPENMETRICS_CONTENT_TYPE};

/// Where the admin listener binds unless the configuration says otherwise: loopback only.
pub const DEFAULT_ADMIN_ADDR: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9060);

/// Realm named in `WWW-Authenticate`.
const REALM: &str = "sipwarden-admin";

/// Whether `/metrics` needs the bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricsAccess {
    /// Anyone who can reach the listener may scrape (the listener is loopback by default).
    #[default]
    Open,
    /// Scrapes need `Authorization: Bearer <token>` (Prometheus `authorization` config).
    Token,
}

/// How the admin HTTP surface behaves.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// The token for `/api/v1` (and `/metrics` with [`MetricsAccess::Token`]).
    pub token: ApiToken,
    /// Whether `/metrics` needs the token.
    pub metrics_access: MetricsAccess,
    /// Longest time a request may take before it is answered 408.
    pub request_timeout: Duration,
}

impl AdminConfig {
    /// The token, open metrics, a 10 s request timeout.
    pub fn new(token: ApiToken) -> Self {
        Self {
            token,
            metrics_access: MetricsAccess::Open,
            request_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
struct AppState {
    backend: Arc<dyn AdminBackend>,
    metrics: Arc<Metrics>,
    token: Arc<ApiToken>,
}

/// The admin router: `GET /health`, `GET /metrics`, and under `/api/v1` (token required):
/// `GET registrations`, `DELETE registrations/{aor}`,
/// `DELETE registrations/{aor}/bindings/{id}`, `GET calls`, `GET calls/{id}`, `GET bans`,
/// `DELETE bans/{source}`. Errors are `{"error": "..."}` with a fitting status.
pub fn router(
    backend: Arc<dyn AdminBackend>,
    metrics: Arc<Metrics>,
    config: AdminConfig,
) -> Router {
    let state = AppState {
        backend,
        metrics,
        token: Arc::new(config.token),
    };

    let api = Router::new()
        .route("/registrations", get(list_registrations))
        .route(
            "/registrations/{aor}",
            axum::routing::delete(remove_registration),
        )
        .route(
            "/registrations/{aor}/bindings/{binding}",
            axum::routing::delete(remove_binding),
        )
        .route("/calls", get(list_calls))
        .route("/calls/{id}", get(get_call))
        .route("/bans", get(list_bans))
        .route("/bans/{source}", axum::routing::delete(lift_ban))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // `layer`, not `route_layer`: unknown paths under /api/v1 need the token too, so
        // the API's shape is not revealed to a caller without it.
        .layer(middleware::from_fn_with_state(state.clone(), require_token));

    let mut metrics = Router::new().route("/metrics", get(metrics_text));
    if config.metrics_access == MetricsAccess::Token {
        metrics = metrics.route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    }

    Router::new()
        .route("/health", get(health))
        .merge(metrics)
        .nest("/api/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(SetResponseHeaderLayer::overriding(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .with_state(state)
}

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut values = request.headers().get_all(AUTHORIZATION).iter();
    let presented = match (values.next(), values.next()) {
        (Some(v), None) => bearer(v.as_bytes()),
        _ => Presented::Missing,
    };
    match presented {
        Presented::Missing => {
            unauthorized(format!("Bearer realm=\"{REALM}\""), "missing bearer token")
        }
        Presented::Bearer(token) if state.token.verify(token) => next.run(request).await,
        Presented::Bearer(_) => unauthorized(
            format!("Bearer realm=\"{REALM}\", error=\"invalid_token\""),
            "invalid bearer token",
        ),
    }
}

fn unauthorized(challenge: String, message: &str) -> Response {
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("not found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

/// Runs a backend call on the blocking pool: a store query must not stall the runtime.
async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn AdminBackend) -> Result<T, BackendError> + Send + 'static,
{
    let backend = Arc::clone(&state.backend);
    tokio::task::spawn_blocking(move || f(backend.as_ref()))
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))?
        .map_err(ApiError::from)
}

fn path_param<T>(p: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    p.map(|Path(v)| v)
        .map_err(|_| ApiError::bad_request("malformed path parameter"))
}

async fn health(State(state): State<AppState>) -> Response {
    let backend = Arc::clone(&state.backend);
    let health = match tokio::task::spawn_blocking(move || backend.health()).await {
        Ok(h) => h,
        Err(_) => {
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                .into_response()
        }
    };
    let status = match health.status {
        HealthStatus::Ok => StatusCode::OK,
        HealthStatus::Degraded => StatusCode::SERVICE_UNAVAILABLE,
    };
    (
        status,
        Json(json!({
            "status": health.status,
            "version": env!("CARGO_PKG_VERSION"),
            "checks": health.checks,
        })),
    )
        .into_response()
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => (
            [(
                CONTENT_TYPE,
                HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE),
            )],
            text,
        )
            .into_response(),
        Err(_) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "metrics encoding failed")
            .into_response(),
    }
}

async fn list_registrations(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let registrations = blocking(&state, |b| b.registrations()).await?;
    Ok(Json(json!({ "registrations": registrations })))
}

async fn remove_registration(
    State(state): State<AppState>,
    aor: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let aor = path_param(aor)?;
    let key = aor.clone();
    let removed = blocking(&state, move |b| b.remove_registration(&key)).await?;
    if removed == 0 {
        return Err(ApiError::not_found("no registration for this AOR"));
    }
    Ok(Json(json!({ "aor": aor, "removed": removed })))
}

async fn remove_binding(
    State(state): State<AppState>,
    params: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let (aor, binding) = path_param(params)?;
    let (a, id) = (aor.clone(), binding.clone());
    let removed = blocking(&state, move |b| b.remove_binding(&a, &id)).await?;
    if !removed {
        return Err(ApiError::not_found("no such binding"));
    }
    Ok(Json(
        json!({ "aor": aor, "binding": binding, "removed": 1 }),
    ))
}

/// The assessment goes out through the same filter as the event log: no member named like
/// a secret, no SDES key in any string.
fn outgoing(mut call: Call) -> Call {
    call.assessment = sanitize_json(&call.assessment);
    call
}

async fn list_calls(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let calls: Vec<Call> = blocking(&state, |b| b.calls())
        .await?
        .into_iter()
        .map(outgoing)
        .collect();
    Ok(Json(json!({ "calls": calls })))
}

async fn get_call(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Call>, ApiError> {
    let id = path_param(id)?;
    blocking(&state, move |b| b.call(&id))
        .await?
        .map(|c| Json(outgoing(c)))
        .ok_or_else(|| ApiError::not_found("no such call"))
}

async fn list_bans(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let bans = blocking(&state, |b| b.bans()).await?;
    Ok(Json(json!({ "bans": bans })))
}

async fn lift_ban(
    State(state): State<AppState>,
    source: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let source = path_param(source)?;
    let ip = parse_ban_source(&source).ok_or_else(|| {
        ApiError::bad_request("source must be an IP address, an IPv4/32 or an IPv6/64")
    })?;
    let lifted = blocking(&state, move |b| b.lift_ban(ip)).await?;
    if !lifted {
        return Err(ApiError::not_found("no ban for this source"));
    }
    Ok(Json(json!({ "lifted": ip.to_string() })))
}

/// An address, or an address with the prefix bans are keyed on (/32 for IPv4, /64 for
/// IPv6). An IPv6 address stands for its /64.
pub(crate) fn parse_ban_source(s: &str) -> Option<IpAddr> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    match (ip, prefix) {
        (_, None) | (IpAddr::V4(_), Some("32")) | (IpAddr::V6(_), Some("64")) => Some(ip),
        _ => None,
    }
}
