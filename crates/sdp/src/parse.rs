//! One validating pass over a session description (RFC 8866, RFC 4566).
//!
//! Strict where a lenient reading could change what a peer does with the media keys:
//! `v=0` first, `<letter>=<value>` lines, no control characters, no blank line inside, no
//! session-level lines inside a media section, well-formed `m=`, `c=` and keying
//! attributes, no contradictory `a=setup` or direction. Tolerant where it cannot: LF
//! without CR, trailing spaces, unknown line types and attributes, runs of spaces between
//! fields, missing `t=`, trailing blank lines.

use core::fmt;

use memchr::memchr;
use smallvec::SmallVec;

use crate::attr::{Attributes, KeyingAttributes};
use crate::error::SdpError;
use crate::lex::{
    fields, has_control, is_token, is_visible, parse_u16, split_field, to_str, trim_end,
};
use crate::limits::Limits;

/// Free text from the description (`s=`), shown lossily by `Debug`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Text<'a>(pub &'a [u8]);

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(self.0), f)
    }
}

/// The raw lines of a section; `Debug` shows only the length, never the bytes (they may
/// hold keys).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Section<'a>(&'a [u8]);

impl fmt::Debug for Section<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// `-` when the user has none.
    pub username: &'a str,
    /// Session id.
    pub session_id: &'a str,
    /// Session version.
    pub session_version: &'a str,
    /// `IN`.
    pub net_type: &'a str,
    /// `IP4` or `IP6`.
    pub addr_type: &'a str,
    /// Address or host name of the originator.
    pub address: &'a str,
}

/// `c=<nettype> <addrtype> <connection-address>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection<'a> {
    /// `IN`.
    pub net_type: &'a str,
    /// `IP4` or `IP6`.
    pub addr_type: &'a str,
    /// Address (multicast ones may carry `/ttl/count`).
    pub address: &'a str,
}

/// What a transport protocol means for media keying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// `RTP/AVP`, `RTP/AVPF`: plain RTP; any SRTP on it is optional (best effort).
    Rtp,
    /// `RTP/SAVP`, `RTP/SAVPF`: SRTP is mandatory, keyed by SDES (or legacy DTLS).
    Srtp,
    /// `UDP/TLS/RTP/SAVP(F)`, `TCP/DTLS/RTP/SAVP(F)`, `UDP/DTLS/SCTP`, ...: keyed by a
    /// (D)TLS handshake on the media path.
    Dtls,
    /// Anything else (`udptl`, `TCP/MSRP`, ...).
    Other,
}

/// The `<proto>` field of an `m=` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proto<'a> {
    /// As written, e.g. `UDP/TLS/RTP/SAVPF`.
    pub name: &'a str,
    /// What it means for keying.
    pub profile: Profile,
    /// An `...F` (RTCP feedback) variant.
    pub feedback: bool,
}

impl<'a> Proto<'a> {
    /// Classifies a protocol name; comparison is case-insensitive.
    pub fn new(name: &'a str) -> Self {
        let mut parts = name.split('/');
        let last = parts.next_back().unwrap_or_default();
        let secured_transport =
            parts.any(|p| p.eq_ignore_ascii_case("TLS") || p.eq_ignore_ascii_case("DTLS"));
        let is = |s: &str| last.eq_ignore_ascii_case(s);
        let savp = is("SAVP") || is("SAVPF");
        let profile = if savp && secured_transport {
            Profile::Dtls
        } else if savp {
            Profile::Srtp
        } else if (is("AVP") || is("AVPF")) && !secured_transport {
            Profile::Rtp
        } else if is("SCTP") && secured_transport {
            Profile::Dtls
        } else {
            Profile::Other
        };
        Proto {
            name,
            profile,
            feedback: is("SAVPF") || is("AVPF"),
        }
    }
}

/// One media section: the `m=` line and what follows it up to the next `m=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media<'a> {
    /// Line number of the `m=` line.
    pub line: usize,
    /// `audio`, `video`, `application`, ...
    pub media: &'a str,
    /// Port; 0 means the stream is disabled or rejected.
    pub port: u16,
    /// The `/<number of ports>` suffix, if any.
    pub port_count: Option<u16>,
    /// Transport protocol.
    pub proto: Proto<'a>,
    /// The raw format list (space-separated tokens); see [`Media::formats`].
    pub format_list: &'a str,
    /// The first media-level `c=`, if any.
    pub connection: Option<Connection<'a>>,
    /// Keying-relevant attributes written in this section.
    pub keying: KeyingAttributes<'a>,
    /// Whether a `k=` line is present in this section.
    pub key_field: bool,
    section: Section<'a>,
}

impl<'a> Media<'a> {
    /// The format tokens (payload types for RTP).
    pub fn formats(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.format_list
            .split([' ', '\t'])
            .filter(|f| !f.is_empty())
    }

    /// All `a=` lines of this section, in order.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes::new(self.section.0)
    }
}

/// A parsed session description, borrowing the input.
///
/// `Debug` never prints key material: keys are not kept in any field, and the raw
/// sections print as their length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp<'a> {
    /// `o=`.
    pub origin: Origin<'a>,
    /// `s=`.
    pub session_name: Text<'a>,
    /// Session-level `c=`, if any.
    pub connection: Option<Connection<'a>>,
    /// Keying-relevant session-level attributes (`a=fingerprint`, `a=setup` and direction
    /// apply to every media section that does not override them; a session-level
    /// `a=crypto` is not defined by RFC 4568 but its keys are just as readable).
    pub keying: KeyingAttributes<'a>,
    /// Whether a session-level `k=` line is present.
    pub key_field: bool,
    /// Media sections in order.
    pub media: SmallVec<[Media<'a>; 4]>,
    session: Section<'a>,
}

impl<'a> Sdp<'a> {
    /// Parses with the default [`Limits`]. The fuzzing entry point.
    pub fn parse(input: &'a [u8]) -> Result<Self, SdpError> {
        Self::parse_with(input, &Limits::default())
    }

    /// Parses with explicit limits.
    pub fn parse_with(input: &'a [u8], limits: &Limits) -> Result<Self, SdpError> {
        if input.len() > limits.max_size {
            return Err(SdpError::TooLarge {
                limit: limits.max_size,
            });
        }
        if input.iter().all(u8::is_ascii_whitespace) {
            return Err(SdpError::Empty);
        }
        Reader::new(input, limits).run()
    }

    /// Session-level `a=` lines, in order.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes::new(self.session.0)
    }
}

/// State of the single pass.
struct Reader<'a, 'l> {
    input: &'a [u8],
    limits: &'l Limits,
    origin: Option<Origin<'a>>,
    session_name: Option<Text<'a>>,
    connection: Option<Connection<'a>>,
    keying: KeyingAttributes<'a>,
    key_field: bool,
    media: SmallVec<[Media<'a>; 4]>,
    /// Byte offset where the first `m=` line starts.
    session_end: Option<usize>,
    /// Byte offset where the current media section's lines start.
    section_start: usize,
}

impl<'a, 'l> Reader<'a, 'l> {
    fn new(input: &'a [u8], limits: &'l Limits) -> Self {
        Reader {
            input,
            limits,
            origin: None,
            session_name: None,
            connection: None,
            keying: KeyingAttributes::default(),
            key_field: false,
            media: SmallVec::new(),
            session_end: None,
            section_start: 0,
        }
    }

    fn run(mut self) -> Result<Sdp<'a>, SdpError> {
        let input = self.input;
        let mut pos = 0;
        let mut number = 0;
        let mut blank: Option<usize> = None;
        while pos < input.len() {
            let rest = input.get(pos..).unwrap_or_default();
            let (len, advance) = match memchr(b'\n', rest) {
                Some(i) => (i, i + 1),
                None => (rest.len(), rest.len()),
            };
            let start = pos;
            pos += advance;
            number += 1;
            if number > self.limits.max_lines {
                return Err(SdpError::TooManyLines {
                    limit: self.limits.max_lines,
                });
            }
            let raw = rest.get(..len).unwrap_or_default();
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if line.len() > self.limits.max_line_len {
                return Err(SdpError::LineTooLong {
                    line: number,
                    limit: self.limits.max_line_len,
                });
            }
            if trim_end(line).is_empty() {
                blank.get_or_insert(number);
                continue;
            }
            if let Some(line) = blank {
                return Err(SdpError::BlankLine { line });
            }
            if has_control(line) {
                return Err(SdpError::ControlCharacter { line: number });
            }
            let (kind, value) = match line {
                [k, b'=', value @ ..] if k.is_ascii_lowercase() => (*k, trim_end(value)),
                _ => return Err(SdpError::BadLine { line: number }),
            };
            if number == 1 {
                if kind != b'v' || value != b"0" {
                    return Err(SdpError::BadVersion);
                }
                continue;
            }
            if kind == b'm' {
                self.start_media(value, number, start, pos)?;
            } else if self.media.is_empty() {
                self.session_line(kind, value, number)?;
            } else {
                self.media_line(kind, value, number)?;
            }
        }
        self.finish()
    }

    fn session_line(&mut self, kind: u8, value: &'a [u8], line: usize) -> Result<(), SdpError> {
        let duplicate = SdpError::Duplicate {
            kind: char::from(kind),
            line,
        };
        match kind {
            b'v' => return Err(duplicate),
            b'o' => {
                if self.origin.is_some() {
                    return Err(duplicate);
                }
                self.origin = Some(parse_origin(value, line)?);
            }
            b's' => {
                if self.session_name.is_some() {
                    return Err(duplicate);
                }
                self.session_name = Some(Text(value));
            }
            b'c' => {
                if self.connection.is_some() {
                    return Err(duplicate);
                }
                self.connection = Some(parse_connection(value, line)?);
            }
            b'k' => self.key_field = true,
            b'a' => self.keying.add(value, line)?,
            // i u e p b t r z and unknown types: nothing here decides keying.
            _ => {}
        }
        Ok(())
    }

    fn media_line(&mut self, kind: u8, value: &'a [u8], line: usize) -> Result<(), SdpError> {
        let Some(media) = self.media.last_mut() else {
            return Ok(());
        };
        match kind {
            b'v' | b'o' | b's' | b'u' | b'e' | b'p' | b't' | b'r' | b'z' => {
                return Err(SdpError::Misplaced {
                    kind: char::from(kind),
                    line,
                })
            }
            b'c' => {
                let c = parse_connection(value, line)?;
                // Several c= lines are legal (layered multicast); the first is the one used.
                media.connection.get_or_insert(c);
            }
            b'k' => media.key_field = true,
            b'a' => media.keying.add(value, line)?,
            _ => {}
        }
        Ok(())
    }

    /// Closes the previous media section at `start` and opens a new one.
    fn start_media(
        &mut self,
        value: &'a [u8],
        line: usize,
        start: usize,
        next: usize,
    ) -> Result<(), SdpError> {
        if self.media.len() >= self.limits.max_media {
            return Err(SdpError::TooManyMedia {
                limit: self.limits.max_media,
            });
        }
        self.close_section(start);
        self.session_end.get_or_insert(start);
        let media = parse_media(value, line)?;
        self.media.push(media);
        self.section_start = next;
        Ok(())
    }

    fn close_section(&mut self, end: usize) {
        let section = self.input.get(self.section_start..end).unwrap_or_default();
        if let Some(last) = self.media.last_mut() {
            last.section = Section(section);
        }
    }

    fn finish(mut self) -> Result<Sdp<'a>, SdpError> {
        self.close_section(self.input.len());
        let session_end = self.session_end.unwrap_or(self.input.len());
        Ok(Sdp {
            origin: self.origin.ok_or(SdpError::Missing('o'))?,
            session_name: self.session_name.ok_or(SdpError::Missing('s'))?,
            connection: self.connection,
            keying: self.keying,
            key_field: self.key_field,
            media: self.media,
            session: Section(self.input.get(..session_end).unwrap_or_default()),
        })
    }
}

fn malformed(field: &'static str, line: usize, reason: &'static str) -> SdpError {
    SdpError::Malformed {
        field,
        line,
        reason,
    }
}

fn visible_str<'a>(
    field: Option<&'a [u8]>,
    name: &'static str,
    line: usize,
    reason: &'static str,
) -> Result<&'a str, SdpError> {
    field
        .filter(|f| is_visible(f))
        .and_then(to_str)
        .ok_or(malformed(name, line, reason))
}

fn parse_origin(value: &[u8], line: usize) -> Result<Origin<'_>, SdpError> {
    const F: &str = "o=";
    let mut it = fields(value);
    let mut next = |reason| visible_str(it.next(), F, line, reason);
    let origin = Origin {
        username: next("missing username")?,
        session_id: next("missing session id")?,
        session_version: next("missing session version")?,
        net_type: next("missing network type")?,
        addr_type: next("missing address type")?,
        address: next("missing address")?,
    };
    if it.next().is_some() {
        return Err(malformed(F, line, "more than six fields"));
    }
    Ok(origin)
}

fn parse_connection(value: &[u8], line: usize) -> Result<Connection<'_>, SdpError> {
    const F: &str = "c=";
    let mut it = fields(value);
    let mut next = |reason| visible_str(it.next(), F, line, reason);
    let c = Connection {
        net_type: next("missing network type")?,
        addr_type: next("missing address type")?,
        address: next("missing address")?,
    };
    if it.next().is_some() {
        return Err(malformed(F, line, "more than three fields"));
    }
    Ok(c)
}

/// `m=<media> <port>[/<count>] <proto> <fmt> ...`
fn parse_media(value: &[u8], line: usize) -> Result<Media<'_>, SdpError> {
    const F: &str = "m=";
    let (media, rest) = split_field(value);
    let media = media
        .filter(|m| is_token(m))
        .and_then(to_str)
        .ok_or(malformed(F, line, "media type is not a token"))?;
    let (port_field, rest) = split_field(rest);
    let port_field = port_field.ok_or(malformed(F, line, "missing port"))?;
    let (port, port_count) = match memchr(b'/', port_field) {
        Some(i) => {
            let count = port_field
                .get(i + 1..)
                .and_then(parse_u16)
                .filter(|&c| c > 0)
                .ok_or(malformed(F, line, "bad port count"))?;
            (port_field.get(..i).unwrap_or_default(), Some(count))
        }
        None => (port_field, None),
    };
    let port = parse_u16(port).ok_or(malformed(F, line, "port is not 0-65535"))?;
    let (proto, rest) = split_field(rest);
    let proto = proto
        .filter(|p| p.split(|&b| b == b'/').all(is_token))
        .and_then(to_str)
        .ok_or(malformed(F, line, "protocol is not token/token"))?;
    let formats = trim_end(crate::lex::trim_start(rest));
    if !fields(formats).all(is_token) {
        return Err(malformed(F, line, "format is not a token"));
    }
    // RFC 3264 wants a format even in a rejected stream; some peers omit it there.
    if formats.is_empty() && port != 0 {
        return Err(malformed(F, line, "no formats"));
    }
    Ok(Media {
        line,
        media,
        port,
        port_count,
        proto: Proto::new(proto),
        format_list: to_str(formats).ok_or(malformed(F, line, "format is not a token"))?,
        connection: None,
        keying: KeyingAttributes::default(),
        key_field: false,
        section: Section(&[]),
    })
}
