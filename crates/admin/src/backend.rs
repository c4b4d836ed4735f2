//! What the API shows and changes, behind a trait the server implements.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::Serialize;
use serde_json::Value;
use sipwarden_events::{BanReason, Timestamp, Transport};

use crate::error::BackendError;
use crate::labels::SecurityLevel;

/// One contact binding of an address-of-record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Binding {
    /// Opaque id, unique within the AOR; names the binding in
    /// `DELETE /api/v1/registrations/{aor}/bindings/{id}`.
    pub id: String,
    /// The Contact URI.
    pub contact: String,
    /// When the binding expires.
    pub expires: Timestamp,
    /// Transport it was registered over.
    pub transport: Transport,
    /// Transport source of the REGISTER.
    pub source: SocketAddr,
    /// The registering User-Agent, if sent.
    pub user_agent: Option<String>,
    /// The `+sip.instance` of the user agent (RFC 5626), if sent.
    pub instance: Option<String>,
}

/// An address-of-record and its bindings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Registration {
    /// The AOR (`sip:alice@example.com`).
    pub aor: String,
    /// Its contact bindings.
    pub bindings: Vec<Binding>,
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// INVITE sent on, no final answer yet.
    Trying,
    /// Ringing (a 18x was seen).
    Ringing,
    /// Answered.
    Active,
    /// BYE seen, waiting for its answer.
    Ending,
}

/// A call the proxy is handling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Call {
    /// Opaque id, used in `GET /api/v1/calls/{id}`.
    pub id: String,
    /// The SIP Call-ID.
    pub call_id: String,
    /// From URI.
    pub from: String,
    /// To URI.
    pub to: String,
    /// The authenticated caller account, if any.
    pub caller_account: Option<String>,
    /// Where it is.
    pub state: CallState,
    /// When the INVITE arrived.
    pub started: Timestamp,
    /// When it was answered.
    pub answered: Option<Timestamp>,
    /// One-word summary of the assessment.
    pub security_level: SecurityLevel,
    /// The full security assessment: every hop, identity, media keying, and the reasons.
    pub assessment: Value,
}

/// A banned source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ban {
    /// The source: an IPv4 address or an IPv6 /64 (`2001:db8:1:2::/64`).
    pub source: String,
    /// Why.
    pub reason: BanReason,
    /// When the ban ends.
    pub until: Timestamp,
    /// Consecutive bans of this source.
    pub strikes: u32,
}

/// How the server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Serving.
    Ok,
    /// Serving with a problem (a store unreachable, say): `GET /health` answers 503.
    Degraded,
}

/// What `GET /health` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// Overall status.
    pub status: HealthStatus,
    /// Per-component notes (`"store": "ok"`), optional.
    pub checks: BTreeMap<String, String>,
}

impl Health {
    /// All well, with no component notes.
    pub fn ok() -> Self {
        Self {
            status: HealthStatus::Ok,
            checks: BTreeMap::new(),
        }
    }
}

/// The server's side of the admin API.
///
/// Methods are synchronous and may block briefly (a SQLite query): the API calls them on
/// the blocking thread pool, never on the async workers.
pub trait AdminBackend: Send + Sync + 'static {
    /// Current health. The default says all is well.
    fn health(&self) -> Health {
        Health::ok()
    }

    /// Every AOR with at least one binding.
    fn registrations(&self) -> Result<Vec<Registration>, BackendError>;

    /// Removes every binding of `aor`; returns how many there were (0: unknown AOR).
    fn remove_registration(&self, aor: &str) -> Result<usize, BackendError>;

    /// Removes one binding of `aor`; returns whether it existed.
    fn remove_binding(&self, aor: &str, binding_id: &str) -> Result<bool, BackendError>;

    /// Calls in progress.
    fn calls(&self) -> Result<Vec<Call>, BackendError>;

    /// One call by its API id.
    fn call(&self, id: &str) -> Result<Option<Call>, BackendError>;

    /// Sources currently banned.
    fn bans(&self) -> Result<Vec<Ban>, BackendError>;

    /// Lifts the ban covering `ip` (its /64 for IPv6); returns whether there was one.
    fn lift_ban(&self, ip: IpAddr) -> Result<bool, BackendError>;
}

/// An [`AdminBackend`] that keeps everything in memory: for tests and demos.
#[derive(Debug)]
pub struct MemoryBackend {
    inner: Mutex<MemoryState>,
}

#[derive(Debug)]
struct MemoryState {
    health: Health,
    registrations: BTreeMap<String, Vec<Binding>>,
    calls: Vec<Call>,
    bans: Vec<(IpAddr, Ban)>,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self {
            inner: Mutex::new(MemoryState {
                health: Health::ok(),
                registrations: BTreeMap::new(),
                calls: Vec::new(),
                bans: Vec::new(),
            }),
        }
    }
}

impl MemoryBackend {
    /// An empty backend.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, MemoryState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a binding to `aor`.
    pub fn add_binding(&self, aor: &str, binding: Binding) {
        self.state()
            .registrations
            .entry(aor.to_owned())
            .or_default()
            .push(binding);
    }

    /// Adds a call.
    pub fn add_call(&self, call: Call) {
        self.state().calls.push(call);
    }

    /// Adds a ban covering `ip` (compared by address: a test double, not the guard).
    pub fn add_ban(&self, ip: IpAddr, ban: Ban) {
        self.state().bans.push((ip, ban));
    }

    /// Sets what `health` reports.
    pub fn set_health(&self, health: Health) {
        self.state().health = health;
    }
}

impl AdminBackend for MemoryBackend {
    fn health(&self) -> Health {
        self.state().health.clone()
    }

    fn registrations(&self) -> Result<Vec<Registration>, BackendError> {
        Ok(self
            .state()
            .registrations
            .iter()
            .filter(|(_, b)| !b.is_empty())
            .map(|(aor, bindings)| Registration {
                aor: aor.clone(),
                bindings: bindings.clone(),
            })
            .collect())
    }

    fn remove_registration(&self, aor: &str) -> Result<usize, BackendError> {
        Ok(self
            .state()
            .registrations
            .remove(aor)
            .map_or(0, |b| b.len()))
    }

    fn remove_binding(&self, aor: &str, binding_id: &str) -> Result<bool, BackendError> {
        let mut state = self.state();
        let Some(bindings) = state.registrations.get_mut(aor) else {
            return Ok(false);
        };
        let before = bindings.len();
        bindings.retain(|b| b.id != binding_id);
        let removed = bindings.len() != before;
        if bindings.is_empty() {
            state.registrations.remove(aor);
        }
        Ok(removed)
    }

    fn calls(&self) -> Result<Vec<Call>, BackendError> {
        Ok(self.state().calls.clone())
    }

    fn call(&self, id: &str) -> Result<Option<Call>, BackendError> {
        Ok(self.state().calls.iter().find(|c| c.id == id).cloned())
    }

    fn bans(&self) -> Result<Vec<Ban>, BackendError> {
        Ok(self.state().bans.iter().map(|(_, b)| b.clone()).collect())
    }

    fn lift_ban(&self, ip: IpAddr) -> Result<bool, BackendError> {
        let mut state = self.state();
        let before = state.bans.len();
        state.bans.retain(|(banned, _)| *banned != ip);
        Ok(state.bans.len() != before)
    }
}
