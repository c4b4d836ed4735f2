//! Operator surfaces of sipwarden: Prometheus metrics and the admin HTTP API.
//!
//! Owns the [`Metrics`] registry (every label value from a closed enum, so attacker input
//! never creates series), the axum [`router`] serving `/health`, `/metrics` and the JSON
//! API under `/api/v1` behind a bearer token compared in constant time, the
//! [`AdminBackend`] trait through which the server exposes registrations, calls and bans,
//! and [`serve_admin`] to run it on a listener the caller bound.
//!
//! It refuses to choose an address (the binary does; loopback by default), to hold the
//! plain token after start (only its hash), and to let a secret out: call assessments go
//! through the event log's filter before they are answered.

mod api;
mod auth;
mod backend;
mod error;
mod labels;
mod metrics;
mod serve;

pub use api::{router, AdminConfig, MetricsAccess, DEFAULT_ADMIN_ADDR};
pub use auth::{ApiToken, MIN_TOKEN_LEN};
pub use backend::{
    AdminBackend, Ban, Binding, Call, CallState, Health, HealthStatus, MemoryBackend, Registration,
};
pub use error::{ApiError, BackendError, TokenError};
pub use labels::{status_label, Method, SecurityLevel, TransactionKind};
pub use metrics::{Metrics, TlsResult, OPENMETRICS_CONTENT_TYPE};
pub use serve::{serve_admin, serve_admin_with_shutdown};

#[cfg(test)]
mod tests;
