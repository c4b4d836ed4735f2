//! Recognising anonymous ("null-authenticated") callers: the forms RFC 3261 §8.1.1.3,
//! RFC 3323 and RFC 3325 give a caller that withholds its identity.
//!
//! [`recognise_anonymous`] is a pure function of what the caller extracted from the
//! request. What it returns only selects the caller class that the `[policy] anonymous`
//! setting acts on; nothing here is ever used as a key for rate limits, bans or lockout.

/// How a request marked its caller as anonymous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnonymousForm {
    /// From URI user `anonymous`, at any host, in any case (`sip:anonymous@example.com`).
    User,
    /// From URI host `anonymous.invalid` (RFC 3261 §8.1.1.3, RFC 3323 §4.1.1.3).
    Host,
    /// Display name `Anonymous` on a From identity the server cannot authenticate (the
    /// form a privacy service leaves, RFC 3323 §4.1.1.3).
    DisplayName,
    /// `Privacy: id`, `user` or `header` (RFC 3323, RFC 3325) on a request whose From
    /// identity the server cannot authenticate.
    Privacy,
}

impl AnonymousForm {
    /// Every form, in declaration order.
    pub const ALL: [AnonymousForm; 4] = [
        AnonymousForm::User,
        AnonymousForm::Host,
        AnonymousForm::DisplayName,
        AnonymousForm::Privacy,
    ];

    /// Stable lower-case label for logs and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "anonymous_user",
            Self::Host => "anonymous_host",
            Self::DisplayName => "display_name",
            Self::Privacy => "privacy",
        }
    }
}

/// What the recogniser looks at, as the caller extracted it from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallerClaims<'a> {
    /// The From display name as written (quotes removed), if any.
    pub display_name: Option<&'a str>,
    /// The From URI user part, if any.
    pub user: Option<&'a str>,
    /// The From URI host.
    pub host: &'a str,
    /// Whether the server can authenticate the From identity itself (one of its own
    /// domains: the proxy challenges such callers with Digest).
    pub verifiable: bool,
}

/// The anonymous form a request uses, or `None` for an ordinary caller. `privacy` holds
/// the values of every `Privacy` header field of the request.
///
/// The URI forms (user `anonymous`, host `anonymous.invalid`) are anonymous wherever they
/// come from. The display name `Anonymous` and a request for identity privacy (`id`,
/// `user`, `header`) make a caller anonymous only when the server cannot authenticate
/// its From identity: a local caller asking for privacy is still a local caller, whom the
/// proxy authenticates.
pub fn recognise_anonymous<'a>(
    claims: &CallerClaims<'_>,
    privacy: impl IntoIterator<Item = &'a str>,
) -> Option<AnonymousForm> {
    if claims
        .user
        .is_some_and(|u| u.eq_ignore_ascii_case("anonymous"))
    {
        return Some(AnonymousForm::User);
    }
    let host = claims.host.trim_end_matches('.');
    if host.eq_ignore_ascii_case("anonymous.invalid") {
        return Some(AnonymousForm::Host);
    }
    if claims.verifiable {
        return None;
    }
    if claims
        .display_name
        .is_some_and(|d| d.trim().eq_ignore_ascii_case("anonymous"))
    {
        return Some(AnonymousForm::DisplayName);
    }
    privacy
        .into_iter()
        .any(asks_identity_privacy)
        .then_some(AnonymousForm::Privacy)
}

/// Whether one `Privacy` header value asks for the caller's identity to be withheld.
/// RFC 3323 separates values with `;`; commas (several values in one field) are
/// accepted too.
fn asks_identity_privacy(value: &str) -> bool {
    value.split([';', ',']).any(|v| {
        let v = v.trim();
        v.eq_ignore_ascii_case("id")
            || v.eq_ignore_ascii_case("user")
            || v.eq_ignore_ascii_case("header")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims<'a>(
        display_name: Option<&'a str>,
        user: Option<&'a str>,
        host: &'a str,
        verifiable: bool,
    ) -> CallerClaims<'a> {
        CallerClaims {
            display_name,
            user,
            host,
            verifiable,
        }
    }

    fn form(c: CallerClaims<'_>, privacy: &[&str]) -> Option<AnonymousForm> {
        recognise_anonymous(&c, privacy.iter().copied())
    }

    #[test]
    fn the_classic_anonymous_uri() {
        let c = claims(
            Some("Anonymous"),
            Some("anonymous"),
            "anonymous.invalid",
            false,
        );
        assert_eq!(form(c, &[]), Some(AnonymousForm::User));
    }

    #[test]
    fn user_anonymous_at_any_host_in_any_case() {
        for user in ["anonymous", "Anonymous", "ANONYMOUS"] {
            for (host, verifiable) in [("carrier.example", false), ("localhost", true)] {
                let c = claims(None, Some(user), host, verifiable);
                assert_eq!(form(c, &[]), Some(AnonymousForm::User), "{user}@{host}");
            }
        }
    }

    #[test]
    fn host_anonymous_invalid_with_any_user() {
        for host in [
            "anonymous.invalid",
            "Anonymous.Invalid",
            "anonymous.invalid.",
        ] {
            let c = claims(None, Some("c8oqz84zk7z"), host, false);
            assert_eq!(form(c, &[]), Some(AnonymousForm::Host), "{host}");
            let c = claims(None, None, host, false);
            assert_eq!(form(c, &[]), Some(AnonymousForm::Host), "{host}");
        }
    }

    #[test]
    fn display_name_counts_only_for_identities_we_cannot_check() {
        let privacy_service = claims(Some("Anonymous"), Some("c8oqz84zk7z"), "privacy.org", false);
        assert_eq!(form(privacy_service, &[]), Some(AnonymousForm::DisplayName));
        let quoted_spaces = claims(Some(" anonymous "), Some("x"), "privacy.org", false);
        assert_eq!(form(quoted_spaces, &[]), Some(AnonymousForm::DisplayName));
        // A local user whose display name happens to read "Anonymous" is authenticated
        // by the proxy like any other.
        let local = claims(Some("Anonymous"), Some("alice"), "localhost", true);
        assert_eq!(form(local, &[]), None);
        // Other display names mean nothing.
        let other = claims(Some("Anonymous Coward"), Some("bob"), "example.com", false);
        assert_eq!(form(other, &[]), None);
    }

    #[test]
    fn identity_privacy_without_a_verifiable_identity() {
        let foreign = claims(Some("Bob"), Some("+15551234"), "carrier.example", false);
        for privacy in [
            "id",
            "user",
            "header",
            "ID",
            "id;critical",
            "header; session",
            "session;user",
            " id ",
            "none, id",
        ] {
            assert_eq!(
                form(foreign, &[privacy]),
                Some(AnonymousForm::Privacy),
                "{privacy:?}"
            );
        }
        // Several fields: any one asking for identity privacy counts.
        assert_eq!(
            form(foreign, &["session", "id"]),
            Some(AnonymousForm::Privacy)
        );
        for privacy in [
            "none", "session", "critical", "", "identity", "idx", "users",
        ] {
            assert_eq!(form(foreign, &[privacy]), None, "{privacy:?}");
        }
        assert_eq!(form(foreign, &[]), None);
        // A local caller asking for privacy is still authenticated by the proxy.
        let local = claims(None, Some("alice"), "localhost", true);
        assert_eq!(form(local, &["id"]), None);
    }

    #[test]
    fn labels_are_stable_and_distinct() {
        let labels: Vec<&str> = AnonymousForm::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(
            labels,
            [
                "anonymous_user",
                "anonymous_host",
                "display_name",
                "privacy"
            ]
        );
    }
}
