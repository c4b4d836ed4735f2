#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Datagram, stream and WebSocket framing.

use bytes::Bytes;
use proptest::prelude::*;
use sipwarden_wire::framing::{
    classify_datagram, parse_ws_message, Datagram, StreamEvent, StreamFramer, PING, PONG,
};
use sipwarden_wire::{Limits, Message, ParseError};

const BODY: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

fn invite() -> Vec<u8> {
    format!(
        "INVITE sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/TCP client.example.com:5060;branch=z9hG4bK74bf9\r\n\
         Max-Forwards: 70\r\n\
         From: Alice <sip:alice@example.com>;tag=9fxced76sl\r\n\
         To: Bob <sip:bob@example.com>\r\n\
         Call-ID: 3848276298220188511@client.example.com\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:alice@client.example.com;transport=tcp>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    )
    .into_bytes()
}

fn options() -> Vec<u8> {
    b"OPTIONS sip:example.com SIP/2.0\r\n\
      Via: SIP/2.0/TCP client.example.com;branch=z9hG4bKopt1\r\n\
      Max-Forwards: 70\r\n\
      From: <sip:alice@example.com>;tag=1\r\n\
      To: <sip:example.com>\r\n\
      Call-ID: opt-1\r\n\
      CSeq: 2 OPTIONS\r\n\
      l: 0\r\n\r\n"
        .to_vec()
}

/// Every event up to `NeedMore`.
fn drain(f: &mut StreamFramer) -> Vec<StreamEvent> {
    let mut out = Vec::new();
    loop {
        match f.next_event().unwrap() {
            StreamEvent::NeedMore => return out,
            e => out.push(e),
        }
    }
}

fn feed_chunks(chunks: &[&[u8]]) -> Vec<StreamEvent> {
    let mut f = StreamFramer::new(Limits::default());
    let mut out = Vec::new();
    for c in chunks {
        f.push(c);
        out.extend(drain(&mut f));
    }
    assert_eq!(f.buffered(), 0, "nothing left over");
    assert!(!f.has_partial());
    out
}

fn msg(b: &[u8]) -> StreamEvent {
    StreamEvent::Message(Bytes::copy_from_slice(b))
}

#[test]
fn pipelined_pair_in_one_push() {
    let (a, b) = (invite(), options());
    let all = [a.clone(), b.clone()].concat();
    assert_eq!(feed_chunks(&[&all]), vec![msg(&a), msg(&b)]);
}

#[test]
fn pipelined_pair_split_at_every_point() {
    let (a, b) = (invite(), options());
    let all = [a.clone(), b.clone()].concat();
    for i in 0..=all.len() {
        let events = feed_chunks(&[&all[..i], &all[i..]]);
        assert_eq!(events, vec![msg(&a), msg(&b)], "split at {i}");
    }
}

#[test]
fn pipelined_with_keep_alives_split_at_every_point() {
    let (a, b) = (invite(), options());
    let all = [PING, &a, PING, PONG, &b, PING].concat();
    let expected = vec![
        StreamEvent::Ping,
        msg(&a),
        StreamEvent::Ping,
        StreamEvent::Pong,
        msg(&b),
        StreamEvent::Ping,
    ];
    for i in 0..=all.len() {
        assert_eq!(
            feed_chunks(&[&all[..i], &all[i..]]),
            expected,
            "split at {i}"
        );
    }
}

#[test]
fn byte_by_byte() {
    let (a, b) = (invite(), options());
    let all = [a.clone(), PING.to_vec(), b.clone()].concat();
    let chunks: Vec<&[u8]> = all.chunks(1).collect();
    assert_eq!(
        feed_chunks(&chunks),
        vec![msg(&a), StreamEvent::Ping, msg(&b)]
    );
}

#[test]
fn frames_parse_to_exactly_themselves() {
    let all = [invite(), options()].concat();
    for e in feed_chunks(&[&all]) {
        let StreamEvent::Message(frame) = e else {
            panic!("unexpected {e:?}")
        };
        let m = Message::parse_frame(frame.clone(), &Limits::default()).unwrap();
        assert_eq!(m.as_bytes(), &frame[..]);
    }
}

#[test]
fn partial_message_is_reported() {
    let a = invite();
    let mut f = StreamFramer::new(Limits::default());
    f.push(&a[..40]);
    assert_eq!(f.next_event().unwrap(), StreamEvent::NeedMore);
    assert!(f.has_partial());
    assert_eq!(f.buffered(), 40);
    // Cut inside the body.
    f.push(&a[40..a.len() - 3]);
    assert_eq!(f.next_event().unwrap(), StreamEvent::NeedMore);
    assert!(f.has_partial());
    f.push(&a[a.len() - 3..]);
    assert_eq!(f.next_event().unwrap(), msg(&a));
    assert_eq!(f.next_event().unwrap(), StreamEvent::NeedMore);
    assert!(!f.has_partial());
}

#[test]
fn ping_and_pong() {
    let mut f = StreamFramer::new(Limits::default());
    f.push(b"\r\n\r\n");
    assert_eq!(f.next_event().unwrap(), StreamEvent::Ping);
    // A lone CRLF may be half a ping: wait.
    f.push(b"\r\n");
    assert_eq!(f.next_event().unwrap(), StreamEvent::NeedMore);
    assert!(f.has_partial());
    f.push(b"\r\n");
    assert_eq!(f.next_event().unwrap(), StreamEvent::Ping);
    // Once we sent a ping, a lone CRLF is the pong.
    f.expect_pong();
    f.push(b"\r\n");
    assert_eq!(f.next_event().unwrap(), StreamEvent::Pong);
    assert_eq!(f.next_event().unwrap(), StreamEvent::NeedMore);
    // Without expecting one, a CRLF followed by a message is a pong too.
    f.push(b"\r\nOPT");
    assert_eq!(f.next_event().unwrap(), StreamEvent::Pong);
    assert_eq!(f.next_event().unwrap(), StreamEvent::NeedMore);
    assert_eq!(f.buffered(), 3);
}

#[test]
fn many_pings() {
    let all = PING.repeat(3);
    assert_eq!(feed_chunks(&[&all]), vec![StreamEvent::Ping; 3]);
}

fn fail_with(bytes: &[u8], limits: Limits) -> (ParseError, StreamFramer) {
    let mut f = StreamFramer::new(limits);
    f.push(bytes);
    loop {
        match f.next_event() {
            Ok(StreamEvent::NeedMore) => panic!("no error"),
            Ok(_) => {}
            Err(e) => return (e, f),
        }
    }
}

#[test]
fn missing_content_length() {
    let bytes = b"OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCall-ID: x\r\n\r\n";
    let (e, f) = fail_with(bytes, Limits::default());
    assert_eq!(e, ParseError::MissingContentLength);
    assert_eq!(e.status().0, 400);
    // The head is kept to address the 400.
    let head = f.refused_head().unwrap().clone();
    assert_eq!(&head[..], &bytes[..]);
    let m = Message::index_for_error_reply(head, &Limits::default()).unwrap();
    assert_eq!(
        m.header(sipwarden_wire::HeaderName::CallId),
        Some(&b"x"[..])
    );
}

#[test]
fn errors_are_final() {
    let bytes = b"OPTIONS sip:example.com SIP/2.0\r\nCall-ID: x\r\n\r\n";
    let (e, mut f) = fail_with(bytes, Limits::default());
    f.push(&options());
    assert_eq!(f.next_event(), Err(e));
    assert_eq!(f.buffered(), 0);
    assert!(!f.has_partial());
}

#[test]
fn bad_content_lengths() {
    for (cl, want) in [
        ("Content-Length: abc\r\n", ParseError::BadContentLength),
        ("Content-Length: -1\r\n", ParseError::BadContentLength),
        ("Content-Length: +1\r\n", ParseError::BadContentLength),
        ("Content-Length: \r\n", ParseError::BadContentLength),
        ("Content-Length: 1 2\r\n", ParseError::BadContentLength),
        ("Content-Length: 1\r\n 2\r\n", ParseError::BadContentLength),
        (
            "Content-Length: 12345678901\r\n",
            ParseError::BadContentLength,
        ),
        (
            "Content-Length: 0\r\nl: 0\r\n",
            ParseError::ConflictingContentLength,
        ),
    ] {
        let bytes = format!("OPTIONS sip:example.com SIP/2.0\r\nCall-ID: x\r\n{cl}\r\n");
        let (e, _) = fail_with(bytes.as_bytes(), Limits::default());
        assert_eq!(e, want, "{cl:?}");
    }
}

#[test]
fn content_length_spellings_agree_with_the_parser() {
    for cl in [
        "Content-Length: 4",
        "content-length:4",
        "CONTENT-LENGTH  :  4  ",
        "l: 4",
        "L:4",
        "Content-Length:\r\n 4",
        "Content-Length: 004",
    ] {
        let frame = format!(
            "OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\
             From: <sip:a@example.com>;tag=1\r\nTo: <sip:example.com>\r\nCall-ID: x\r\n\
             CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n{cl}\r\n\r\nbody"
        );
        let all = [frame.as_bytes(), &options()].concat();
        let events = feed_chunks(&[&all]);
        assert_eq!(
            events,
            vec![msg(frame.as_bytes()), msg(&options())],
            "{cl:?}"
        );
        let m = Message::parse_frame(Bytes::from(frame.clone()), &Limits::default())
            .unwrap_or_else(|e| panic!("{cl:?}: {e}"));
        assert_eq!(m.body(), b"body");
    }
}

#[test]
fn oversized_head() {
    let limits = Limits {
        max_head_size: 256,
        ..Limits::default()
    };
    let mut bytes = b"OPTIONS sip:example.com SIP/2.0\r\n".to_vec();
    while bytes.len() < 300 {
        bytes.extend_from_slice(b"X-Filler: abcdefghijklmnopqrstuvwxyz\r\n");
    }
    let (e, f) = fail_with(&bytes, limits);
    assert_eq!(e, ParseError::MessageTooLarge);
    assert!(f.refused_head().is_none());
    // Exactly at the limit is fine.
    let mut head = b"OPTIONS sip:example.com SIP/2.0\r\nl: 0\r\n".to_vec();
    let pad = 256 - head.len() - "X: \r\n\r\n".len();
    head.extend_from_slice(format!("X: {}\r\n\r\n", "a".repeat(pad)).as_bytes());
    assert_eq!(head.len(), 256);
    let mut f = StreamFramer::new(limits);
    f.push(&head);
    assert_eq!(f.next_event().unwrap(), msg(&head));
}

#[test]
fn oversized_head_fed_slowly() {
    let limits = Limits {
        max_head_size: 256,
        ..Limits::default()
    };
    let mut f = StreamFramer::new(limits);
    f.push(b"OPTIONS sip:example.com SIP/2.0\r\n");
    let mut result = Ok(StreamEvent::NeedMore);
    for _ in 0..300 {
        f.push(b"a");
        result = f.next_event();
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(ParseError::MessageTooLarge));
    assert_eq!(f.buffered(), 0);
}

#[test]
fn oversized_message_refused_before_body_arrives() {
    let limits = Limits {
        max_message_size: 1000,
        ..Limits::default()
    };
    let head = "OPTIONS sip:example.com SIP/2.0\r\nCall-ID: x\r\nContent-Length: 5000\r\n\r\n";
    let (e, f) = fail_with(head.as_bytes(), limits);
    assert_eq!(e, ParseError::MessageTooLarge);
    assert_eq!(e.status().0, 513);
    assert_eq!(&f.refused_head().unwrap()[..], head.as_bytes());
}

#[test]
fn garbage_before_message_is_framed_and_refused_by_parser() {
    // A bare CR is not a keep-alive; the framer hands the bytes to the parser, which
    // refuses them.
    let bytes = [b"\r\r\n".as_slice(), &options()].concat();
    let mut f = StreamFramer::new(Limits::default());
    f.push(&bytes);
    let StreamEvent::Message(frame) = f.next_event().unwrap() else {
        panic!()
    };
    assert!(Message::parse_frame(frame, &Limits::default()).is_err());
}

// --- datagrams (RFC 3261 §18.3) ---

#[test]
fn datagram_keep_alives() {
    for ka in [PONG, PING] {
        assert!(matches!(
            classify_datagram(Bytes::from_static(ka), &Limits::default()),
            Ok(Datagram::KeepAlive)
        ));
    }
    assert_eq!(
        classify_datagram(Bytes::from_static(b"\r\n\r\n\r\n"), &Limits::default()).unwrap_err(),
        ParseError::Empty
    );
    assert_eq!(
        classify_datagram(Bytes::new(), &Limits::default()).unwrap_err(),
        ParseError::Empty
    );
}

#[test]
fn datagram_message() {
    let Datagram::Message(m) =
        classify_datagram(Bytes::from(invite()), &Limits::default()).unwrap()
    else {
        panic!()
    };
    assert_eq!(m.body(), BODY.as_bytes());
}

#[test]
fn datagram_bytes_past_content_length_are_discarded() {
    let mut bytes = invite();
    bytes.extend_from_slice(b"trailing garbage");
    let Datagram::Message(m) = classify_datagram(Bytes::from(bytes), &Limits::default()).unwrap()
    else {
        panic!()
    };
    assert_eq!(m.body(), BODY.as_bytes());
    assert_eq!(m.as_bytes(), &invite()[..]);
}

#[test]
fn datagram_shorter_than_content_length_is_400() {
    let bytes = invite();
    let cut = Bytes::copy_from_slice(&bytes[..bytes.len() - 1]);
    let e = classify_datagram(cut, &Limits::default()).unwrap_err();
    assert_eq!(e, ParseError::ContentLengthTooLarge);
    assert_eq!(e.status().0, 400);
}

#[test]
fn datagram_without_content_length_body_runs_to_end() {
    let text = invite();
    let text = String::from_utf8(text).unwrap();
    let without = text.replace(&format!("Content-Length: {}\r\n", BODY.len()), "");
    let Datagram::Message(m) = classify_datagram(Bytes::from(without), &Limits::default()).unwrap()
    else {
        panic!()
    };
    assert_eq!(m.body(), BODY.as_bytes());
    assert_eq!(m.content_length(), None);
}

#[test]
fn datagram_too_large_is_513() {
    let limits = Limits {
        max_message_size: 100,
        ..Limits::default()
    };
    let e = classify_datagram(Bytes::from(invite()), &limits).unwrap_err();
    assert_eq!(e.status().0, 513);
}

// --- WebSocket (RFC 7118) ---

#[test]
fn ws_message_with_consistent_content_length() {
    let m = parse_ws_message(Bytes::from(invite()), &Limits::default()).unwrap();
    assert_eq!(m.body(), BODY.as_bytes());
}

#[test]
fn ws_message_without_content_length() {
    let text = String::from_utf8(invite()).unwrap();
    let without = text.replace(&format!("Content-Length: {}\r\n", BODY.len()), "");
    let m = parse_ws_message(Bytes::from(without), &Limits::default()).unwrap();
    assert_eq!(m.body(), BODY.as_bytes());
}

#[test]
fn ws_message_with_inconsistent_content_length() {
    let mut longer = invite();
    longer.extend_from_slice(&options());
    assert_eq!(
        parse_ws_message(Bytes::from(longer), &Limits::default()).unwrap_err(),
        ParseError::BadContentLength
    );
    let bytes = invite();
    let shorter = Bytes::copy_from_slice(&bytes[..bytes.len() - 2]);
    assert_eq!(
        parse_ws_message(shorter, &Limits::default()).unwrap_err(),
        ParseError::ContentLengthTooLarge
    );
}

// --- property: any chunking of any sequence yields the same events ---

#[derive(Debug, Clone)]
enum Item {
    Invite,
    Options,
    Ping,
    Pong,
}

fn item_strategy() -> impl Strategy<Value = Item> {
    prop_oneof![
        Just(Item::Invite),
        Just(Item::Options),
        Just(Item::Ping),
        Just(Item::Pong),
    ]
}

proptest! {
    #[test]
    fn any_chunking_yields_the_same_events(
        items in prop::collection::vec(item_strategy(), 1..8),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        // A pong right before a ping would read as a ping plus a pong; a trailing pong
        // waits for its next byte. Neither is what this property is about.
        let mut items = items;
        let mut i = 0;
        while i + 1 < items.len() {
            if matches!(items[i], Item::Pong) && matches!(items[i + 1], Item::Ping | Item::Pong) {
                items.remove(i);
            } else {
                i += 1;
            }
        }
        if matches!(items.last(), Some(Item::Pong)) {
            items.pop();
        }
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for it in &items {
            let (b, e) = match it {
                Item::Invite => (invite(), msg(&invite())),
                Item::Options => (options(), msg(&options())),
                Item::Ping => (PING.to_vec(), StreamEvent::Ping),
                Item::Pong => (PONG.to_vec(), StreamEvent::Pong),
            };
            bytes.extend_from_slice(&b);
            expected.push(e);
        }
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        let chunks: Vec<&[u8]> = points.windows(2).map(|w| &bytes[w[0]..w[1]]).collect();
        prop_assert_eq!(feed_chunks(&chunks), expected);
    }
}

proptest! {
    /// Mutated streams never panic the framer, and every frame it emits either is
    /// refused by the parser or parses to exactly its own bytes: framer and parser
    /// never disagree about where a message ends.
    #[test]
    fn framer_and_parser_agree_on_mutated_streams(
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(
                b"\r\n \t:0123456789lL,;\"<>-".to_vec())),
            0..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = [invite(), PING.to_vec(), options(), options()].concat();
        for (at, b) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *b;
        }
        let cut = cut.index(bytes.len() + 1);
        let mut f = StreamFramer::new(Limits::default());
        for chunk in [&bytes[..cut], &bytes[cut..]] {
            f.push(chunk);
            loop {
                match f.next_event() {
                    Ok(StreamEvent::NeedMore) | Err(_) => break,
                    Ok(StreamEvent::Message(frame)) => {
                        if let Ok(m) = Message::parse_frame(frame.clone(), &Limits::default()) {
                            prop_assert_eq!(m.as_bytes().len(), frame.len());
                        }
                    }
                    Ok(_) => {}
                }
            }
        }
    }
}
