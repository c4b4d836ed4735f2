//! Interoperability shims for deployed clients, kept in one place and named as such.

use sipwarden_auth::Algorithm;
use sipwarden_wire::{HeaderName, Message};

/// What a family of deployed clients can do with Digest challenges.
///
/// Many clients read only the first challenge, or give up when any challenge names an
/// algorithm they lack, so "every algorithm, strongest first" (RFC 8760) locks them out.
/// A profile lists, in order, the algorithms such a client gets. Matching is on the
/// User-Agent: claiming a profile gains nothing, because every algorithm in a profile is
/// offered to everyone anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientProfile {
    /// Case-insensitive substring of the User-Agent header.
    pub user_agent: String,
    /// Algorithms to challenge with, in order.
    pub algorithms: Vec<Algorithm>,
}

/// Profiles of clients tested with sipwarden: sipsak, SIPp, baresip 1.0 and SIPVicious
/// implement only MD5 (baresip gives up if any challenge is not MD5; the others read the
/// first); liblinphone 5 implements SHA-256 and MD5 and reads the first.
pub fn default_client_profiles() -> Vec<ClientProfile> {
    let md5_only = [
        "sipsak",
        "sipp",
        "baresip",
        "friendly-scanner",
        "sipvicious",
    ];
    let mut profiles: Vec<ClientProfile> = md5_only
        .iter()
        .map(|ua| ClientProfile {
            user_agent: (*ua).to_owned(),
            algorithms: vec![Algorithm::Md5],
        })
        .collect();
    // liblinphone's daemon sends "User-Agent: Unknown"; the default order already puts
    // SHA-256 first for it. Phones built on it do name themselves.
    for ua in ["linphone", "belle-sip"] {
        profiles.push(ClientProfile {
            user_agent: ua.to_owned(),
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
        });
    }
    profiles
}

/// The challenge header values to send: all of them (strongest first, RFC 8760), or, for
/// a client matching a profile, the offered ones its profile lists, in its order. If none
/// of the profile's algorithms is enabled, everything is sent.
pub fn challenge_values<'a>(
    msg: &Message,
    profiles: &[ClientProfile],
    values: &'a [String],
) -> Vec<&'a String> {
    let all: Vec<&String> = values.iter().collect();
    let Some(profile) = profile_for(msg, profiles) else {
        return all;
    };
    let chosen: Vec<&String> = profile
        .algorithms
        .iter()
        .filter_map(|alg| {
            values
                .iter()
                .find(|v| algorithm_of(v).is_some_and(|a| a.eq_ignore_ascii_case(alg.token())))
        })
        .collect();
    if chosen.is_empty() {
        all
    } else {
        chosen
    }
}

/// The `algorithm=` token of a challenge value we built.
fn algorithm_of(challenge: &str) -> Option<&str> {
    let at = challenge.find("algorithm=")? + "algorithm=".len();
    let rest = challenge.get(at..)?;
    let end = rest.find(',').unwrap_or(rest.len());
    rest.get(..end).map(str::trim)
}

/// The profile whose User-Agent substring the request carries, first match wins.
pub fn profile_for<'p>(msg: &Message, profiles: &'p [ClientProfile]) -> Option<&'p ClientProfile> {
    let ua = msg.header(HeaderName::UserAgent)?;
    let ua = String::from_utf8_lossy(ua).to_ascii_lowercase();
    profiles
        .iter()
        .find(|p| !p.user_agent.is_empty() && ua.contains(&p.user_agent.to_ascii_lowercase()))
}
