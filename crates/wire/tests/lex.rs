#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Lexical helpers: whitespace and folding, quoted strings, comments, lists,
//! parameters, escapes.

use std::borrow::Cow;

use sipwarden_wire::lex::{
    parse_params, parse_qvalue, pct_decode, pct_decode_str, pct_eq, pct_eq_ignore_case, split_list,
    Cursor, LexError, ParamValue,
};

#[test]
fn lws_includes_folds() {
    let mut c = Cursor::new(" \t\r\n  x");
    assert!(c.skip_lws());
    assert_eq!(c.peek(), Some(b'x'));

    // CRLF not followed by whitespace is not LWS.
    let mut c = Cursor::new("\r\nx");
    assert!(!c.skip_lws());
    assert_eq!(c.pos(), 0);
}

#[test]
fn eat_sep_restores_when_absent() {
    let mut c = Cursor::new("  \r\n ;  a");
    assert!(c.eat_sep(b';'));
    assert_eq!(c.rest(), "a");
    let mut c = Cursor::new("  x");
    assert!(!c.eat_sep(b';'));
    assert_eq!(c.pos(), 0);
}

#[test]
fn tokens() {
    let mut c = Cursor::new("abc-1.!%*_+`'~(x");
    assert_eq!(c.token(), Some("abc-1.!%*_+`'~"));
    assert_eq!(c.token(), None);
    assert_eq!(c.rest(), "(x");
}

#[test]
fn quoted_string_plain_borrows() {
    let mut c = Cursor::new(r#""Alice Liddell" rest"#);
    let q = c.quoted_string().unwrap();
    assert_eq!(q.raw(), "Alice Liddell");
    assert!(matches!(q.text(), Cow::Borrowed("Alice Liddell")));
    assert_eq!(c.rest(), " rest");
}

#[test]
fn quoted_string_unescapes_quoted_pairs() {
    let mut c = Cursor::new(r#""J Rosenberg \\\"" <x>"#);
    let q = c.quoted_string().unwrap();
    assert_eq!(q.raw(), r#"J Rosenberg \\\""#);
    assert_eq!(q.text(), r#"J Rosenberg \""#);
}

#[test]
fn quoted_string_folds_and_utf8() {
    let mut c = Cursor::new("\"a\r\n b ü\"");
    let q = c.quoted_string().unwrap();
    assert_eq!(q.text(), "a b ü");
}

#[test]
fn quoted_string_errors() {
    assert_eq!(
        Cursor::new("\"never closed").quoted_string(),
        Err(LexError("unterminated quoted string"))
    );
    assert_eq!(
        Cursor::new("\"ends in escape\\\"").quoted_string(),
        Err(LexError("unterminated quoted string"))
    );
    assert!(Cursor::new("\"bare \r cr\"").quoted_string().is_err());
    assert!(Cursor::new("\"nul \u{0} inside\"").quoted_string().is_err());
    // An escaped control character is a valid quoted-pair.
    let mut c = Cursor::new("\"esc \\\u{1} ok\"");
    assert_eq!(c.quoted_string().unwrap().text(), "esc \u{1} ok");
    assert!(Cursor::new("no quote").quoted_string().is_err());
}

#[test]
fn comments_nest() {
    let mut c = Cursor::new("(outer (inner \\) x) end) after");
    assert_eq!(c.comment().unwrap(), "outer (inner \\) x) end");
    assert_eq!(c.rest(), " after");
    assert!(Cursor::new("(open (still").comment().is_err());
}

#[test]
fn split_list_respects_quotes_brackets_comments() {
    let v = r#""Smith, John" <sip:a@b;x=1,2>;p=1 , <sip:c@d> (note, here),x"#;
    let items: Vec<_> = split_list(v).collect::<Result<_, _>>().unwrap();
    assert_eq!(
        items,
        vec![
            r#""Smith, John" <sip:a@b;x=1,2>;p=1"#,
            "<sip:c@d> (note, here)",
            "x"
        ]
    );
}

#[test]
fn split_list_folds_and_empty() {
    let items: Vec<_> = split_list("a,\r\n b").collect::<Result<_, _>>().unwrap();
    assert_eq!(items, vec!["a", "b"]);
    assert_eq!(split_list("").count(), 0);
    assert_eq!(split_list("   ").count(), 0);
}

#[test]
fn split_list_errors() {
    for bad in [
        "a,,b",
        "a,",
        ",a",
        "\"open, b",
        "<sip:x, y",
        "a > b",
        "a (b",
    ] {
        let r: Result<Vec<_>, _> = split_list(bad).collect();
        assert!(r.is_err(), "{bad:?} should fail");
    }
}

#[test]
fn generic_params() {
    let p =
        parse_params(" ; a = b ;flag;q=\"quoted \\\" v\";ip=[2001:db8::1];r=2001:db8::2").unwrap();
    let all: Vec<_> = p.iter().collect();
    assert_eq!(all.len(), 5);
    assert_eq!(all[0].name, "a");
    assert_eq!(all[0].value, Some(ParamValue::Token("b")));
    assert_eq!(all[1].value, None);
    assert!(all[2].value.unwrap().is_quoted());
    assert_eq!(all[2].value.unwrap().text(), "quoted \" v");
    assert_eq!(all[3].value.unwrap().raw(), "[2001:db8::1]");
    assert_eq!(all[4].value.unwrap().raw(), "2001:db8::2");
    assert!(p.contains("FLAG"));
    assert_eq!(p.get("A").unwrap().value.unwrap().raw(), "b");
    assert!(p.get("missing").is_none());
}

#[test]
fn generic_params_errors() {
    for bad in [";", ";=v", ";a=", ";a=\"open", "x", ";a b", ";a=[zz]"] {
        assert!(parse_params(bad).is_err(), "{bad:?} should fail");
    }
    assert!(parse_params("").unwrap().is_empty());
}

#[test]
fn pct_decoding() {
    assert!(matches!(
        pct_decode("plain").unwrap(),
        Cow::Borrowed(b"plain")
    ));
    assert_eq!(&*pct_decode("a%20b%2c").unwrap(), b"a b,");
    assert_eq!(&*pct_decode("null-%00-null").unwrap(), b"null-\0-null");
    assert!(pct_decode("bad%2").is_err());
    assert!(pct_decode("bad%zz").is_err());
    assert_eq!(pct_decode_str("%C3%BC").unwrap(), "ü");
    assert!(pct_decode_str("%FF").is_err());
}

#[test]
fn pct_comparison_rules() {
    // Escaped unreserved characters equal the characters themselves.
    assert!(pct_eq("%61lice", "alice"));
    assert!(pct_eq("alice", "%61lice"));
    assert!(!pct_eq("Alice", "alice"));
    assert!(pct_eq_ignore_case("%41LICE", "alice"));
    // An escaped reserved character is not the reserved character.
    assert!(!pct_eq("a%3bb", "a;b"));
    assert!(pct_eq("a%3bb", "a%3Bb"));
}

#[test]
fn qvalues() {
    assert_eq!(parse_qvalue("0"), Some(0));
    assert_eq!(parse_qvalue("0.5"), Some(500));
    assert_eq!(parse_qvalue("0.123"), Some(123));
    assert_eq!(parse_qvalue("0.05"), Some(50));
    assert_eq!(parse_qvalue("1"), Some(1000));
    assert_eq!(parse_qvalue("1.000"), Some(1000));
    for bad in ["1.001", "0.1234", "2", ".5", "0,5", "", "01"] {
        assert_eq!(parse_qvalue(bad), None, "{bad:?}");
    }
}
