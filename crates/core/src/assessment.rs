//! The call security assessment: what sipwarden knows about how one call is protected,
//! and one summary level with the reasons in plain English.
//!
//! Owns: the facts kept per call ([`CallFacts`]: every signalling hop seen or made, how
//! the caller authenticated, whether the caller's identity was checked, and the media
//! keying of the offer and answer), the derivation of one [`SecurityLevel`] from them
//! ([`CallFacts::assess`]), the serialisable result ([`CallAssessment`], stable JSON field
//! names) and its one-line form for the optional `Security-Assessment` header.
//!
//! Refuses: key material of any kind (the media facts are classifications from
//! `sipwarden-sdp`, which never keep keys), judging certificates itself (the transport
//! reports what it verified), and I/O.
//!
//! The levels, weakest first:
//!
//! - `none`: something travels in clear — a signalling hop without TLS (or with TLS whose
//!   peer was not verified where it should have been), or media without SRTP.
//! - `hop-by-hop`: every signalling hop is TLS, but the media keys are visible to the
//!   proxies on the path (SDES), or the media keying could not be confirmed.
//! - `end-to-end-media`: every signalling hop is TLS and the media is keyed on the media
//!   path (DTLS-SRTP or ZRTP): no proxy, this one included, can read the keys.

use serde::{Deserialize, Serialize};
use sipwarden_sdp::{assess, MediaLevel, SdpSecurity};
use sipwarden_wire::Transport;

/// Name of the optional header carrying [`CallAssessment::header_value`] toward the callee.
pub const HEADER: &str = "Security-Assessment";

/// Identifies one call (dialog): Call-ID and the two tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DialogId {
    /// The Call-ID as written.
    pub call_id: String,
    /// The caller's tag (From of the INVITE).
    pub caller_tag: String,
    /// The callee's tag (To of the answer); empty before the call is answered.
    pub callee_tag: String,
}

/// Where a signalling hop lies relative to this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HopRole {
    /// From the caller's side to this server (the hop the request arrived on).
    CallerSide,
    /// From this server toward the callee (the hop the request left on).
    CalleeSide,
    /// A hop before the one the request arrived on, reported by a Via header.
    Earlier,
}

impl HopRole {
    fn describe(self) -> &'static str {
        match self {
            HopRole::CallerSide => "the caller-side signalling hop",
            HopRole::CalleeSide => "the callee-side signalling hop",
            HopRole::Earlier => "an earlier signalling hop (reported by Via, not verified)",
        }
    }
}

/// How this server knows about a hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HopSource {
    /// This server sent or received on it.
    Observed,
    /// Another element says so in a Via header; it cannot be checked.
    ReportedByVia,
}

/// How the peer of a TLS hop was verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PeerVerification {
    /// This server was the TLS server and the peer (typically a user agent, which
    /// authenticates by Digest instead) presented no certificate. The peer verified ours.
    NoClientCertificate,
    /// This server was the TLS client and verified the server's chain and name
    /// (RFC 5922).
    ChainAndName {
        /// The SIP domain or host name the certificate was checked against.
        name: String,
    },
    /// Mutual TLS: the peer's client certificate was verified.
    MutualTls {
        /// The identity (SIP domain or URI) taken from the certificate.
        identity: String,
    },
    /// The peer certificate was not verified (verification turned off for this peer).
    NotVerified,
    /// The transport did not report how the peer was verified.
    Unknown,
}

/// TLS facts of one hop.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TlsFacts {
    /// Negotiated protocol version, `TLSv1.3` or `TLSv1.2`, when the transport reported
    /// the connection's handshake.
    pub version: Option<String>,
    /// Negotiated cipher suite by its IANA name (e.g. `TLS_AES_256_GCM_SHA384`), when
    /// known.
    #[serde(default)]
    pub cipher_suite: Option<String>,
    /// How the peer was verified.
    pub peer: PeerVerification,
}

impl TlsFacts {
    /// Facts with the peer verification known and the session not (yet) reported.
    pub fn new(peer: PeerVerification) -> TlsFacts {
        TlsFacts {
            version: None,
            cipher_suite: None,
            peer,
        }
    }

    /// The same facts with the negotiated version and cipher suite.
    pub fn with_session(mut self, version: &str, cipher_suite: Option<&str>) -> TlsFacts {
        self.version = Some(version.to_owned());
        self.cipher_suite = cipher_suite.map(str::to_owned);
        self
    }

    /// `TLSv1.3 (TLS_AES_256_GCM_SHA384)`, `TLSv1.2`, or `TLS` when nothing is known.
    fn describe(&self) -> String {
        match (&self.version, &self.cipher_suite) {
            (Some(v), Some(c)) => format!("{v} ({c})"),
            (Some(v), None) => v.clone(),
            (None, _) => "TLS".to_owned(),
        }
    }
}

/// One signalling hop of the call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignallingHop {
    /// Where the hop lies.
    pub role: HopRole,
    /// How it is known.
    pub source: HopSource,
    /// Transport, lower case: `udp`, `tcp`, `tls`, `sctp`, `tls-sctp`, `ws`, `wss`, or
    /// `other`.
    pub transport: String,
    /// TLS details, for TLS hops this server took part in.
    pub tls: Option<TlsFacts>,
}

impl SignallingHop {
    /// A hop with the transport's label.
    pub fn new(role: HopRole, source: HopSource, transport: Transport) -> SignallingHop {
        SignallingHop {
            role,
            source,
            transport: transport_label(transport).to_owned(),
            tls: None,
        }
    }

    fn is_secure(&self) -> bool {
        Transport::from_name(&self.transport).is_secure()
    }
}

/// The lower-case label of a transport.
pub fn transport_label(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
        Transport::Tls => "tls",
        Transport::Sctp => "sctp",
        Transport::TlsSctp => "tls-sctp",
        Transport::Ws => "ws",
        Transport::Wss => "wss",
        _ => "other",
    }
}

/// How the caller proved who it is to this server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum CallerAuth {
    /// Not authenticated (a caller from outside, accepted by policy).
    None,
    /// HTTP Digest.
    Digest {
        /// Algorithm token, e.g. `SHA-256`.
        algorithm: String,
        /// `user@domain`.
        account: String,
    },
    /// A verified TLS client certificate.
    TlsClientCertificate {
        /// The identity in the certificate.
        identity: String,
    },
}

/// Whether the caller's asserted identity was verified (STIR/SHAKEN fills this later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityCheck {
    /// No identity verification was done.
    NotChecked,
}

/// Which party made the SDP offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Party {
    /// The caller (offer in the INVITE).
    Caller,
    /// The callee (offer in the answer to an INVITE without SDP).
    Callee,
}

/// Everything known about one call, as gathered by the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFacts {
    /// The call.
    pub dialog: DialogId,
    /// Signalling hops, in path order as far as known.
    pub hops: Vec<SignallingHop>,
    /// How the caller authenticated.
    pub caller_auth: CallerAuth,
    /// Caller identity verification.
    pub identity: IdentityCheck,
    /// Who sent the offer.
    pub offerer: Party,
    /// The offer's classification, when an offer was seen and could be read.
    pub offer: Option<SdpSecurity>,
    /// The answer's classification, when seen and readable.
    pub answer: Option<SdpSecurity>,
}

/// The one summary level of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecurityLevel {
    /// Something travels in clear somewhere.
    None,
    /// All signalling is TLS; media keys are visible to proxies (SDES) or unconfirmed.
    HopByHop,
    /// All signalling is TLS; media keyed end to end (DTLS-SRTP or ZRTP).
    EndToEndMedia,
}

impl SecurityLevel {
    /// Stable label: `none`, `hop-by-hop`, `end-to-end-media`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityLevel::None => "none",
            SecurityLevel::HopByHop => "hop-by-hop",
            SecurityLevel::EndToEndMedia => "end-to-end-media",
        }
    }
}

/// The media part of an assessment (labels only, never keys).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MediaSummary {
    /// Who sent the offer.
    pub offerer: Party,
    /// Keying of the offer (`none`, `sdes`, `dtls-srtp`, `zrtp`, `mixed`, `unusable`,
    /// `no-media`), if an offer was read.
    pub offer: Option<String>,
    /// Keying of the answer, if an answer was read.
    pub answer: Option<String>,
    /// Protection of media the caller sends (`none`, `sdes`, `dtls-srtp`, `zrtp`), if
    /// known and any flows.
    pub caller_to_callee: Option<String>,
    /// Protection of media the callee sends, if known and any flows.
    pub callee_to_caller: Option<String>,
    /// `none`, `hop-by-hop`, `end-to-end`, `no-media`, or `unknown`.
    pub level: String,
}

/// The assessment of one call: the level, the reasons, and the facts it rests on.
/// Serialises to a JSON object with these field names; no key material is ever in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CallAssessment {
    /// The call.
    pub dialog: DialogId,
    /// The summary level.
    pub level: SecurityLevel,
    /// Why, in plain English, most important first.
    pub reasons: Vec<String>,
    /// The signalling hops considered.
    pub signalling: Vec<SignallingHop>,
    /// How the caller authenticated.
    pub caller_auth: CallerAuth,
    /// Caller identity verification.
    pub identity: IdentityCheck,
    /// Media keying.
    pub media: MediaSummary,
}

/// What the signalling path amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signalling {
    Tls,
    TlsUnverified,
    Plain,
    Unknown,
}

impl Signalling {
    fn as_str(self) -> &'static str {
        match self {
            Signalling::Tls => "tls",
            Signalling::TlsUnverified => "tls-unverified",
            Signalling::Plain => "plain",
            Signalling::Unknown => "unknown",
        }
    }
}

impl CallFacts {
    /// Derives the level and the reasons.
    pub fn assess(&self) -> CallAssessment {
        let mut reasons = Vec::new();
        let signalling = self.signalling_reasons(&mut reasons);
        let (media, media_level) = self.media(&mut reasons);
        let level = match (signalling, media_level) {
            (Signalling::Plain | Signalling::TlsUnverified | Signalling::Unknown, _) => {
                SecurityLevel::None
            }
            (Signalling::Tls, Some(MediaLevel::Clear)) => SecurityLevel::None,
            (Signalling::Tls, Some(MediaLevel::EndToEnd)) => SecurityLevel::EndToEndMedia,
            (Signalling::Tls, _) => SecurityLevel::HopByHop,
        };
        let summary = match level {
            SecurityLevel::None => match signalling {
                Signalling::Tls => "level none: the media of this call flows in clear",
                Signalling::Unknown => "level none: nothing is known about the signalling path",
                _ => "level none: part of this call's signalling is not protected by verified TLS",
            },
            SecurityLevel::HopByHop => match media_level {
                Some(MediaLevel::HopByHop) => {
                    "level hop-by-hop: all signalling is TLS, but the media keys travel in the \
                     signalling and every proxy on the path, this one included, can read them"
                }
                Some(MediaLevel::NoMedia) => {
                    "level hop-by-hop: all signalling is TLS; no media flows"
                }
                _ => {
                    "level hop-by-hop: all signalling is TLS, but how the media is keyed \
                     could not be confirmed"
                }
            },
            SecurityLevel::EndToEndMedia => {
                "level end-to-end-media: all signalling is TLS and the media is keyed on the \
                 media path (DTLS-SRTP or ZRTP), so no proxy can read the keys"
            }
        };
        reasons.insert(0, summary.to_owned());
        self.auth_reasons(&mut reasons);
        CallAssessment {
            dialog: self.dialog.clone(),
            level,
            reasons,
            signalling: self.hops.clone(),
            caller_auth: self.caller_auth.clone(),
            identity: self.identity,
            media,
        }
    }

    fn signalling_reasons(&self, reasons: &mut Vec<String>) -> Signalling {
        if self.hops.is_empty() {
            reasons.push("no signalling hop was recorded".to_owned());
            return Signalling::Unknown;
        }
        let mut plain = false;
        let mut unverified = false;
        for hop in &self.hops {
            let what = hop.role.describe();
            if !hop.is_secure() {
                plain = true;
                reasons.push(format!(
                    "{what} uses {} without TLS: anyone on that path can read and change the \
                     call setup, media keys included",
                    hop.transport.to_ascii_uppercase()
                ));
                continue;
            }
            let version = hop
                .tls
                .as_ref()
                .map_or_else(|| "TLS".to_owned(), TlsFacts::describe);
            match hop.tls.as_ref().map(|t| &t.peer) {
                Some(PeerVerification::NotVerified) => {
                    unverified = true;
                    reasons.push(format!(
                        "{what} uses {version} without verifying the peer certificate: an \
                         active attacker on that path could intercept it"
                    ));
                }
                Some(PeerVerification::ChainAndName { name }) => reasons.push(format!(
                    "{what} uses {version}; the peer certificate chain and name ({name}) were \
                     verified"
                )),
                Some(PeerVerification::MutualTls { identity }) => reasons.push(format!(
                    "{what} uses mutual {version}; the peer's client certificate ({identity}) \
                     was verified"
                )),
                Some(PeerVerification::NoClientCertificate) => reasons.push(format!(
                    "{what} uses {version}; the peer presented no certificate (it verified \
                     this server's)"
                )),
                Some(PeerVerification::Unknown) | None => reasons.push(format!(
                    "{what} uses {version}; how the peer was verified is not known"
                )),
            }
        }
        if plain {
            Signalling::Plain
        } else if unverified {
            Signalling::TlsUnverified
        } else {
            Signalling::Tls
        }
    }

    fn media(&self, reasons: &mut Vec<String>) -> (MediaSummary, Option<MediaLevel>) {
        let label = |s: &SdpSecurity| s.keying.as_str().to_owned();
        let mut summary = MediaSummary {
            offerer: self.offerer,
            offer: self.offer.as_ref().map(label),
            answer: self.answer.as_ref().map(label),
            caller_to_callee: None,
            callee_to_caller: None,
            level: "unknown".to_owned(),
        };
        let (Some(offer), Some(answer)) = (&self.offer, &self.answer) else {
            reasons.push(if self.offer.is_some() {
                "no answer was seen, so the media keying is not confirmed".to_owned()
            } else {
                "no SDP was seen, so the media keying is unknown".to_owned()
            });
            return (summary, None);
        };
        let m = assess(offer, answer);
        let (caller, callee) = match self.offerer {
            Party::Caller => (m.offerer_to_answerer, m.answerer_to_offerer),
            Party::Callee => (m.answerer_to_offerer, m.offerer_to_answerer),
        };
        summary.caller_to_callee = caller.map(|p| p.as_str().to_owned());
        summary.callee_to_caller = callee.map(|p| p.as_str().to_owned());
        summary.level = m.level.as_str().to_owned();
        reasons.extend(m.reasons());
        (summary, Some(m.level))
    }

    fn auth_reasons(&self, reasons: &mut Vec<String>) {
        reasons.push(match &self.caller_auth {
            CallerAuth::None => "the caller was not authenticated by this server".to_owned(),
            CallerAuth::Digest { algorithm, account } => {
                format!("the caller authenticated as {account} with Digest {algorithm}")
            }
            CallerAuth::TlsClientCertificate { identity } => {
                format!("the caller authenticated with a TLS client certificate for {identity}")
            }
        });
        match self.identity {
            IdentityCheck::NotChecked => reasons
                .push("the caller's identity was not verified (no STIR/SHAKEN check)".to_owned()),
        }
    }
}

impl CallAssessment {
    /// The compact one-line form, for the optional [`HEADER`] toward the callee:
    ///
    /// ```text
    /// Security-Assessment: <level>;signalling=<s>;caller=<c>;identity=<i>;media=<m>
    /// ```
    ///
    /// - `<level>`: `none`, `hop-by-hop` or `end-to-end-media`;
    /// - `signalling`: `tls` (every hop TLS), `tls-unverified` (a TLS peer not verified),
    ///   `plain` (a hop without TLS) or `unknown`;
    /// - `caller`: `none`, `digest-<algorithm>` (lower case, e.g. `digest-sha-256`) or
    ///   `tls-client-certificate`;
    /// - `identity`: `not-checked`;
    /// - `media`: the weaker direction's protection (`none`, `sdes`, `dtls-srtp`,
    ///   `zrtp`) once answered, `no-media`, or before the answer `offered-<keying>`
    ///   (`offered-sdes`, `offered-dtls-srtp`, ...), or `unknown`.
    ///
    /// Every part is a token, so the value needs no quoting. No names, addresses or keys
    /// appear in it.
    pub fn header_value(&self) -> String {
        let signalling = if self.signalling.is_empty() {
            Signalling::Unknown
        } else if self.signalling.iter().any(|h| !h.is_secure()) {
            Signalling::Plain
        } else if self.signalling.iter().any(|h| {
            h.tls
                .as_ref()
                .is_some_and(|t| t.peer == PeerVerification::NotVerified)
        }) {
            Signalling::TlsUnverified
        } else {
            Signalling::Tls
        };
        let caller = match &self.caller_auth {
            CallerAuth::None => "none".to_owned(),
            CallerAuth::Digest { algorithm, .. } => {
                let alg: String = algorithm
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                format!("digest-{}", alg.to_ascii_lowercase())
            }
            CallerAuth::TlsClientCertificate { .. } => "tls-client-certificate".to_owned(),
        };
        let identity = match self.identity {
            IdentityCheck::NotChecked => "not-checked",
        };
        let m = &self.media;
        let media = match (&m.caller_to_callee, &m.callee_to_caller) {
            (Some(a), Some(b)) => weaker(a, b).to_owned(),
            (Some(a), None) | (None, Some(a)) => a.clone(),
            (None, None) if m.level == "no-media" => "no-media".to_owned(),
            (None, None) => match &m.offer {
                Some(k) if m.answer.is_none() => format!("offered-{k}"),
                _ => "unknown".to_owned(),
            },
        };
        format!(
            "{};signalling={};caller={};identity={};media={}",
            self.level.as_str(),
            signalling.as_str(),
            caller,
            identity,
            media
        )
    }
}

/// The weaker of two protection labels.
fn weaker<'a>(a: &'a str, b: &'a str) -> &'a str {
    fn rank(p: &str) -> u8 {
        match p {
            "dtls-srtp" | "zrtp" => 2,
            "sdes" => 1,
            _ => 0,
        }
    }
    if rank(b) < rank(a) {
        b
    } else {
        a
    }
}
