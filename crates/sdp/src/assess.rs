//! The media part of a call's security assessment: offer and answer together say how each
//! direction of the call is keyed, and whether proxies could read the keys.

use core::fmt;

use smallvec::SmallVec;

use crate::attr::{CryptoSuite, HashFunction};
use crate::security::{MediaKind, MediaSecurity, SdpSecurity};

/// How the media of one direction (or one stream) is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protection {
    /// RTP in clear (or no usable/confirmed key exchange).
    Clear,
    /// SRTP keyed by SDES: encrypted, but every signalling hop could read the keys.
    Sdes,
    /// SRTP keyed by DTLS on the media path: keys not visible to proxies.
    DtlsSrtp,
    /// SRTP keyed by ZRTP on the media path: keys not visible to proxies.
    Zrtp,
}

impl Protection {
    /// Stable lower-case label.
    pub fn as_str(self) -> &'static str {
        match self {
            Protection::Clear => "none",
            Protection::Sdes => "sdes",
            Protection::DtlsSrtp => "dtls-srtp",
            Protection::Zrtp => "zrtp",
        }
    }

    /// The level this protection alone gives.
    pub fn level(self) -> MediaLevel {
        match self {
            Protection::Clear => MediaLevel::Clear,
            Protection::Sdes => MediaLevel::HopByHop,
            Protection::DtlsSrtp | Protection::Zrtp => MediaLevel::EndToEnd,
        }
    }

    fn rank(self) -> u8 {
        match self.level() {
            MediaLevel::NoMedia | MediaLevel::Clear => 0,
            MediaLevel::HopByHop => 1,
            MediaLevel::EndToEnd => 2,
        }
    }

    /// The weaker of two (the first on a tie).
    fn weakest(self, other: Protection) -> Protection {
        if other.rank() < self.rank() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Protection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One summary of a call's media keying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaLevel {
    /// No media stream flows.
    NoMedia,
    /// Some media flows in clear (or its protection cannot be confirmed).
    Clear,
    /// All media is SRTP, but keyed by SDES: whoever sees the signalling (every proxy,
    /// and anyone on a hop without TLS) can decrypt it.
    HopByHop,
    /// All media is SRTP keyed on the media path (DTLS-SRTP or ZRTP): proxies cannot read
    /// the keys.
    EndToEnd,
}

impl MediaLevel {
    /// Stable lower-case label.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaLevel::NoMedia => "no-media",
            MediaLevel::Clear => "none",
            MediaLevel::HopByHop => "hop-by-hop",
            MediaLevel::EndToEnd => "end-to-end",
        }
    }
}

impl fmt::Display for MediaLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What was found about one stream (or the call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Finding {
    /// No stream is active.
    NoActiveMedia,
    /// The answer has no `m=` line for an active offered one.
    AnswerMissingStream,
    /// Neither side offered SRTP.
    Clear,
    /// SRTP was offered and the answer carries none.
    SrtpDeclined,
    /// ZRTP was offered and the answer does not signal it.
    ZrtpNotConfirmed,
    /// The answer's key exchange was not offered.
    MethodMismatch,
    /// A secure profile with nothing usable to key it.
    Unusable(&'static str),
    /// The answer carries several key exchanges; the weakest is assumed.
    SeveralMethodsInAnswer,
    /// Keyed by SDES with this suite.
    Sdes(CryptoSuite),
    /// `UNENCRYPTED_SRTP` was requested.
    UnencryptedSrtp,
    /// `UNAUTHENTICATED_SRTP` was requested.
    UnauthenticatedSrtp,
    /// Keyed by DTLS-SRTP; the fingerprint hash, if known.
    DtlsSrtp(Option<HashFunction>),
    /// A fingerprint uses a weak hash function.
    WeakFingerprintHash(HashFunction),
    /// Keyed by ZRTP.
    Zrtp,
    /// SDES keys were offered, then another method was chosen.
    SdesOfferedUnused,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::NoActiveMedia => f.write_str("no media stream is active"),
            Finding::AnswerMissingStream => f.write_str("the answer has no matching m= line"),
            Finding::Clear => f.write_str("media in clear: neither side offered SRTP"),
            Finding::SrtpDeclined => {
                f.write_str("SRTP was offered but the answer carries none: media in clear")
            }
            Finding::ZrtpNotConfirmed => f.write_str(
                "ZRTP was offered but the answer does not signal it; ZRTP could still start \
                 on the media path, which signalling cannot show: counted as clear",
            ),
            Finding::MethodMismatch => f.write_str(
                "the answer uses a key exchange the offer did not propose: counted as clear",
            ),
            Finding::Unusable(problem) => {
                write!(f, "no usable key exchange ({problem}): counted as clear")
            }
            Finding::SeveralMethodsInAnswer => {
                f.write_str("the answer carries several key exchanges; the weakest is assumed")
            }
            Finding::Sdes(suite) => write!(
                f,
                "SRTP ({suite}) keyed by SDES: the keys travel in the SDP, readable by every \
                 signalling hop including this server"
            ),
            Finding::UnencryptedSrtp => f.write_str(
                "UNENCRYPTED_SRTP requested: media authenticated but not encrypted, counted \
                 as clear",
            ),
            Finding::UnauthenticatedSrtp => {
                f.write_str("UNAUTHENTICATED_SRTP requested: media encrypted but not authenticated")
            }
            Finding::DtlsSrtp(hash) => {
                f.write_str("SRTP keyed by DTLS on the media path, keys not visible to proxies")?;
                if let Some(hash) = hash {
                    write!(f, "; certificate fingerprint {hash}")?;
                }
                f.write_str(
                    ", trustworthy only as far as the signalling path is unless an identity \
                     signature covers it",
                )
            }
            Finding::WeakFingerprintHash(hash) => {
                write!(f, "certificate fingerprint uses weak hash {hash}")
            }
            Finding::Zrtp => f.write_str(
                "SRTP keyed by ZRTP on the media path, keys not visible to proxies; users rule \
                 out interception by comparing the short authentication string",
            ),
            Finding::SdesOfferedUnused => f.write_str(
                "SDES keys were offered but not used; signalling hops could still read them",
            ),
        }
    }
}

/// A finding, about one stream (`m=` index and type) or the whole call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MediaNote {
    /// The stream, if the finding is about one.
    pub stream: Option<(usize, MediaKind)>,
    /// What was found.
    pub finding: Finding,
}

impl fmt::Display for MediaNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((index, kind)) = self.stream {
            write!(f, "{} stream {}: ", kind.as_str(), index)?;
        }
        fmt::Display::fmt(&self.finding, f)
    }
}

/// One stream on which media flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamAssessment {
    /// `m=` index.
    pub index: usize,
    /// Media type.
    pub kind: MediaKind,
    /// Media flows from offerer to answerer.
    pub offerer_sends: bool,
    /// Media flows from answerer to offerer.
    pub answerer_sends: bool,
    /// How it is protected.
    pub protection: Protection,
}

/// The media keying of a call, per direction, with the reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaAssessment {
    /// Weakest protection of media sent by the offerer; `None` if it sends none.
    pub offerer_to_answerer: Option<Protection>,
    /// Weakest protection of media sent by the answerer; `None` if it sends none.
    pub answerer_to_offerer: Option<Protection>,
    /// The summary over both directions.
    pub level: MediaLevel,
    /// Streams on which media flows.
    pub streams: SmallVec<[StreamAssessment; 4]>,
    /// Findings, in stream order; their `Display` is the human-readable reason.
    pub notes: Vec<MediaNote>,
}

impl MediaAssessment {
    /// The findings as sentences.
    pub fn reasons(&self) -> Vec<String> {
        self.notes.iter().map(ToString::to_string).collect()
    }
}

/// Combines an offer and its answer (RFC 3264: `m=` lines pair by index). Whoever sent
/// the offer — caller for an INVITE with SDP, callee for a late offer — is the offerer.
///
/// Conservative throughout: a key exchange that the answer does not confirm, or that could
/// not work, counts as clear.
pub fn assess(offer: &SdpSecurity, answer: &SdpSecurity) -> MediaAssessment {
    let mut notes = Vec::new();
    let mut streams = SmallVec::new();
    let mut o2a: Option<Protection> = None;
    let mut a2o: Option<Protection> = None;
    for o in &offer.media {
        let stream = Some((o.index, o.kind));
        let Some(a) = answer.media.get(o.index) else {
            if o.active {
                notes.push(MediaNote {
                    stream,
                    finding: Finding::AnswerMissingStream,
                });
            }
            continue;
        };
        if !o.active || !a.active {
            continue;
        }
        let offerer_sends = o.direction.sends() && a.direction.receives();
        let answerer_sends = a.direction.sends() && o.direction.receives();
        if !offerer_sends && !answerer_sends {
            continue;
        }
        let mut note = |finding| notes.push(MediaNote { stream, finding });
        let protection = stream_protection(o, a, &mut note);
        if offerer_sends {
            o2a = Some(o2a.map_or(protection, |p| p.weakest(protection)));
        }
        if answerer_sends {
            a2o = Some(a2o.map_or(protection, |p| p.weakest(protection)));
        }
        streams.push(StreamAssessment {
            index: o.index,
            kind: o.kind,
            offerer_sends,
            answerer_sends,
            protection,
        });
    }
    let level = match (o2a, a2o) {
        (None, None) => {
            notes.push(MediaNote {
                stream: None,
                finding: Finding::NoActiveMedia,
            });
            MediaLevel::NoMedia
        }
        (Some(p), None) | (None, Some(p)) => p.level(),
        (Some(p), Some(q)) => p.weakest(q).level(),
    };
    MediaAssessment {
        offerer_to_answerer: o2a,
        answerer_to_offerer: a2o,
        level,
        streams,
        notes,
    }
}

fn stream_protection(
    o: &MediaSecurity,
    a: &MediaSecurity,
    note: &mut impl FnMut(Finding),
) -> Protection {
    if let Some(problem) = o.problem.or(a.problem) {
        note(Finding::Unusable(problem));
        return Protection::Clear;
    }
    if a.methods.is_empty() {
        note(if o.methods.zrtp {
            Finding::ZrtpNotConfirmed
        } else if o.methods.is_empty() {
            Finding::Clear
        } else {
            Finding::SrtpDeclined
        });
        if o.methods.sdes {
            note(Finding::SdesOfferedUnused);
        }
        return Protection::Clear;
    }
    let common = o.methods.intersection(a.methods);
    if common.is_empty() {
        note(Finding::MethodMismatch);
        return Protection::Clear;
    }
    if a.methods.count() > 1 {
        note(Finding::SeveralMethodsInAnswer);
    }
    let protection = if common.sdes {
        if o.unencrypted_srtp || a.unencrypted_srtp {
            note(Finding::UnencryptedSrtp);
            return Protection::Clear;
        }
        let suite = a.suites.first().copied().unwrap_or(CryptoSuite::Unknown);
        note(Finding::Sdes(suite));
        if o.unauthenticated_srtp || a.unauthenticated_srtp {
            note(Finding::UnauthenticatedSrtp);
        }
        Protection::Sdes
    } else if common.dtls_srtp {
        let hash = a
            .fingerprint_hashes
            .first()
            .or(o.fingerprint_hashes.first())
            .copied();
        note(Finding::DtlsSrtp(hash));
        let mut weak: SmallVec<[HashFunction; 2]> = SmallVec::new();
        for h in o.fingerprint_hashes.iter().chain(&a.fingerprint_hashes) {
            if h.is_weak() && !weak.contains(h) {
                weak.push(*h);
                note(Finding::WeakFingerprintHash(*h));
            }
        }
        Protection::DtlsSrtp
    } else {
        note(Finding::Zrtp);
        Protection::Zrtp
    };
    if o.methods.sdes && protection != Protection::Sdes {
        note(Finding::SdesOfferedUnused);
    }
    protection
}
