use super::*;

#[test]
fn invite_is_about_1200_bytes() {
    assert!((1100..=1300).contains(&INVITE.len()), "{}", INVITE.len());
}

#[test]
fn both_parsers_read_the_same_fields() {
    let limits = Limits::default();
    for m in [INVITE, REGISTER] {
        let ours = sipwarden_parse(Bytes::from_static(m), &limits).expect("sipwarden parses");
        let theirs = rsip_parse(m).expect("rsip parses");
        assert_eq!(ours, theirs);
        assert!(ours.branch > 0 && ours.from_tag > 0 && ours.call_id > 0);
    }
}

#[test]
fn content_length_matches_body() {
    let msg = Message::parse(Bytes::from_static(INVITE)).expect("parses");
    assert_eq!(msg.body().len(), msg.content_length().unwrap_or(0));
    assert_eq!(msg.as_bytes().len(), INVITE.len());
}
