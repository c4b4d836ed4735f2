//! Interoperability shims for deployed clients, kept in one place and named as such.

use sipwarden_wire::{HeaderName, Message};

/// Clients known to implement only MD5 Digest and to fail on any other challenge:
/// baresip 1.0 (libre) gives up if any challenge is not MD5; sipsak and SIPp read only
/// the first one.
pub const DEFAULT_MD5_ONLY_USER_AGENTS: &[&str] = &[
    "sipsak",
    "sipp",
    "baresip",
    "friendly-scanner",
    "sipvicious",
];

/// The challenge header values to send: all of them (strongest first, RFC 8760), or
/// only the MD5 one for a client whose User-Agent contains one of `md5_only_agents`
/// (case-insensitive) — when MD5 is offered at all. Claiming such a User-Agent gains
/// nothing: MD5 is offered to everyone while it is enabled.
pub fn challenge_values<'a>(
    msg: &Message,
    md5_only_agents: &[String],
    values: &'a [String],
) -> Vec<&'a String> {
    let mut chosen: Vec<&String> = values.iter().collect();
    if is_md5_only_client(msg, md5_only_agents) && chosen.iter().any(|v| is_md5(v)) {
        chosen.retain(|v| is_md5(v));
    }
    chosen
}

fn is_md5(challenge: &str) -> bool {
    challenge.contains("algorithm=MD5,") || challenge.ends_with("algorithm=MD5")
}

/// Whether the request's User-Agent names an MD5-only client.
pub fn is_md5_only_client(msg: &Message, md5_only_agents: &[String]) -> bool {
    let Some(ua) = msg.header(HeaderName::UserAgent) else {
        return false;
    };
    let ua = String::from_utf8_lossy(ua).to_ascii_lowercase();
    md5_only_agents
        .iter()
        .any(|needle| !needle.is_empty() && ua.contains(&needle.to_ascii_lowercase()))
}
