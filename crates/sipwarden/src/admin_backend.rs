//! The admin API's view of the running server: registrations from the location store,
//! calls from the proxy and bans from the guard when they are wired in (empty lists
//! otherwise), health from the store.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sipwarden_admin::{
    AdminBackend, BackendError, Ban, Binding, Call, Health, HealthStatus, Registration,
};
use sipwarden_events::{Timestamp, Transport};
use sipwarden_store::{LocationStore, StoreError};

use crate::events_wiring::ObservedLocation;
use crate::ops::Ops;

/// The server's [`AdminBackend`].
pub struct ServerBackend {
    location: Arc<ObservedLocation>,
    ops: Arc<Ops>,
}

impl ServerBackend {
    /// A backend over this location store and the views registered in `ops`.
    pub fn new(location: Arc<ObservedLocation>, ops: Arc<Ops>) -> ServerBackend {
        ServerBackend { location, ops }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn store_error(err: StoreError) -> BackendError {
    tracing::error!(%err, "admin API: store failed");
    BackendError::Unavailable("store".to_owned())
}

/// A short, stable id for a binding key (which may be a long URI or an instance id and
/// would make an awkward path segment).
pub fn binding_id(key: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    digest
        .as_ref()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn to_api(b: &sipwarden_store::Binding) -> Binding {
    let transport = match b.transport.as_str() {
        "tcp" => Transport::Tcp,
        "tls" => Transport::Tls,
        "ws" => Transport::Ws,
        "wss" => Transport::Wss,
        _ => Transport::Udp,
    };
    Binding {
        id: binding_id(&b.key),
        contact: b.contact.clone(),
        expires: Timestamp(UNIX_EPOCH + Duration::from_secs(b.expires_at)),
        transport,
        source: b
            .source
            .parse::<SocketAddr>()
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0))),
        user_agent: b.user_agent.clone(),
        instance: b.instance.clone(),
    }
}

impl AdminBackend for ServerBackend {
    fn health(&self) -> Health {
        let mut checks = BTreeMap::new();
        let store_ok = self.location.count_from_ip("0.0.0.0", unix_now()).is_ok();
        checks.insert(
            "store".to_owned(),
            if store_ok { "ok" } else { "unavailable" }.to_owned(),
        );
        let errors = self.ops.emit_errors();
        if errors > 0 {
            checks.insert(
                "event_log".to_owned(),
                format!("{errors} events not written"),
            );
        }
        Health {
            status: if store_ok {
                HealthStatus::Ok
            } else {
                HealthStatus::Degraded
            },
            checks,
        }
    }

    fn registrations(&self) -> Result<Vec<Registration>, BackendError> {
        let all = self
            .location
            .all_bindings(unix_now())
            .map_err(store_error)?;
        let mut by_aor: BTreeMap<String, Vec<Binding>> = BTreeMap::new();
        for b in &all {
            by_aor.entry(b.aor.clone()).or_default().push(to_api(b));
        }
        Ok(by_aor
            .into_iter()
            .map(|(aor, bindings)| Registration { aor, bindings })
            .collect())
    }

    fn remove_registration(&self, aor: &str) -> Result<usize, BackendError> {
        self.location
            .remove_by_operator(aor, None)
            .map_err(store_error)
    }

    fn remove_binding(&self, aor: &str, binding_id_: &str) -> Result<bool, BackendError> {
        let bindings = self
            .location
            .bindings(aor, unix_now())
            .map_err(store_error)?;
        let Some(b) = bindings.iter().find(|b| binding_id(&b.key) == binding_id_) else {
            return Ok(false);
        };
        let n = self
            .location
            .remove_by_operator(aor, Some(&b.key))
            .map_err(store_error)?;
        Ok(n > 0)
    }

    fn calls(&self) -> Result<Vec<Call>, BackendError> {
        Ok(self.ops.calls().map(|v| v.calls()).unwrap_or_default())
    }

    fn call(&self, id: &str) -> Result<Option<Call>, BackendError> {
        Ok(self.calls()?.into_iter().find(|c| c.id == id))
    }

    fn bans(&self) -> Result<Vec<Ban>, BackendError> {
        Ok(self.ops.bans().map(|v| v.bans()).unwrap_or_default())
    }

    fn lift_ban(&self, ip: IpAddr) -> Result<bool, BackendError> {
        Ok(self.ops.bans().is_some_and(|v| v.lift(ip)))
    }
}
