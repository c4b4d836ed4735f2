//! HA1 values: `H(username:realm:password)`, the only form in which credentials are kept.

use core::fmt;

use crate::algorithm::{Algorithm, HexHash};
use crate::error::Ha1Error;

/// One HA1 for one algorithm, in lowercase hex. Password-equivalent for that realm: its
/// `Debug` output is redacted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ha1 {
    algorithm: Algorithm,
    hex: HexHash,
}

impl Ha1 {
    /// Computes `H(username:realm:password)`.
    pub fn from_password(
        algorithm: Algorithm,
        username: &str,
        realm: &str,
        password: &str,
    ) -> Self {
        let hex =
            algorithm.hash_joined(&[username.as_bytes(), realm.as_bytes(), password.as_bytes()]);
        Self { algorithm, hex }
    }

    /// Loads a stored HA1 (hex, any case).
    ///
    /// # Errors
    /// [`Ha1Error::Malformed`] unless `hex` is exactly [`Algorithm::hex_len`] hex digits.
    pub fn from_hex(algorithm: Algorithm, hex: &str) -> Result<Self, Ha1Error> {
        if hex.len() != algorithm.hex_len() {
            return Err(Ha1Error::Malformed(algorithm));
        }
        let hex = HexHash::from_hex(hex.as_bytes()).ok_or(Ha1Error::Malformed(algorithm))?;
        Ok(Self { algorithm, hex })
    }

    /// Builds from a hash already in hex form (used for derived dummies).
    pub(crate) fn from_hash(algorithm: Algorithm, hex: HexHash) -> Self {
        Self { algorithm, hex }
    }

    /// The algorithm this HA1 belongs to.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex text, for storing.
    pub fn as_hex(&self) -> &str {
        self.hex.as_str()
    }
}

impl fmt::Debug for Ha1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ha1")
            .field("algorithm", &self.algorithm)
            .field("hex", &"<redacted>")
            .finish()
    }
}

/// One HA1 per algorithm for one user in one realm: what a user store persists. Any entry
/// may be absent (for example accounts imported with MD5 HA1 only); credentials using an
/// algorithm without an entry fail like a wrong password.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Ha1Set {
    md5: Option<Ha1>,
    sha256: Option<Ha1>,
    sha512_256: Option<Ha1>,
}

impl Ha1Set {
    /// An empty set.
    pub const fn new() -> Self {
        Self {
            md5: None,
            sha256: None,
            sha512_256: None,
        }
    }

    /// Computes the HA1 for every supported algorithm. The password is not kept.
    pub fn from_password(username: &str, realm: &str, password: &str) -> Self {
        let mut set = Self::new();
        for algorithm in Algorithm::ALL {
            set.insert(Ha1::from_password(algorithm, username, realm, password));
        }
        set
    }

    /// Adds or replaces the entry for `ha1`'s algorithm.
    pub fn insert(&mut self, ha1: Ha1) {
        *self.slot_mut(ha1.algorithm()) = Some(ha1);
    }

    /// Builder form of [`Ha1Set::insert`].
    #[must_use]
    pub fn with(mut self, ha1: Ha1) -> Self {
        self.insert(ha1);
        self
    }

    /// The entry for `algorithm`, if stored.
    pub fn get(&self, algorithm: Algorithm) -> Option<&Ha1> {
        match algorithm {
            Algorithm::Md5 => self.md5.as_ref(),
            Algorithm::Sha256 => self.sha256.as_ref(),
            Algorithm::Sha512_256 => self.sha512_256.as_ref(),
        }
    }

    /// The stored entries, strongest algorithm first.
    pub fn iter(&self) -> impl Iterator<Item = &Ha1> {
        [
            self.sha512_256.as_ref(),
            self.sha256.as_ref(),
            self.md5.as_ref(),
        ]
        .into_iter()
        .flatten()
    }

    fn slot_mut(&mut self, algorithm: Algorithm) -> &mut Option<Ha1> {
        match algorithm {
            Algorithm::Md5 => &mut self.md5,
            Algorithm::Sha256 => &mut self.sha256,
            Algorithm::Sha512_256 => &mut self.sha512_256,
        }
    }
}
