//! The messages a transaction writes itself: the ACK for a non-2xx final response
//! (RFC 3261 §17.1.1.3) and the `100 Trying` of an INVITE server transaction (§17.2.1),
//! both through the wire crate's builders.

use bytes::Bytes;
use sipwarden_wire::build;
use sipwarden_wire::Message;

/// The ACK for `response` (300–699) to `invite`; `None` when the INVITE lacks a field the
/// ACK needs (it was parsed, so this does not happen for requests we built).
pub(crate) fn ack_for(invite: &Message, response: &Message) -> Option<Bytes> {
    build::ack_for_non2xx(invite, response).ok()
}

/// `100 Trying` for an INVITE (§8.2.6: Via, From, To, Call-ID, CSeq and Timestamp
/// copied; no To tag).
pub(crate) fn trying_for(request: &Message) -> Option<Bytes> {
    build::response_to(request, 100, "Trying").build().ok()
}
