//! Classification of an offer or answer: which SRTP key exchange each media line uses.
//!
//! The result is owned and small, so the proxy can keep it with the dialog after the
//! message buffer is gone. It names suites and hash functions, never keys.

use core::fmt;

use smallvec::SmallVec;

use crate::attr::{CryptoSuite, Direction, HashFunction, Setup};
use crate::error::SdpError;
use crate::parse::{Media, Profile, Sdp};

/// The key exchange methods a media line carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Methods {
    /// SDES (RFC 4568): `a=crypto` keys, readable by every signalling hop.
    pub sdes: bool,
    /// DTLS-SRTP (RFC 5763/5764): `a=fingerprint` on a (D)TLS profile; keys agreed on the
    /// media path.
    pub dtls_srtp: bool,
    /// ZRTP (RFC 6189): `a=zrtp-hash`; keys agreed on the media path.
    pub zrtp: bool,
}

impl Methods {
    /// How many methods are present.
    pub fn count(self) -> usize {
        usize::from(self.sdes) + usize::from(self.dtls_srtp) + usize::from(self.zrtp)
    }

    /// No method at all.
    pub fn is_empty(self) -> bool {
        self.count() == 0
    }

    /// Methods present in both.
    pub fn intersection(self, other: Methods) -> Methods {
        Methods {
            sdes: self.sdes && other.sdes,
            dtls_srtp: self.dtls_srtp && other.dtls_srtp,
            zrtp: self.zrtp && other.zrtp,
        }
    }

    /// Only methods whose keys proxies cannot read (DTLS-SRTP, ZRTP), and at least one.
    pub fn end_to_end_only(self) -> bool {
        !self.sdes && (self.dtls_srtp || self.zrtp)
    }
}

/// Classification of one media line, or of a whole description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keying {
    /// Whole description only: no active media line (all disabled, rejected or inactive).
    NoMedia,
    /// No SRTP keying: media in clear.
    NoSrtp,
    /// SDES `a=crypto`: the SRTP keys are in the SDP, readable by every signalling hop.
    Sdes,
    /// DTLS-SRTP: certificate fingerprints in the SDP, keys agreed on the media path.
    DtlsSrtp,
    /// ZRTP: `a=zrtp-hash`, keys agreed on the media path.
    Zrtp,
    /// Several methods on one line (the answer picks one), or different methods on
    /// different active lines.
    Mixed,
    /// A secure profile with nothing usable to key it (see [`MediaSecurity::problem`]).
    Unusable,
}

impl Keying {
    /// Stable lower-case label for events and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Keying::NoMedia => "no-media",
            Keying::NoSrtp => "none",
            Keying::Sdes => "sdes",
            Keying::DtlsSrtp => "dtls-srtp",
            Keying::Zrtp => "zrtp",
            Keying::Mixed => "mixed",
            Keying::Unusable => "unusable",
        }
    }
}

impl fmt::Display for Keying {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `<media>` field of an `m=` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `text`.
    Text,
    /// `application`.
    Application,
    /// `message`.
    Message,
    /// `image` (T.38 fax).
    Image,
    /// Anything else.
    Other,
}

impl MediaKind {
    /// Reads a media type (case-insensitive).
    pub fn from_name(name: &str) -> Self {
        [
            ("audio", MediaKind::Audio),
            ("video", MediaKind::Video),
            ("text", MediaKind::Text),
            ("application", MediaKind::Application),
            ("message", MediaKind::Message),
            ("image", MediaKind::Image),
        ]
        .into_iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n))
        .map_or(MediaKind::Other, |(_, k)| k)
    }

    /// Lower-case name, or `"other"`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Text => "text",
            MediaKind::Application => "application",
            MediaKind::Message => "message",
            MediaKind::Image => "image",
            MediaKind::Other => "other",
        }
    }
}

/// How one media line is keyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSecurity {
    /// Position of the `m=` line (0-based); offer and answer lines pair by index.
    pub index: usize,
    /// Media type.
    pub kind: MediaKind,
    /// Port; 0 is a disabled or rejected stream.
    pub port: u16,
    /// What the transport protocol means for keying.
    pub profile: Profile,
    /// Effective direction (media level, else session level, else `sendrecv`).
    pub direction: Direction,
    /// Media flows on this line: port is not 0 and direction is not `inactive`.
    pub active: bool,
    /// Methods present.
    pub methods: Methods,
    /// The classification of this line.
    pub keying: Keying,
    /// SRTP is optional here: a method is offered on a plain profile (`RTP/AVP` with
    /// `a=crypto`, as baresip's `srtp` mode does, or ZRTP), so the peer may fall back to
    /// RTP in clear.
    pub best_effort: bool,
    /// Crypto suites of the `a=crypto` lines, in order, without duplicates.
    pub suites: SmallVec<[CryptoSuite; 4]>,
    /// An `a=crypto` line asks for `UNENCRYPTED_SRTP`: media would not be encrypted.
    pub unencrypted_srtp: bool,
    /// An `a=crypto` line asks for `UNAUTHENTICATED_SRTP`.
    pub unauthenticated_srtp: bool,
    /// Hash functions of the fingerprints in force (media level, else session level).
    pub fingerprint_hashes: SmallVec<[HashFunction; 2]>,
    /// DTLS role in force (media level, else session level).
    pub setup: Option<Setup>,
    /// Why the line is [`Keying::Unusable`].
    pub problem: Option<&'static str>,
}

/// How a whole offer or answer is keyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpSecurity {
    /// Over active lines: the one classification they share, [`Keying::Mixed`] when they
    /// differ, [`Keying::Unusable`] when any is, [`Keying::NoMedia`] when none is active.
    pub keying: Keying,
    /// Some active line has optional SRTP (see [`MediaSecurity::best_effort`]).
    pub best_effort: bool,
    /// An `a=crypto` line appears anywhere, disabled and inactive lines included: its keys
    /// are readable by every hop whatever the media does.
    pub sdes_keys: bool,
    /// A `k=` line (the obsolete encryption key field) appears anywhere.
    pub key_field: bool,
    /// One entry per `m=` line, in order.
    pub media: SmallVec<[MediaSecurity; 4]>,
}

impl SdpSecurity {
    /// Key material in the clear in this SDP (SDES keys or a `k=` line): forwarding it
    /// over a hop without TLS discloses the media keys.
    pub fn exposes_keys(&self) -> bool {
        self.sdes_keys || self.key_field
    }

    /// Lines on which media flows.
    pub fn active_media(&self) -> impl Iterator<Item = &MediaSecurity> {
        self.media.iter().filter(|m| m.active)
    }

    /// Crypto suites over all lines, without duplicates.
    pub fn crypto_suites(&self) -> SmallVec<[CryptoSuite; 4]> {
        let mut out = SmallVec::new();
        for s in self.media.iter().flat_map(|m| m.suites.iter()) {
            push_unique(&mut out, *s);
        }
        out
    }

    /// Fingerprint hash functions over all lines, without duplicates.
    pub fn fingerprint_hashes(&self) -> SmallVec<[HashFunction; 2]> {
        let mut out = SmallVec::new();
        for h in self.media.iter().flat_map(|m| m.fingerprint_hashes.iter()) {
            push_unique(&mut out, *h);
        }
        out
    }
}

/// Parses and classifies in one call.
pub fn classify(body: &[u8]) -> Result<SdpSecurity, SdpError> {
    Sdp::parse(body).map(|sdp| sdp.security())
}

fn push_unique<T: PartialEq, const N: usize>(v: &mut SmallVec<[T; N]>, item: T)
where
    [T; N]: smallvec::Array<Item = T>,
{
    if !v.contains(&item) {
        v.push(item);
    }
}

impl<'a> Sdp<'a> {
    /// Classifies every media line and the description as a whole.
    pub fn security(&self) -> SdpSecurity {
        let media: SmallVec<[MediaSecurity; 4]> = self
            .media
            .iter()
            .enumerate()
            .map(|(i, m)| self.media_security(i, m))
            .collect();
        let mut keying = Keying::NoMedia;
        for m in media.iter().filter(|m| m.active) {
            keying = match (keying, m.keying) {
                (_, Keying::Unusable) | (Keying::Unusable, _) => Keying::Unusable,
                (Keying::NoMedia, k) => k,
                (k, l) if k == l => k,
                _ => Keying::Mixed,
            };
        }
        SdpSecurity {
            keying,
            best_effort: media.iter().any(|m| m.active && m.best_effort),
            sdes_keys: !self.keying.crypto.is_empty()
                || self.media.iter().any(|m| !m.keying.crypto.is_empty()),
            key_field: self.key_field || self.media.iter().any(|m| m.key_field),
            media,
        }
    }

    fn media_security(&self, index: usize, m: &Media<'a>) -> MediaSecurity {
        let session = &self.keying;
        let own = &m.keying;
        let direction = own
            .direction
            .or(session.direction)
            .unwrap_or(Direction::SendRecv);
        let fingerprints = if own.fingerprints.is_empty() {
            &session.fingerprints
        } else {
            &own.fingerprints
        };
        let profile = m.proto.profile;
        let methods = Methods {
            // RFC 5763 has no a=crypto on a DTLS profile; a peer there keys by DTLS.
            sdes: !own.crypto.is_empty() && profile != Profile::Dtls,
            dtls_srtp: !fingerprints.is_empty() && matches!(profile, Profile::Dtls | Profile::Srtp),
            zrtp: own.zrtp_hash.is_some() || session.zrtp_hash.is_some(),
        };
        let problem = match profile {
            Profile::Dtls if fingerprints.is_empty() => Some("DTLS profile without a=fingerprint"),
            Profile::Srtp if methods.is_empty() && (own.key_mgmt || session.key_mgmt) => {
                Some("SRTP keyed by MIKEY (a=key-mgmt), which is not inspected")
            }
            Profile::Srtp if methods.is_empty() => {
                Some("SRTP profile without a=crypto or a=fingerprint")
            }
            _ => None,
        };
        let keying = match (problem, methods.count()) {
            (Some(_), _) => Keying::Unusable,
            (None, 0) => Keying::NoSrtp,
            (None, 1) if methods.sdes => Keying::Sdes,
            (None, 1) if methods.dtls_srtp => Keying::DtlsSrtp,
            (None, 1) => Keying::Zrtp,
            (None, _) => Keying::Mixed,
        };
        let mut suites = SmallVec::new();
        for c in &own.crypto {
            push_unique(&mut suites, c.suite);
        }
        let mut fingerprint_hashes = SmallVec::new();
        if methods.dtls_srtp {
            for f in fingerprints {
                push_unique(&mut fingerprint_hashes, f.hash);
            }
        }
        MediaSecurity {
            index,
            kind: MediaKind::from_name(m.media),
            port: m.port,
            profile,
            direction,
            active: m.port != 0 && direction != Direction::Inactive,
            methods,
            keying,
            best_effort: !methods.is_empty() && matches!(profile, Profile::Rtp | Profile::Other),
            suites,
            unencrypted_srtp: own.crypto.iter().any(|c| c.unencrypted_srtp),
            unauthenticated_srtp: own.crypto.iter().any(|c| c.unauthenticated_srtp),
            fingerprint_hashes,
            setup: own.setup.or(session.setup),
            problem,
        }
    }
}
