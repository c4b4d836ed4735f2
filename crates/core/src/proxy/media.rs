//! The media key policy applied to the bodies the proxy forwards.

use sipwarden_sdp::{classify, MediaPolicy, Refusal, SdpSecurity};
use sipwarden_wire::{HeaderName, Message};

/// What a message's body is, as far as the media policy cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// No body, or one that cannot hold SDP.
    Absent,
    /// An SDP body, classified.
    Sdp(Box<SdpSecurity>),
    /// A body that is or may hold SDP but could not be read (multipart, malformed SDP,
    /// no Content-Type): only a raw scan applies.
    Unreadable,
}

impl Body {
    /// The classification, when the body was a readable SDP.
    pub(crate) fn sdp(&self) -> Option<&SdpSecurity> {
        match self {
            Body::Sdp(s) => Some(s),
            _ => None,
        }
    }
}

/// Inspects a message's body.
pub(crate) fn inspect(msg: &Message) -> Body {
    let body = msg.body();
    if body.is_empty() {
        return Body::Absent;
    }
    if msg.header(HeaderName::ContentType).is_none() {
        return Body::Unreadable;
    }
    match msg.content_type() {
        Ok(Some(t)) if t.is("application", "sdp") => match classify(body) {
            Ok(s) => Body::Sdp(Box::new(s)),
            Err(_) => Body::Unreadable,
        },
        Ok(Some(t)) if t.ty.eq_ignore_ascii_case("multipart") => Body::Unreadable,
        Ok(_) => Body::Absent,
        // A Content-Type we cannot decode could be anything.
        Err(_) => Body::Unreadable,
    }
}

/// May this body cross a hop (`hop_is_tls`: that hop is protected by TLS)?
pub(crate) fn check(
    policy: &MediaPolicy,
    kind: &Body,
    body: &[u8],
    hop_is_tls: bool,
) -> Result<(), Refusal> {
    match kind {
        Body::Absent => Ok(()),
        Body::Sdp(s) => policy.check(s, hop_is_tls),
        Body::Unreadable => {
            // Only the key-exposure rule can be checked on an unreadable body; the others
            // would refuse every multipart body, so they apply to real SDP only.
            let relaxed = MediaPolicy {
                require_srtp: false,
                e2e_only: false,
                ..*policy
            };
            relaxed.check_unparsed(body, hop_is_tls)
        }
    }
}
