//! Proxy configuration, the caller-supplied lookups and the admission hook.

use std::net::SocketAddr;
use std::time::Duration;

use sipwarden_auth::{Algorithm, Ha1, Ha1Set};
use sipwarden_sdp::MediaPolicy;
use sipwarden_store::{Binding, LocationStore, StoreError, UserStore};
use sipwarden_wire::uri::Host;
use sipwarden_wire::{Message, Transport};

/// One address this server listens on and advertises in Via and Record-Route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The transport of this listener.
    pub transport: Transport,
    /// Host name or IP address as it should appear in a URI (IPv6 in brackets).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl Interface {
    /// An interface.
    pub fn new(transport: Transport, host: &str, port: u16) -> Interface {
        Interface {
            transport,
            host: host.to_owned(),
            port,
        }
    }
}

/// What to do with requests from outside (From not in a domain of ours) to local users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutsidePolicy {
    /// Accept them unauthenticated (marked as such in the assessment).
    #[default]
    Accept,
    /// Refuse them with 403.
    Reject,
}

/// Proxy settings.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Our listeners; the first of each transport is used for Via and Record-Route on
    /// that transport. At least one is required.
    pub interfaces: Vec<Interface>,
    /// Key for the loop-detection part of Via branches and for the MAC in our
    /// Record-Route URIs. Every instance of a cluster must share it.
    pub secret: [u8; 16],
    /// Timer C (RFC 3261 §16.8) for INVITE branches. Default 3 minutes.
    pub timer_c: Duration,
    /// How long a cancelled branch may take to answer before it is given up
    /// (64·T1, RFC 3261 §9.1). Default 32 s.
    pub cancel_timeout: Duration,
    /// Record-Route initial requests that can create a dialog. Default on.
    pub record_route: bool,
    /// Challenge initial requests whose From is in one of our domains with 407. Default on.
    pub authenticate_local_callers: bool,
    /// The authenticated user must be the user named in From. Default on.
    pub from_must_match_credentials: bool,
    /// Requests from outside to local users.
    pub outside_callers: OutsidePolicy,
    /// Media key policy applied to every SDP forwarded.
    pub media_policy: MediaPolicy,
    /// Option tags accepted in Proxy-Require. Default none.
    pub proxy_require_supported: Vec<String>,
    /// Most branches one request forks to. Default 16.
    pub max_branches: usize,
    /// Add the `Security-Assessment` header to INVITEs sent to the callee. Default off.
    pub assessment_header: bool,
    /// Host named in the Warning headers we write (the first interface's host when empty).
    pub warning_host: String,
    /// Interoperability shim, as the registrar's (see [`crate::compat::ClientProfile`]).
    pub client_profiles: Vec<crate::compat::ClientProfile>,
}

impl ProxyConfig {
    /// Defaults with these interfaces and key.
    pub fn new(interfaces: Vec<Interface>, secret: [u8; 16]) -> ProxyConfig {
        ProxyConfig {
            interfaces,
            secret,
            timer_c: Duration::from_secs(180),
            cancel_timeout: Duration::from_secs(32),
            record_route: true,
            authenticate_local_callers: true,
            from_must_match_credentials: true,
            outside_callers: OutsidePolicy::Accept,
            media_policy: MediaPolicy::default(),
            proxy_require_supported: Vec::new(),
            max_branches: 16,
            assessment_header: false,
            warning_host: String::new(),
            client_profiles: crate::compat::default_client_profiles(),
        }
    }
}

/// Storage lookups the proxy needs for one request. Implementations are called
/// synchronously and must not block for long.
pub trait Lookup {
    /// Unexpired bindings of an address-of-record (`sip:user@domain`, as the registrar
    /// writes it).
    fn bindings(&self, aor: &str) -> Result<Vec<Binding>, StoreError>;
    /// The HA1 set of `username` in `realm`, or `None` for an unknown user.
    fn credentials(&self, realm: &str, username: &str) -> Result<Option<Ha1Set>, StoreError>;
}

/// [`Lookup`] over the store traits.
#[derive(Clone, Copy)]
pub struct StoreLookup<'a> {
    /// Accounts.
    pub users: &'a dyn UserStore,
    /// Bindings.
    pub location: &'a dyn LocationStore,
    /// Current time, seconds since the Unix epoch (for binding expiry).
    pub now: u64,
}

impl std::fmt::Debug for StoreLookup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreLookup")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Lookup for StoreLookup<'_> {
    fn bindings(&self, aor: &str) -> Result<Vec<Binding>, StoreError> {
        self.location.bindings(aor, self.now)
    }

    fn credentials(&self, realm: &str, username: &str) -> Result<Option<Ha1Set>, StoreError> {
        Ok(self.users.user(realm, username)?.map(|u| {
            let mut set = Ha1Set::new();
            for (alg, hex) in [
                (Algorithm::Md5, &u.ha1.md5),
                (Algorithm::Sha256, &u.ha1.sha256),
                (Algorithm::Sha512_256, &u.ha1.sha512_256),
            ] {
                if let Some(ha1) = hex.as_deref().and_then(|x| Ha1::from_hex(alg, x).ok()) {
                    set.insert(ha1);
                }
            }
            set
        }))
    }
}

/// Who the caller is, as far as the proxy could tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerClass {
    /// A user of ours, authenticated as `user@domain`.
    Local {
        /// `user@domain`.
        account: String,
    },
    /// From names one of our domains but authentication is turned off.
    LocalUnverified,
    /// From names another domain.
    Outside,
    /// A request inside a dialog this server record-routed.
    InDialog,
}

/// Where the request is headed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetClass {
    /// A user of one of our domains (location lookup).
    Local,
    /// Another domain, a pre-loaded route, or the remote target of a dialog.
    Elsewhere,
}

/// Facts offered to an [`Admission`] hook.
#[derive(Debug, Clone, Copy)]
pub struct AdmissionRequest<'a> {
    /// The request.
    pub message: &'a Message,
    /// Transport source address.
    pub source: SocketAddr,
    /// Transport it arrived over.
    pub transport: Transport,
    /// Who the caller is.
    pub caller: &'a CallerClass,
    /// Where it is headed.
    pub target: TargetClass,
}

/// An admission verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Go on.
    Accept,
    /// Refuse with this status and reason phrase.
    Reject {
        /// Status code (400..=699).
        code: u16,
        /// Reason phrase (must not echo request bytes).
        reason: &'static str,
    },
}

/// A hook consulted for every request the proxy would otherwise route (after
/// validation, authentication and the built-in policies): the place for abuse defences,
/// allow/block lists and identity checks.
pub trait Admission: Send + Sync {
    /// The verdict for one request.
    fn admit(&self, request: &AdmissionRequest<'_>) -> Admit;
}

/// Our interfaces with their hosts parsed once.
#[derive(Debug, Clone)]
pub(crate) struct Interfaces {
    pub(crate) list: Vec<(Interface, Host<'static>)>,
}

impl Interfaces {
    pub(crate) fn new(list: &[Interface]) -> Option<Interfaces> {
        let mut out = Vec::with_capacity(list.len());
        for i in list {
            let host = Host::parse(&i.host).ok()?.into_owned();
            out.push((i.clone(), host));
        }
        (!out.is_empty()).then_some(Interfaces { list: out })
    }

    /// The index of the first interface of this transport.
    pub(crate) fn for_transport(&self, t: Transport) -> Option<usize> {
        self.list.iter().position(|(i, _)| i.transport == t)
    }

    pub(crate) fn get(&self, index: usize) -> Option<&Interface> {
        self.list.get(index).map(|(i, _)| i)
    }

    /// True when `host:port` (port defaulted per `secure`) is one of ours.
    pub(crate) fn is_ours(&self, host: &Host<'_>, port: Option<u16>, secure: bool) -> bool {
        let port = port.unwrap_or(if secure { 5061 } else { 5060 });
        self.list.iter().any(|(i, h)| h == host && i.port == port)
    }

    /// True when a host is one of our interface hosts, on any port.
    pub(crate) fn has_host(&self, host: &Host<'_>) -> bool {
        self.list.iter().any(|(_, h)| h == host)
    }

    pub(crate) fn has_port(&self, port: u16) -> bool {
        self.list.iter().any(|(i, _)| i.port == port)
    }
}
