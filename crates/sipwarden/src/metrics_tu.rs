//! A transaction user that counts: it wraps any other one and records requests by method
//! and transport, responses by status and method, and how long each request took to get
//! its final response.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sipwarden_admin::{Method, Metrics};
use sipwarden_transport::tu::{IncomingRequest, RespondSink, Responder, TransactionUser};
use sipwarden_transport::{Flow, RespondError, Screen};
use sipwarden_wire::Message;

use crate::ops::event_transport;

/// Counts what passes through to `inner`.
pub struct CountingTu<T> {
    inner: T,
    metrics: Arc<Metrics>,
}

impl<T: TransactionUser> CountingTu<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, metrics: Arc<Metrics>) -> CountingTu<T> {
        CountingTu { inner, metrics }
    }

    fn wrap(&self, method: Method, responder: Responder, started: Option<Instant>) -> Responder {
        Responder::new(Arc::new(CountingSink {
            inner: responder,
            metrics: Arc::clone(&self.metrics),
            method,
            started,
        }))
    }
}

/// The metric label of a request's method (extension methods are `other`).
fn method_of(msg: &Message) -> Method {
    Method::from_wire(msg.method_bytes())
}

impl<T: TransactionUser> TransactionUser for CountingTu<T> {
    fn screen(&self, request: &IncomingRequest) -> Screen {
        let screened = self.inner.screen(request);
        // Requests refused before any transaction exists never reach on_request.
        if screened != Screen::Pass {
            self.metrics.request(
                method_of(&request.message),
                event_transport(request.flow.transport),
            );
        }
        screened
    }

    fn on_request(&self, request: IncomingRequest, responder: Responder) {
        let method = method_of(&request.message);
        self.metrics
            .request(method, event_transport(request.flow.transport));
        let responder = self.wrap(method, responder, Some(Instant::now()));
        self.inner.on_request(request, responder);
    }

    fn on_ack(&self, ack: IncomingRequest) {
        self.metrics
            .request(Method::Ack, event_transport(ack.flow.transport));
        self.inner.on_ack(ack);
    }

    fn on_cancel(&self, cancel: IncomingRequest, invite: Responder) {
        self.metrics
            .request(Method::Cancel, event_transport(cancel.flow.transport));
        let invite = self.wrap(Method::Invite, invite, None);
        self.inner.on_cancel(cancel, invite);
    }

    fn on_stray_response(&self, response: Message, flow: Flow) {
        self.inner.on_stray_response(response, flow);
    }
}

/// Counts each response on its way to the transaction.
struct CountingSink {
    inner: Responder,
    metrics: Arc<Metrics>,
    method: Method,
    started: Option<Instant>,
}

impl RespondSink for CountingSink {
    fn respond(&self, response: Bytes) -> Result<(), RespondError> {
        let status = status_of(&response);
        self.inner.respond(response)?;
        if let Some(code) = status {
            self.metrics.response(code, self.method);
            if code >= 200 {
                if let Some(t) = self.started {
                    self.metrics.request_duration(t.elapsed());
                }
            }
        }
        Ok(())
    }
}

/// The status code of a response we built (`SIP/2.0 NNN ...`), without a full parse.
pub(crate) fn status_of(response: &[u8]) -> Option<u16> {
    let code = response.strip_prefix(b"SIP/2.0 ")?.get(..3)?;
    std::str::from_utf8(code).ok()?.parse().ok()
}
