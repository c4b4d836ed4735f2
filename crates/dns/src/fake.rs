//! A deterministic in-memory [`DnsLookup`] for tests, here and in the crates
//! that route through this one.

use std::collections::HashMap;
use std::future::{ready, Future};
use std::net::IpAddr;
use std::sync::Mutex;

use crate::error::LookupError;
use crate::lookup::{normalize_name, DnsLookup, Naptr, Srv};

/// Which kind of query a [`FakeDns`] answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryKind {
    /// NAPTR.
    Naptr,
    /// SRV.
    Srv,
    /// A/AAAA.
    Ip,
}

/// Fixed answers keyed by (kind, name); names not configured do not exist.
/// Every query is logged, in order, so tests can assert what was asked.
#[derive(Debug, Default)]
pub struct FakeDns {
    naptr: HashMap<String, Vec<Naptr>>,
    srv: HashMap<String, Vec<Srv>>,
    ips: HashMap<String, Vec<IpAddr>>,
    failures: HashMap<(QueryKind, String), LookupError>,
    log: Mutex<Vec<(QueryKind, String)>>,
}

impl FakeDns {
    /// An empty zone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a NAPTR record at `name`.
    pub fn naptr(&mut self, name: &str, record: Naptr) -> &mut Self {
        self.naptr
            .entry(normalize_name(name))
            .or_default()
            .push(record);
        self
    }

    /// Adds an SRV record at `name`.
    pub fn srv(&mut self, name: &str, record: Srv) -> &mut Self {
        self.srv
            .entry(normalize_name(name))
            .or_default()
            .push(record);
        self
    }

    /// Adds an A or AAAA record at `name`.
    pub fn ip(&mut self, name: &str, ip: IpAddr) -> &mut Self {
        self.ips.entry(normalize_name(name)).or_default().push(ip);
        self
    }

    /// Makes queries of `kind` at `name` fail with `error`.
    pub fn fail(&mut self, kind: QueryKind, name: &str, error: LookupError) -> &mut Self {
        self.failures.insert((kind, normalize_name(name)), error);
        self
    }

    /// The queries made so far, in order.
    pub fn queries(&self) -> Vec<(QueryKind, String)> {
        self.log
            .lock()
            .map(|log| log.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn answer<T: Clone>(
        &self,
        kind: QueryKind,
        name: &str,
        table: &HashMap<String, Vec<T>>,
    ) -> Result<Vec<T>, LookupError> {
        let name = normalize_name(name);
        match self.log.lock() {
            Ok(mut log) => log.push((kind, name.clone())),
            Err(poisoned) => poisoned.into_inner().push((kind, name.clone())),
        }
        if let Some(e) = self.failures.get(&(kind, name.clone())) {
            return Err(e.clone());
        }
        Ok(table.get(&name).cloned().unwrap_or_default())
    }
}

impl DnsLookup for FakeDns {
    fn naptr(&self, name: &str) -> impl Future<Output = Result<Vec<Naptr>, LookupError>> + Send {
        ready(self.answer(QueryKind::Naptr, name, &self.naptr))
    }

    fn srv(&self, name: &str) -> impl Future<Output = Result<Vec<Srv>, LookupError>> + Send {
        ready(self.answer(QueryKind::Srv, name, &self.srv))
    }

    fn ips(&self, name: &str) -> impl Future<Output = Result<Vec<IpAddr>, LookupError>> + Send {
        ready(self.answer(QueryKind::Ip, name, &self.ips))
    }
}
