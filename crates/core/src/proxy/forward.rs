//! Building the request sent on one branch (RFC 3261 §16.6) by splicing the received
//! bytes: Request-URI, Max-Forwards, Record-Route, Route, our Via.

use bytes::Bytes;
use sipwarden_wire::edit::{EditError, Editor};
use sipwarden_wire::{HeaderName, Message, Transport};

use super::config::Interface;
use super::route::{record_route, Keys, RouteEntry};

/// Where a message goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    /// The URI to reach: the top Route after processing, or the Request-URI. The caller
    /// resolves it per RFC 3263 (honouring `maddr`, port and transport parameters),
    /// restricted to `transport` when that is set.
    pub uri: String,
    /// The transport to use, when already known (a binding's, a `transport` parameter,
    /// sips, an IP address); `None` means NAPTR/SRV decide.
    pub transport: Option<Transport>,
    /// The connection to send on, when the target is reachable only through it (RFC 5626:
    /// the flow a user agent registered over, or one named by our Record-Route). If that
    /// connection is gone the caller fails the branch (`430 Flow Failed` semantics).
    pub flow: Option<String>,
    /// Only TLS or secure WebSocket may carry it (sips, or SDES keys in the body).
    pub secure_only: bool,
}

/// Edits common to every branch of one request.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// Header fields to drop (our realm's Proxy-Authorization), by index.
    pub(crate) remove_fields: Vec<usize>,
    /// Add our Record-Route.
    pub(crate) record_route: bool,
    /// Record-Route with sips URIs (the request is sips end to end).
    pub(crate) sips: bool,
    /// Loop-detection hash of the received request.
    pub(crate) loop_hash: u64,
    /// The request's Call-ID (for Record-Route MACs).
    pub(crate) call_id: String,
}

/// Edits of one branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetEdits {
    /// New Request-URI, when it changes.
    pub(crate) request_uri: Option<String>,
    /// New Route set, when it changes (replaces every Route field).
    pub(crate) routes: Option<Vec<RouteEntry>>,
    /// The next hop is a strict router, now in the Request-URI.
    pub(crate) strict_next_hop: bool,
}

impl TargetEdits {
    /// Applies RFC 3261 §16.6 step 7 when the next hop is a strict router: the
    /// Request-URI goes to the end of the Route set and the first route becomes the
    /// Request-URI. `current_uri` is the Request-URI the branch would otherwise carry.
    pub(crate) fn strict_fixup(&mut self, current_uri: &str) {
        let Some(routes) = self.routes.as_mut() else {
            return;
        };
        let Some(first) = routes.first() else {
            return;
        };
        if first.lr {
            return;
        }
        let first = routes.remove(0);
        if let Some(old) = RouteEntry::from_uri(current_uri) {
            routes.push(old);
        }
        self.request_uri = Some(first.uri);
        self.strict_next_hop = true;
    }

    /// The URI of the next hop: the strict router, the first route, or the
    /// Request-URI.
    pub(crate) fn next_hop_uri(&self, current_uri: &str) -> String {
        if self.strict_next_hop {
            if let Some(u) = &self.request_uri {
                return u.clone();
            }
        }
        self.routes
            .as_ref()
            .and_then(|r| r.first().map(|r| r.uri.clone()))
            .or_else(|| self.request_uri.clone())
            .unwrap_or_else(|| current_uri.to_owned())
    }
}

/// One side of the proxy for Record-Route purposes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Side<'a> {
    pub(crate) index: usize,
    pub(crate) iface: &'a Interface,
    pub(crate) flow: Option<&'a str>,
}

/// The bytes of one branch.
pub(crate) struct Build<'a> {
    pub(crate) msg: &'a Message,
    pub(crate) plan: &'a Plan,
    pub(crate) edits: &'a TargetEdits,
    pub(crate) branch: &'a str,
    pub(crate) outbound: Side<'a>,
    pub(crate) inbound: Side<'a>,
    pub(crate) keys: &'a Keys,
    pub(crate) record_route: bool,
    pub(crate) extra: &'a [(&'static str, String)],
}

impl Build<'_> {
    pub(crate) fn bytes(&self) -> Result<Bytes, EditError> {
        let mut ed = Editor::new(self.msg);
        let out = self.outbound.iface;
        let via = format!(
            "SIP/2.0/{} {}:{};branch={}",
            out.transport.as_str(),
            out.host,
            out.port,
            self.branch
        );
        ed.insert_via(via.as_bytes())?;
        ed.decrement_max_forwards()?;
        if let Some(uri) = &self.edits.request_uri {
            ed.set_request_uri(uri.as_bytes())?;
        }
        for &i in &self.plan.remove_fields {
            ed.remove_field(i)?;
        }
        if let Some(routes) = &self.edits.routes {
            ed.remove_header(HeaderName::Route)?;
            for r in routes {
                ed.add_header("Route", r.text.as_bytes())?;
            }
        }
        if self.record_route && self.plan.record_route {
            self.add_record_routes(&mut ed)?;
        }
        for (name, value) in self.extra {
            ed.add_header(name, value.as_bytes())?;
        }
        Ok(ed.finish())
    }

    /// One Record-Route when both sides share an interface, two (RFC 5658) when the
    /// transport or interface changes, or when both sides have a flow to pin. The top
    /// entry faces the next hop; each carries the flow of its own side.
    fn add_record_routes(&self, ed: &mut Editor<'_>) -> Result<(), EditError> {
        let (o, i) = (self.outbound, self.inbound);
        let call_id = &self.plan.call_id;
        let rr = |side: Side<'_>, flow: Option<&str>| {
            let mac = self.keys.route_mac(call_id, flow.unwrap_or_default());
            let sips = self.plan.sips && side.iface.transport.is_secure();
            record_route(side.iface, sips, flow, mac)
        };
        let double = o.index != i.index || (o.flow.is_some() && i.flow.is_some());
        if double {
            ed.add_record_route(rr(o, o.flow).as_bytes())?;
            ed.add_record_route(rr(i, i.flow).as_bytes())?;
        } else {
            ed.add_record_route(rr(o, o.flow.or(i.flow)).as_bytes())?;
        }
        Ok(())
    }
}
