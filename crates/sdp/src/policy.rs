//! Media key policy: may this offer or answer cross this hop?
//!
//! The decision is per hop because SDES keys are only as private as the least protected
//! signalling hop they cross. The caller says whether the hop the message would be sent on
//! is TLS; refusals map to `488 Not Acceptable Here` with a `Warning` saying why.

use core::fmt;

use crate::redact::contains_sdes_keys;
use crate::security::{Keying, SdpSecurity};

/// What the operator asks of media keying. `Default` is the secure default: SDES keys
/// never cross a hop without TLS; other rules off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MediaPolicy {
    /// Refuse to send SDES keys (or a `k=` key) over a hop that is not TLS. On by default.
    pub sdes_requires_tls_hop: bool,
    /// Every active media line must carry an SRTP key exchange (SDES, DTLS-SRTP or ZRTP).
    pub require_srtp: bool,
    /// Only DTLS-SRTP or ZRTP: no media keys the proxies could read, and no line in clear.
    pub e2e_only: bool,
}

impl Default for MediaPolicy {
    fn default() -> Self {
        MediaPolicy {
            sdes_requires_tls_hop: true,
            require_srtp: false,
            e2e_only: false,
        }
    }
}

/// Why an SDP may not be forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// SDES keys (or a `k=` key) would cross a hop without TLS.
    KeysOverPlainHop,
    /// An active media line has no SRTP key exchange, or an unusable one.
    SrtpRequired,
    /// Keys visible to proxies (SDES), or a line without DTLS-SRTP/ZRTP.
    EndToEndRequired,
    /// The body could not be read, and the policy needs to read it.
    Unreadable,
}

impl Refusal {
    /// SIP status to answer with.
    pub const STATUS: u16 = 488;
    /// Reason phrase for [`Self::STATUS`].
    pub const REASON_PHRASE: &'static str = "Not Acceptable Here";
    /// `warn-code` (RFC 3261 §20.43: 399, miscellaneous warning).
    pub const WARN_CODE: u16 = 399;

    /// Stable label for events and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::KeysOverPlainHop => "sdes-over-plain-hop",
            Refusal::SrtpRequired => "srtp-required",
            Refusal::EndToEndRequired => "e2e-media-required",
            Refusal::Unreadable => "sdp-unreadable",
        }
    }

    /// The text of the `Warning` (no quotes or backslashes, so it needs no escaping).
    pub fn warning_text(self) -> &'static str {
        match self {
            Refusal::KeysOverPlainHop => "SDES media keys would cross a signalling hop without TLS",
            Refusal::SrtpRequired => "policy requires SRTP on every media stream",
            Refusal::EndToEndRequired => {
                "policy requires DTLS-SRTP or ZRTP media keys, not visible to proxies"
            }
            Refusal::Unreadable => "session description could not be inspected",
        }
    }

    /// A whole `Warning` header value: `399 <agent> "<text>"`. Characters of `agent` that
    /// are not allowed in a host or token are dropped, so the value is always well-formed.
    pub fn warning_value(self, agent: &str) -> String {
        let agent: String = agent
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(*c))
            .collect();
        let agent = if agent.is_empty() {
            "-".to_owned()
        } else {
            agent
        };
        format!("{} {} \"{}\"", Self::WARN_CODE, agent, self.warning_text())
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.warning_text())
    }
}

impl MediaPolicy {
    /// Whether a classified offer or answer may be sent over a hop (`hop_is_tls`: the
    /// transport of that hop is TLS). The first rule broken is reported.
    pub fn check(&self, sdp: &SdpSecurity, hop_is_tls: bool) -> Result<(), Refusal> {
        if self.sdes_requires_tls_hop && !hop_is_tls && sdp.exposes_keys() {
            return Err(Refusal::KeysOverPlainHop);
        }
        if self.e2e_only {
            let all_e2e = sdp
                .active_media()
                .all(|m| m.keying != Keying::Unusable && m.methods.end_to_end_only());
            if sdp.exposes_keys() || !all_e2e {
                return Err(Refusal::EndToEndRequired);
            }
        }
        if self.require_srtp {
            let all_srtp = sdp.active_media().all(|m| {
                m.keying != Keying::Unusable && !m.methods.is_empty() && !m.unencrypted_srtp
            });
            if !all_srtp {
                return Err(Refusal::SrtpRequired);
            }
        }
        Ok(())
    }

    /// For a body the reader refused: the SDES rule still applies through a raw scan for
    /// `a=crypto:`; the other rules cannot be proven, so they refuse.
    pub fn check_unparsed(&self, body: &[u8], hop_is_tls: bool) -> Result<(), Refusal> {
        if self.sdes_requires_tls_hop && !hop_is_tls && contains_raw_keys(body) {
            return Err(Refusal::KeysOverPlainHop);
        }
        if self.e2e_only || self.require_srtp {
            return Err(Refusal::Unreadable);
        }
        Ok(())
    }
}

/// `a=crypto:` anywhere, or a `k=` line.
fn contains_raw_keys(body: &[u8]) -> bool {
    contains_sdes_keys(body)
        || body.split(|&b| b == b'\n' || b == b'\r').any(|line| {
            line.len() > 2 && line.get(..2).is_some_and(|p| p.eq_ignore_ascii_case(b"k="))
        })
}
