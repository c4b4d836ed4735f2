//! Header names (with RFC 3261 §7.3.3 compact forms) and request methods, recognised
//! without allocating.

macro_rules! header_names {
    ($( $variant:ident => $canon:literal $(, $compact:literal)? ; )*) => {
        /// A header field name. Known names are recognised case-insensitively, compact
        /// forms included; anything else is [`HeaderName::Other`] and is kept byte-exact.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum HeaderName {
            $(
                #[doc = concat!("`", $canon, "`")]
                $variant,
            )*
            /// Any header this crate has no typed view of.
            Other,
        }

        impl HeaderName {
            /// The canonical spelling, used when this crate writes a header.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( HeaderName::$variant => $canon, )*
                    HeaderName::Other => "",
                }
            }

            /// Recognises a header name as it appears on the wire.
            pub fn from_bytes(name: &[u8]) -> HeaderName {
                if name.len() == 1 {
                    let c = name.first().copied().unwrap_or(0).to_ascii_lowercase();
                    $( $( if c == $compact { return HeaderName::$variant; } )? )*
                    return HeaderName::Other;
                }
                from_long_name(name)
            }

            /// The compact form, if RFC 3261 or an extension defines one.
            pub fn compact(self) -> Option<char> {
                match self {
                    $( $( HeaderName::$variant => Some($compact as char), )? )*
                    _ => None,
                }
            }
        }
    };
}

header_names! {
    Via => "Via", b'v';
    From => "From", b'f';
    To => "To", b't';
    CallId => "Call-ID", b'i';
    CSeq => "CSeq";
    MaxForwards => "Max-Forwards";
    Route => "Route";
    RecordRoute => "Record-Route";
    Path => "Path";
    Contact => "Contact", b'm';
    Expires => "Expires";
    MinExpires => "Min-Expires";
    ContentLength => "Content-Length", b'l';
    ContentType => "Content-Type", b'c';
    ContentEncoding => "Content-Encoding", b'e';
    ContentDisposition => "Content-Disposition";
    Authorization => "Authorization";
    ProxyAuthorization => "Proxy-Authorization";
    WwwAuthenticate => "WWW-Authenticate";
    ProxyAuthenticate => "Proxy-Authenticate";
    AuthenticationInfo => "Authentication-Info";
    ProxyAuthenticationInfo => "Proxy-Authentication-Info";
    Require => "Require";
    ProxyRequire => "Proxy-Require";
    Supported => "Supported", b'k';
    Unsupported => "Unsupported";
    Allow => "Allow";
    Accept => "Accept";
    Identity => "Identity", b'y';
    SecurityClient => "Security-Client";
    SecurityServer => "Security-Server";
    SecurityVerify => "Security-Verify";
    Subject => "Subject", b's';
    Event => "Event", b'o';
    AllowEvents => "Allow-Events", b'u';
    ReferTo => "Refer-To", b'r';
    ReferredBy => "Referred-By", b'b';
    SessionExpires => "Session-Expires", b'x';
    AcceptContact => "Accept-Contact", b'a';
    RejectContact => "Reject-Contact", b'j';
    RequestDisposition => "Request-Disposition", b'd';
    UserAgent => "User-Agent";
    Server => "Server";
    Warning => "Warning";
    Reason => "Reason";
    Date => "Date";
    Timestamp => "Timestamp";
    Organization => "Organization";
}

/// Recognises a full-length header name: dispatch on length and first letter, then one
/// word-wise case-insensitive compare (a linear scan over every name cost ~60
/// instructions per header).
fn from_long_name(name: &[u8]) -> HeaderName {
    let first = name.first().copied().unwrap_or(0) | 0x20;
    match name.len() {
        2 => match first {
            b't' => {
                if eq_lower(name, b"to") {
                    HeaderName::To
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        3 => match first {
            b'v' => {
                if eq_lower(name, b"via") {
                    HeaderName::Via
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        4 => match first {
            b'c' => {
                if eq_lower(name, b"cseq") {
                    HeaderName::CSeq
                } else {
                    HeaderName::Other
                }
            }
            b'd' => {
                if eq_lower(name, b"date") {
                    HeaderName::Date
                } else {
                    HeaderName::Other
                }
            }
            b'f' => {
                if eq_lower(name, b"from") {
                    HeaderName::From
                } else {
                    HeaderName::Other
                }
            }
            b'p' => {
                if eq_lower(name, b"path") {
                    HeaderName::Path
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        5 => match first {
            b'a' => {
                if eq_lower(name, b"allow") {
                    HeaderName::Allow
                } else {
                    HeaderName::Other
                }
            }
            b'e' => {
                if eq_lower(name, b"event") {
                    HeaderName::Event
                } else {
                    HeaderName::Other
                }
            }
            b'r' => {
                if eq_lower(name, b"route") {
                    HeaderName::Route
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        6 => match first {
            b'a' => {
                if eq_lower(name, b"accept") {
                    HeaderName::Accept
                } else {
                    HeaderName::Other
                }
            }
            b'r' => {
                if eq_lower(name, b"reason") {
                    HeaderName::Reason
                } else {
                    HeaderName::Other
                }
            }
            b's' => {
                if eq_lower(name, b"server") {
                    HeaderName::Server
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        7 => match first {
            b'c' => {
                if eq_lower(name, b"call-id") {
                    HeaderName::CallId
                } else if eq_lower(name, b"contact") {
                    HeaderName::Contact
                } else {
                    HeaderName::Other
                }
            }
            b'e' => {
                if eq_lower(name, b"expires") {
                    HeaderName::Expires
                } else {
                    HeaderName::Other
                }
            }
            b'r' => {
                if eq_lower(name, b"require") {
                    HeaderName::Require
                } else {
                    HeaderName::Other
                }
            }
            b's' => {
                if eq_lower(name, b"subject") {
                    HeaderName::Subject
                } else {
                    HeaderName::Other
                }
            }
            b'w' => {
                if eq_lower(name, b"warning") {
                    HeaderName::Warning
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        8 => match first {
            b'i' => {
                if eq_lower(name, b"identity") {
                    HeaderName::Identity
                } else {
                    HeaderName::Other
                }
            }
            b'r' => {
                if eq_lower(name, b"refer-to") {
                    HeaderName::ReferTo
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        9 => match first {
            b's' => {
                if eq_lower(name, b"supported") {
                    HeaderName::Supported
                } else {
                    HeaderName::Other
                }
            }
            b't' => {
                if eq_lower(name, b"timestamp") {
                    HeaderName::Timestamp
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        10 => match first {
            b'u' => {
                if eq_lower(name, b"user-agent") {
                    HeaderName::UserAgent
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        11 => match first {
            b'm' => {
                if eq_lower(name, b"min-expires") {
                    HeaderName::MinExpires
                } else {
                    HeaderName::Other
                }
            }
            b'r' => {
                if eq_lower(name, b"referred-by") {
                    HeaderName::ReferredBy
                } else {
                    HeaderName::Other
                }
            }
            b'u' => {
                if eq_lower(name, b"unsupported") {
                    HeaderName::Unsupported
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        12 => match first {
            b'a' => {
                if eq_lower(name, b"allow-events") {
                    HeaderName::AllowEvents
                } else {
                    HeaderName::Other
                }
            }
            b'c' => {
                if eq_lower(name, b"content-type") {
                    HeaderName::ContentType
                } else {
                    HeaderName::Other
                }
            }
            b'm' => {
                if eq_lower(name, b"max-forwards") {
                    HeaderName::MaxForwards
                } else {
                    HeaderName::Other
                }
            }
            b'o' => {
                if eq_lower(name, b"organization") {
                    HeaderName::Organization
                } else {
                    HeaderName::Other
                }
            }
            b'r' => {
                if eq_lower(name, b"record-route") {
                    HeaderName::RecordRoute
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        13 => match first {
            b'a' => {
                if eq_lower(name, b"authorization") {
                    HeaderName::Authorization
                } else {
                    HeaderName::Other
                }
            }
            b'p' => {
                if eq_lower(name, b"proxy-require") {
                    HeaderName::ProxyRequire
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        14 => match first {
            b'a' => {
                if eq_lower(name, b"accept-contact") {
                    HeaderName::AcceptContact
                } else {
                    HeaderName::Other
                }
            }
            b'c' => {
                if eq_lower(name, b"content-length") {
                    HeaderName::ContentLength
                } else {
                    HeaderName::Other
                }
            }
            b'r' => {
                if eq_lower(name, b"reject-contact") {
                    HeaderName::RejectContact
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        15 => match first {
            b's' => {
                if eq_lower(name, b"security-client") {
                    HeaderName::SecurityClient
                } else if eq_lower(name, b"security-server") {
                    HeaderName::SecurityServer
                } else if eq_lower(name, b"security-verify") {
                    HeaderName::SecurityVerify
                } else if eq_lower(name, b"session-expires") {
                    HeaderName::SessionExpires
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        16 => match first {
            b'c' => {
                if eq_lower(name, b"content-encoding") {
                    HeaderName::ContentEncoding
                } else {
                    HeaderName::Other
                }
            }
            b'w' => {
                if eq_lower(name, b"www-authenticate") {
                    HeaderName::WwwAuthenticate
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        18 => match first {
            b'p' => {
                if eq_lower(name, b"proxy-authenticate") {
                    HeaderName::ProxyAuthenticate
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        19 => match first {
            b'a' => {
                if eq_lower(name, b"authentication-info") {
                    HeaderName::AuthenticationInfo
                } else {
                    HeaderName::Other
                }
            }
            b'c' => {
                if eq_lower(name, b"content-disposition") {
                    HeaderName::ContentDisposition
                } else {
                    HeaderName::Other
                }
            }
            b'p' => {
                if eq_lower(name, b"proxy-authorization") {
                    HeaderName::ProxyAuthorization
                } else {
                    HeaderName::Other
                }
            }
            b'r' => {
                if eq_lower(name, b"request-disposition") {
                    HeaderName::RequestDisposition
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        25 => match first {
            b'p' => {
                if eq_lower(name, b"proxy-authentication-info") {
                    HeaderName::ProxyAuthenticationInfo
                } else {
                    HeaderName::Other
                }
            }
            _ => HeaderName::Other,
        },
        _ => HeaderName::Other,
    }
}

/// `name` equals `lower` (a lowercase name of letters, digits and `-`) ignoring ASCII case.
/// OR-ing 0x20 lowercases letters and leaves `-` and digits unchanged; no other token
/// byte maps onto a letter or `-` that way, so the comparison is exact for tokens.
fn eq_lower(name: &[u8], lower: &[u8]) -> bool {
    if name.len() != lower.len() {
        return false;
    }
    let mut a = name.chunks_exact(8);
    let mut b = lower.chunks_exact(8);
    for (x, y) in (&mut a).zip(&mut b) {
        let x = u64::from_le_bytes(x.try_into().unwrap_or([0; 8]));
        let y = u64::from_le_bytes(y.try_into().unwrap_or([0; 8]));
        if x | 0x2020_2020_2020_2020 != y {
            return false;
        }
    }
    a.remainder()
        .iter()
        .zip(b.remainder())
        .all(|(x, y)| x | 0x20 == *y)
}

macro_rules! methods {
    ($( $variant:ident => $name:literal ; )*) => {
        /// A request method. Methods are case-sensitive (RFC 3261 §7.1); anything not
        /// listed is [`Method::Extension`] and its token is read from the message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Method {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
            /// A syntactically valid method this crate has no name for.
            Extension,
        }

        impl Method {
            /// Recognises a method token (case-sensitive).
            pub fn from_bytes(token: &[u8]) -> Method {
                match token {
                    $( t if t == $name.as_bytes() => Method::$variant, )*
                    _ => Method::Extension,
                }
            }

            /// The method's token; empty for [`Method::Extension`].
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Method::$variant => $name, )*
                    Method::Extension => "",
                }
            }
        }
    };
}

methods! {
    Invite => "INVITE";
    Ack => "ACK";
    Bye => "BYE";
    Cancel => "CANCEL";
    Register => "REGISTER";
    Options => "OPTIONS";
    Info => "INFO";
    Update => "UPDATE";
    Prack => "PRACK";
    Subscribe => "SUBSCRIBE";
    Notify => "NOTIFY";
    Message => "MESSAGE";
    Refer => "REFER";
    Publish => "PUBLISH";
}

/// RFC 3261 §25.1 `token` characters, as a table: this runs for every byte of every
/// header name.
// The loop bound keeps the index inside the table; `get_mut` is not usable in const.
#[allow(clippy::indexing_slicing)]
const TOKEN_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        b += 1;
    }
    t
};

/// RFC 3261 §25.1 `token` characters.
#[inline]
pub(crate) fn is_token_byte(b: u8) -> bool {
    TOKEN_BYTES.get(usize::from(b)).copied().unwrap_or(false)
}

/// True when every byte is a token character and there is at least one.
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_token_byte(b))
}
