//! Via (RFC 3261 §20.42, §18.2.1; RFC 3581 `rport`; RFC 5118 IPv6).

use std::net::IpAddr;

use super::{single, HeaderList};
use crate::error::ParseError;
use crate::lex::{lex_params, Cursor, LexError, ParamValue, Params};
use crate::uri::{lex_host, lex_port, Host, Transport};

const H: &str = "Via";

/// The magic cookie that marks an RFC 3261 branch (§8.1.1.7).
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

/// The `rport` parameter (RFC 3581).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rport {
    /// `;rport` without a value: the client asks for it to be filled in.
    Requested,
    /// `;rport=N`, as filled in by a server.
    Port(u16),
}

/// One Via entry: `SIP/2.0/UDP host:port;branch=...;...`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Via<'a> {
    /// The entry exactly as written.
    pub raw: &'a str,
    /// The protocol name (`SIP`).
    pub protocol: &'a str,
    /// The protocol version (`2.0`).
    pub version: &'a str,
    /// The transport, recognised.
    pub transport: Transport,
    /// The transport as written.
    pub transport_raw: &'a str,
    /// The sent-by host.
    pub host: Host<'a>,
    /// The sent-by host as written.
    pub host_raw: &'a str,
    /// The sent-by port, if written.
    pub port: Option<u16>,
    /// The `branch` parameter.
    pub branch: Option<&'a str>,
    /// The `received` parameter (bare or bracketed IPv6 both accepted, RFC 5118 §4.5).
    pub received: Option<IpAddr>,
    /// The `rport` parameter.
    pub rport: Option<Rport>,
    /// The `maddr` parameter.
    pub maddr: Option<Host<'a>>,
    /// The `ttl` parameter.
    pub ttl: Option<u8>,
    /// Every parameter, those above included.
    pub params: Params<'a>,
}

impl<'a> Via<'a> {
    /// Decodes a value holding exactly one Via entry.
    pub fn parse(value: &'a [u8]) -> Result<Via<'a>, ParseError> {
        single(H, value, lex_via)
    }

    /// Decodes every comma-separated entry of one Via field value, in order.
    pub fn parse_list(value: &'a [u8]) -> HeaderList<'a, Via<'a>> {
        HeaderList::new(H, value, false, lex_via)
    }

    /// The port responses go to when none is written: 5061 for TLS transports, else
    /// 5060 (RFC 3261 §18.2.2).
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or_else(|| self.transport.default_port())
    }

    /// True when the branch is an RFC 3261 transaction identifier: the magic cookie
    /// followed by something unique (a bare cookie is not one, RFC 4475 §3.2.1).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch.is_some_and(|b| {
            b.len() > BRANCH_MAGIC_COOKIE.len() && b.starts_with(BRANCH_MAGIC_COOKIE)
        })
    }
}

fn bad(reason: &'static str) -> LexError {
    LexError(reason)
}

#[inline]
pub(crate) fn lex_via<'a>(cur: &mut Cursor<'a>) -> Result<Via<'a>, LexError> {
    let start = cur.pos();
    let protocol = cur.token().ok_or(bad("missing protocol name"))?;
    if !cur.eat_sep(b'/') {
        return Err(bad("malformed sent-protocol"));
    }
    let version = cur.token().ok_or(bad("missing protocol version"))?;
    if !cur.eat_sep(b'/') {
        return Err(bad("malformed sent-protocol"));
    }
    let transport_raw = cur.token().ok_or(bad("missing transport"))?;
    if !cur.skip_lws() {
        return Err(bad("missing whitespace before sent-by"));
    }
    let (host, host_raw) = lex_host(cur)?;
    let port = if cur.eat_sep(b':') {
        Some(lex_port(cur)?)
    } else {
        None
    };

    let mut branch = None;
    let mut received = None;
    let mut rport = None;
    let mut maddr = None;
    let mut ttl = None;
    const DUP: LexError = LexError("duplicate Via parameter");
    let params = lex_params(cur, |p| {
        let name = p.name;
        if name.eq_ignore_ascii_case("branch") {
            let v = token_value(p.value, "branch needs a token value")?;
            if !crate::lex::is_token_value(v) {
                return Err(bad("branch is not a token"));
            }
            if branch.replace(v).is_some() {
                return Err(DUP);
            }
        } else if name.eq_ignore_ascii_case("received") {
            let v = token_value(p.value, "received needs an address")?;
            let inner = v
                .strip_prefix('[')
                .and_then(|v| v.strip_suffix(']'))
                .unwrap_or(v);
            let ip: IpAddr = inner
                .parse()
                .map_err(|_| bad("received is not an IP address"))?;
            if received.replace(ip).is_some() {
                return Err(DUP);
            }
        } else if name.eq_ignore_ascii_case("rport") {
            let r = match p.value {
                None => Rport::Requested,
                Some(v) => {
                    let v = v.as_token().ok_or(bad("malformed rport"))?;
                    let mut c = Cursor::new(v);
                    let port = lex_port(&mut c)?;
                    if !c.is_end() {
                        return Err(bad("malformed rport"));
                    }
                    Rport::Port(port)
                }
            };
            if rport.replace(r).is_some() {
                return Err(DUP);
            }
        } else if name.eq_ignore_ascii_case("maddr") {
            let v = token_value(p.value, "maddr needs a host")?;
            let mut c = Cursor::new(v);
            let (h, _) = lex_host(&mut c)?;
            if !c.is_end() {
                return Err(bad("malformed maddr"));
            }
            if maddr.replace(h).is_some() {
                return Err(DUP);
            }
        } else if name.eq_ignore_ascii_case("ttl") {
            let v = token_value(p.value, "ttl needs a value")?;
            if v.len() > 3 {
                return Err(bad("malformed ttl"));
            }
            let n = crate::lex::decimal(v).map_err(|_| bad("malformed ttl"))?;
            let t = u8::try_from(n).map_err(|_| bad("ttl out of range"))?;
            if ttl.replace(t).is_some() {
                return Err(DUP);
            }
        }
        Ok(())
    })?;

    Ok(Via {
        raw: cur.slice(start, cur.pos()),
        protocol,
        version,
        transport: Transport::from_name(transport_raw),
        transport_raw,
        host,
        host_raw,
        port,
        branch,
        received,
        rport,
        maddr,
        ttl,
        params,
    })
}

fn token_value<'a>(v: Option<ParamValue<'a>>, reason: &'static str) -> Result<&'a str, LexError> {
    v.and_then(|v| v.as_token()).ok_or(LexError(reason))
}
