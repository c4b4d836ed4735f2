//! URIs: zero-copy views of `sip:`, `sips:` and `tel:` URIs (RFC 3261 §19.1, RFC 3966),
//! with IPv6 references (RFC 5118) and the comparison rules of RFC 3261 §19.1.4.
//! Any other absolute URI (`http:`, `urn:` ...) is kept as written.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::ParseError;
use crate::lex::{class, is, pct_decode_str, pct_eq, pct_eq_ignore_case, Cursor, LexError};
use crate::limits::MAX_URI_LEN;

/// Most parameters (and, separately, most headers) one URI may carry. Comparison is
/// quadratic in these counts, so they are bounded.
pub const MAX_URI_PARAMS: usize = 64;

/// A URI scheme this crate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:`
    Tel,
    /// Anything else.
    Other,
}

/// A parsed URI, borrowing the text it was read from. `==` compares the views as
/// written; use [`Uri::equivalent`] for the RFC comparison rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri<'a> {
    /// A `sip:` or `sips:` URI.
    Sip(SipUri<'a>),
    /// A `tel:` URI.
    Tel(TelUri<'a>),
    /// Any other absolute URI, checked for RFC 3986 characters only.
    Other(OtherUri<'a>),
}

/// A `sip:` or `sips:` URI (RFC 3261 §19.1.1). Text fields are as written, escapes
/// included; compare them with [`Uri::equivalent`] or decode with [`crate::lex::pct_decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SipUri<'a> {
    /// The whole URI as written.
    pub raw: &'a str,
    /// True for `sips:`.
    pub secure: bool,
    /// The user part, escaped as written (may include telephone-subscriber `;` params).
    pub user: Option<&'a str>,
    /// The password, escaped as written (deprecated by RFC 3261, still parsed).
    pub password: Option<&'a str>,
    /// The host.
    pub host: Host<'a>,
    /// The host as written (IPv6 references with their brackets).
    pub host_raw: &'a str,
    /// The port, if written.
    pub port: Option<u16>,
    /// The `transport` parameter, as written.
    pub transport: Option<&'a str>,
    /// The `user` parameter (`phone`, `ip`, ...), as written.
    pub user_param: Option<&'a str>,
    /// The `method` parameter, as written.
    pub method: Option<&'a str>,
    /// The `ttl` parameter.
    pub ttl: Option<u8>,
    /// The `maddr` parameter, as written.
    pub maddr: Option<&'a str>,
    /// True when the `lr` parameter is present.
    pub lr: bool,
    /// Every URI parameter, those above included.
    pub params: UriParams<'a>,
    /// The `?name=value&...` headers.
    pub headers: UriHeaders<'a>,
}

/// A `tel:` URI (RFC 3966).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TelUri<'a> {
    /// The whole URI as written.
    pub raw: &'a str,
    /// The number as written, `+` and visual separators included.
    pub number: &'a str,
    /// True for a global number (starting with `+`).
    pub global: bool,
    /// The `phone-context` parameter (mandatory for local numbers).
    pub phone_context: Option<&'a str>,
    /// The `ext` parameter.
    pub ext: Option<&'a str>,
    /// Every parameter, in order.
    pub params: UriParams<'a>,
}

/// An absolute URI of a scheme this crate does not interpret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtherUri<'a> {
    /// The whole URI as written.
    pub raw: &'a str,
    /// The scheme, as written.
    pub scheme: &'a str,
    /// Everything after the colon.
    pub rest: &'a str,
}

/// A host: a domain name or an IP address. Equality and hashing ignore ASCII case of
/// domain names, so a `Host` can key a map; IPv6 addresses compare by value.
#[derive(Debug, Clone)]
pub enum Host<'a> {
    /// A hostname (RFC 3261 `hostname`), as written.
    Domain(Cow<'a, str>),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address (written as a `[...]` reference in URIs and Via).
    Ipv6(Ipv6Addr),
}

/// A transport named by a Via header or a `transport` URI parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// UDP
    Udp,
    /// TCP
    Tcp,
    /// TLS over TCP
    Tls,
    /// SCTP
    Sctp,
    /// TLS over SCTP
    TlsSctp,
    /// WebSocket (RFC 7118)
    Ws,
    /// Secure WebSocket (RFC 7118)
    Wss,
    /// Anything else; read the name from the message.
    Other,
}

impl Transport {
    /// Recognises a transport name, case-insensitively.
    pub fn from_name(name: &str) -> Transport {
        const NAMES: [(&str, Transport); 7] = [
            ("UDP", Transport::Udp),
            ("TCP", Transport::Tcp),
            ("TLS", Transport::Tls),
            ("SCTP", Transport::Sctp),
            ("TLS-SCTP", Transport::TlsSctp),
            ("WS", Transport::Ws),
            ("WSS", Transport::Wss),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(Transport::Other, |&(_, t)| t)
    }

    /// The canonical (upper-case) name; empty for [`Transport::Other`].
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::TlsSctp => "TLS-SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
            Transport::Other => "",
        }
    }

    /// True for transports with their own reliability (everything but UDP).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// True for transports protected by TLS.
    pub fn is_secure(self) -> bool {
        matches!(self, Transport::Tls | Transport::TlsSctp | Transport::Wss)
    }

    /// The default port (RFC 3261 §19.1.2, RFC 7118 leaves WS ports to the URI; 5060
    /// and 5061 are used here as SIP's defaults).
    pub fn default_port(self) -> u16 {
        if self.is_secure() {
            5061
        } else {
            5060
        }
    }
}

impl<'a> Host<'a> {
    /// Parses a host as found in a URI or Via: a hostname, a dotted IPv4 address, or an
    /// IPv6 reference in brackets.
    pub fn parse(s: &'a str) -> Result<Host<'a>, ParseError> {
        let mut cur = Cursor::new(s);
        let (host, _) = lex_host(&mut cur).map_err(LexError::in_uri)?;
        if !cur.is_end() {
            return Err(ParseError::BadUri("unexpected characters after host"));
        }
        Ok(host)
    }

    /// The same host, owning its text.
    pub fn into_owned(self) -> Host<'static> {
        match self {
            Host::Domain(d) => Host::Domain(Cow::Owned(d.into_owned())),
            Host::Ipv4(a) => Host::Ipv4(a),
            Host::Ipv6(a) => Host::Ipv6(a),
        }
    }

    /// The address, for an IP host.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Domain(_) => None,
            Host::Ipv4(a) => Some(IpAddr::V4(*a)),
            Host::Ipv6(a) => Some(IpAddr::V6(*a)),
        }
    }

    /// The domain name, for a named host.
    pub fn domain(&self) -> Option<&str> {
        match self {
            Host::Domain(d) => Some(d),
            _ => None,
        }
    }
}

impl From<IpAddr> for Host<'static> {
    fn from(ip: IpAddr) -> Host<'static> {
        match ip {
            IpAddr::V4(a) => Host::Ipv4(a),
            IpAddr::V6(a) => Host::Ipv6(a),
        }
    }
}

impl PartialEq for Host<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
            (Host::Ipv4(a), Host::Ipv4(b)) => a == b,
            (Host::Ipv6(a), Host::Ipv6(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Host<'_> {}

impl Hash for Host<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Host::Domain(d) => {
                state.write_u8(0);
                for b in d.bytes() {
                    state.write_u8(b.to_ascii_lowercase());
                }
                state.write_usize(d.len());
            }
            Host::Ipv4(a) => {
                state.write_u8(1);
                a.hash(state);
            }
            Host::Ipv6(a) => {
                state.write_u8(2);
                a.hash(state);
            }
        }
    }
}

impl fmt::Display for Host<'_> {
    /// The host in URI form (IPv6 in brackets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

/// Lexes a host at the cursor; returns it with its text as written.
pub(crate) fn lex_host<'a>(cur: &mut Cursor<'a>) -> Result<(Host<'a>, &'a str), LexError> {
    let start = cur.pos();
    if cur.eat(b'[') {
        let inner = cur.take_while(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !cur.eat(b']') {
            return Err(LexError("malformed IPv6 reference"));
        }
        let addr = parse_ipv6(inner).ok_or(LexError("malformed IPv6 reference"))?;
        return Ok((Host::Ipv6(addr), cur.slice(start, cur.pos())));
    }
    // RFC 3261 `hostname`: dot-separated labels that start and end with an
    // alphanumeric (hyphens inside), one optional trailing dot. One pass: alphanumerics
    // cost a table test; only `-` and `.` look at their neighbour.
    let rest = cur.rest().as_bytes();
    let mut i = 0usize;
    let mut prev = b'.';
    let mut last_label_first = 0u8;
    let mut malformed = false;
    while let Some(&b) = rest.get(i) {
        if is(b, class::ALNUM) {
            if prev == b'.' {
                last_label_first = b;
            }
        } else if b == b'-' {
            malformed |= prev == b'.';
        } else if b == b'.' {
            malformed |= prev == b'.' || prev == b'-';
        } else {
            break;
        }
        prev = b;
        i += 1;
    }
    malformed |= i == 0 || prev == b'-';
    if malformed {
        return Err(LexError(if cur.take_class(class::HOST).is_empty() {
            "missing host"
        } else {
            "malformed hostname"
        }));
    }
    let text = cur.slice(start, start + i);
    cur.set_pos(start + i);
    // RFC 3261 `host = hostname / IPv4address`: a name whose last label starts with a
    // digit can only be an IPv4 address.
    if last_label_first.is_ascii_digit() {
        return parse_ipv4(text).map(|a| (Host::Ipv4(a), text));
    }
    Ok((Host::Domain(Cow::Borrowed(text)), text))
}

/// An IPv6 address, also in the three-colon form RFC 3261's original ABNF allowed before
/// an embedded IPv4 address (`2001:db8:::192.0.2.1`), which RFC 5118 §4.10 asks
/// implementations to tolerate; it means the same as the two-colon form.
fn parse_ipv6(text: &str) -> Option<Ipv6Addr> {
    if let Ok(addr) = text.parse() {
        return Some(addr);
    }
    let (head, tail) = text.split_once(":::")?;
    if tail.contains(':') || !tail.contains('.') || head.contains("::") {
        return None;
    }
    // At most 45 characters of address text: a small stack buffer, no allocation.
    let mut buf = [0u8; 64];
    let fixed_len = head.len() + 2 + tail.len();
    let dst = buf.get_mut(..fixed_len)?;
    let (h, rest) = dst.split_at_mut(head.len());
    h.copy_from_slice(head.as_bytes());
    let (colons, t) = rest.split_at_mut(2);
    colons.copy_from_slice(b"::");
    t.copy_from_slice(tail.as_bytes());
    std::str::from_utf8(dst).ok()?.parse().ok()
}

/// Four decimal octets; leading zeros are refused because some stacks read them as
/// octal.
fn parse_ipv4(text: &str) -> Result<Ipv4Addr, LexError> {
    const BAD: LexError = LexError("malformed IPv4 address");
    let mut octets = [0u8; 4];
    let mut n = 0usize;
    let mut value = 0u16;
    let mut digits = 0u8;
    for b in text.bytes() {
        if b == b'.' {
            if digits == 0 || n >= 3 {
                return Err(BAD);
            }
            if let Some(o) = octets.get_mut(n) {
                *o = u8::try_from(value).map_err(|_| BAD)?;
            }
            n += 1;
            value = 0;
            digits = 0;
        } else if b.is_ascii_digit() {
            if digits == 3 || (digits == 1 && value == 0) {
                return Err(BAD);
            }
            value = value * 10 + u16::from(b - b'0');
            digits += 1;
        } else {
            return Err(BAD);
        }
    }
    if digits == 0 || n != 3 {
        return Err(BAD);
    }
    if let Some(o) = octets.get_mut(3) {
        *o = u8::try_from(value).map_err(|_| BAD)?;
    }
    Ok(Ipv4Addr::from(octets))
}

/// Lexes `1*DIGIT` as a port number.
pub(crate) fn lex_port(cur: &mut Cursor<'_>) -> Result<u16, LexError> {
    let digits = cur.take_while(|b| b.is_ascii_digit());
    match crate::lex::decimal(digits) {
        Ok(n) => u16::try_from(n).map_err(|_| LexError("port out of range")),
        Err(true) => Err(LexError("port out of range")),
        Err(false) => Err(LexError("malformed port")),
    }
}

impl<'a> Uri<'a> {
    /// Parses a URI. Longer than [`MAX_URI_LEN`] is [`ParseError::UriTooLong`]; anything
    /// malformed is [`ParseError::BadUri`].
    pub fn parse(s: &'a str) -> Result<Uri<'a>, ParseError> {
        if s.len() > MAX_URI_LEN {
            return Err(ParseError::UriTooLong);
        }
        Uri::lex(s).map_err(LexError::in_uri)
    }

    /// Like [`Uri::parse`], from bytes (which must be UTF-8).
    pub fn parse_bytes(s: &'a [u8]) -> Result<Uri<'a>, ParseError> {
        let s = std::str::from_utf8(s).map_err(|_| ParseError::BadUri("not valid UTF-8"))?;
        Uri::parse(s)
    }

    /// Parses a URI, reporting a bare reason (for decoders that name their header).
    #[inline]
    pub(crate) fn lex(s: &'a str) -> Result<Uri<'a>, LexError> {
        if s.len() > MAX_URI_LEN {
            return Err(LexError("URI too long"));
        }
        let colon = s
            .bytes()
            .position(|b| b == b':')
            .ok_or(LexError("no scheme"))?;
        let scheme = s.get(..colon).unwrap_or("");
        let rest = s.get(colon + 1..).unwrap_or("");
        if scheme.eq_ignore_ascii_case("sip") {
            parse_sip(s, rest, false).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            parse_sip(s, rest, true).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            parse_tel(s, rest).map(Uri::Tel)
        } else {
            parse_other(s, scheme, rest).map(Uri::Other)
        }
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        match self {
            Uri::Sip(u) if u.secure => Scheme::Sips,
            Uri::Sip(_) => Scheme::Sip,
            Uri::Tel(_) => Scheme::Tel,
            Uri::Other(_) => Scheme::Other,
        }
    }

    /// The URI exactly as written.
    pub fn as_str(&self) -> &'a str {
        match self {
            Uri::Sip(u) => u.raw,
            Uri::Tel(u) => u.raw,
            Uri::Other(u) => u.raw,
        }
    }

    /// The SIP/SIPS view, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri<'a>> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// The tel view, if this is one.
    pub fn as_tel(&self) -> Option<&TelUri<'a>> {
        match self {
            Uri::Tel(u) => Some(u),
            _ => None,
        }
    }

    /// True for a `sips:` URI.
    pub fn is_sips(&self) -> bool {
        matches!(self, Uri::Sip(u) if u.secure)
    }

    /// The host of a SIP/SIPS URI.
    pub fn host(&self) -> Option<&Host<'a>> {
        self.as_sip().map(|u| &u.host)
    }

    /// The user part of a SIP/SIPS URI (escaped as written).
    pub fn user(&self) -> Option<&'a str> {
        self.as_sip().and_then(|u| u.user)
    }

    /// The explicit port of a SIP/SIPS URI.
    pub fn port(&self) -> Option<u16> {
        self.as_sip().and_then(|u| u.port)
    }

    /// RFC 3261 §19.1.4 equivalence for SIP/SIPS URIs, RFC 3966 §4 for tel URIs, and
    /// case-insensitive scheme plus exact text for anything else.
    pub fn equivalent(&self, other: &Uri<'_>) -> bool {
        match (self, other) {
            (Uri::Sip(a), Uri::Sip(b)) => a.equivalent(b),
            (Uri::Tel(a), Uri::Tel(b)) => a.equivalent(b),
            (Uri::Other(a), Uri::Other(b)) => {
                a.scheme.eq_ignore_ascii_case(b.scheme) && a.rest == b.rest
            }
            _ => false,
        }
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which well-known URI parameter a name is (names may be escaped).
#[derive(Clone, Copy, PartialEq, Eq)]
enum KnownParam {
    Transport,
    User,
    Method,
    Ttl,
    Maddr,
    Lr,
}

fn known_param(name: &str) -> Option<KnownParam> {
    const KNOWN: [(&str, KnownParam); 6] = [
        ("transport", KnownParam::Transport),
        ("user", KnownParam::User),
        ("method", KnownParam::Method),
        ("ttl", KnownParam::Ttl),
        ("maddr", KnownParam::Maddr),
        ("lr", KnownParam::Lr),
    ];
    if name.contains('%') {
        return KNOWN
            .iter()
            .find(|(k, _)| pct_eq_ignore_case(name, k))
            .map(|&(_, p)| p);
    }
    KNOWN
        .iter()
        .find(|(k, _)| k.len() == name.len() && k.eq_ignore_ascii_case(name))
        .map(|&(_, p)| p)
}

#[inline]
fn parse_sip<'a>(raw: &'a str, rest: &'a str, secure: bool) -> Result<SipUri<'a>, LexError> {
    // Userinfo is `user [":" password] "@"`. Scan user characters; only an `@` (after
    // an optional password) makes them a userinfo, otherwise the host starts at 0.
    let mut cur = Cursor::new(rest);
    let user_text = cur.take_escaped(class::USER)?;
    let mut password = None;
    if cur.eat(b':') {
        password = Some(cur.take_escaped(class::PASSWORD)?);
    }
    let user = if cur.eat(b'@') {
        if user_text.is_empty() {
            return Err(LexError("empty user part"));
        }
        Some(user_text)
    } else {
        password = None;
        cur.set_pos(0);
        None
    };
    let (host, host_raw) = lex_host(&mut cur)?;
    let port = if cur.eat(b':') {
        Some(lex_port(&mut cur)?)
    } else {
        None
    };

    let mut uri = SipUri {
        raw,
        secure,
        user,
        password,
        host,
        host_raw,
        port,
        transport: None,
        user_param: None,
        method: None,
        ttl: None,
        maddr: None,
        lr: false,
        params: UriParams::default(),
        headers: UriHeaders::default(),
    };

    let params_start = cur.pos();
    let mut count = 0usize;
    while cur.eat(b';') {
        count += 1;
        if count > MAX_URI_PARAMS {
            return Err(LexError("too many URI parameters"));
        }
        let name = cur.take_escaped(class::PARAM)?;
        if name.is_empty() {
            return Err(LexError("empty URI parameter name"));
        }
        let value = if cur.eat(b'=') {
            let v = cur.take_escaped(class::PARAM)?;
            if v.is_empty() {
                return Err(LexError("empty URI parameter value"));
            }
            Some(v)
        } else {
            None
        };
        if let Some(known) = known_param(name) {
            apply_known(&mut uri, known, value)?;
        }
    }
    uri.params = UriParams {
        raw: cur.slice(params_start, cur.pos()),
    };

    if cur.eat(b'?') {
        let start = cur.pos();
        let mut count = 0usize;
        loop {
            count += 1;
            if count > MAX_URI_PARAMS {
                return Err(LexError("too many URI headers"));
            }
            let name = cur.take_escaped(class::HNV)?;
            if name.is_empty() {
                return Err(LexError("empty URI header name"));
            }
            if !cur.eat(b'=') {
                return Err(LexError("URI header without '='"));
            }
            cur.take_escaped(class::HNV)?;
            if !cur.eat(b'&') {
                break;
            }
        }
        uri.headers = UriHeaders {
            raw: cur.slice(start, cur.pos()),
        };
    }
    if !cur.is_end() {
        return Err(LexError("unexpected character in URI"));
    }
    Ok(uri)
}

fn apply_known<'a>(
    uri: &mut SipUri<'a>,
    known: KnownParam,
    value: Option<&'a str>,
) -> Result<(), LexError> {
    const DUP: LexError = LexError("duplicate URI parameter");
    let need = |v: Option<&'a str>| v.ok_or(LexError("URI parameter needs a value"));
    match known {
        KnownParam::Transport => {
            let v = need(value)?;
            check_decoded_token(v)?;
            if uri.transport.replace(v).is_some() {
                return Err(DUP);
            }
        }
        KnownParam::User => {
            let v = need(value)?;
            check_decoded_token(v)?;
            if uri.user_param.replace(v).is_some() {
                return Err(DUP);
            }
        }
        KnownParam::Method => {
            let v = need(value)?;
            check_decoded_token(v)?;
            if uri.method.replace(v).is_some() {
                return Err(DUP);
            }
        }
        KnownParam::Ttl => {
            let v = pct_decode_str(need(value)?)?;
            if v.is_empty() || v.len() > 3 {
                return Err(LexError("malformed ttl"));
            }
            let n = crate::lex::decimal(&v).map_err(|_| LexError("malformed ttl"))?;
            let ttl = u8::try_from(n).map_err(|_| LexError("ttl out of range"))?;
            if uri.ttl.replace(ttl).is_some() {
                return Err(DUP);
            }
        }
        KnownParam::Maddr => {
            let v = need(value)?;
            let decoded = pct_decode_str(v)?;
            let mut c = Cursor::new(&decoded);
            lex_host(&mut c)?;
            if !c.is_end() {
                return Err(LexError("malformed maddr"));
            }
            if uri.maddr.replace(v).is_some() {
                return Err(DUP);
            }
        }
        KnownParam::Lr => {
            // RFC 3261 says `lr` has no value, but `lr=on` is common and is a valid
            // `other-param` by the grammar.
            if uri.lr {
                return Err(DUP);
            }
            uri.lr = true;
        }
    }
    Ok(())
}

fn check_decoded_token(v: &str) -> Result<(), LexError> {
    let decoded = pct_decode_str(v)?;
    if crate::lex::is_token(&decoded) {
        Ok(())
    } else {
        Err(LexError("malformed URI parameter value"))
    }
}

/// Checks that all of `s` is characters of `mask` or valid `%HH` escapes.
fn check_escaped(s: &str, mask: u16, reason: &'static str) -> Result<(), LexError> {
    let mut cur = Cursor::new(s);
    cur.take_escaped(mask)?;
    if cur.is_end() {
        Ok(())
    } else {
        Err(LexError(reason))
    }
}

fn is_visual_separator(b: u8) -> bool {
    matches!(b, b'-' | b'.' | b'(' | b')')
}

fn parse_tel<'a>(raw: &'a str, rest: &'a str) -> Result<TelUri<'a>, LexError> {
    let mut cur = Cursor::new(rest);
    let global = cur.eat(b'+');
    let digits_start = cur.pos();
    let digits = if global {
        cur.take_while(|b| b.is_ascii_digit() || is_visual_separator(b))
    } else {
        cur.take_while(|b| {
            b.is_ascii_hexdigit() || b == b'*' || b == b'#' || is_visual_separator(b)
        })
    };
    if !digits.bytes().any(|b| !is_visual_separator(b)) {
        return Err(LexError("tel URI without digits"));
    }
    let number = cur.slice(0, digits_start + digits.len());
    let mut uri = TelUri {
        raw,
        number,
        global,
        phone_context: None,
        ext: None,
        params: UriParams::default(),
    };
    let params_start = cur.pos();
    let mut count = 0usize;
    while cur.eat(b';') {
        count += 1;
        if count > MAX_URI_PARAMS {
            return Err(LexError("too many URI parameters"));
        }
        let name = cur.take_while(|b| b.is_ascii_alphanumeric() || b == b'-');
        if name.is_empty() {
            return Err(LexError("empty URI parameter name"));
        }
        let value = if cur.eat(b'=') {
            let v = cur.take_escaped(class::PARAM)?;
            if v.is_empty() {
                return Err(LexError("empty URI parameter value"));
            }
            Some(v)
        } else {
            None
        };
        if name.eq_ignore_ascii_case("phone-context") {
            let v = value.ok_or(LexError("phone-context needs a value"))?;
            if uri.phone_context.replace(v).is_some() {
                return Err(LexError("duplicate URI parameter"));
            }
        } else if name.eq_ignore_ascii_case("ext") {
            let v = value.ok_or(LexError("ext needs a value"))?;
            if !v
                .bytes()
                .all(|b| b.is_ascii_digit() || is_visual_separator(b))
            {
                return Err(LexError("malformed ext"));
            }
            if uri.ext.replace(v).is_some() {
                return Err(LexError("duplicate URI parameter"));
            }
        }
    }
    uri.params = UriParams {
        raw: cur.slice(params_start, cur.pos()),
    };
    if !cur.is_end() {
        return Err(LexError("unexpected character in tel URI"));
    }
    if !global && uri.phone_context.is_none() {
        return Err(LexError("local tel number without phone-context"));
    }
    Ok(uri)
}

fn parse_other<'a>(raw: &'a str, scheme: &'a str, rest: &'a str) -> Result<OtherUri<'a>, LexError> {
    let mut bytes = scheme.bytes();
    if !bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        || !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return Err(LexError("malformed scheme"));
    }
    if rest.is_empty() {
        return Err(LexError("nothing after scheme"));
    }
    check_escaped(rest, class::URI3986, "invalid character in URI")?;
    Ok(OtherUri { raw, scheme, rest })
}

impl<'a> SipUri<'a> {
    /// The transport parameter, recognised.
    pub fn transport(&self) -> Option<Transport> {
        self.transport
            .map(|t| Transport::from_name(&pct_decode_str(t).unwrap_or(Cow::Borrowed(t))))
    }

    /// The `maddr` parameter as a host.
    pub fn maddr_host(&self) -> Option<Host<'static>> {
        let raw = self.maddr?;
        let decoded = pct_decode_str(raw).ok()?;
        let mut cur = Cursor::new(&decoded);
        lex_host(&mut cur).ok().map(|(h, _)| h.into_owned())
    }

    /// The user part with escapes decoded (bytes: an escape may encode anything).
    pub fn user_decoded(&self) -> Option<Cow<'a, [u8]>> {
        // Escapes were validated when the URI was parsed.
        self.user.and_then(|u| crate::lex::pct_decode(u).ok())
    }

    /// RFC 3261 §19.1.4 equivalence.
    pub fn equivalent(&self, other: &SipUri<'_>) -> bool {
        fn both<T: ?Sized>(a: Option<&T>, b: Option<&T>, eq: impl Fn(&T, &T) -> bool) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => eq(a, b),
                _ => false,
            }
        }
        self.secure == other.secure
            && both(self.user, other.user, pct_eq)
            && both(self.password, other.password, pct_eq)
            && self.host == other.host
            && self.port == other.port
            && both(self.transport, other.transport, pct_eq_ignore_case)
            && both(self.user_param, other.user_param, pct_eq_ignore_case)
            && both(self.method, other.method, pct_eq_ignore_case)
            && self.ttl == other.ttl
            && both(self.maddr, other.maddr, pct_eq_ignore_case)
            && other_params_agree(self.params, other.params)
            && headers_agree(self.headers, other.headers)
            && headers_agree(other.headers, self.headers)
    }
}

/// Parameters other than the five that must match: compared only when in both.
fn other_params_agree(a: UriParams<'_>, b: UriParams<'_>) -> bool {
    a.iter().all(|pa| {
        if matches!(known_param(pa.name), Some(k) if k != KnownParam::Lr) {
            return true;
        }
        match b.iter().find(|pb| pct_eq_ignore_case(pa.name, pb.name)) {
            None => true,
            Some(pb) => match (pa.value, pb.value) {
                (None, None) => true,
                (Some(x), Some(y)) => pct_eq_ignore_case(x, y),
                _ => false,
            },
        }
    })
}

/// Every header of `a` is in `b` with an equal value.
fn headers_agree(a: UriHeaders<'_>, b: UriHeaders<'_>) -> bool {
    a.iter().all(|(na, va)| {
        b.iter()
            .any(|(nb, vb)| pct_eq_ignore_case(na, nb) && pct_eq_ignore_case(va, vb))
    })
}

impl TelUri<'_> {
    /// The number without `+` and visual separators (RFC 3966 §5.1.1).
    pub fn digits(&self) -> impl Iterator<Item = u8> + '_ {
        self.number
            .bytes()
            .filter(|&b| b != b'+' && !is_visual_separator(b))
    }

    /// RFC 3966 §4: same kind of number, same digits ignoring visual separators and
    /// case, and the same set of parameters with case-insensitively equal values.
    pub fn equivalent(&self, other: &TelUri<'_>) -> bool {
        let same_params = |a: UriParams<'_>, b: UriParams<'_>| {
            a.iter().all(|pa| {
                b.iter().any(|pb| {
                    pa.name.eq_ignore_ascii_case(pb.name)
                        && match (pa.value, pb.value) {
                            (None, None) => true,
                            (Some(x), Some(y)) => pct_eq_ignore_case(x, y),
                            _ => false,
                        }
                })
            })
        };
        self.global == other.global
            && self
                .digits()
                .map(|b| b.to_ascii_lowercase())
                .eq(other.digits().map(|b| b.to_ascii_lowercase()))
            && self.params.iter().count() == other.params.iter().count()
            && same_params(self.params, other.params)
            && same_params(other.params, self.params)
    }
}

/// A URI parameter, escaped as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UriParam<'a> {
    /// The name as written.
    pub name: &'a str,
    /// The value, if there was an `=`.
    pub value: Option<&'a str>,
}

/// The validated `;name=value` parameters of a URI, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UriParams<'a> {
    raw: &'a str,
}

impl<'a> UriParams<'a> {
    /// The parameters as written, from the first `;` (or empty).
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// True when there is no parameter.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Every parameter in order.
    pub fn iter(&self) -> impl Iterator<Item = UriParam<'a>> + 'a {
        let raw = self.raw;
        raw.split(';').skip(1).map(|p| match p.split_once('=') {
            Some((name, value)) => UriParam {
                name,
                value: Some(value),
            },
            None => UriParam {
                name: p,
                value: None,
            },
        })
    }

    /// The first parameter with this name (case-insensitive, escapes decoded).
    pub fn get(&self, name: &str) -> Option<UriParam<'a>> {
        self.iter().find(|p| pct_eq_ignore_case(p.name, name))
    }

    /// True when a parameter with this name is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// The validated `?name=value&...` headers of a SIP URI, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UriHeaders<'a> {
    raw: &'a str,
}

impl<'a> UriHeaders<'a> {
    /// The headers as written, after the `?` (or empty).
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// True when there is no header.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Every `(name, value)` pair in order, escaped as written.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let raw = self.raw;
        raw.split('&')
            .filter(|h| !h.is_empty())
            .map(|h| h.split_once('=').unwrap_or((h, "")))
    }

    /// The value of the first header with this name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.iter()
            .find(|(n, _)| pct_eq_ignore_case(n, name))
            .map(|(_, v)| v)
    }
}

/// Is `b` allowed unescaped in an RFC 3261 `user`? (For callers building URIs.)
pub fn is_user_char(b: u8) -> bool {
    is(b, class::USER)
}
