//! Prometheus metrics (OpenMetrics text via prometheus-client).
//!
//! Every label value comes from a closed enum ([`Method`], [`Transport`], [`Kind`] ...):
//! no user name, URI or header value ever becomes a label, so an attacker cannot grow the
//! number of series (a cardinality attack). The hottest counters are resolved to their
//! atomic once, at start, so recording is one atomic add.

use std::fmt;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use sipwarden_events::{
    AnonymousAction, AnonymousForm, AuthFailureReason, BanReason, Detail, EventError, EventSink,
    Kind, SecurityEvent, TlsFailure, Transport,
};

use crate::labels::{status_label, Method, SecurityLevel, TransactionKind};

type L1 = [(&'static str, &'static str); 1];
type L2 = [(&'static str, &'static str); 2];

/// The Content-Type of [`Metrics::encode`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The outcome of a TLS handshake, as the `result` label of `sipwarden_tls_handshakes_total`:
/// `success`, or the failure reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsResult {
    /// The handshake completed.
    Success,
    /// It failed.
    Failure(TlsFailure),
}

impl TlsResult {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure(f) => f.as_str(),
        }
    }
}

/// All of sipwarden's metrics, registered once. Share it behind an `Arc`; every method
/// takes `&self`.
///
/// Counted from security events (feed them through [`EventSink`], e.g. in a
/// `sipwarden_events::FanOut` next to the log writer): `sipwarden_security_events_total`,
/// `sipwarden_auth_failures_total`, `sipwarden_bans_total`. Everything else is recorded
/// by the methods below.
pub struct Metrics {
    registry: Registry,
    requests: Vec<Counter>,
    responses: Family<L2, Counter>,
    transactions: Family<L1, Gauge>,
    registrations: Gauge,
    calls_active: Gauge,
    calls: Family<L1, Counter>,
    auth_failures: Family<L1, Counter>,
    bans: Family<L1, Counter>,
    anonymous_callers: Family<L2, Counter>,
    bans_active: Gauge,
    tls_handshakes: Family<L1, Counter>,
    connections: Family<L1, Gauge>,
    request_duration: Histogram,
    security_events: Vec<Counter>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every family under the `sipwarden_` prefix, with the bounded label
    /// combinations created up front so they read 0 rather than being absent.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("sipwarden");

        let requests_family = Family::<L2, Counter>::default();
        let mut requests = Vec::with_capacity(Method::ALL.len() * Transport::ALL.len());
        for m in Method::ALL {
            for t in Transport::ALL {
                requests.push(
                    requests_family
                        .get_or_create(&[("method", m.as_str()), ("transport", t.as_str())])
                        .clone(),
                );
            }
        }
        registry.register(
            "requests",
            "SIP requests received, by method and transport",
            requests_family,
        );

        let responses = Family::<L2, Counter>::default();
        registry.register(
            "responses",
            "SIP responses sent or forwarded, by status and request method",
            responses.clone(),
        );

        let transactions = Family::<L1, Gauge>::default();
        for k in TransactionKind::ALL {
            let _ = transactions.get_or_create(&[("kind", k.as_str())]);
        }
        registry.register(
            "transactions",
            "SIP transactions in progress, by kind",
            transactions.clone(),
        );

        let registrations = Gauge::default();
        registry.register(
            "registrations",
            "Contact bindings currently registered",
            registrations.clone(),
        );

        let calls_active = Gauge::default();
        registry.register(
            "calls_active",
            "Calls currently set up",
            calls_active.clone(),
        );

        let calls = Family::<L1, Counter>::default();
        for l in SecurityLevel::ALL {
            let _ = calls.get_or_create(&[("security_level", l.as_str())]);
        }
        registry.register(
            "calls",
            "Calls ended, by security assessment level",
            calls.clone(),
        );

        let auth_failures = Family::<L1, Counter>::default();
        for r in AuthFailureReason::ALL {
            let _ = auth_failures.get_or_create(&[("reason", r.as_str())]);
        }
        registry.register(
            "auth_failures",
            "Failed digest authentications, by reason",
            auth_failures.clone(),
        );

        let bans = Family::<L1, Counter>::default();
        for r in BanReason::ALL {
            let _ = bans.get_or_create(&[("reason", r.as_str())]);
        }
        registry.register("bans", "Sources banned, by reason", bans.clone());

        let bans_active = Gauge::default();
        registry.register(
            "bans_active",
            "Sources currently banned",
            bans_active.clone(),
        );

        let tls_handshakes = Family::<L1, Counter>::default();
        let _ = tls_handshakes.get_or_create(&[("result", TlsResult::Success.as_str())]);
        for f in TlsFailure::ALL {
            let _ = tls_handshakes.get_or_create(&[("result", f.as_str())]);
        }
        registry.register(
            "tls_handshakes",
            "TLS handshakes, by result (success or the failure reason)",
            tls_handshakes.clone(),
        );

        let connections = Family::<L1, Gauge>::default();
        for t in Transport::ALL.iter().filter(|t| **t != Transport::Udp) {
            let _ = connections.get_or_create(&[("transport", t.as_str())]);
        }
        registry.register(
            "connections",
            "Open connections, by transport",
            connections.clone(),
        );

        // 100 µs .. ~1.6 s.
        let request_duration = Histogram::new(exponential_buckets(0.000_1, 2.0, 15));
        registry.register(
            "request_duration_seconds",
            "Time from receiving a request to sending its final response or forwarding it",
            request_duration.clone(),
        );

        let anonymous_callers = Family::<L2, Counter>::default();
        for f in AnonymousForm::ALL {
            for a in AnonymousAction::ALL {
                let _ = anonymous_callers
                    .get_or_create(&[("form", f.as_str()), ("action", a.as_str())]);
            }
        }
        registry.register(
            "anonymous_callers",
            "Requests from anonymous (null-authenticated) callers, by how they marked themselves and what policy did",
            anonymous_callers.clone(),
        );

        let events_family = Family::<L1, Counter>::default();
        let security_events = Kind::ALL
            .iter()
            .map(|k| events_family.get_or_create(&[("kind", k.as_str())]).clone())
            .collect();
        registry.register(
            "security_events",
            "Security events written to the event log, by kind",
            events_family,
        );

        Self {
            registry,
            requests,
            responses,
            transactions,
            registrations,
            calls_active,
            calls,
            auth_failures,
            bans,
            anonymous_callers,
            bans_active,
            tls_handshakes,
            connections,
            request_duration,
            security_events,
        }
    }

    /// Counts a request received.
    pub fn request(&self, method: Method, transport: Transport) {
        // Fieldless enums: the discriminant is the position in `ALL`.
        let i = method as usize * Transport::ALL.len() + transport as usize;
        if let Some(c) = self.requests.get(i) {
            c.inc();
        }
    }

    /// Counts a response sent or forwarded. `status` is mapped to a bounded label by
    /// [`status_label`].
    pub fn response(&self, status: u16, method: Method) {
        self.responses
            .get_or_create(&[
                ("status", status_label(status)),
                ("method", method.as_str()),
            ])
            .inc();
    }

    /// Sets the number of transactions of `kind` in progress.
    pub fn set_transactions(&self, kind: TransactionKind, count: u64) {
        self.transactions
            .get_or_create(&[("kind", kind.as_str())])
            .set(saturating_i64(count));
    }

    /// Sets the number of registered contact bindings.
    pub fn set_registrations(&self, count: u64) {
        self.registrations.set(saturating_i64(count));
    }

    /// A call was set up.
    pub fn call_started(&self) {
        self.calls_active.inc();
    }

    /// A call ended with the given assessment level.
    pub fn call_ended(&self, level: SecurityLevel) {
        self.calls_active.dec();
        self.calls
            .get_or_create(&[("security_level", level.as_str())])
            .inc();
    }

    /// Sets the number of sources currently banned.
    pub fn set_bans_active(&self, count: u64) {
        self.bans_active.set(saturating_i64(count));
    }

    /// Counts a TLS handshake.
    pub fn tls_handshake(&self, result: TlsResult) {
        self.tls_handshakes
            .get_or_create(&[("result", result.as_str())])
            .inc();
    }

    /// A connection over `transport` was opened.
    pub fn connection_opened(&self, transport: Transport) {
        self.connections
            .get_or_create(&[("transport", transport.as_str())])
            .inc();
    }

    /// A connection over `transport` was closed.
    pub fn connection_closed(&self, transport: Transport) {
        self.connections
            .get_or_create(&[("transport", transport.as_str())])
            .dec();
    }

    /// Sets the number of open connections over `transport`.
    pub fn set_connections(&self, transport: Transport, count: u64) {
        self.connections
            .get_or_create(&[("transport", transport.as_str())])
            .set(saturating_i64(count));
    }

    /// Records how long a request took to process.
    pub fn request_duration(&self, elapsed: Duration) {
        self.request_duration.observe(elapsed.as_secs_f64());
    }

    /// Counts one security event (what [`EventSink::emit`] does, without the `Result`).
    pub fn security_event(&self, event: &SecurityEvent) {
        let kind = event.kind();
        if let Some(c) = self.security_events.get(kind as usize) {
            c.inc();
        }
        match &event.detail {
            Detail::AuthFailure { reason, .. } => {
                self.auth_failures
                    .get_or_create(&[("reason", reason.as_str())])
                    .inc();
            }
            Detail::AnonymousCaller {
                form,
                action,
                suppressed,
            } => {
                // Coalesced events carry the requests folded into them.
                self.anonymous_callers
                    .get_or_create(&[("form", form.as_str()), ("action", action.as_str())])
                    .inc_by(u64::from(*suppressed).saturating_add(1));
            }
            Detail::Ban { reason, .. } => {
                self.bans
                    .get_or_create(&[("reason", reason.as_str())])
                    .inc();
            }
            _ => {}
        }
    }

    /// The registry, to add metrics of other parts of the server.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Every metric in the OpenMetrics text format (ends with `# EOF`).
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl EventSink for Metrics {
    fn emit(&self, event: &SecurityEvent) -> Result<(), EventError> {
        self.security_event(event);
        Ok(())
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
