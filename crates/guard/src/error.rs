//! Error types.

use thiserror::Error;

/// A key (source, account or secret) that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum KeyError {
    /// Not an IPv4 address or IPv6 address (optionally with `/64`).
    #[error("not an IP address or IPv6 /64 prefix")]
    BadSource,
    /// Empty, over-long, containing `@` or a control character.
    #[error("user part is empty, too long or contains '@' or control characters")]
    BadUser,
    /// Empty, over-long, or containing characters a SIP host cannot have.
    #[error("domain is empty, too long or contains characters a host name cannot have")]
    BadDomain,
    /// A MAC secret shorter than [`MIN_TOKEN_KEY_LEN`](crate::MIN_TOKEN_KEY_LEN).
    #[error("token secret must be at least {min} bytes")]
    SecretTooShort {
        /// Minimum length in bytes.
        min: usize,
    },
}

/// A configuration value out of range; `field` names it as the configuration does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("guard configuration: {field}: {reason}")]
pub struct ConfigError {
    /// Dotted path of the offending setting, e.g. `limits.source.register`.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl ConfigError {
    pub(crate) const fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }
}
