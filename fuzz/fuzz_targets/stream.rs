//! Any bytes on a stream, cut into arbitrary chunks: framing never panics, the events do
//! not depend on how the bytes were chunked, and every frame is a prefix-free slice of
//! the input that parses (or is refused) without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sipwarden_wire::framing::{StreamEvent, StreamFramer};
use sipwarden_wire::{Limits, Message};

/// Drains the framer; `Err` is final and recorded as the last event.
fn drain(
    framer: &mut StreamFramer,
    out: &mut Vec<Result<StreamEvent, sipwarden_wire::ParseError>>,
) {
    loop {
        match framer.next_event() {
            Ok(StreamEvent::NeedMore) => return,
            Ok(ev) => out.push(Ok(ev)),
            Err(e) => {
                if out.last() != Some(&Err(e)) {
                    out.push(Err(e));
                }
                return;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, data)) = data.split_first() else {
        return;
    };
    let limits = Limits::default();

    let mut whole = StreamFramer::new(limits);
    whole.push(data);
    let mut expected = Vec::new();
    drain(&mut whole, &mut expected);

    // The same bytes in chunks of 1..=seed%64+1 bytes, sizes varying with the data.
    let mut chunked = StreamFramer::new(limits);
    let mut got = Vec::new();
    let mut rest = data;
    let mut step = usize::from(seed % 64) + 1;
    while !rest.is_empty() {
        let n = step.min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        chunked.push(chunk);
        drain(&mut chunked, &mut got);
        rest = tail;
        step = (step * 7 + usize::from(chunk.first().copied().unwrap_or(0))) % 64 + 1;
    }
    assert_eq!(got, expected, "framing depends on chunking");

    let mut framed = 0usize;
    for ev in &expected {
        match ev {
            Ok(StreamEvent::Message(frame)) => {
                framed += frame.len();
                if let Ok(msg) = Message::parse_frame(frame.clone(), &limits) {
                    sipwarden_fuzz::check_message(&msg);
                    assert_eq!(
                        msg.as_bytes().len(),
                        frame.len(),
                        "a frame is exactly one message"
                    );
                }
            }
            Ok(StreamEvent::Ping) => framed += 4,
            Ok(StreamEvent::Pong) => framed += 2,
            _ => {}
        }
    }
    assert!(
        framed + whole.buffered() <= data.len(),
        "framer produced bytes it was not given"
    );
});
