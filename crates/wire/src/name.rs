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
                $(
                    if name.len() == $canon.len() && name.eq_ignore_ascii_case($canon.as_bytes()) {
                        return HeaderName::$variant;
                    }
                )*
                HeaderName::Other
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

/// RFC 3261 §25.1 `token` characters.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// True when every byte is a token character and there is at least one.
pub(crate) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_token_byte(b))
}
