//! The `[guard]` and `[policy]` sections of the configuration file and their checks.
//! Every error names the key at fault.

use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use sipwarden_guard::{AnonymousPolicy, GuardConfig, PolicyConfig, PolicyLists};

/// `[guard]`: abuse defences. Absent keys keep the recommended defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardSection {
    /// INSECURE when false: no rate limits, bans, lockout or amplification limit.
    pub enabled: Option<bool>,
    /// Send unauthenticated UDP INVITEs from other domains through the
    /// return-routability check (a stateless 302 carrying a token).
    pub return_routability: Option<bool>,
    /// Seconds a return-routability token stays good.
    pub token_max_age_secs: Option<u64>,
    /// Length of a first automatic ban, seconds; later ones double.
    pub ban_secs: Option<u64>,
    /// Longest automatic ban, seconds.
    pub ban_max_secs: Option<u64>,
    /// Failed authentications a source may have outstanding before it is banned.
    pub source_failures: Option<u32>,
    /// The same for a source that authenticated recently (many phones behind one NAT).
    pub trusted_source_failures: Option<u32>,
    /// Failed authentications for one account (from sources other than its owner's)
    /// before it is locked.
    pub account_failures: Option<u32>,
    /// Length of a first account lock, seconds; later ones double.
    pub account_lock_secs: Option<u64>,
    /// Refused (rate-limited) requests a source may have outstanding before it is banned
    /// for flooding.
    pub ban_after_violations: Option<u32>,
    /// Distinct target users from one unauthenticated source per minute that mark it as a
    /// scanner (at most 16).
    pub scanner_distinct_users: Option<u32>,
    /// OPTIONS from one unauthenticated source per minute that mark it as a scanner.
    pub scanner_options: Option<u32>,
    /// Sources, accounts and bans each table tracks at most.
    pub capacity: Option<usize>,
    /// INSECURE when false: responses over UDP to sources that have not authenticated
    /// may be larger than the request (reflection amplification).
    pub udp_amplification_limit: Option<bool>,
}

/// `[policy]`: allow and deny lists and the anonymous-caller policy.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    /// Trusted sources (CIDR or address): never banned automatically, relaxed limits.
    #[serde(default)]
    pub allow_cidrs: Vec<String>,
    /// Sources dropped without an answer.
    #[serde(default)]
    pub deny_cidrs: Vec<String>,
    /// Caller domains exempt from the return-routability check (`*.example.com` too).
    #[serde(default)]
    pub allow_domains: Vec<String>,
    /// Caller domains refused.
    #[serde(default)]
    pub deny_domains: Vec<String>,
    /// Callers (`user@domain`) exempt from the return-routability check.
    #[serde(default)]
    pub allow_users: Vec<String>,
    /// Callers (`user@domain`) refused.
    #[serde(default)]
    pub deny_users: Vec<String>,
    /// Anonymous callers: `allow`, `challenge` (default) or `reject`.
    pub anonymous: Option<String>,
}

impl GuardSection {
    /// Whether the guard runs.
    pub fn enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    /// Whether UDP responses to unauthenticated sources are held to the request's size.
    pub fn amplification_limit(&self) -> bool {
        self.udp_amplification_limit.unwrap_or(true)
    }

    /// The guard configuration: defaults with the file's values applied, checked.
    pub fn guard_config(&self) -> anyhow::Result<GuardConfig> {
        let mut c = GuardConfig::default();
        if let Some(v) = self.return_routability {
            c.return_routability.enabled = v;
        }
        if let Some(s) = self.token_max_age_secs {
            anyhow::ensure!(
                (1..=300).contains(&s),
                "guard.token_max_age_secs must be between 1 and 300"
            );
            c.return_routability.max_age = Duration::from_secs(s);
        }
        if let Some(s) = self.ban_secs {
            anyhow::ensure!(s >= 1, "guard.ban_secs must be at least 1");
            c.bans.base = Duration::from_secs(s);
        }
        if let Some(s) = self.ban_max_secs {
            c.bans.max = Duration::from_secs(s);
        }
        anyhow::ensure!(
            c.bans.max >= c.bans.base,
            "guard.ban_max_secs must not be shorter than guard.ban_secs"
        );
        if let Some(n) = self.source_failures {
            anyhow::ensure!(n >= 1, "guard.source_failures must be at least 1");
            c.lockout.source_failures = n;
            c.lockout.trusted_source_failures = c.lockout.trusted_source_failures.max(n);
        }
        if let Some(n) = self.trusted_source_failures {
            anyhow::ensure!(
                n >= c.lockout.source_failures,
                "guard.trusted_source_failures must not be below guard.source_failures"
            );
            c.lockout.trusted_source_failures = n;
        }
        if let Some(n) = self.account_failures {
            anyhow::ensure!(n >= 1, "guard.account_failures must be at least 1");
            c.lockout.account_failures = n;
        }
        if let Some(s) = self.account_lock_secs {
            anyhow::ensure!(s >= 1, "guard.account_lock_secs must be at least 1");
            c.lockout.account_lock_base = Duration::from_secs(s);
            c.lockout.account_lock_max = c.lockout.account_lock_max.max(Duration::from_secs(s));
        }
        if let Some(n) = self.ban_after_violations {
            anyhow::ensure!(n >= 1, "guard.ban_after_violations must be at least 1");
            c.limits.ban_after_violations = n;
        }
        if let Some(n) = self.scanner_distinct_users {
            anyhow::ensure!(
                (1..=16).contains(&n),
                "guard.scanner_distinct_users must be between 1 and 16"
            );
            c.scanner.distinct_users = n;
        }
        if let Some(n) = self.scanner_options {
            anyhow::ensure!(n >= 1, "guard.scanner_options must be at least 1");
            c.scanner.options = n;
        }
        if let Some(n) = self.capacity {
            anyhow::ensure!(
                (1..=sipwarden_guard::MAX_CAPACITY).contains(&n),
                "guard.capacity must be between 1 and {}",
                sipwarden_guard::MAX_CAPACITY
            );
            c.limits.capacity = n;
            c.sources_capacity = n;
            c.accounts_capacity = n;
            c.bans.capacity = n;
            c.trusted_capacity = n.min(c.trusted_capacity);
        }
        c.validate()
            .map_err(|e| anyhow::anyhow!("guard: {} {}", e.field, e.reason))?;
        Ok(c)
    }
}

impl PolicySection {
    /// The lists, validated as a whole; the error names the list and the entry.
    pub fn policy_lists(&self) -> anyhow::Result<PolicyLists> {
        let anonymous = match &self.anonymous {
            None => AnonymousPolicy::default(),
            Some(s) => s.parse().ok().with_context(|| {
                format!("policy.anonymous {s:?}: must be allow, challenge or reject")
            })?,
        };
        let config = PolicyConfig {
            allow_cidrs: self.allow_cidrs.clone(),
            deny_cidrs: self.deny_cidrs.clone(),
            allow_domains: self.allow_domains.clone(),
            deny_domains: self.deny_domains.clone(),
            allow_users: self.allow_users.clone(),
            deny_users: self.deny_users.clone(),
            anonymous,
        };
        PolicyLists::from_config(&config).map_err(|e| {
            anyhow::anyhow!("policy.{}[{}] {:?}: {}", e.list, e.index, e.entry, e.reason)
        })
    }
}

impl crate::config::Config {
    /// The `[policy]` lists.
    pub fn policy_lists(&self) -> anyhow::Result<PolicyLists> {
        self.policy.policy_lists()
    }
}
