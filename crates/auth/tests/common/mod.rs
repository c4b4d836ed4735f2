//! Fixtures shared by the integration tests: a server, a client source address, header splitting.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::{IpAddr, Ipv4Addr};

use sipwarden_auth::{
    ChallengeKind, ChallengeRequest, DigestAuth, DigestConfig, NonceKeys, RequestContext, Timestamp,
};

pub const KEY: [u8; 32] = [7; 32];
pub const OTHER_KEY: [u8; 32] = [9; 32];
pub const REALM: &str = "example.com";
pub const URI: &str = "sip:example.com";
pub const T0: Timestamp = Timestamp::from_unix_secs(1_700_000_000);

pub fn src() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))
}

pub fn server(config: DigestConfig) -> DigestAuth {
    DigestAuth::new(config, NonceKeys::new(&KEY).unwrap()).unwrap()
}

pub fn challenge_req(now: Timestamp, salt: u8, has_body: bool) -> ChallengeRequest<'static> {
    ChallengeRequest {
        realm: REALM,
        source: src(),
        now,
        salt: [salt; 8],
        has_body,
        stale: false,
    }
}

/// Issues a challenge and returns its header values.
pub fn challenge_values(auth: &DigestAuth, now: Timestamp, has_body: bool) -> Vec<String> {
    auth.challenge(ChallengeKind::Www, &challenge_req(now, 1, has_body))
        .values
}

pub fn ctx<'a>(method: &'a str, body: &'a [u8], now: Timestamp) -> RequestContext<'a> {
    RequestContext {
        method,
        request_uri: URI,
        body,
        realm: REALM,
        source: src(),
        now,
    }
}

/// Minimal test-side parser of `Scheme name=value, name="quoted"`: returns the scheme and
/// unquoted, unescaped parameters.
pub fn parse_header(value: &str) -> (String, Vec<(String, String)>) {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap();
    let mut params = Vec::new();
    let bytes: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i] == ' ' || bytes[i] == ',') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        while bytes[i] != '=' {
            i += 1;
        }
        let name: String = bytes[start..i].iter().collect::<String>().trim().to_owned();
        i += 1;
        let mut val = String::new();
        if bytes[i] == '"' {
            i += 1;
            while bytes[i] != '"' {
                if bytes[i] == '\\' {
                    i += 1;
                }
                val.push(bytes[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < bytes.len() && bytes[i] != ',' {
                val.push(bytes[i]);
                i += 1;
            }
            val = val.trim().to_owned();
        }
        params.push((name, val));
    }
    (scheme.to_owned(), params)
}

pub fn pairs(params: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
}

/// Replaces (or with `None` removes) one parameter.
pub fn with_param(
    params: &[(String, String)],
    name: &str,
    value: Option<&str>,
) -> Vec<(String, String)> {
    params
        .iter()
        .filter_map(|(n, v)| {
            if n.eq_ignore_ascii_case(name) {
                value.map(|nv| (n.clone(), nv.to_owned()))
            } else {
                Some((n.clone(), v.clone()))
            }
        })
        .collect()
}
