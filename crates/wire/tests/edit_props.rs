#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Property: random splice edits keep every byte they do not target identical, and the
//! result re-parses. A line-level model predicts the edited message: untouched field
//! lines must come out byte-exact and in order, inserted lines exactly as specified.

use bytes::Bytes;
use proptest::prelude::*;
use proptest::sample::Index;
use sipwarden_wire::edit::{EditError, Editor};
use sipwarden_wire::{HeaderName, Message};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Via,
    Route,
    RecordRoute,
    Path,
    MaxForwards,
    ContentType,
    ContentLength,
    Other,
}

/// Optional header lines: (text, kind, holds several values).
const POOL: &[(&str, Kind, bool)] = &[
    (
        "Via: SIP/2.0/UDP h1.example.com;branch=z9hG4bK1\r\n",
        Kind::Via,
        false,
    ),
    (
        "v: SIP/2.0/TCP h2.example.com;branch=z9hG4bK2, SIP/2.0/UDP h3;branch=z9hG4bK3\r\n",
        Kind::Via,
        true,
    ),
    (
        "Via: SIP/2.0/UDP h4;x=\"a,b\";branch=z9hG4bK4 ,\r\n SIP/2.0/UDP h5;branch=z9hG4bK5\r\n",
        Kind::Via,
        true,
    ),
    (
        "VIA  :SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK6\r\n",
        Kind::Via,
        false,
    ),
    ("Route: <sip:p1.example.com;lr>\r\n", Kind::Route, false),
    (
        "Route: <sip:a,b@p2.example.com;lr>, \"Proxy, Two\" <sip:p3.example.com;lr>\r\n",
        Kind::Route,
        true,
    ),
    (
        "Record-Route: <sip:rr.example.com;lr>\r\n",
        Kind::RecordRoute,
        false,
    ),
    ("Path: <sip:edge.example.com;lr>\r\n", Kind::Path, false),
    ("X-Unknown:   spaced   value  \r\n", Kind::Other, false),
    ("Subject: folded\r\n\tline\r\n", Kind::Other, false),
    ("User-Agent: t\r\n", Kind::Other, false),
    ("Supported: a, b,c\r\n", Kind::Other, false),
];

const REQUIRED: &[&str] = &[
    "From: \"A\" <sip:a@example.com>;tag=f\r\n",
    "To: <sip:b@example.com>\r\n",
    "Call-ID: id@example.com\r\n",
    "CSeq: 7 INVITE\r\n",
];

#[derive(Debug, Clone)]
struct Spec {
    request: bool,
    lines: Vec<usize>,
    max_forwards: Option<u8>,
    content_type: bool,
    content_length: Option<bool>, // Some(compact?)
    body: Vec<u8>,
}

fn spec_strategy() -> impl Strategy<Value = Spec> {
    (
        any::<bool>(),
        prop::collection::vec(0..POOL.len(), 0..10),
        prop::option::of(prop_oneof![Just(0u8), Just(1u8), Just(70u8), any::<u8>()]),
        any::<bool>(),
        prop::option::of(any::<bool>()),
        prop::collection::vec(
            prop_oneof![Just(b'a'), Just(b'\r'), Just(b'\n'), Just(b' ')],
            0..20,
        ),
    )
        .prop_map(
            |(request, lines, max_forwards, content_type, content_length, body)| Spec {
                request,
                lines,
                max_forwards,
                content_type,
                content_length,
                body,
            },
        )
}

/// One header line of the model.
#[derive(Debug, Clone)]
struct Line {
    text: String,
    kind: Kind,
    multi: bool,
}

fn render(spec: &Spec) -> (String, Vec<Line>) {
    let start = if spec.request {
        "INVITE sip:bob@example.com SIP/2.0\r\n".to_owned()
    } else {
        "SIP/2.0 180 Ringing\r\n".to_owned()
    };
    let mut lines: Vec<Line> = Vec::new();
    for (i, &p) in spec.lines.iter().enumerate() {
        let (text, kind, multi) = POOL[p];
        lines.push(Line {
            text: text.to_owned(),
            kind,
            multi,
        });
        // Interleave the required fields so edits land between them.
        if let Some(r) = REQUIRED.get(i) {
            lines.push(Line {
                text: (*r).to_owned(),
                kind: Kind::Other,
                multi: false,
            });
        }
    }
    for r in REQUIRED.iter().skip(spec.lines.len()) {
        lines.push(Line {
            text: (*r).to_owned(),
            kind: Kind::Other,
            multi: false,
        });
    }
    if let Some(mf) = spec.max_forwards {
        lines.push(Line {
            text: format!("Max-Forwards: {mf}\r\n"),
            kind: Kind::MaxForwards,
            multi: false,
        });
    }
    if spec.content_type {
        lines.push(Line {
            text: "Content-Type: text/plain\r\n".into(),
            kind: Kind::ContentType,
            multi: false,
        });
    }
    if let Some(compact) = spec.content_length {
        let name = if compact { "l" } else { "Content-Length" };
        lines.push(Line {
            text: format!("{name}: {}\r\n", spec.body.len()),
            kind: Kind::ContentLength,
            multi: false,
        });
    }
    (start, lines)
}

#[derive(Debug, Clone)]
enum Op {
    InsertVia,
    RemoveTopVia,
    DecrementMaxForwards,
    PopRoute,
    AddRecordRoute,
    AddPath,
    SetUri,
    AddHeader,
    RemoveField(Index),
    ReplaceValue(Index),
    RemoveRecordRoutes,
    SetBody(bool, Vec<u8>),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::InsertVia),
        Just(Op::RemoveTopVia),
        Just(Op::DecrementMaxForwards),
        Just(Op::PopRoute),
        Just(Op::AddRecordRoute),
        Just(Op::AddPath),
        Just(Op::SetUri),
        Just(Op::AddHeader),
        any::<Index>().prop_map(Op::RemoveField),
        any::<Index>().prop_map(Op::ReplaceValue),
        Just(Op::RemoveRecordRoutes),
        (any::<bool>(), prop::collection::vec(b'a'..=b'z', 0..30))
            .prop_map(|(ct, b)| Op::SetBody(ct, b)),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Original,
    /// Rewritten in place: one line whose content the model does not predict.
    Modified,
    Removed,
}

/// The model of the edited message.
struct Model {
    lines: Vec<Line>,
    state: Vec<State>,
    /// Exact lines inserted before original line `i`.
    before: Vec<Vec<String>>,
    /// Exact lines inserted before the blank line, in order.
    end: Vec<String>,
    uri: Option<String>,
    body: Option<Vec<u8>>,
}

impl Model {
    fn first(&self, kind: Kind) -> Option<usize> {
        self.lines.iter().position(|l| l.kind == kind)
    }

    /// Touches line `i` in place; Overlap if an earlier edit already did.
    fn touch(&mut self, i: usize, to: State) -> Result<(), EditError> {
        if self.state[i] != State::Original {
            return Err(EditError::Overlap);
        }
        self.state[i] = to;
        Ok(())
    }

    fn insert_top(&mut self, kind: Kind, line: String, default_end: bool) {
        match self.first(kind) {
            Some(i) => self.before[i].push(line),
            None if default_end => self.end.push(line),
            None => self.before[0].push(line),
        }
    }
}

fn value_of(line: &str) -> &str {
    let colon = line.find(':').unwrap();
    line[colon + 1..].trim_matches(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n')
}

/// Applies `op` to the editor and the model; returns the editor's result.
fn apply(ed: &mut Editor<'_>, model: &mut Model, spec: &Spec, op: &Op) -> Result<(), EditError> {
    let n = model.lines.len();
    match op {
        Op::InsertVia => {
            let v = "SIP/2.0/TLS new.example.com;branch=z9hG4bKnew";
            ed.insert_via(v.as_bytes())?;
            model.insert_top(Kind::Via, format!("Via: {v}\r\n"), false);
        }
        Op::RemoveTopVia => {
            let got = ed.remove_top_via();
            let Some(i) = model.first(Kind::Via) else {
                assert_eq!(got, Err(EditError::Missing("Via")));
                return got;
            };
            let want = model.touch(
                i,
                if model.lines[i].multi {
                    State::Modified
                } else {
                    State::Removed
                },
            );
            assert_eq!(got, want);
        }
        Op::DecrementMaxForwards => {
            let got = ed.decrement_max_forwards();
            match (model.first(Kind::MaxForwards), spec.max_forwards) {
                (Some(i), Some(mf)) => {
                    // The original value is checked before the splice.
                    if mf == 0 {
                        assert_eq!(got, Err(EditError::MaxForwardsExhausted));
                    } else if model.state[i] != State::Original {
                        assert_eq!(got, Err(EditError::Overlap));
                    } else {
                        assert_eq!(got, Ok(u32::from(mf) - 1));
                        model.state[i] = State::Modified;
                    }
                }
                _ => {
                    assert_eq!(got, Ok(70));
                    model.end.push("Max-Forwards: 70\r\n".into());
                }
            }
            return got.map(|_| ());
        }
        Op::PopRoute => {
            let got = ed.pop_route();
            let Some(i) = model.first(Kind::Route) else {
                assert_eq!(got, Err(EditError::Missing("Route")));
                return got.map(|_| ());
            };
            let line = model.lines[i].clone();
            let want = model.touch(
                i,
                if line.multi {
                    State::Modified
                } else {
                    State::Removed
                },
            );
            match want {
                Ok(()) => {
                    let popped = got.unwrap();
                    let value = value_of(&line.text);
                    assert!(value.starts_with(std::str::from_utf8(&popped).unwrap()));
                    assert!(!popped.is_empty());
                }
                Err(e) => assert_eq!(got, Err(e)),
            }
        }
        Op::AddRecordRoute => {
            let v = "<sip:me.example.com;lr>";
            ed.add_record_route(v.as_bytes())?;
            model.insert_top(Kind::RecordRoute, format!("Record-Route: {v}\r\n"), true);
        }
        Op::AddPath => {
            let v = "<sip:me.example.com;lr;ob>";
            ed.add_path(v.as_bytes())?;
            model.insert_top(Kind::Path, format!("Path: {v}\r\n"), true);
        }
        Op::SetUri => {
            let got = ed.set_request_uri(b"sips:bob@192.0.2.1:5061");
            if spec.request {
                if model.uri.is_some() {
                    assert_eq!(got, Err(EditError::Overlap));
                } else {
                    assert_eq!(got, Ok(()));
                    model.uri = Some("sips:bob@192.0.2.1:5061".into());
                }
            } else {
                assert_eq!(got, Err(EditError::NotARequest));
            }
            return got;
        }
        Op::AddHeader => {
            ed.add_header("X-Added", b"v a l")?;
            model.end.push("X-Added: v a l\r\n".into());
        }
        Op::RemoveField(idx) => {
            let i = idx.index(n);
            let got = ed.remove_field(i);
            if model.lines[i].kind == Kind::ContentLength {
                assert_eq!(got, Err(EditError::ContentLengthManaged));
            } else {
                assert_eq!(got, model.touch(i, State::Removed));
            }
            return got;
        }
        Op::ReplaceValue(idx) => {
            let i = idx.index(n);
            let got = ed.replace_value(i, b"replaced");
            if model.lines[i].kind == Kind::ContentLength {
                assert_eq!(got, Err(EditError::ContentLengthManaged));
            } else {
                assert_eq!(got, model.touch(i, State::Modified));
            }
            return got;
        }
        Op::RemoveRecordRoutes => {
            let got = ed.remove_header(HeaderName::RecordRoute);
            let targets: Vec<usize> = (0..n)
                .filter(|&i| model.lines[i].kind == Kind::RecordRoute)
                .collect();
            if targets.iter().any(|&i| model.state[i] != State::Original) {
                assert_eq!(got, Err(EditError::Overlap));
            } else {
                assert_eq!(got, Ok(targets.len()));
                for i in targets {
                    model.state[i] = State::Removed;
                }
            }
            return got.map(|_| ());
        }
        Op::SetBody(with_type, body) => {
            let ct: Option<&[u8]> = with_type.then_some(b"application/x-test");
            let got = ed.set_body(ct, Bytes::from(body.clone()));
            if model.body.is_some() {
                assert_eq!(got, Err(EditError::Overlap));
                return got;
            }
            if *with_type {
                match model.first(Kind::ContentType) {
                    Some(i) => {
                        let want = model.touch(i, State::Modified);
                        assert_eq!(got, want);
                        want?;
                    }
                    None => {
                        assert_eq!(got, Ok(()));
                        model
                            .end
                            .push("Content-Type: application/x-test\r\n".into());
                    }
                }
            } else {
                assert_eq!(got, Ok(()));
            }
            model.body = Some(body.clone());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]
    #[test]
    fn edits_keep_untouched_bytes(spec in spec_strategy(), ops in prop::collection::vec(op_strategy(), 0..8)) {
        let (start, lines) = render(&spec);
        let mut text = start.clone();
        for l in &lines {
            text.push_str(&l.text);
        }
        text.push_str("\r\n");
        let mut raw = text.into_bytes();
        raw.extend_from_slice(&spec.body);
        let msg = Message::parse(Bytes::from(raw.clone())).unwrap();
        prop_assert_eq!(msg.headers().len(), lines.len());

        let n = lines.len();
        let mut model = Model {
            lines,
            state: vec![State::Original; n],
            before: vec![Vec::new(); n],
            end: Vec::new(),
            uri: None,
            body: None,
        };
        let mut ed = Editor::new(&msg);
        for op in &ops {
            let _ = apply(&mut ed, &mut model, &spec, op);
        }
        let predicted_len = ed.len();
        let out = ed.finish();
        prop_assert_eq!(out.len(), predicted_len);
        let edited = Message::parse(out.clone())
            .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&out)));

        // Start line.
        let expected_start = match &model.uri {
            Some(uri) => format!("INVITE {uri} SIP/2.0\r\n"),
            None => start,
        };
        prop_assert_eq!(&out[..edited.start_line_end()], expected_start.as_bytes());

        // Body and Content-Length.
        let body = model.body.clone().unwrap_or_else(|| spec.body.clone());
        prop_assert_eq!(edited.body(), &body[..]);
        prop_assert_eq!(edited.content_length(), Some(body.len()));

        // Header lines, in order.
        let mut expected: Vec<Option<String>> = Vec::new(); // None: one modified line
        for i in 0..n {
            expected.extend(model.before[i].iter().cloned().map(Some));
            match model.state[i] {
                State::Original => expected.push(Some(model.lines[i].text.clone())),
                State::Modified => expected.push(None),
                State::Removed => {}
            }
        }
        expected.extend(model.end.iter().cloned().map(Some));
        let had_cl = spec.content_length.is_some();
        if !had_cl {
            expected.push(Some(format!("Content-Length: {}\r\n", body.len())));
        } else if model.body.is_some() {
            // The Content-Length line may have been rewritten.
            let i = model.lines.iter().position(|l| l.kind == Kind::ContentLength).unwrap();
            let pos = expected.iter().position(|e| e.as_deref() == Some(model.lines[i].text.as_str()));
            if let Some(pos) = pos {
                expected[pos] = None;
            }
        }
        let got: Vec<&[u8]> = edited.headers().iter().map(|h| edited.slice(h.line)).collect();
        prop_assert_eq!(got.len(), expected.len(), "{:?}", String::from_utf8_lossy(&out));
        for (g, e) in got.iter().zip(&expected) {
            if let Some(e) = e {
                prop_assert_eq!(*g, e.as_bytes());
            }
        }
    }
}
