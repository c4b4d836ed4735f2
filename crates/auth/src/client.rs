//! The client side: reading challenges and answering them.

use std::borrow::Cow;

use crate::algorithm::{compute_response, userhash, Algorithm, Qop, ResponseInput};
use crate::encoding::{has_control, push_quoted};
use crate::error::{ChallengeError, ClientError};
use crate::ha1::{Ha1, Ha1Set};

/// A parsed Digest challenge. Text values are unquoted and unescaped; they borrow from the
/// header unless unescaping had to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge<'a> {
    /// `realm`.
    pub realm: Cow<'a, str>,
    /// `nonce`.
    pub nonce: Cow<'a, str>,
    /// `opaque`, echoed back unchanged.
    pub opaque: Option<Cow<'a, str>>,
    /// `algorithm`; MD5 when absent.
    pub algorithm: Algorithm,
    /// `auth` is offered.
    pub qop_auth: bool,
    /// `auth-int` is offered.
    pub qop_auth_int: bool,
    /// `stale=true`: the password was right, only the nonce was old.
    pub stale: bool,
    /// `userhash=true`: send `H(username:realm)` instead of the username.
    pub userhash: bool,
}

/// Known parameters, in the order of the destructuring in `from_params`.
const NAMES: [&str; 7] = [
    "realm",
    "nonce",
    "opaque",
    "algorithm",
    "qop",
    "stale",
    "userhash",
];

impl<'a> DigestChallenge<'a> {
    /// Builds a challenge from a `WWW-Authenticate` / `Proxy-Authenticate` value decoded by
    /// the wire layer.
    ///
    /// # Errors
    /// As [`DigestChallenge::from_scheme_params`].
    pub fn from_wire(
        challenge: &sipwarden_wire::headers::Challenge<'a>,
    ) -> Result<Self, ChallengeError> {
        Self::from_scheme_params(
            challenge.scheme,
            challenge.params.iter().map(|(n, v)| (n, v.text())),
        )
    }

    /// Builds a challenge from the header's scheme and parameters.
    ///
    /// # Errors
    /// [`ChallengeError::NotDigest`] unless `scheme` is `Digest` (any case); otherwise as
    /// [`DigestChallenge::from_params`].
    pub fn from_scheme_params<I, N, V>(scheme: &str, params: I) -> Result<Self, ChallengeError>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: Into<Cow<'a, str>>,
    {
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(ChallengeError::NotDigest);
        }
        Self::from_params(params)
    }

    /// Builds a challenge from `(name, value)` pairs (names in any case, values unquoted).
    /// Unknown parameters, including `domain` and `charset`, are ignored.
    ///
    /// # Errors
    /// A [`ChallengeError`] for a duplicate known parameter, no `realm` or `nonce`, an
    /// unsupported `algorithm`, or a `qop` list holding neither `auth` nor `auth-int`.
    pub fn from_params<I, N, V>(params: I) -> Result<Self, ChallengeError>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: Into<Cow<'a, str>>,
    {
        let mut slots: [Option<Cow<'a, str>>; NAMES.len()] = Default::default();
        for (name, value) in params {
            let name = name.as_ref();
            let Some((slot, known)) = slots
                .iter_mut()
                .zip(NAMES)
                .find(|(_, known)| known.eq_ignore_ascii_case(name))
            else {
                continue;
            };
            if slot.replace(value.into()).is_some() {
                return Err(ChallengeError::Duplicate(known));
            }
        }
        let [realm, nonce, opaque, algorithm, qop, stale, userhash] = slots;

        let realm = realm.ok_or(ChallengeError::Missing("realm"))?;
        let nonce = nonce.ok_or(ChallengeError::Missing("nonce"))?;
        if nonce.is_empty() {
            return Err(ChallengeError::Invalid("nonce"));
        }
        let algorithm = match algorithm.as_deref() {
            None => Algorithm::Md5,
            Some(token) => {
                Algorithm::from_token(token).ok_or(ChallengeError::UnsupportedAlgorithm)?
            }
        };
        let (mut qop_auth, mut qop_auth_int) = (false, false);
        if let Some(list) = qop.as_deref() {
            for token in list.split(',').map(str::trim) {
                match Qop::from_token(token) {
                    Some(Qop::Auth) => qop_auth = true,
                    Some(Qop::AuthInt) => qop_auth_int = true,
                    None => {}
                }
            }
            if !qop_auth && !qop_auth_int {
                return Err(ChallengeError::Invalid("qop"));
            }
        }
        // RFC 7616: any value other than "true" means false.
        let flag = |v: Option<&str>| v.is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(Self {
            realm,
            nonce,
            opaque,
            algorithm,
            qop_auth,
            qop_auth_int,
            stale: flag(stale.as_deref()),
            userhash: flag(userhash.as_deref()),
        })
    }

    /// The challenge with the strongest algorithm; the first one among equals.
    pub fn strongest<I>(challenges: I) -> Option<Self>
    where
        I: IntoIterator<Item = Self>,
    {
        challenges
            .into_iter()
            .fold(None, |best: Option<Self>, c| match best {
                Some(b) if b.algorithm.strength() >= c.algorithm.strength() => Some(b),
                _ => Some(c),
            })
    }
}

/// What the client knows.
#[derive(Debug, Clone, Copy)]
pub enum ClientSecret<'a> {
    /// The password.
    Password(&'a str),
    /// HA1 values for the challenge's realm.
    Ha1(&'a Ha1Set),
}

/// Which qop the client picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QopPreference {
    /// Use `auth-int` whenever it is offered (default true).
    pub prefer_auth_int: bool,
    /// Answer a challenge without qop in RFC 2069 form (default false: refuse).
    pub allow_no_qop: bool,
}

impl Default for QopPreference {
    fn default() -> Self {
        Self {
            prefer_auth_int: true,
            allow_no_qop: false,
        }
    }
}

/// Answers one challenge, possibly many times: each call to
/// [`DigestClient::authorization`] uses the next nonce count.
#[derive(Debug, Clone)]
pub struct DigestClient {
    username: String,
    userhash: bool,
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    qop: Option<Qop>,
    ha1: Ha1,
    nc: u32,
}

impl DigestClient {
    /// Prepares answers to `challenge` for `username`.
    ///
    /// # Errors
    /// [`ClientError::InvalidUsername`] for control characters in the username,
    /// [`ClientError::NoHa1`] when an HA1 set lacks the challenge's algorithm,
    /// [`ClientError::NoQop`] for a challenge without qop unless allowed.
    pub fn new(
        challenge: &DigestChallenge<'_>,
        username: &str,
        secret: ClientSecret<'_>,
        preference: QopPreference,
    ) -> Result<Self, ClientError> {
        if has_control(username) {
            return Err(ClientError::InvalidUsername);
        }
        let algorithm = challenge.algorithm;
        let ha1 = match secret {
            ClientSecret::Password(password) => {
                Ha1::from_password(algorithm, username, &challenge.realm, password)
            }
            ClientSecret::Ha1(set) => *set.get(algorithm).ok_or(ClientError::NoHa1(algorithm))?,
        };
        let qop = match (challenge.qop_auth, challenge.qop_auth_int) {
            (_, true) if preference.prefer_auth_int || !challenge.qop_auth => Some(Qop::AuthInt),
            (true, _) => Some(Qop::Auth),
            _ if preference.allow_no_qop => None,
            _ => return Err(ClientError::NoQop),
        };
        let username = if challenge.userhash {
            userhash(algorithm, username, &challenge.realm)
                .as_str()
                .to_owned()
        } else {
            username.to_owned()
        };
        Ok(Self {
            username,
            userhash: challenge.userhash,
            realm: challenge.realm.clone().into_owned(),
            nonce: challenge.nonce.clone().into_owned(),
            opaque: challenge.opaque.as_deref().map(str::to_owned),
            algorithm,
            qop,
            ha1,
            nc: 0,
        })
    }

    /// The algorithm in use.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The qop in use.
    pub fn qop(&self) -> Option<Qop> {
        self.qop
    }

    /// The last nonce count sent (0 before the first).
    pub fn nc(&self) -> u32 {
        self.nc
    }

    /// The `Authorization` / `Proxy-Authorization` value for one request; increments the
    /// nonce count. `cnonce` is chosen by the caller (random, printable, no quotes).
    pub fn authorization(&mut self, method: &str, uri: &str, body: &[u8], cnonce: &str) -> String {
        self.nc = self.nc.saturating_add(1);
        let nc = format!("{:08x}", self.nc);
        let response = compute_response(&ResponseInput {
            algorithm: self.algorithm,
            ha1: self.ha1.as_hex(),
            nonce: &self.nonce,
            nc: &nc,
            cnonce,
            qop: self.qop,
            method,
            uri,
            body,
        });
        let mut v = String::with_capacity(256);
        v.push_str("Digest username=");
        push_quoted(&mut v, &self.username);
        v.push_str(", realm=");
        push_quoted(&mut v, &self.realm);
        v.push_str(", nonce=");
        push_quoted(&mut v, &self.nonce);
        v.push_str(", uri=");
        push_quoted(&mut v, uri);
        v.push_str(", response=");
        push_quoted(&mut v, response.as_str());
        v.push_str(", algorithm=");
        v.push_str(self.algorithm.token());
        if let Some(opaque) = &self.opaque {
            v.push_str(", opaque=");
            push_quoted(&mut v, opaque);
        }
        if let Some(qop) = self.qop {
            v.push_str(", qop=");
            v.push_str(qop.token());
            v.push_str(", nc=");
            v.push_str(&nc);
            v.push_str(", cnonce=");
            push_quoted(&mut v, cnonce);
        }
        if self.userhash {
            v.push_str(", userhash=true");
        }
        v
    }
}
