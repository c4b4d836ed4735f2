//! The registrar's decision for one authenticated REGISTER (RFC 3261 §10.3 steps 6–8,
//! RFC 3327 Path, RFC 5626 flows): which bindings to add, refresh and remove, or why the
//! request is refused. Pure: the caller has already authenticated the request, checked
//! that the user may register the address-of-record, and loaded its current bindings.

use std::net::{IpAddr, SocketAddr};

use sipwarden_store::Binding;
use sipwarden_wire::headers::{Contact, Contacts};
use sipwarden_wire::uri::{Host, Uri};
use sipwarden_wire::Message;

/// Registrar limits and policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Shortest registration accepted (shorter ones get 423 with Min-Expires).
    pub min_expires: u32,
    /// Longest registration granted (longer ones are shortened to this).
    pub max_expires: u32,
    /// Registration time when the request names none.
    pub default_expires: u32,
    /// Most bindings one address-of-record may hold.
    pub max_contacts_per_aor: usize,
    /// Most bindings registered from one IP address across all AORs. High by default: a
    /// whole office behind one NAT, or a load generator, registers from one address.
    pub max_bindings_per_source: usize,
    /// From must name the same address-of-record as To (no third-party registration).
    pub require_from_matches_to: bool,
    /// Over UDP, accept Contacts whose IP address is not the REGISTER's source address.
    /// Off by default: such bindings let anyone aim our traffic at a third party.
    pub allow_foreign_contacts: bool,
    /// Interoperability shim: which challenges known clients get (see
    /// [`crate::compat::ClientProfile`]).
    pub client_profiles: Vec<crate::compat::ClientProfile>,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires: 60,
            max_expires: 7200,
            default_expires: 3600,
            max_contacts_per_aor: 10,
            max_bindings_per_source: 20_000,
            require_from_matches_to: true,
            allow_foreign_contacts: false,
            client_profiles: crate::compat::default_client_profiles(),
        }
    }
}

/// Where and when a REGISTER arrived.
#[derive(Debug, Clone, Copy)]
pub struct RegisterContext<'a> {
    /// Transport source address.
    pub source: SocketAddr,
    /// Transport it arrived over: `udp`, `tcp`, `tls`, `ws` or `wss`.
    pub transport: &'a str,
    /// Identifier of the connection it arrived on, for connection-oriented transports.
    pub flow: Option<&'a str>,
    /// Current time, seconds since the Unix epoch.
    pub now: u64,
}

impl RegisterContext<'_> {
    fn is_datagram(&self) -> bool {
        self.transport.eq_ignore_ascii_case("udp")
    }
}

/// A refusal: status code, reason phrase and extra header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Status code.
    pub code: u16,
    /// Reason phrase (never echoes request bytes).
    pub reason: &'static str,
    /// Extra header fields for the response (e.g. `Min-Expires`).
    pub headers: Vec<(&'static str, String)>,
}

impl Rejection {
    fn new(code: u16, reason: &'static str) -> Rejection {
        Rejection {
            code,
            reason,
            headers: Vec::new(),
        }
    }
}

/// What to do with an accepted REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Bindings to write (new or refreshed).
    pub upserts: Vec<Binding>,
    /// Keys of bindings to delete.
    pub removals: Vec<String>,
    /// Every binding of the AOR after the change, for the 200's Contact list.
    pub current: Vec<Binding>,
    /// The registration used RFC 5626 outbound (the 200 carries `Require: outbound`).
    pub outbound: bool,
    /// Path values to echo in the 200 (RFC 3327: only when the client supports path).
    pub path_echo: Vec<String>,
}

/// Decides a REGISTER for `aor` given its current (unexpired) `existing` bindings.
pub fn decide(
    msg: &Message,
    aor: &str,
    existing: &[Binding],
    ctx: &RegisterContext<'_>,
    cfg: &RegistrarConfig,
) -> Result<Decision, Rejection> {
    let bad = |reason| Rejection::new(400, reason);
    let call_id = msg
        .call_id()
        .map_err(|_| bad("Bad Request (malformed Call-ID)"))?;
    let cseq = msg
        .cseq()
        .map_err(|_| bad("Bad Request (malformed CSeq)"))?
        .seq;
    let header_expires = msg
        .expires()
        .map_err(|_| bad("Bad Request (malformed Expires)"))?;

    let mut contacts: Vec<Contact<'_>> = Vec::new();
    let mut wildcard = false;
    let mut contact_fields = 0usize;
    for value in msg.header_values(sipwarden_wire::HeaderName::Contact) {
        contact_fields += 1;
        match Contacts::parse(value).map_err(|_| bad("Bad Request (malformed Contact)"))? {
            Contacts::Wildcard => wildcard = true,
            Contacts::List(list) => contacts.extend(list),
        }
    }

    if wildcard {
        // RFC 3261 §10.3 step 6: `*` only alone and only with Expires: 0.
        if contact_fields != 1 || !contacts.is_empty() || header_expires != Some(0) {
            return Err(bad(
                "Bad Request (Contact: * needs Expires: 0 and no other contact)",
            ));
        }
        if existing
            .iter()
            .any(|b| b.call_id == call_id && b.cseq >= cseq)
        {
            return Err(bad("Bad Request (CSeq not higher than the registration's)"));
        }
        return Ok(Decision {
            upserts: Vec::new(),
            removals: existing.iter().map(|b| b.key.clone()).collect(),
            current: Vec::new(),
            outbound: false,
            path_echo: Vec::new(),
        });
    }

    let supports = |tag: &str| {
        msg.supported()
            .filter_map(Result::ok)
            .any(|t| t.eq_ignore_ascii_case(tag))
    };
    let mut paths = Vec::new();
    for p in msg.paths() {
        let p = p.map_err(|_| bad("Bad Request (malformed Path)"))?;
        paths.push(p.raw.trim().to_owned());
    }
    let path_echo = if supports("path") {
        paths.clone()
    } else {
        Vec::new()
    };

    // Step 7 for every contact first: expiry limits and address checks, before any change.
    let mut upserts: Vec<Binding> = Vec::new();
    let mut removals: Vec<String> = Vec::new();
    let mut outbound = false;
    for c in &contacts {
        let requested = c.expires.or(header_expires).unwrap_or(cfg.default_expires);
        if requested != 0 && requested < cfg.min_expires {
            let mut r = Rejection::new(423, "Interval Too Brief");
            r.headers.push(("Min-Expires", cfg.min_expires.to_string()));
            return Err(r);
        }
        let expires = requested.min(cfg.max_expires);
        let uri = &c.addr.uri;
        if requested != 0 && ctx.is_datagram() && !cfg.allow_foreign_contacts {
            check_contact_address(uri, ctx.source.ip())?;
        }
        if matches!(uri, Uri::Other(_)) && requested != 0 {
            return Err(Rejection::new(
                403,
                "Forbidden (Contact must be a sip, sips or tel URI)",
            ));
        }
        let key = binding_key(c);
        if let Some(old) = existing.iter().find(|b| b.key == key) {
            if old.call_id == call_id && old.cseq >= cseq {
                return Err(bad("Bad Request (CSeq not higher than the registration's)"));
            }
        }
        if c.instance.is_some() && c.reg_id.is_some() {
            outbound = true;
        }
        // A later contact for the same key in this request wins.
        upserts.retain(|b| b.key != key);
        removals.retain(|k| *k != key);
        if expires == 0 {
            removals.push(key);
        } else {
            upserts.push(Binding {
                aor: aor.to_owned(),
                key,
                contact: uri.as_str().to_owned(),
                expires_at: ctx.now.saturating_add(u64::from(expires)),
                q: c.q.unwrap_or(1000),
                call_id: call_id.to_owned(),
                cseq,
                path: paths.clone(),
                instance: c.instance.map(str::to_owned),
                reg_id: c.reg_id,
                source: ctx.source.to_string(),
                transport: ctx.transport.to_ascii_lowercase(),
                flow: ctx.flow.map(str::to_owned),
                user_agent: msg
                    .header(sipwarden_wire::HeaderName::UserAgent)
                    .map(|ua| String::from_utf8_lossy(ua).chars().take(128).collect()),
            });
        }
    }

    let mut current: Vec<Binding> = existing
        .iter()
        .filter(|b| !removals.contains(&b.key) && !upserts.iter().any(|u| u.key == b.key))
        .cloned()
        .collect();
    current.extend(upserts.iter().cloned());
    if current.len() > cfg.max_contacts_per_aor {
        return Err(Rejection::new(403, "Forbidden (too many contacts)"));
    }
    current.sort_by(|a, b| b.q.cmp(&a.q).then_with(|| a.key.cmp(&b.key)));
    Ok(Decision {
        upserts,
        removals,
        current,
        outbound: outbound && supports("outbound"),
        path_echo,
    })
}

/// RFC 5626: `+sip.instance` with `reg-id` identifies a flow binding; otherwise the
/// Contact URI does.
fn binding_key(c: &Contact<'_>) -> String {
    match (c.instance, c.reg_id) {
        (Some(instance), Some(reg_id)) => format!("{instance};reg-id={reg_id}"),
        _ => c.addr.uri.as_str().to_owned(),
    }
}

/// Over UDP a binding must point back at the address the REGISTER came from: otherwise a
/// REGISTER could make us send calls (and their retransmissions) to a third party.
fn check_contact_address(uri: &Uri<'_>, source: IpAddr) -> Result<(), Rejection> {
    let refused = || {
        Rejection::new(
            403,
            "Forbidden (Contact address differs from the request's source)",
        )
    };
    let host = uri.host().ok_or_else(refused)?;
    let ip = match host {
        Host::Ipv4(ip) => IpAddr::V4(*ip),
        Host::Ipv6(ip) => IpAddr::V6(*ip),
        Host::Domain(_) => return Err(refused()),
    };
    if canonical_ip(ip) == canonical_ip(source) {
        Ok(())
    } else {
        Err(refused())
    }
}

fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}
