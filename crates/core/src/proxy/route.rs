//! Routing: the keyed hashes behind Via branches (loop detection, RFC 3261
//! §16.6 step 8) and Record-Route MACs, recognition of our own URIs, Route
//! pre-processing (§16.4) and next-hop transport rules (RFC 3263 §4.1).

use std::hash::Hasher;

use siphasher::sip::SipHasher13;
use sipwarden_wire::headers::NameAddr;
use sipwarden_wire::uri::{SipUri, Uri};
use sipwarden_wire::{HeaderName, Message, ParseError, Transport};

use super::config::{Interface, Interfaces};
use crate::domains::Domains;

/// Every branch we write starts with this: the RFC 3261 magic cookie and our mark.
pub(crate) const BRANCH_PREFIX: &str = "z9hG4bKsw";

/// URI parameter of our Record-Route carrying the flow (RFC 5626 flow token).
pub(crate) const FLOW_PARAM: &str = "swf";

/// URI parameter of our Record-Route carrying the MAC binding it to the Call-ID.
pub(crate) const MAC_PARAM: &str = "swm";

/// Most Route entries a request may carry.
pub(crate) const MAX_ROUTES: usize = 32;

/// The keyed hash used for branches and MACs.
#[derive(Clone)]
pub(crate) struct Keys {
    k0: u64,
    k1: u64,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    pub(crate) fn new(secret: [u8; 16]) -> Keys {
        let (a, b) = secret.split_at(8);
        let word = |s: &[u8]| u64::from_le_bytes(<[u8; 8]>::try_from(s).unwrap_or_default());
        Keys {
            k0: word(a),
            k1: word(b),
        }
    }

    fn hasher(&self, domain: &[u8]) -> SipHasher13 {
        let mut h = SipHasher13::new_with_keys(self.k0, self.k1);
        field(&mut h, domain);
        h
    }

    /// The loop-detection hash of a request as received (RFC 3261 §16.6 step 8): every
    /// field that affects how it is processed, except Max-Forwards and the top Via, which
    /// change on every hop and would hide a loop.
    pub(crate) fn loop_hash(&self, msg: &Message) -> u64 {
        let mut h = self.hasher(b"loop");
        field(&mut h, msg.method_bytes());
        field(&mut h, msg.request_uri_bytes());
        let tag = |r: Result<NameAddr<'_>, ParseError>| {
            r.ok()
                .and_then(|n| n.tag)
                .map(str::as_bytes)
                .unwrap_or_default()
                .to_vec()
        };
        field(&mut h, &tag(msg.to()));
        field(&mut h, &tag(msg.from()));
        field(&mut h, msg.header(HeaderName::CallId).unwrap_or_default());
        let seq = msg.cseq().map(|c| c.seq).unwrap_or_default();
        h.write_u32(seq);
        for name in [
            HeaderName::Route,
            HeaderName::ProxyRequire,
            HeaderName::ProxyAuthorization,
        ] {
            for v in msg.header_values(name) {
                field(&mut h, v);
            }
            field(&mut h, b"|");
        }
        h.finish()
    }

    /// The MAC of one of our Record-Route URIs: binds it to the Call-ID and flow token.
    pub(crate) fn route_mac(&self, call_id: &str, flow: &str) -> u64 {
        let mut h = self.hasher(b"rr");
        field(&mut h, call_id.as_bytes());
        field(&mut h, flow.as_bytes());
        h.finish()
    }
}

fn field(h: &mut SipHasher13, bytes: &[u8]) {
    h.write_usize(bytes.len());
    h.write(bytes);
}

/// A branch for our Via: the loop hash, then a per-branch suffix.
pub(crate) fn branch(hash: u64, suffix: &str) -> String {
    format!("{BRANCH_PREFIX}{hash:016x}.{suffix}")
}

/// The loop hash inside one of our branches.
pub(crate) fn branch_hash(branch: &str) -> Option<u64> {
    let rest = branch.strip_prefix(BRANCH_PREFIX)?;
    let (hex, _) = rest.split_once('.')?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// One Route (or Path) entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteEntry {
    /// The name-addr exactly as written.
    pub(crate) text: String,
    /// The URI.
    pub(crate) uri: String,
    /// Loose router (`lr`).
    pub(crate) lr: bool,
    /// A `sips:` URI.
    pub(crate) sips: bool,
}

impl RouteEntry {
    pub(crate) fn from_name_addr(n: &NameAddr<'_>) -> Option<RouteEntry> {
        let sip = n.uri.as_sip()?;
        Some(RouteEntry {
            text: n.raw.to_owned(),
            uri: sip.raw.to_owned(),
            lr: sip.lr,
            sips: sip.secure,
        })
    }

    /// A route to a bare URI (`<uri>`).
    pub(crate) fn from_uri(uri: &str) -> Option<RouteEntry> {
        let parsed = Uri::parse(uri).ok()?;
        let sip = parsed.as_sip()?;
        Some(RouteEntry {
            text: format!("<{uri}>"),
            uri: uri.to_owned(),
            lr: sip.lr,
            sips: sip.secure,
        })
    }
}

/// Every Route entry of a message; `None` when one is malformed, not a SIP URI, or there
/// are too many.
pub(crate) fn routes_of(msg: &Message) -> Option<Vec<RouteEntry>> {
    let mut out = Vec::new();
    for r in msg.routes() {
        let r = r.ok()?;
        if out.len() >= MAX_ROUTES {
            return None;
        }
        out.push(RouteEntry::from_name_addr(&r)?);
    }
    Some(out)
}

/// Parses Path values stored with a binding.
pub(crate) fn path_entries(path: &[String]) -> Option<Vec<RouteEntry>> {
    let mut out = Vec::new();
    for value in path {
        for n in NameAddr::parse_list(HeaderName::Path, value.as_bytes()) {
            out.push(RouteEntry::from_name_addr(&n.ok()?)?);
        }
    }
    Some(out)
}

/// What one of our own Route URIs says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OurRoute {
    /// The transport of our interface it names.
    pub(crate) transport: Option<Transport>,
    /// The flow token it carries.
    pub(crate) flow: Option<String>,
    /// It carries a MAC.
    pub(crate) has_mac: bool,
    /// Its MAC verifies for this Call-ID.
    pub(crate) mac_ok: bool,
}

/// Recognises our own URIs.
pub(crate) struct Ours<'a> {
    pub(crate) interfaces: &'a Interfaces,
    pub(crate) domains: &'a Domains,
    pub(crate) keys: &'a Keys,
}

impl Ours<'_> {
    /// True when a SIP URI names this server: one of our interfaces, or one of our
    /// domains on a port we listen on.
    pub(crate) fn is_ours(&self, u: &SipUri<'_>) -> bool {
        let secure = u.secure || u.transport() == Some(Transport::Tls);
        if self.interfaces.is_ours(&u.host, u.port, secure) {
            return true;
        }
        let domain = self.domains.canonical(&u.host).is_some();
        domain && u.port.is_none_or(|p| self.interfaces.has_port(p))
    }

    /// The facts of a Route URI that is ours, or `None`.
    pub(crate) fn our_route(&self, uri: &str, call_id: &str) -> Option<OurRoute> {
        let parsed = Uri::parse(uri).ok()?;
        let u = parsed.as_sip()?;
        if !self.is_ours(u) {
            return None;
        }
        let flow = u
            .params
            .get(FLOW_PARAM)
            .and_then(|p| p.value)
            .filter(|f| is_flow_token(f));
        let mac = u.params.get(MAC_PARAM).and_then(|p| p.value);
        let expected = format!(
            "{:016x}",
            self.keys.route_mac(call_id, flow.unwrap_or_default())
        );
        Some(OurRoute {
            transport: uri_transport(u),
            flow: flow.map(str::to_owned),
            has_mac: mac.is_some(),
            mac_ok: mac.is_some_and(|m| m.eq_ignore_ascii_case(&expected)),
        })
    }

    /// True when a host is ours (an interface host or one of our domains).
    pub(crate) fn is_our_host(&self, host: &sipwarden_wire::uri::Host<'_>) -> bool {
        self.interfaces.has_host(host) || self.domains.canonical(host).is_some()
    }
}

/// A flow identifier we are willing to put in a URI parameter.
pub(crate) fn is_flow_token(f: &str) -> bool {
    !f.is_empty()
        && f.len() <= 64
        && f.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The transport a URI implies on its own (RFC 3263 §4.1): the `transport` parameter;
/// TLS (or secure WebSocket) for sips; UDP for an IP address or an explicit port; `None`
/// when only NAPTR/SRV can tell.
pub(crate) fn uri_transport(u: &SipUri<'_>) -> Option<Transport> {
    let t = u.transport();
    if u.secure {
        return Some(match t {
            Some(Transport::Ws | Transport::Wss) => Transport::Wss,
            _ => Transport::Tls,
        });
    }
    match t {
        Some(Transport::Other) => None,
        Some(t) => Some(t),
        None if u.host.ip().is_some() || u.port.is_some() => Some(Transport::Udp),
        None => None,
    }
}

/// The transport of a URI given as text.
pub(crate) fn uri_text_transport(uri: &str) -> Option<Transport> {
    Uri::parse(uri).ok()?.as_sip().and_then(uri_transport)
}

/// The URI without `maddr`, `transport` and port (RFC 3261 §16.4).
pub(crate) fn strip_maddr(u: &SipUri<'_>) -> String {
    let mut s = String::with_capacity(u.raw.len());
    s.push_str(if u.secure { "sips:" } else { "sip:" });
    if let Some(user) = u.user {
        s.push_str(user);
        if let Some(pw) = u.password {
            s.push(':');
            s.push_str(pw);
        }
        s.push('@');
    }
    s.push_str(u.host_raw);
    for p in u.params.iter() {
        if p.name.eq_ignore_ascii_case("maddr") || p.name.eq_ignore_ascii_case("transport") {
            continue;
        }
        s.push(';');
        s.push_str(p.name);
        if let Some(v) = p.value {
            s.push('=');
            s.push_str(v);
        }
    }
    if !u.headers.is_empty() {
        s.push('?');
        s.push_str(u.headers.raw());
    }
    s
}

/// One of our Record-Route values for a side of the proxy.
pub(crate) fn record_route(iface: &Interface, sips: bool, flow: Option<&str>, mac: u64) -> String {
    let host = &iface.host;
    let port = iface.port;
    // Secure WebSocket has no URI transport of its own: sips with transport=ws.
    let sips = sips || iface.transport == Transport::Wss;
    let scheme = if sips { "sips" } else { "sip" };
    let transport = match iface.transport {
        Transport::Tcp => ";transport=tcp",
        Transport::Tls if !sips => ";transport=tls",
        Transport::Ws | Transport::Wss => ";transport=ws",
        Transport::Sctp => ";transport=sctp",
        _ => "",
    };
    let mut v = format!("<{scheme}:{host}:{port}{transport};lr");
    if let Some(f) = flow {
        v.push_str(&format!(";{FLOW_PARAM}={f}"));
    }
    v.push_str(&format!(";{MAC_PARAM}={mac:016x}>"));
    v
}
