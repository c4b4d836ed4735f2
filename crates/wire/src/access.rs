//! Typed accessors on [`Message`]: each finds the header fields and decodes them on
//! demand with the decoders of [`crate::headers`]. Nothing is cached; call once and keep
//! the result.

use crate::error::ParseError;
use crate::headers::{
    parse_call_id, parse_expires, parse_max_forwards, token_list, AuthInfo, CSeq, Challenge,
    Contact, Contacts, Credentials, HeaderList, Identity, MediaType, NameAddr, SecurityMechanism,
    Via, MAX_CONTACTS, TOO_MANY_CONTACTS,
};
use crate::limits::MAX_VIAS;
use crate::message::{HeaderField, Message, StartLine};
use crate::name::HeaderName;
use crate::uri::Uri;

/// Every Via entry of a message, across fields and commas, top first. Yields
/// [`ParseError::TooManyVias`] after [`MAX_VIAS`] entries; ends after any error.
#[derive(Debug, Clone)]
pub struct Vias<'m> {
    msg: &'m Message,
    fields: std::slice::Iter<'m, HeaderField>,
    current: Option<HeaderList<'m, Via<'m>>>,
    count: usize,
    done: bool,
}

impl<'m> Iterator for Vias<'m> {
    type Item = Result<Via<'m>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            if let Some(list) = &mut self.current {
                if let Some(item) = list.next() {
                    if item.is_err() {
                        self.done = true;
                    } else {
                        self.count += 1;
                        if self.count > MAX_VIAS {
                            self.done = true;
                            return Some(Err(ParseError::TooManyVias));
                        }
                    }
                    return Some(item);
                }
                self.current = None;
            }
            let field = self.fields.find(|f| f.name == HeaderName::Via)?;
            self.current = Some(Via::parse_list(self.msg.slice(field.value)));
        }
    }
}

impl std::iter::FusedIterator for Vias<'_> {}

impl Message {
    fn required(&self, name: HeaderName, label: &'static str) -> Result<&[u8], ParseError> {
        self.header(name).ok_or(ParseError::MissingHeader(label))
    }

    /// The topmost Via entry.
    pub fn top_via(&self) -> Result<Via<'_>, ParseError> {
        let value = self.required(HeaderName::Via, "Via")?;
        Via::parse_list(value)
            .next()
            .unwrap_or(Err(ParseError::MissingHeader("Via")))
    }

    /// Every Via entry, top first (see [`Vias`]).
    pub fn vias(&self) -> Vias<'_> {
        Vias {
            msg: self,
            fields: self.headers().iter(),
            current: None,
            count: 0,
            done: false,
        }
    }

    /// The From header (the first one; [`Message::validate_request`] refuses duplicates).
    pub fn from(&self) -> Result<NameAddr<'_>, ParseError> {
        NameAddr::parse(HeaderName::From, self.required(HeaderName::From, "From")?)
    }

    /// The To header.
    pub fn to(&self) -> Result<NameAddr<'_>, ParseError> {
        NameAddr::parse(HeaderName::To, self.required(HeaderName::To, "To")?)
    }

    /// The From tag, without decoding the From URI (see [`crate::headers::tag_of`]).
    pub fn from_tag(&self) -> Result<Option<&str>, ParseError> {
        let v = self
            .header(HeaderName::From)
            .ok_or(ParseError::MissingHeader("From"))?;
        crate::headers::tag_of(HeaderName::From, v)
    }

    /// The To tag, without decoding the To URI (see [`crate::headers::tag_of`]).
    pub fn to_tag(&self) -> Result<Option<&str>, ParseError> {
        let v = self
            .header(HeaderName::To)
            .ok_or(ParseError::MissingHeader("To"))?;
        crate::headers::tag_of(HeaderName::To, v)
    }

    /// The Call-ID, as written.
    pub fn call_id(&self) -> Result<&str, ParseError> {
        parse_call_id(self.required(HeaderName::CallId, "Call-ID")?)
    }

    /// The CSeq header.
    pub fn cseq(&self) -> Result<CSeq<'_>, ParseError> {
        CSeq::parse(self.required(HeaderName::CSeq, "CSeq")?)
    }

    /// Max-Forwards, if present.
    pub fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        self.header(HeaderName::MaxForwards)
            .map(parse_max_forwards)
            .transpose()
    }

    /// The Expires header, if present.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.header(HeaderName::Expires)
            .map(|v| parse_expires(HeaderName::Expires, v))
            .transpose()
    }

    /// The Min-Expires header, if present.
    pub fn min_expires(&self) -> Result<Option<u32>, ParseError> {
        self.header(HeaderName::MinExpires)
            .map(|v| parse_expires(HeaderName::MinExpires, v))
            .transpose()
    }

    /// Every Contact across fields, or `*`. `*` together with any other contact (or in
    /// more than one field) is refused (RFC 3261 §10.2.2), and so are more than
    /// [`MAX_CONTACTS`] contacts. No Contact header gives an empty list.
    pub fn contacts(&self) -> Result<Contacts<'_>, ParseError> {
        let mut list: Vec<Contact<'_>> = Vec::new();
        let mut wildcard = false;
        let mut fields = 0usize;
        for value in self.header_values(HeaderName::Contact) {
            fields += 1;
            match Contacts::parse(value)? {
                Contacts::Wildcard => wildcard = true,
                Contacts::List(l) => {
                    if list.len() + l.len() > MAX_CONTACTS {
                        return Err(TOO_MANY_CONTACTS);
                    }
                    list.extend(l);
                }
            }
        }
        if wildcard {
            if fields > 1 || !list.is_empty() {
                return Err(ParseError::BadHeader {
                    header: "Contact",
                    reason: "'*' mixed with other contacts",
                });
            }
            return Ok(Contacts::Wildcard);
        }
        Ok(Contacts::List(list))
    }

    /// The Request-URI of a request. Malformed is [`ParseError::BadRequestUri`]; a scheme
    /// other than sip, sips or tel decodes as [`Uri::Other`].
    pub fn request_uri(&self) -> Result<Uri<'_>, ParseError> {
        if !matches!(self.start_line(), StartLine::Request { .. }) {
            return Err(ParseError::BadRequestUri("not a request"));
        }
        Uri::parse_bytes(self.request_uri_bytes()).map_err(|e| match e {
            ParseError::BadUri(reason) => ParseError::BadRequestUri(reason),
            other => other,
        })
    }

    fn name_addrs(
        &self,
        name: HeaderName,
    ) -> impl Iterator<Item = Result<NameAddr<'_>, ParseError>> + '_ {
        self.header_values(name)
            .flat_map(move |v| NameAddr::parse_list(name, v))
    }

    /// Every Route entry, in order.
    pub fn routes(&self) -> impl Iterator<Item = Result<NameAddr<'_>, ParseError>> + '_ {
        self.name_addrs(HeaderName::Route)
    }

    /// Every Record-Route entry, in order.
    pub fn record_routes(&self) -> impl Iterator<Item = Result<NameAddr<'_>, ParseError>> + '_ {
        self.name_addrs(HeaderName::RecordRoute)
    }

    /// Every Path entry, in order (RFC 3327).
    pub fn paths(&self) -> impl Iterator<Item = Result<NameAddr<'_>, ParseError>> + '_ {
        self.name_addrs(HeaderName::Path)
    }

    fn tokens(&self, name: HeaderName) -> impl Iterator<Item = Result<&str, ParseError>> + '_ {
        self.header_values(name)
            .flat_map(move |v| token_list(name, v))
    }

    /// Every Require option tag.
    pub fn require(&self) -> impl Iterator<Item = Result<&str, ParseError>> + '_ {
        self.tokens(HeaderName::Require)
    }

    /// Every Proxy-Require option tag.
    pub fn proxy_require(&self) -> impl Iterator<Item = Result<&str, ParseError>> + '_ {
        self.tokens(HeaderName::ProxyRequire)
    }

    /// Every Supported option tag.
    pub fn supported(&self) -> impl Iterator<Item = Result<&str, ParseError>> + '_ {
        self.tokens(HeaderName::Supported)
    }

    /// Every Unsupported option tag.
    pub fn unsupported(&self) -> impl Iterator<Item = Result<&str, ParseError>> + '_ {
        self.tokens(HeaderName::Unsupported)
    }

    /// Every method in Allow (tokens as written; see [`crate::Method::from_bytes`]).
    pub fn allow(&self) -> impl Iterator<Item = Result<&str, ParseError>> + '_ {
        self.tokens(HeaderName::Allow)
    }

    /// Content-Type, if present.
    pub fn content_type(&self) -> Result<Option<MediaType<'_>>, ParseError> {
        self.header(HeaderName::ContentType)
            .map(MediaType::parse)
            .transpose()
    }

    /// Every Authorization field's credentials.
    pub fn authorizations(&self) -> impl Iterator<Item = Result<Credentials<'_>, ParseError>> + '_ {
        self.header_values(HeaderName::Authorization)
            .map(|v| Credentials::parse(HeaderName::Authorization, v))
    }

    /// Every Proxy-Authorization field's credentials.
    pub fn proxy_authorizations(
        &self,
    ) -> impl Iterator<Item = Result<Credentials<'_>, ParseError>> + '_ {
        self.header_values(HeaderName::ProxyAuthorization)
            .map(|v| Credentials::parse(HeaderName::ProxyAuthorization, v))
    }

    /// Every WWW-Authenticate challenge.
    pub fn www_authenticates(
        &self,
    ) -> impl Iterator<Item = Result<Challenge<'_>, ParseError>> + '_ {
        self.header_values(HeaderName::WwwAuthenticate)
            .map(|v| Challenge::parse(HeaderName::WwwAuthenticate, v))
    }

    /// Every Proxy-Authenticate challenge.
    pub fn proxy_authenticates(
        &self,
    ) -> impl Iterator<Item = Result<Challenge<'_>, ParseError>> + '_ {
        self.header_values(HeaderName::ProxyAuthenticate)
            .map(|v| Challenge::parse(HeaderName::ProxyAuthenticate, v))
    }

    /// Authentication-Info, if present.
    pub fn authentication_info(&self) -> Result<Option<AuthInfo<'_>>, ParseError> {
        self.header(HeaderName::AuthenticationInfo)
            .map(AuthInfo::parse)
            .transpose()
    }

    /// Every Identity header (RFC 8224).
    pub fn identities(&self) -> impl Iterator<Item = Result<Identity<'_>, ParseError>> + '_ {
        self.header_values(HeaderName::Identity)
            .map(Identity::parse)
    }

    fn mechanisms(
        &self,
        name: HeaderName,
    ) -> impl Iterator<Item = Result<SecurityMechanism<'_>, ParseError>> + '_ {
        self.header_values(name)
            .flat_map(move |v| SecurityMechanism::parse_list(name, v))
    }

    /// Every Security-Client mechanism (RFC 3329).
    pub fn security_client(
        &self,
    ) -> impl Iterator<Item = Result<SecurityMechanism<'_>, ParseError>> + '_ {
        self.mechanisms(HeaderName::SecurityClient)
    }

    /// Every Security-Server mechanism (RFC 3329).
    pub fn security_server(
        &self,
    ) -> impl Iterator<Item = Result<SecurityMechanism<'_>, ParseError>> + '_ {
        self.mechanisms(HeaderName::SecurityServer)
    }

    /// Every Security-Verify mechanism (RFC 3329).
    pub fn security_verify(
        &self,
    ) -> impl Iterator<Item = Result<SecurityMechanism<'_>, ParseError>> + '_ {
        self.mechanisms(HeaderName::SecurityVerify)
    }
}
