//! Which domains this server is responsible for.
//!
//! The default domain, any other configured domains, and aliases — the server's own
//! listening addresses and host names — that mean the default domain (clients and
//! benchmarks commonly address users as `sip:user@SERVER-IP`).

use sipwarden_wire::uri::Host;

/// The domains served and their aliases.
#[derive(Debug, Clone)]
pub struct Domains {
    default: String,
    others: Vec<String>,
    aliases: Vec<Host<'static>>,
}

impl Domains {
    /// `default` and `others` are domain names (stored lowercase); `aliases` are host
    /// names or IP addresses that stand for the default domain. Unparsable aliases are
    /// ignored by the caller's validation, so here they are skipped.
    pub fn new(default: &str, others: &[String], aliases: &[String]) -> Domains {
        Domains {
            default: default.to_ascii_lowercase(),
            others: others.iter().map(|d| d.to_ascii_lowercase()).collect(),
            aliases: aliases
                .iter()
                .filter_map(|a| Host::parse(a).ok().map(Host::into_owned))
                .collect(),
        }
    }

    /// The default domain.
    pub fn default_domain(&self) -> &str {
        &self.default
    }

    /// Every configured domain, default first.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.default.as_str()).chain(self.others.iter().map(String::as_str))
    }

    /// The canonical domain a URI host stands for, if it is ours.
    pub fn canonical(&self, host: &Host<'_>) -> Option<&str> {
        if let Some(name) = host.domain() {
            let name = name.trim_end_matches('.');
            if name.eq_ignore_ascii_case(&self.default) {
                return Some(&self.default);
            }
            if let Some(d) = self.others.iter().find(|d| name.eq_ignore_ascii_case(d)) {
                return Some(d);
            }
        }
        if self.aliases.iter().any(|a| a == host) {
            return Some(&self.default);
        }
        None
    }
}
