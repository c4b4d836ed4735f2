//! Invariants shared by the fuzz targets.
//!
//! Owns: the checks every parsed message must pass whatever the input (spans inside the
//! buffer, ordered and consistent; every typed decoder and accessor callable without a
//! panic) and the decoder dispatch used by the header target. Each check panics on a
//! violation, which is how libFuzzer learns of it.
//!
//! Refuses: deciding what is valid SIP. Those expectations live in the wire crate's tests.

use std::hint::black_box;

use sipwarden_wire::headers::{
    parse_call_id, parse_content_length, parse_expires, parse_max_forwards, token_list, AuthInfo,
    CSeq, Challenge, Contacts, Credentials, Identity, MediaType, NameAddr, SecurityMechanism, Via,
};
use sipwarden_wire::lex::pct_eq_ignore_case;
use sipwarden_wire::uri::Uri;
use sipwarden_wire::{HeaderName, Message, Span, StartLine};

/// Every header name with a typed decoder, in a fixed order, so one input byte can pick
/// one.
pub const DECODED: &[HeaderName] = &[
    HeaderName::Via,
    HeaderName::From,
    HeaderName::To,
    HeaderName::CallId,
    HeaderName::CSeq,
    HeaderName::MaxForwards,
    HeaderName::Route,
    HeaderName::RecordRoute,
    HeaderName::Path,
    HeaderName::Contact,
    HeaderName::Expires,
    HeaderName::MinExpires,
    HeaderName::ContentLength,
    HeaderName::ContentType,
    HeaderName::Authorization,
    HeaderName::ProxyAuthorization,
    HeaderName::WwwAuthenticate,
    HeaderName::ProxyAuthenticate,
    HeaderName::AuthenticationInfo,
    HeaderName::Require,
    HeaderName::ProxyRequire,
    HeaderName::Supported,
    HeaderName::Unsupported,
    HeaderName::Allow,
    HeaderName::Identity,
    HeaderName::SecurityClient,
    HeaderName::SecurityServer,
    HeaderName::SecurityVerify,
];

fn inside(span: Span, len: usize) {
    assert!(span.start <= span.end, "span {span:?} runs backwards");
    assert!(
        span.end as usize <= len,
        "span {span:?} past the buffer ({len})"
    );
}

fn within(inner: Span, outer: Span) {
    assert!(
        outer.start <= inner.start && inner.end <= outer.end,
        "{inner:?} not within {outer:?}"
    );
}

/// Decodes one header value with its typed decoder and touches what it produced.
/// Decoders may refuse the value; they must not panic.
pub fn decode(name: HeaderName, value: &[u8]) {
    match name {
        HeaderName::Via => {
            for via in Via::parse_list(value).flatten() {
                black_box((
                    via.port_or_default(),
                    via.has_rfc3261_branch(),
                    via.host.ip(),
                ));
                black_box(via.params.iter().count());
            }
        }
        HeaderName::From | HeaderName::To => {
            if let Ok(na) = NameAddr::parse(name, value) {
                touch_name_addr(&na);
            }
        }
        HeaderName::Route | HeaderName::RecordRoute | HeaderName::Path => {
            for na in NameAddr::parse_list(name, value).flatten() {
                touch_name_addr(&na);
            }
        }
        HeaderName::Contact => {
            if let Ok(contacts) = Contacts::parse(value) {
                black_box(contacts.is_wildcard());
                for c in contacts.iter() {
                    black_box(format!("{c:?}"));
                }
            }
        }
        HeaderName::CallId => {
            black_box(parse_call_id(value).ok());
        }
        HeaderName::CSeq => {
            black_box(CSeq::parse(value).ok());
        }
        HeaderName::MaxForwards => {
            black_box(parse_max_forwards(value).ok());
        }
        HeaderName::Expires | HeaderName::MinExpires => {
            black_box(parse_expires(name, value).ok());
        }
        HeaderName::ContentLength => {
            black_box(parse_content_length(value).ok());
        }
        HeaderName::ContentType => {
            if let Ok(mt) = MediaType::parse(value) {
                black_box((
                    mt.is("application", "sdp"),
                    mt.param("charset").map(|p| p.text()),
                ));
            }
        }
        HeaderName::Authorization | HeaderName::ProxyAuthorization => {
            if let Ok(c) = Credentials::parse(name, value) {
                black_box((c.is_digest(), c.param("response").map(|p| p.text())));
            }
        }
        HeaderName::WwwAuthenticate | HeaderName::ProxyAuthenticate => {
            if let Ok(c) = Challenge::parse(name, value) {
                black_box((c.is_digest(), c.param("nonce").map(|p| p.text())));
            }
        }
        HeaderName::AuthenticationInfo => {
            if let Ok(i) = AuthInfo::parse(value) {
                black_box(i.param("nextnonce").map(|p| p.text()));
            }
        }
        HeaderName::Require
        | HeaderName::ProxyRequire
        | HeaderName::Supported
        | HeaderName::Unsupported
        | HeaderName::Allow => {
            black_box(token_list(name, value).count());
        }
        HeaderName::Identity => {
            black_box(format!("{:?}", Identity::parse(value)));
        }
        HeaderName::SecurityClient | HeaderName::SecurityServer | HeaderName::SecurityVerify => {
            black_box(SecurityMechanism::parse_list(name, value).count());
        }
        _ => {}
    }
}

fn touch_name_addr(na: &NameAddr<'_>) {
    black_box(na.display_name.as_ref().map(|d| d.text()));
    touch_uri(&na.uri);
    black_box(na.params.iter().count());
}

/// Reads every part of a URI, and checks that it is equivalent to itself and that its
/// text re-parses to an equivalent URI.
pub fn touch_uri(uri: &Uri<'_>) {
    black_box((
        uri.scheme(),
        uri.user(),
        uri.port(),
        uri.host().map(|h| h.ip()),
    ));
    if let Some(sip) = uri.as_sip() {
        black_box((sip.transport(), sip.maddr_host(), sip.user_decoded()));
        black_box(sip.params.iter().count() + sip.headers.iter().count());
    }
    if let Some(tel) = uri.as_tel() {
        black_box(tel.digits().count());
    }
    // Known bug: a SIP URI with two parameters of the same unknown name (`;x=1;x=2`,
    // or `;m;%4d=1`, the same name once escaped) parses but is not equivalent to itself
    // (the comparison finds the first namesake only). Exempted so the target keeps finding other bugs; the wire crate's
    // `tests/props.rs` holds the failing test.
    if !has_duplicate_param(uri) {
        assert!(uri.equivalent(uri), "URI not equivalent to itself: {uri:?}");
    }
    let text = uri.to_string();
    let again = Uri::parse(&text).unwrap_or_else(|e| panic!("{text:?} does not re-parse: {e}"));
    if !has_duplicate_param(uri) {
        assert!(uri.equivalent(&again), "{uri:?} and {again:?} differ");
    }
}

fn has_duplicate_param(uri: &Uri<'_>) -> bool {
    let Some(sip) = uri.as_sip() else {
        return false;
    };
    let names: Vec<&str> = sip.params.iter().map(|p| p.name).collect();
    names
        .iter()
        .enumerate()
        .any(|(i, a)| names.iter().skip(i + 1).any(|b| pct_eq_ignore_case(a, b)))
}

/// The checks every successfully parsed message must pass.
pub fn check_message(msg: &Message) {
    let len = msg.as_bytes().len();
    assert!(msg.start_line_end() <= msg.head_end() && msg.head_end() <= len);
    match *msg.start_line() {
        StartLine::Request {
            method_span, uri, ..
        } => {
            inside(method_span, len);
            inside(uri, len);
            assert!(!msg.method_bytes().is_empty());
            let _ = Uri::parse_bytes(msg.request_uri_bytes()).map(|u| touch_uri(&u));
        }
        StartLine::Response { code, reason } => {
            inside(reason, len);
            assert!((100..=699).contains(&code));
        }
    }
    let mut previous_end = msg.start_line_end() as u32;
    for field in msg.headers() {
        inside(field.line, len);
        within(field.name_span, field.line);
        within(field.value, field.line);
        assert_eq!(
            field.line.start, previous_end,
            "header lines are not contiguous"
        );
        assert!(!field.name_span.is_empty());
        previous_end = field.line.end;
        decode(field.name, msg.slice(field.value));
    }
    assert_eq!(
        previous_end as usize,
        msg.head_end(),
        "headers do not reach the blank line"
    );
    let body = msg.body_span();
    inside(body, len);
    assert_eq!(body.end as usize, len, "the body does not end the message");
    if let Some(cl) = msg.content_length() {
        assert_eq!(cl, body.len(), "body length differs from Content-Length");
    }
    black_box(msg.body_bytes());
}
