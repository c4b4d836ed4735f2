//! The hook through which Digest authentication reports to an abuse guard.

use std::net::IpAddr;

/// Told about every credential check, and asked before one whether it may run at all.
/// Implementations are keyed on the transport source and on accounts the server vouches
/// for; the user names they receive for failures are claims.
pub trait AuthObserver: Send + Sync {
    /// Whether the credentials `user@realm` presented from `source` may be checked. When
    /// this says no, the request is answered exactly as for a wrong password (and reported
    /// to [`failed`](Self::failed)) without the credentials being looked at, so a lock
    /// reveals nothing.
    fn may_verify(&self, source: IpAddr, user: &str, realm: &str) -> bool {
        let _ = (source, user, realm);
        true
    }

    /// Credentials from `source` failed (wrong, replayed, or refused by
    /// [`may_verify`](Self::may_verify)). `known` says whether `user@realm` is an account
    /// here; unknown users must count against the source alone.
    fn failed(&self, source: IpAddr, user: &str, realm: &str, known: bool);

    /// `source` authenticated as `user@realm`.
    fn succeeded(&self, source: IpAddr, user: &str, realm: &str);
}
