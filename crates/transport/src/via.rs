//! The top Via of a request, as the transport needs it: where responses go
//! (RFC 3261 §18.2.2, RFC 3581) and the `received`/`rport` stamp a server adds
//! (RFC 3261 §18.2.1, RFC 3581 §4).
//!
//! Security choices: a `received` or `rport` value a client put in its own Via is
//! overwritten with what the socket saw (otherwise a client could steer our responses to
//! a third party), and `maddr` is ignored for responses for the same reason.

use std::net::{IpAddr, SocketAddr};
use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};
use sipwarden_wire::{HeaderName, Message};

use crate::spec::Transport;

/// Why the top Via could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ViaError {
    /// The message has no Via.
    #[error("missing Via")]
    Missing,
    /// The top Via does not follow `SIP/2.0/transport host[:port]*(;param)`.
    #[error("malformed Via: {0}")]
    Malformed(&'static str),
}

/// The `rport` parameter (RFC 3581).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rport {
    /// Not present: answer to the sent-by port.
    Absent,
    /// Present without a value: the client asks to be answered to its source port.
    Requested,
    /// Present with a value (filled in by the server that received the request).
    Value(u16),
}

/// What the transport does with a Via parameter when it stamps the Via.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamKind {
    Rport,
    Received,
    Other,
}

/// One parameter of the top Via: its byte range in the message buffer (without the
/// leading ';' and surrounding whitespace) and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Param {
    all: Range<usize>,
    name: Range<usize>,
    value: Option<Range<usize>>,
    kind: ParamKind,
}

/// The decoded top Via of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopVia {
    /// The transport token as written (UDP, TCP, TLS, WS, WSS, SCTP, …).
    pub transport_token: String,
    /// The transport, when it is one this crate speaks.
    pub transport: Option<Transport>,
    /// The sent-by host as written (IPv6 references keep their brackets).
    pub host: String,
    /// The sent-by host as an IP address, when it is one.
    pub host_ip: Option<IpAddr>,
    /// The sent-by port, when present.
    pub port: Option<u16>,
    /// The `rport` parameter.
    pub rport: Rport,
    /// The `received` parameter, when present and an IP address.
    pub received: Option<IpAddr>,
    /// The `branch` parameter, when present.
    pub branch: Option<String>,
    /// The `alias` parameter is present (RFC 5923 connection reuse).
    pub alias: bool,
    /// Byte range of the whole via-parm in the message buffer.
    span: Range<usize>,
    /// Byte range of `SIP/2.0/transport host[:port]`.
    head: Range<usize>,
    params: Vec<Param>,
}

/// Most parameters read from one Via; more is refused as malformed.
const MAX_VIA_PARAMS: usize = 32;

impl TopVia {
    /// Reads the first via-parm of the first Via field.
    pub fn parse(msg: &Message) -> Result<TopVia, ViaError> {
        let field = msg
            .fields(HeaderName::Via)
            .next()
            .ok_or(ViaError::Missing)?;
        let buf = msg.as_bytes();
        let value = field.value.range();
        let text = buf.get(value.clone()).unwrap_or_default();
        let end = value.start + first_comma(text).unwrap_or(text.len());
        let mut cur = Cursor {
            buf,
            pos: value.start,
            end,
        };

        // sent-protocol: SIP / 2.0 / transport, with optional LWS around the slashes.
        cur.skip_ws();
        let head_start = cur.pos;
        let name = cur.token();
        if !buf
            .get(name)
            .unwrap_or_default()
            .eq_ignore_ascii_case(b"SIP")
        {
            return Err(ViaError::Malformed("protocol is not SIP"));
        }
        cur.slash()?;
        let version = cur.token();
        if buf.get(version).unwrap_or_default() != b"2.0" {
            return Err(ViaError::Malformed("version is not 2.0"));
        }
        cur.slash()?;
        let transport_range = cur.token();
        let transport_bytes = buf.get(transport_range).unwrap_or_default();
        if transport_bytes.is_empty() {
            return Err(ViaError::Malformed("no transport"));
        }
        if !cur.skip_ws() {
            return Err(ViaError::Malformed("no space before sent-by"));
        }

        // sent-by: host [ ":" port ]
        let host_range = cur.host()?;
        let host_bytes = buf.get(host_range).unwrap_or_default();
        let port = if cur.peek() == Some(b':') {
            cur.pos += 1;
            Some(cur.port()?)
        } else {
            None
        };
        let head = head_start..cur.pos;
        cur.skip_ws();

        let mut params = Vec::new();
        while cur.pos < cur.end {
            if cur.peek() != Some(b';') {
                return Err(ViaError::Malformed("junk after sent-by"));
            }
            cur.pos += 1;
            if params.len() >= MAX_VIA_PARAMS {
                return Err(ViaError::Malformed("too many parameters"));
            }
            params.push(cur.param()?);
        }

        let host = String::from_utf8_lossy(host_bytes).into_owned();
        let host_ip = parse_host_ip(host_bytes);
        let mut via = TopVia {
            transport_token: String::from_utf8_lossy(transport_bytes).to_ascii_uppercase(),
            transport: Transport::from_via_token(transport_bytes),
            host,
            host_ip,
            port,
            rport: Rport::Absent,
            received: None,
            branch: None,
            alias: false,
            span: value.start..end,
            head,
            params: Vec::new(),
        };
        for p in &params {
            let pname = buf.get(p.name.clone()).unwrap_or_default();
            let pvalue = p.value.clone().and_then(|r| buf.get(r));
            let pvalue = pvalue.map(|v| {
                v.strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .unwrap_or(v)
            });
            if pname.eq_ignore_ascii_case(b"rport") {
                via.rport = match pvalue {
                    None => Rport::Requested,
                    Some(v) => Rport::Value(parse_port(v).ok_or(ViaError::Malformed("bad rport"))?),
                };
            } else if pname.eq_ignore_ascii_case(b"received") {
                via.received = pvalue.and_then(parse_host_ip);
            } else if pname.eq_ignore_ascii_case(b"branch") {
                via.branch = pvalue.map(|v| String::from_utf8_lossy(v).into_owned());
            } else if pname.eq_ignore_ascii_case(b"alias") {
                via.alias = true;
            }
        }
        via.params = params;
        Ok(via)
    }

    /// The `received`/`rport` a server adds for a request that arrived from `source`:
    /// `received` when the sent-by host differs from the source IP, when `rport` is
    /// present, or when the client wrote a `received` of its own; `rport` filled
    /// whenever the parameter is present.
    pub fn stamp_for(&self, source: SocketAddr) -> Stamp {
        let source_ip = crate::flow::canonical_ip(source.ip());
        let host_differs = self.host_ip.map(crate::flow::canonical_ip) != Some(source_ip);
        let rport_present = self.rport != Rport::Absent;
        let own_received = self.params.iter().any(|p| p.kind == ParamKind::Received);
        Stamp {
            received: (host_differs || rport_present || own_received).then_some(source_ip),
            rport: rport_present.then_some(source.port()),
        }
    }

    /// The message with `stamp` applied to this (its own) top Via: the via-parm is
    /// rewritten in place, keeping the order of its parameters; every other byte of the
    /// message is unchanged. `None` when the stamp changes nothing.
    pub fn apply_stamp(&self, msg: &Message, stamp: &Stamp) -> Option<Bytes> {
        if stamp.received.is_none() && stamp.rport.is_none() {
            return None;
        }
        let buf = msg.as_bytes();
        let mut via = BytesMut::with_capacity(self.span.len() + 48);
        via.put_slice(buf.get(self.head.clone()).unwrap_or_default());
        let mut received_written = false;
        for p in &self.params {
            via.put_u8(b';');
            match p.kind {
                ParamKind::Rport => match stamp.rport {
                    Some(port) => put_param(&mut via, "rport", &port.to_string()),
                    None => via.put_slice(buf.get(p.all.clone()).unwrap_or_default()),
                },
                ParamKind::Received => match stamp.received {
                    Some(ip) if !received_written => {
                        received_written = true;
                        put_param(&mut via, "received", &ip.to_string());
                    }
                    // A second `received` the client wrote: dropped, but keep the
                    // separator valid by writing ours again.
                    Some(ip) => put_param(&mut via, "received", &ip.to_string()),
                    None => via.put_slice(buf.get(p.all.clone()).unwrap_or_default()),
                },
                ParamKind::Other => via.put_slice(buf.get(p.all.clone()).unwrap_or_default()),
            }
        }
        if let (Some(ip), false) = (stamp.received, received_written) {
            via.put_u8(b';');
            put_param(&mut via, "received", &ip.to_string());
        }
        let mut out = BytesMut::with_capacity(buf.len() + 48);
        out.put_slice(buf.get(..self.span.start).unwrap_or_default());
        out.put_slice(&via);
        out.put_slice(buf.get(self.span.end..).unwrap_or_default());
        Some(out.freeze())
    }

    /// This Via as it reads once `stamp` is applied (for routing decisions).
    pub fn with_stamp(mut self, stamp: &Stamp) -> TopVia {
        if let Some(ip) = stamp.received {
            self.received = Some(ip);
        }
        if let Some(port) = stamp.rport {
            self.rport = Rport::Value(port);
        }
        self
    }

    /// Where a response to this Via goes over UDP (RFC 3261 §18.2.2, RFC 3581 §4):
    /// `received`:`rport`, else `received`:sent-by port, else sent-by when it is an IP
    /// address. `None` when the sent-by is a host name with no `received` (the caller
    /// answers the source address instead of resolving a name a client chose).
    pub fn udp_response_target(&self) -> Option<SocketAddr> {
        let ip = self.received.or(self.host_ip)?;
        let port = match self.rport {
            Rport::Value(p) => p,
            Rport::Absent | Rport::Requested => self
                .port
                .unwrap_or_else(|| self.transport.map_or(5060, Transport::default_port)),
        };
        Some(SocketAddr::new(ip, port))
    }

    /// The sent-by as a socket address, when the host is an IP address (the address a
    /// client listens on; used for RFC 5923 aliases).
    pub fn sent_by_addr(&self) -> Option<SocketAddr> {
        let ip = self.host_ip?;
        let port = self
            .port
            .unwrap_or_else(|| self.transport.map_or(5060, Transport::default_port));
        Some(SocketAddr::new(ip, port))
    }
}

/// The parameters a server adds to the top Via of a request it received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    /// `received=<ip>` (RFC 3261 §18.2.1).
    pub received: Option<IpAddr>,
    /// `rport=<port>` (RFC 3581 §4).
    pub rport: Option<u16>,
}

fn put_param(out: &mut BytesMut, name: &str, value: &str) {
    out.put_slice(name.as_bytes());
    out.put_u8(b'=');
    out.put_slice(value.as_bytes());
}

/// Offset of the first ',' outside a quoted string (the end of the first via-parm).
fn first_comma(text: &[u8]) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, &b) in text.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b',' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// RFC 3261 token characters.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// A port: 1 to 5 digits, at most 65535.
fn parse_port(bytes: &[u8]) -> Option<u16> {
    if bytes.is_empty() || bytes.len() > 5 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// An IPv4 address, or an IPv6 address with or without brackets.
fn parse_host_ip(bytes: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(bytes).ok()?;
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    inner.parse().ok()
}

/// A scanner over the top via-parm.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        if self.pos < self.end {
            self.buf.get(self.pos).copied()
        } else {
            None
        }
    }

    /// Skips whitespace (folded line ends included); true when any was skipped.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn token(&mut self) -> Range<usize> {
        let start = self.pos;
        while self.peek().is_some_and(is_token_byte) {
            self.pos += 1;
        }
        start..self.pos
    }

    fn slash(&mut self) -> Result<(), ViaError> {
        self.skip_ws();
        if self.peek() != Some(b'/') {
            return Err(ViaError::Malformed("bad sent-protocol"));
        }
        self.pos += 1;
        self.skip_ws();
        Ok(())
    }

    fn host(&mut self) -> Result<Range<usize>, ViaError> {
        let start = self.pos;
        if self.peek() == Some(b'[') {
            while let Some(b) = self.peek() {
                self.pos += 1;
                if b == b']' {
                    let range = start..self.pos;
                    return match parse_host_ip(self.buf.get(range.clone()).unwrap_or_default()) {
                        Some(IpAddr::V6(_)) => Ok(range),
                        _ => Err(ViaError::Malformed("bad IPv6 reference")),
                    };
                }
                if !(b.is_ascii_hexdigit() || b == b':' || b == b'.' || b == b'[') {
                    break;
                }
            }
            return Err(ViaError::Malformed("bad IPv6 reference"));
        }
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(ViaError::Malformed("no sent-by host"));
        }
        Ok(start..self.pos)
    }

    fn port(&mut self) -> Result<u16, ViaError> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        parse_port(self.buf.get(start..self.pos).unwrap_or_default())
            .ok_or(ViaError::Malformed("bad sent-by port"))
    }

    /// `name [= value]` where value is a token, a host (IPv6 included) or a quoted
    /// string; leaves the cursor after trailing whitespace.
    fn param(&mut self) -> Result<Param, ViaError> {
        self.skip_ws();
        let name = self.token();
        if name.is_empty() {
            return Err(ViaError::Malformed("empty parameter"));
        }
        let mut end = name.end;
        let mut value = None;
        self.skip_ws();
        if self.peek() == Some(b'=') {
            self.pos += 1;
            self.skip_ws();
            let vstart = self.pos;
            if self.peek() == Some(b'"') {
                self.pos += 1;
                let mut escaped = false;
                loop {
                    let Some(b) = self.peek() else {
                        return Err(ViaError::Malformed("unterminated quoted string"));
                    };
                    self.pos += 1;
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        break;
                    }
                }
            } else {
                while self
                    .peek()
                    .is_some_and(|b| is_token_byte(b) || b == b':' || b == b'[' || b == b']')
                {
                    self.pos += 1;
                }
            }
            if self.pos == vstart {
                return Err(ViaError::Malformed("empty parameter value"));
            }
            end = self.pos;
            value = Some(vstart..end);
            self.skip_ws();
        }
        let name_bytes = self.buf.get(name.clone()).unwrap_or_default();
        let kind = if name_bytes.eq_ignore_ascii_case(b"rport") {
            ParamKind::Rport
        } else if name_bytes.eq_ignore_ascii_case(b"received") {
            ParamKind::Received
        } else {
            ParamKind::Other
        };
        Ok(Param {
            all: name.start..end,
            name,
            value,
            kind,
        })
    }
}
