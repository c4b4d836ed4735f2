//! Digest credentials from the parameters of an `Authorization` or `Proxy-Authorization`
//! header.

use std::borrow::Cow;

use crate::algorithm::{Algorithm, Qop};
use crate::error::CredentialsError;

/// A nonce count: its value and its 8 hex digits as sent (the response hashes the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonceCount {
    value: u32,
    raw: [u8; 8],
}

impl NonceCount {
    /// Parses exactly 8 hex digits (either case) with a value of at least 1.
    pub fn parse(text: &str) -> Option<Self> {
        let raw: [u8; 8] = text.as_bytes().try_into().ok()?;
        if !raw.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let value = u32::from_str_radix(text, 16).ok().filter(|v| *v >= 1)?;
        Some(Self { value, raw })
    }

    /// The numeric value, at least 1.
    pub fn value(&self) -> u32 {
        self.value
    }

    /// The digits as received.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.raw).unwrap_or_default()
    }
}

/// Parsed Digest credentials. Text values are unquoted and unescaped; they borrow from the
/// header unless unescaping had to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials<'a> {
    /// `username` (the hash of `username:realm` when [`Self::userhash`] is set).
    pub username: Cow<'a, str>,
    /// `realm`.
    pub realm: Cow<'a, str>,
    /// `nonce`.
    pub nonce: Cow<'a, str>,
    /// `uri` (the Request-URI the client signed).
    pub uri: Cow<'a, str>,
    /// `response`: hex of the algorithm's length.
    pub response: Cow<'a, str>,
    /// `algorithm`; MD5 when absent (RFC 2617).
    pub algorithm: Algorithm,
    /// `cnonce`; present exactly when `qop` is.
    pub cnonce: Option<Cow<'a, str>>,
    /// `nc`; present exactly when `qop` is.
    pub nc: Option<NonceCount>,
    /// `qop`; `None` is the RFC 2069 form.
    pub qop: Option<Qop>,
    /// `opaque`.
    pub opaque: Option<Cow<'a, str>>,
    /// `userhash=true`: the store must look the user up by [`crate::userhash`].
    pub userhash: bool,
}

/// Known parameters, in the order of the destructuring in `from_params`.
const NAMES: [&str; 11] = [
    "username",
    "realm",
    "nonce",
    "uri",
    "response",
    "algorithm",
    "cnonce",
    "nc",
    "qop",
    "opaque",
    "userhash",
];

impl<'a> DigestCredentials<'a> {
    /// Builds credentials from an `Authorization` / `Proxy-Authorization` value decoded by
    /// the wire layer.
    ///
    /// # Errors
    /// As [`DigestCredentials::from_scheme_params`].
    pub fn from_wire(
        credentials: &sipwarden_wire::headers::Credentials<'a>,
    ) -> Result<Self, CredentialsError> {
        Self::from_scheme_params(
            credentials.scheme,
            credentials.params.iter().map(|(n, v)| (n, v.text())),
        )
    }

    /// Builds credentials from the header's scheme and parameters.
    ///
    /// # Errors
    /// [`CredentialsError::NotDigest`] unless `scheme` is `Digest` (any case); otherwise as
    /// [`DigestCredentials::from_params`].
    pub fn from_scheme_params<I, N, V>(scheme: &str, params: I) -> Result<Self, CredentialsError>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: Into<Cow<'a, str>>,
    {
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(CredentialsError::NotDigest);
        }
        Self::from_params(params)
    }

    /// Builds credentials from `(name, value)` pairs: names in any case, values unquoted
    /// and unescaped. Unknown parameters are ignored (RFC 7616 §3.4).
    ///
    /// # Errors
    /// A [`CredentialsError`] for a duplicate known parameter, a missing required one
    /// (`username`, `realm`, `nonce`, `uri`, `response`; `cnonce` and `nc` with `qop`), a
    /// malformed value (`response` not hex of the algorithm's length, `nc` not 8 hex digits
    /// or zero, empty `username`/`cnonce`, `userhash` neither `true` nor `false`), `cnonce` or
    /// `nc` without `qop`, an unsupported `algorithm` or `qop`, or `username*`.
    pub fn from_params<I, N, V>(params: I) -> Result<Self, CredentialsError>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<str>,
        V: Into<Cow<'a, str>>,
    {
        let mut slots: [Option<Cow<'a, str>>; NAMES.len()] = Default::default();
        for (name, value) in params {
            let name = name.as_ref();
            if name.eq_ignore_ascii_case("username*") {
                return Err(CredentialsError::Unsupported("username*"));
            }
            // Matching without allocating: this runs for every authenticated request.
            let Some((slot, known)) = slots
                .iter_mut()
                .zip(NAMES)
                .find(|(_, known)| known.eq_ignore_ascii_case(name))
            else {
                continue;
            };
            if slot.replace(value.into()).is_some() {
                return Err(CredentialsError::Duplicate(known));
            }
        }
        let [username, realm, nonce, uri, response, algorithm, cnonce, nc, qop, opaque, userhash] =
            slots;

        let username = username.ok_or(CredentialsError::Missing("username"))?;
        if username.is_empty() {
            return Err(CredentialsError::Invalid("username"));
        }
        let realm = realm.ok_or(CredentialsError::Missing("realm"))?;
        let nonce = nonce.ok_or(CredentialsError::Missing("nonce"))?;
        let uri = uri.ok_or(CredentialsError::Missing("uri"))?;
        let response = response.ok_or(CredentialsError::Missing("response"))?;
        let algorithm = match algorithm.as_deref() {
            None => Algorithm::Md5,
            Some(token) => {
                Algorithm::from_token(token).ok_or(CredentialsError::UnsupportedAlgorithm)?
            }
        };
        if response.len() != algorithm.hex_len() || !response.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(CredentialsError::Invalid("response"));
        }
        let qop = match qop.as_deref() {
            None => None,
            Some(token) => Some(Qop::from_token(token).ok_or(CredentialsError::UnsupportedQop)?),
        };
        let (cnonce, nc) = if qop.is_some() {
            let cnonce = cnonce.ok_or(CredentialsError::Missing("cnonce"))?;
            if cnonce.is_empty() {
                return Err(CredentialsError::Invalid("cnonce"));
            }
            let nc = nc.ok_or(CredentialsError::Missing("nc"))?;
            let nc = NonceCount::parse(&nc).ok_or(CredentialsError::Invalid("nc"))?;
            (Some(cnonce), Some(nc))
        } else {
            if cnonce.is_some() || nc.is_some() {
                return Err(CredentialsError::Missing("qop"));
            }
            (None, None)
        };
        let userhash = match userhash.as_deref() {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(_) => return Err(CredentialsError::Invalid("userhash")),
        };

        Ok(Self {
            username,
            realm,
            nonce,
            uri,
            response,
            algorithm,
            cnonce,
            nc,
            qop,
            opaque,
            userhash,
        })
    }
}
