#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Properties over generated messages:
//!
//! - build → serialize → parse → serialize is a fixpoint: a message written by the
//!   builders parses, an editor with no edits gives back exactly its bytes, and parsing
//!   those again yields the same typed values. The same holds for a response built from
//!   the parsed request, which copies its fields byte-exact.
//! - a splice edit changes exactly the bytes it targets: the output is the original with
//!   one range replaced, predicted independently here from the message index, and it
//!   re-parses to a message whose untouched fields are byte-identical.

use bytes::Bytes;
use proptest::prelude::*;
use sipwarden_wire::build::{response_to, RequestBuilder};
use sipwarden_wire::edit::Editor;
use sipwarden_wire::{HeaderName, Message, Method, Uri};

/// What the generated request was built from, to check the parse against.
#[derive(Debug, Clone)]
struct Spec {
    method: &'static str,
    ruri: String,
    vias: Vec<(&'static str, String, String)>,
    from: String,
    from_tag: String,
    to: String,
    call_id: String,
    cseq: u32,
    contact: Option<String>,
    extra: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

fn token(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{{0,{max}}}")).unwrap()
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z]([a-z0-9-]{0,6}[a-z0-9])?){0,3}",
        (0u8..=255, 0u8..=255, 0u8..=255, 1u8..=254)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        Just("[2001:db8::10]".to_owned()),
        Just("[::ffff:192.0.2.1]".to_owned()),
    ]
}

fn sip_uri() -> impl Strategy<Value = String> {
    (
        prop::option::of("[a-z0-9][a-z0-9._+-]{0,10}"),
        host(),
        prop::option::of(1u16..),
        prop::option::of(prop_oneof![
            Just(";transport=tcp"),
            Just(";lr"),
            Just(";user=phone"),
            Just(";x-unknown=1")
        ]),
    )
        .prop_map(|(user, host, port, param)| {
            let mut s = String::from("sip:");
            if let Some(u) = user {
                s.push_str(&u);
                s.push('@');
            }
            s.push_str(&host);
            if let Some(p) = port {
                s.push_str(&format!(":{p}"));
            }
            s.push_str(param.unwrap_or(""));
            s
        })
}

fn spec() -> impl Strategy<Value = Spec> {
    let method = prop_oneof![
        Just("INVITE"),
        Just("REGISTER"),
        Just("OPTIONS"),
        Just("BYE"),
        Just("MESSAGE"),
        Just("NEWMETHOD")
    ];
    let via = (
        prop_oneof![Just("UDP"), Just("TCP"), Just("TLS"), Just("WS")],
        host(),
        token(20).prop_map(|t| format!("z9hG4bK{t}")),
    );
    let extra = (
        "X-[A-Za-z][A-Za-z0-9-]{0,10}",
        "[ -~&&[^,]]{1,40}".prop_map(|v: String| v.trim().to_owned()),
    )
        .prop_filter("non-empty value", |(_, v)| !v.is_empty());
    (
        method,
        sip_uri(),
        prop::collection::vec(via, 1..4),
        (sip_uri(), token(16), sip_uri()),
        ("[A-Za-z0-9]{1,24}(@[a-z0-9.]{1,16})?", 0u32..(1 << 31)),
        prop::option::of(sip_uri()),
        prop::collection::vec(extra, 0..4),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
    )
        .prop_map(
            |(method, ruri, vias, (from, from_tag, to), (call_id, cseq), contact, extra, body)| {
                Spec {
                    method,
                    ruri,
                    vias,
                    from,
                    from_tag,
                    to,
                    call_id,
                    cseq,
                    contact,
                    extra,
                    body,
                }
            },
        )
}

fn build(spec: &Spec) -> Bytes {
    let mut b = RequestBuilder::new(spec.method, &spec.ruri);
    for (transport, sent_by, branch) in &spec.vias {
        b = b.via(transport, sent_by, branch);
    }
    b = b
        .from(&spec.from, &spec.from_tag)
        .to(&spec.to)
        .call_id(&spec.call_id)
        .cseq(spec.cseq);
    if let Some(c) = &spec.contact {
        b = b.contact(c);
    }
    for (name, value) in &spec.extra {
        b = b.header(name, value);
    }
    if let Some(body) = &spec.body {
        b = b.body("application/octet-stream", Bytes::from(body.clone()));
    }
    b.build()
        .unwrap_or_else(|e| panic!("{spec:?} does not build: {e}"))
}

/// The typed values a proxy reads, as owned data, to compare two parses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Digest {
    method: Vec<u8>,
    ruri: String,
    branches: Vec<String>,
    from_tag: Option<String>,
    call_id: String,
    cseq: u32,
    body: Vec<u8>,
}

fn digest(m: &Message) -> Digest {
    Digest {
        method: m.method_bytes().to_vec(),
        ruri: m.request_uri().map(|u| u.to_string()).unwrap_or_default(),
        branches: m
            .vias()
            .map(|v| v.unwrap().branch.unwrap_or_default().to_owned())
            .collect(),
        from_tag: m.from().unwrap().tag.map(str::to_owned),
        call_id: m.call_id().unwrap().to_owned(),
        cseq: m.cseq().unwrap().seq,
        body: m.body().to_vec(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// build → serialize → parse → serialize is a fixpoint, and the parse reads back
    /// what was built.
    #[test]
    fn build_parse_serialize_is_a_fixpoint(spec in spec()) {
        let built = build(&spec);
        let msg = Message::parse(built.clone()).unwrap();
        msg.validate_request().unwrap();

        let again = Editor::new(&msg).finish();
        prop_assert_eq!(&again, &built, "a no-op edit changed the bytes");
        let reparsed = Message::parse(again).unwrap();
        prop_assert_eq!(digest(&reparsed), digest(&msg));

        prop_assert_eq!(msg.method_bytes(), spec.method.as_bytes());
        let ruri = Uri::parse(&spec.ruri).unwrap();
        prop_assert!(msg.request_uri().unwrap().equivalent(&ruri));
        let branches: Vec<String> = spec.vias.iter().map(|v| v.2.clone()).collect();
        prop_assert_eq!(digest(&msg).branches, branches);
        prop_assert_eq!(msg.from().unwrap().tag, Some(spec.from_tag.as_str()));
        prop_assert_eq!(msg.to().unwrap().tag, None);
        prop_assert_eq!(msg.call_id().unwrap(), spec.call_id.as_str());
        let cseq = msg.cseq().unwrap();
        prop_assert_eq!(cseq.seq, spec.cseq);
        prop_assert_eq!(cseq.method_raw, spec.method);
        prop_assert_eq!(msg.body(), spec.body.as_deref().unwrap_or_default());
        for (name, value) in &spec.extra {
            prop_assert!(msg.other_header_values(name).any(|v| v == value.as_bytes()));
        }
    }

    /// A response built from the parsed request copies Via, From, Call-ID and CSeq
    /// byte-exact, adds the To tag, and is itself a fixpoint.
    #[test]
    fn response_to_parsed_request_is_a_fixpoint(spec in spec(), code in 100u16..700, tag in token(12)) {
        let req = Message::parse(build(&spec)).unwrap();
        let built = response_to(&req, code, "Reason").to_tag(&tag).build().unwrap();
        let resp = Message::parse(built.clone()).unwrap();
        resp.validate_response().unwrap();
        prop_assert_eq!(&Editor::new(&resp).finish(), &built);
        prop_assert_eq!(resp.status_code(), Some(code));
        let copied = [HeaderName::Via, HeaderName::From, HeaderName::CallId, HeaderName::CSeq];
        for name in copied {
            let a: Vec<&[u8]> = req.header_values(name).collect();
            let b: Vec<&[u8]> = resp.header_values(name).collect();
            prop_assert_eq!(a, b, "{:?} not copied byte-exact", name);
        }
        let to_tag = resp.to().unwrap().tag.map(str::to_owned);
        prop_assert_eq!(to_tag, (code > 100).then(|| tag.clone()));
    }

    /// One splice edit: the output is the original with exactly the targeted range
    /// replaced, and it re-parses with every other field byte-identical.
    #[test]
    fn a_splice_changes_only_its_range(spec in spec(), which in 0usize..7, pick in any::<prop::sample::Index>()) {
        let built = build(&spec);
        let msg = Message::parse(built.clone()).unwrap();
        let orig = msg.as_bytes();
        let mut ed = Editor::new(&msg);
        let splice_at = |start: usize, end: usize, text: &[u8]| -> Vec<u8> {
            let mut v = orig[..start].to_vec();
            v.extend_from_slice(text);
            v.extend_from_slice(&orig[end..]);
            v
        };
        let fields = msg.headers();
        let field = fields[pick.index(fields.len())];
        let expected = match which {
            0 => {
                let via = b"SIP/2.0/TLS proxy.example.com;branch=z9hG4bKprop";
                ed.insert_via(via).unwrap();
                let at = msg.fields(HeaderName::Via).next().unwrap().line.start as usize;
                splice_at(at, at, b"Via: SIP/2.0/TLS proxy.example.com;branch=z9hG4bKprop\r\n")
            }
            1 => {
                let n = ed.decrement_max_forwards().unwrap();
                let f = msg.fields(HeaderName::MaxForwards).next().unwrap();
                splice_at(f.value.start as usize, f.value.end as usize, n.to_string().as_bytes())
            }
            2 => {
                ed.set_request_uri(b"sip:rewritten@example.net;lr").unwrap();
                let sipwarden_wire::StartLine::Request { uri, .. } = *msg.start_line() else {
                    unreachable!()
                };
                splice_at(uri.start as usize, uri.end as usize, b"sip:rewritten@example.net;lr")
            }
            3 => {
                ed.add_header("X-Added", b"yes").unwrap();
                splice_at(msg.head_end(), msg.head_end(), b"X-Added: yes\r\n")
            }
            4 => {
                ed.add_record_route(b"<sip:rr.example.com;lr>").unwrap();
                splice_at(msg.head_end(), msg.head_end(), b"Record-Route: <sip:rr.example.com;lr>\r\n")
            }
            5 if field.name != HeaderName::ContentLength => {
                ed.remove_field(pick.index(fields.len())).unwrap();
                splice_at(field.line.start as usize, field.line.end as usize, b"")
            }
            6 if field.name != HeaderName::ContentLength => {
                ed.replace_value(pick.index(fields.len()), b"replaced").unwrap();
                splice_at(field.value.start as usize, field.value.end as usize, b"replaced")
            }
            _ => orig.to_vec(),
        };
        let out = ed.finish();
        prop_assert_eq!(out.as_ref(), expected.as_slice());

        // The result re-parses, and fields the edit did not target keep their bytes.
        let edited = Message::parse(out).unwrap();
        if which != 2 {
            prop_assert_eq!(edited.request_uri_bytes(), msg.request_uri_bytes());
        }
        prop_assert_eq!(edited.body(), msg.body());
        if which < 5 {
            prop_assert_eq!(edited.header(HeaderName::CallId), msg.header(HeaderName::CallId));
            prop_assert_eq!(edited.header(HeaderName::From), msg.header(HeaderName::From));
        }
    }
}

/// An ordinary request: the editor's output for a no-op edit is the input, bit for bit,
/// even with compact names, folding and an unknown header.
#[test]
fn no_op_edit_keeps_odd_formatting() {
    let raw = b"OPTIONS sip:b@example.com SIP/2.0\r\n\
v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n\
Max-Forwards:   70\r\n\
f: <sip:a@example.com>\r\n ;tag=1\r\n\
t: <sip:b@example.com>\r\n\
i: c1\r\n\
CSeq: 1 OPTIONS\r\n\
X-Odd:  ;;,,\r\n\
l: 0\r\n\r\n";
    let msg = Message::parse(&raw[..]).unwrap();
    assert_eq!(Editor::new(&msg).finish().as_ref(), &raw[..]);
    assert_eq!(msg.method(), Some(Method::Options));
}

/// A URI with two parameters of the same unknown name parses, so it must be equivalent
/// to itself (RFC 3261 §19.1.4 comparison is reflexive). Found by the `uri` fuzz target.
#[test]
#[ignore = "BUG: SipUri::equivalent compares each parameter with the first namesake only"]
fn uri_with_repeated_unknown_parameter_is_equivalent_to_itself() {
    for s in ["sip:a@example.com;x=1;x=2", "sip:a@example.com;m;%4d=1"] {
        let u = Uri::parse(s).unwrap();
        assert!(u.equivalent(&u), "{s}");
    }
}
