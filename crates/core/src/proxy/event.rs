//! What the proxy reports for the security event log and metrics. Events carry labels,
//! codes and assessments, never message bytes, so no media key can reach a log through
//! them.

use std::fmt;

use sipwarden_sdp::{redact_keys, Refusal};

use crate::assessment::{CallAssessment, DialogId};
use crate::service::AuthEvent;

/// Why the proxy refused, failed or withheld something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cause {
    /// The request is malformed (RFC 3261 §16.3 step 1).
    Malformed,
    /// The Request-URI scheme is not sip, sips or tel (416).
    UnsupportedScheme,
    /// Max-Forwards reached zero (483).
    TooManyHops,
    /// The request came back unchanged: a loop (482).
    Loop,
    /// Proxy-Require named an extension we do not support (420).
    BadExtension,
    /// A CANCEL that matches no request being proxied (481).
    NoTransaction,
    /// A request the proxy does not handle (REGISTER goes to the registrar).
    NotForProxy,
    /// A local caller without credentials was challenged (407).
    AuthRequired,
    /// The authenticated user is not the one named in From (403).
    IdentityMismatch,
    /// A request from outside our domains toward another domain (403).
    RelayDenied,
    /// A request from outside to a local user, refused by policy (403).
    OutsideRejected,
    /// A Route naming this server carried a MAC that does not verify (403).
    ForgedRoute,
    /// An in-dialog request for a dialog this server did not record-route (403).
    NotInDialog,
    /// Refused by the admission hook.
    Admission,
    /// No such user or nothing to route to (404).
    NotFound,
    /// The user has no current registration (480).
    Unavailable,
    /// A sips: request (or route) had no TLS next hop (480).
    NoSecureHop,
    /// The media key policy refused an SDP (488 for requests).
    Media(Refusal),
    /// A branch timed out (408).
    Timeout,
    /// A branch could not be sent (503).
    TransportFailure,
    /// The next hop could not be resolved.
    Unresolvable,
    /// Something on our side failed (500).
    Internal,
}

impl Cause {
    /// Stable label for events and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Malformed => "malformed",
            Cause::UnsupportedScheme => "unsupported-uri-scheme",
            Cause::TooManyHops => "too-many-hops",
            Cause::Loop => "loop-detected",
            Cause::BadExtension => "bad-extension",
            Cause::NoTransaction => "no-transaction",
            Cause::NotForProxy => "not-for-proxy",
            Cause::AuthRequired => "auth-required",
            Cause::IdentityMismatch => "identity-mismatch",
            Cause::RelayDenied => "relay-denied",
            Cause::OutsideRejected => "outside-rejected",
            Cause::ForgedRoute => "forged-route",
            Cause::NotInDialog => "not-in-dialog",
            Cause::Admission => "admission",
            Cause::NotFound => "not-found",
            Cause::Unavailable => "unavailable",
            Cause::NoSecureHop => "no-secure-hop",
            Cause::Media(r) => r.as_str(),
            Cause::Timeout => "timeout",
            Cause::TransportFailure => "transport-failure",
            Cause::Unresolvable => "unresolvable",
            Cause::Internal => "internal",
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something worth recording.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// What authentication made of a request from a local caller.
    Auth(AuthEvent),
    /// The request was answered by the proxy itself with an error.
    Refused {
        /// Status sent.
        code: u16,
        /// Why.
        cause: Cause,
    },
    /// One branch of a forked request failed or was not attempted.
    BranchFailed {
        /// Branch index.
        branch: usize,
        /// The status it counts as.
        code: u16,
        /// Why.
        cause: Cause,
    },
    /// A response (or a stateless ACK) was not forwarded.
    Withheld {
        /// Its status code (0 for a request).
        code: u16,
        /// Why.
        cause: Cause,
    },
    /// An INVITE was answered: the call's security assessment.
    CallAnswered(Box<CallAssessment>),
    /// A BYE for this dialog got its final response.
    CallEnded {
        /// The dialog.
        dialog: DialogId,
        /// The BYE's final status.
        code: u16,
    },
}

/// Debug view of message bytes for logs: the text with SDES keys redacted.
pub(crate) struct Wire<'a>(pub(crate) &'a [u8]);

impl fmt::Debug for Wire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = redact_keys(self.0);
        write!(f, "{:?}", String::from_utf8_lossy(&redacted))
    }
}
