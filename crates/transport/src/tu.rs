//! The interface between the transport and the transaction user (registrar, proxy, or
//! the basic responder of [`crate::basic`]).
//!
//! The transport hands every new server transaction's request to
//! [`TransactionUser::on_request`] together with a [`Responder`]; retransmissions never
//! reach the transaction user. The responder may be used at once or later (from another
//! task), as often as the transaction allows (provisional responses, then one final
//! response).

use std::sync::Arc;

use bytes::Bytes;
use rustls::pki_types::CertificateDer;
use sipwarden_wire::Message;

use crate::flow::Flow;

/// A request as the transaction user sees it.
#[derive(Debug, Clone)]
pub struct IncomingRequest {
    /// The request, with `received`/`rport` already added to its top Via.
    pub message: Message,
    /// Where it came from.
    pub flow: Flow,
    /// The certificate chain a TLS peer presented, leaf first, when it presented one.
    /// The TLS configuration decides whether it was verified.
    pub peer_certificates: Option<Arc<[CertificateDer<'static>]>>,
}

/// What a [`Responder`] reports when a response cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RespondError {
    /// The bytes are not a SIP response.
    #[error("not a SIP response")]
    NotAResponse,
    /// The transaction already sent its final response, timed out or was shut down.
    #[error("transaction no longer accepts responses")]
    TransactionGone,
}

/// Sends responses within one server transaction.
pub trait RespondSink: Send + Sync {
    /// Passes a response to the transaction, which sends it and keeps it for
    /// retransmissions.
    fn respond(&self, response: Bytes) -> Result<(), RespondError>;
}

/// The handle a transaction user answers a request with.
#[derive(Clone)]
pub struct Responder {
    sink: Arc<dyn RespondSink>,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder").finish_non_exhaustive()
    }
}

impl Responder {
    /// A responder that passes responses to `sink`.
    pub fn new(sink: Arc<dyn RespondSink>) -> Responder {
        Responder { sink }
    }

    /// Sends a response (provisional or final), for example one made with
    /// `sipwarden_wire::build::response_to`.
    pub fn respond(&self, response: Bytes) -> Result<(), RespondError> {
        self.sink.respond(response)
    }
}

/// What [`TransactionUser::screen`] decides about a request before any transaction
/// state exists for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Go on: match or create the transaction and hand the request on.
    Pass,
    /// Send nothing and keep nothing.
    Drop,
    /// Send this response statelessly (back to where responses to the request go) and
    /// keep nothing. Ignored for ACK, which is never answered.
    Respond(Bytes),
}

/// The layer above the transactions: it decides what to answer.
pub trait TransactionUser: Send + Sync + 'static {
    /// Screens every request (retransmissions and ACKs included) before the transaction
    /// layer sees it, so that requests refused here (banned sources, rate limits,
    /// stateless challenges) cost no transaction state. The default passes everything.
    fn screen(&self, request: &IncomingRequest) -> Screen {
        let _ = request;
        Screen::Pass
    }

    /// A new request (not a retransmission, not an ACK). Answer through `responder`.
    fn on_request(&self, request: IncomingRequest, responder: Responder);

    /// An ACK that matched no server transaction (the ACK for a 2xx, RFC 3261 §17.2.1
    /// and RFC 6026). Nothing can be answered.
    fn on_ack(&self, ack: IncomingRequest) {
        let _ = ack;
    }

    /// A CANCEL matched a pending INVITE transaction (already answered 200 by the
    /// transaction layer). `invite` is the responder of that INVITE: the user normally
    /// answers it 487 Request Terminated.
    fn on_cancel(&self, cancel: IncomingRequest, invite: Responder) {
        let _ = (cancel, invite);
    }

    /// A response that matched no client transaction; a stateful proxy may forward
    /// it, everyone else ignores it.
    fn on_stray_response(&self, response: Message, flow: Flow) {
        let _ = (response, flow);
    }
}
