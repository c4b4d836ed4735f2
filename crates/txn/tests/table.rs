//! The transaction table: matching (§17.1.3, §17.2.3, RFC 2543, CANCEL), absorption,
//! caps, timer index and output queues.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use bytes::Bytes;
use common::*;
use sipwarden_txn::{
    Config, Event, Reliability, RequestOutcome, ResponseOutcome, State, Timer, Transactions,
    TxnError, TxnId,
};
use sipwarden_wire::{HeaderName, Message};

const U: Reliability = Reliability::Unreliable;
const BRANCH: &str = "z9hG4bK74bf9";

type Table = Transactions<&'static str>;

fn table() -> Table {
    Transactions::new(Config::default()).unwrap()
}

fn quiet_table() -> Table {
    Transactions::new(Config {
        send_100_trying: false,
        ..Config::default()
    })
    .unwrap()
}

fn transmits(t: &mut Table) -> Vec<(&'static str, String)> {
    std::iter::from_fn(|| t.poll_transmit())
        .map(|x| (x.dest, start_line(&x.bytes)))
        .collect()
}

fn events(t: &mut Table) -> Vec<String> {
    std::iter::from_fn(|| t.poll_event())
        .map(|e| match e {
            Event::Response { txn, response } => {
                format!("{} response {}", txn.get(), response.status_code().unwrap())
            }
            Event::Timeout { txn, timer } => format!("{} timeout {timer:?}", txn.get()),
            Event::TransportError { txn } => format!("{} transport error", txn.get()),
            Event::Terminated { txn } => format!("{} terminated", txn.get()),
        })
        .collect()
}

fn new_txn(outcome: RequestOutcome) -> TxnId {
    match outcome {
        RequestOutcome::New { txn, .. } => txn,
        other => panic!("expected a new transaction, got {other:?}"),
    }
}

#[test]
fn invite_creates_server_transaction_and_sends_100_trying() {
    let c = Clock::new();
    let mut t = table();
    let invite = request("INVITE", BRANCH);
    let txn = new_txn(t.handle_request(c.at(0), &invite, U, "alice").unwrap());
    assert_eq!(t.state(txn), Some(State::Proceeding));
    assert!(t.is_server(txn));
    let sent = t.poll_transmit().unwrap();
    assert_eq!(sent.dest, "alice");
    assert_eq!(sent.txn, txn);
    let trying = Message::parse(sent.bytes).unwrap();
    assert_eq!(trying.status_code(), Some(100));
    // §8.2.6: all Vias, no To tag, Timestamp copied for a 100.
    assert_eq!(trying.count(HeaderName::Via), 2);
    assert_eq!(
        trying.header(HeaderName::To).unwrap(),
        b"Bob <sip:bob@example.com>"
    );
    assert_eq!(trying.header(HeaderName::Timestamp).unwrap(), b"54");
    assert_eq!(t.poll_transmit(), None);
    assert_eq!((t.server_count(), t.client_count(), t.len()), (1, 0, 1));
}

#[test]
fn retransmitted_request_is_absorbed_and_last_response_resent() {
    let c = Clock::new();
    let mut t = table();
    let invite = request("INVITE", BRANCH);
    let txn = new_txn(t.handle_request(c.at(0), &invite, U, "alice").unwrap());
    transmits(&mut t);
    t.send_response(c.at(10), txn, 180, response_bytes(&invite, 180, "b"))
        .unwrap();
    transmits(&mut t);
    assert_eq!(
        t.handle_request(c.at(500), &invite, U, "alice").unwrap(),
        RequestOutcome::Retransmission { txn }
    );
    assert_eq!(
        transmits(&mut t),
        vec![("alice", "SIP/2.0 180 Reason".to_owned())]
    );
    assert_eq!(t.server_count(), 1);
}

#[test]
fn server_matching_needs_branch_sent_by_and_method() {
    let c = Clock::new();
    let mut t = quiet_table();
    let first = new_txn(
        t.handle_request(c.at(0), &request("OPTIONS", BRANCH), U, "a")
            .unwrap(),
    );
    // Same branch, other sent-by: a different transaction (§17.2.3).
    let other_port = request_with("OPTIONS", BRANCH, "pc33.example.com:5070", 314159, "");
    let other_host = request_with("OPTIONS", BRANCH, "pc34.example.com:5060", 314159, "");
    let no_port = request_with("OPTIONS", BRANCH, "pc33.example.com", 314159, "");
    // Same branch and sent-by, other method: a different transaction.
    let other_method = request("INFO", BRANCH);
    let other_branch = request("OPTIONS", "z9hG4bK74bfa");
    let mut ids = vec![first];
    for req in [
        &other_port,
        &other_host,
        &no_port,
        &other_method,
        &other_branch,
    ] {
        ids.push(new_txn(t.handle_request(c.at(0), req, U, "a").unwrap()));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6);
    // Host comparison is case-insensitive; the branch too (§7.3.1 parameter values).
    let upper_host = request_with("OPTIONS", BRANCH, "PC33.Example.COM:5060", 314159, "");
    assert_eq!(
        t.handle_request(c.at(1), &upper_host, U, "a").unwrap(),
        RequestOutcome::Retransmission { txn: first }
    );
    let upper_branch = request("OPTIONS", "z9hG4bK74BF9");
    assert_eq!(
        t.handle_request(c.at(1), &upper_branch, U, "a").unwrap(),
        RequestOutcome::Retransmission { txn: first }
    );
}

#[test]
fn ack_for_non_2xx_is_absorbed_and_confirms() {
    let c = Clock::new();
    let mut t = quiet_table();
    let invite = request("INVITE", BRANCH);
    let txn = new_txn(t.handle_request(c.at(0), &invite, U, "a").unwrap());
    t.send_response(c.at(0), txn, 486, response_bytes(&invite, 486, "b"))
        .unwrap();
    assert_eq!(c.ms_opt(t.timer(txn, Timer::G)), Some(500));
    assert_eq!(c.ms_opt(t.timer(txn, Timer::H)), Some(32_000));
    assert_eq!(c.ms_opt(t.poll_timeout()), Some(500));
    let ack = request_with("ACK", BRANCH, "pc33.example.com:5060", 314159, "b");
    assert_eq!(
        t.handle_request(c.at(100), &ack, U, "a").unwrap(),
        RequestOutcome::AckAbsorbed { txn }
    );
    assert_eq!(t.state(txn), Some(State::Confirmed));
    // The timer index follows the machine: G and H gone, I at T4.
    assert_eq!(c.ms_opt(t.poll_timeout()), Some(5_100));
    assert_eq!(
        t.handle_request(c.at(200), &ack, U, "a").unwrap(),
        RequestOutcome::AckAbsorbed { txn }
    );
    t.handle_timeout(c.at(5_100));
    assert_eq!(t.state(txn), None);
    assert_eq!(events(&mut t), vec![format!("{} terminated", txn.get())]);
    assert!(t.is_empty());
    assert_eq!(t.poll_timeout(), None);
    // Once terminated, the ACK matches nothing.
    assert_eq!(
        t.handle_request(c.at(5_200), &ack, U, "a").unwrap(),
        RequestOutcome::NotOurs { matched: None }
    );
}

#[test]
fn ack_for_2xx_is_not_ours() {
    let c = Clock::new();
    let mut t = quiet_table();
    let invite = request("INVITE", BRANCH);
    let txn = new_txn(t.handle_request(c.at(0), &invite, U, "a").unwrap());
    t.send_response(c.at(0), txn, 200, response_bytes(&invite, 200, "b"))
        .unwrap();
    assert_eq!(t.state(txn), Some(State::Accepted));
    assert_eq!(c.ms_opt(t.timer(txn, Timer::L)), Some(32_000));
    // The 2xx ACK is a new transaction with its own branch: not ours.
    let ack = request_with("ACK", "z9hG4bKack2xx", "pc33.example.com:5060", 314159, "b");
    assert_eq!(
        t.handle_request(c.at(100), &ack, U, "a").unwrap(),
        RequestOutcome::NotOurs { matched: None }
    );
    // An ACK that does match the Accepted transaction goes to the TU too (RFC 6026).
    let same_branch = request_with("ACK", BRANCH, "pc33.example.com:5060", 314159, "b");
    assert_eq!(
        t.handle_request(c.at(100), &same_branch, U, "a").unwrap(),
        RequestOutcome::NotOurs { matched: Some(txn) }
    );
    // The INVITE retransmission is absorbed without resending the 2xx.
    transmits(&mut t);
    assert_eq!(
        t.handle_request(c.at(200), &invite, U, "a").unwrap(),
        RequestOutcome::Retransmission { txn }
    );
    assert_eq!(transmits(&mut t), vec![]);
    assert_eq!(t.server_count(), 1, "ACKs create no transaction");
}

#[test]
fn cancel_matches_invite_server_transaction() {
    let c = Clock::new();
    let mut t = quiet_table();
    let invite = request("INVITE", BRANCH);
    let inv = new_txn(t.handle_request(c.at(0), &invite, U, "a").unwrap());
    let cancel = request("CANCEL", BRANCH);
    let outcome = t.handle_request(c.at(100), &cancel, U, "a").unwrap();
    let RequestOutcome::New { txn: can, cancels } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(cancels, Some(inv));
    assert_ne!(can, inv);
    assert_eq!(t.state(can), Some(State::Trying));
    // The CANCEL's own retransmission matches the CANCEL transaction.
    assert_eq!(
        t.handle_request(c.at(600), &cancel, U, "a").unwrap(),
        RequestOutcome::Retransmission { txn: can }
    );
    // A CANCEL with another branch matches no INVITE (the TU answers 481).
    let stray = request("CANCEL", "z9hG4bKother");
    assert!(matches!(
        t.handle_request(c.at(700), &stray, U, "a").unwrap(),
        RequestOutcome::New { cancels: None, .. }
    ));
    // A CANCEL does not match a non-INVITE transaction with its branch.
    let options = request("OPTIONS", "z9hG4bKopt");
    t.handle_request(c.at(0), &options, U, "a").unwrap();
    let cancel_opt = request("CANCEL", "z9hG4bKopt");
    assert!(matches!(
        t.handle_request(c.at(0), &cancel_opt, U, "a").unwrap(),
        RequestOutcome::New { cancels: None, .. }
    ));
}

#[test]
fn rfc2543_requests_match_without_magic_cookie() {
    let c = Clock::new();
    let mut t = quiet_table();
    for branch in ["", "1234abcd"] {
        let invite = request_with("INVITE", branch, "old.example.com", 7, "");
        let txn = new_txn(t.handle_request(c.at(0), &invite, U, "a").unwrap());
        assert_eq!(
            t.handle_request(c.at(1), &invite, U, "a").unwrap(),
            RequestOutcome::Retransmission { txn }
        );
        // Another CSeq is another transaction.
        let next = request_with("INVITE", branch, "old.example.com", 8, "");
        assert!(matches!(
            t.handle_request(c.at(1), &next, U, "a").unwrap(),
            RequestOutcome::New { .. }
        ));
        // A CANCEL finds it too.
        let cancel = request_with("CANCEL", branch, "old.example.com", 7, "");
        assert!(matches!(
            t.handle_request(c.at(1), &cancel, U, "a").unwrap(),
            RequestOutcome::New { cancels: Some(x), .. } if x == txn
        ));
        t.send_response(c.at(2), txn, 404, response_bytes(&invite, 404, "uas"))
            .unwrap();
        // The ACK must carry the To tag of our response.
        let wrong = request_with("ACK", branch, "old.example.com", 7, "other");
        assert_eq!(
            t.handle_request(c.at(3), &wrong, U, "a").unwrap(),
            RequestOutcome::NotOurs { matched: None }
        );
        let ack = request_with("ACK", branch, "old.example.com", 7, "uas");
        assert_eq!(
            t.handle_request(c.at(3), &ack, U, "a").unwrap(),
            RequestOutcome::AckAbsorbed { txn }
        );
        assert_eq!(t.state(txn), Some(State::Confirmed));
    }
    // Non-INVITE RFC 2543 requests include the To tag.
    let bye = request_with("BYE", "", "old.example.com", 9, "x");
    let txn = new_txn(t.handle_request(c.at(0), &bye, U, "a").unwrap());
    assert_eq!(
        t.handle_request(c.at(1), &bye, U, "a").unwrap(),
        RequestOutcome::Retransmission { txn }
    );
    let other_dialog = request_with("BYE", "", "old.example.com", 9, "y");
    assert!(matches!(
        t.handle_request(c.at(1), &other_dialog, U, "a").unwrap(),
        RequestOutcome::New { .. }
    ));
}

#[test]
fn server_cap_refuses_new_transactions_but_absorbs_retransmissions() {
    let c = Clock::new();
    let mut t: Table = Transactions::new(Config {
        max_server_transactions: 2,
        send_100_trying: false,
        ..Config::default()
    })
    .unwrap();
    let a = request("OPTIONS", "z9hG4bKa");
    let b = request("OPTIONS", "z9hG4bKb");
    let x = request("OPTIONS", "z9hG4bKc");
    let ta = new_txn(
        t.handle_request(c.at(0), &a, Reliability::Reliable, "a")
            .unwrap(),
    );
    new_txn(t.handle_request(c.at(0), &b, U, "a").unwrap());
    assert_eq!(
        t.handle_request(c.at(0), &x, U, "a"),
        Err(TxnError::TooManyServerTransactions { limit: 2 })
    );
    assert_eq!(
        t.handle_request(c.at(0), &a, U, "a").unwrap(),
        RequestOutcome::Retransmission { txn: ta }
    );
    // Client transactions are counted apart.
    t.send_request(c.at(0), request("OPTIONS", "z9hG4bKout"), U, "b")
        .unwrap();
    // A reliable final response frees the slot at once (Timer J = 0).
    t.send_response(c.at(1), ta, 200, response_bytes(&a, 200, "t"))
        .unwrap();
    assert_eq!(t.server_count(), 1);
    assert!(matches!(
        t.handle_request(c.at(2), &x, U, "a").unwrap(),
        RequestOutcome::New { .. }
    ));
}

#[test]
fn client_cap_and_request_checks() {
    let c = Clock::new();
    let mut t: Table = Transactions::new(Config {
        max_client_transactions: 1,
        ..Config::default()
    })
    .unwrap();
    let req = request("OPTIONS", BRANCH);
    t.send_request(c.at(0), req.clone(), U, "b").unwrap();
    assert_eq!(
        t.send_request(c.at(0), req.clone(), U, "b"),
        Err(TxnError::DuplicateBranch)
    );
    assert_eq!(
        t.send_request(c.at(0), request("INFO", "z9hG4bKnew"), U, "b"),
        Err(TxnError::TooManyClientTransactions { limit: 1 })
    );
    let mut t = table();
    assert_eq!(
        t.send_request(c.at(0), request("OPTIONS", "1234"), U, "b"),
        Err(TxnError::BranchWithoutCookie)
    );
    assert_eq!(
        t.send_request(c.at(0), request("OPTIONS", ""), U, "b"),
        Err(TxnError::BranchWithoutCookie)
    );
    // A bare cookie is not unique either.
    assert_eq!(
        t.send_request(c.at(0), request("OPTIONS", "z9hG4bK"), U, "b"),
        Err(TxnError::BranchWithoutCookie)
    );
    assert!(sipwarden_txn::has_magic_cookie(b"z9hG4bKx"));
    assert!(!sipwarden_txn::has_magic_cookie(b"Z9HG4BKx"));
    assert_eq!(
        t.send_request(c.at(0), request("ACK", BRANCH), U, "b"),
        Err(TxnError::AckNotATransaction)
    );
    assert_eq!(
        t.send_request(c.at(0), response(&req, 200, "x"), U, "b"),
        Err(TxnError::WrongMessageKind)
    );
    assert!(t.is_empty());
}

#[test]
fn responses_match_client_transactions_by_branch_and_cseq_method() {
    let c = Clock::new();
    let mut t = table();
    let invite = request("INVITE", BRANCH);
    let inv = t.send_request(c.at(0), invite.clone(), U, "bob").unwrap();
    assert_eq!(transmits(&mut t), vec![("bob", INVITE_LINE.to_owned())]);
    assert_eq!(c.ms_opt(t.poll_timeout()), Some(500));

    // A response with the same branch but CSeq method CANCEL is not the INVITE's.
    let cancel_req = request("CANCEL", BRANCH);
    let stray = t
        .handle_response(c.at(10), response(&cancel_req, 200, "x"))
        .unwrap();
    assert!(matches!(stray, ResponseOutcome::Stray(r) if r.status_code() == Some(200)));
    // Another branch: stray.
    let other = request("INVITE", "z9hG4bKzzz");
    assert!(matches!(
        t.handle_response(c.at(10), response(&other, 180, "x"))
            .unwrap(),
        ResponseOutcome::Stray(_)
    ));
    assert!(events(&mut t).is_empty());

    assert!(matches!(
        t.handle_response(c.at(20), response(&invite, 180, "x")).unwrap(),
        ResponseOutcome::Delivered { txn } if txn == inv
    ));
    assert_eq!(t.state(inv), Some(State::Proceeding));
    assert_eq!(t.poll_timeout(), None, "A and B stopped");
    assert!(matches!(
        t.handle_response(c.at(30), response(&invite, 404, "x")).unwrap(),
        ResponseOutcome::Delivered { txn } if txn == inv
    ));
    assert_eq!(transmits(&mut t), vec![("bob", ACK_LINE.to_owned())]);
    assert!(matches!(
        t.handle_response(c.at(40), response(&invite, 404, "x")).unwrap(),
        ResponseOutcome::Absorbed { txn } if txn == inv
    ));
    assert_eq!(transmits(&mut t), vec![("bob", ACK_LINE.to_owned())]);
    let id = inv.get();
    assert_eq!(
        events(&mut t),
        vec![format!("{id} response 180"), format!("{id} response 404")]
    );
    assert_eq!(c.ms_opt(t.poll_timeout()), Some(32_030));
    t.handle_timeout(c.at(32_030));
    assert_eq!(events(&mut t), vec![format!("{id} terminated")]);
    assert!(t.is_empty());
    // Requests are refused by handle_response.
    assert_eq!(
        t.handle_response(c.at(0), invite).unwrap_err(),
        TxnError::WrongMessageKind
    );
}

#[test]
fn cancel_a_pending_invite() {
    let c = Clock::new();
    let mut t = table();
    let invite = request("INVITE", BRANCH);
    let inv = t.send_request(c.at(0), invite.clone(), U, "bob").unwrap();
    transmits(&mut t);
    // §9.1: not before a provisional response.
    assert_eq!(
        t.cancel(c.at(10), inv),
        Err(TxnError::CancelNotAllowed(State::Calling))
    );
    t.handle_response(c.at(20), response(&invite, 180, "x"))
        .unwrap();
    let can = t.cancel(c.at(30), inv).unwrap();
    let sent = t.poll_transmit().unwrap();
    assert_eq!((sent.txn, sent.dest), (can, "bob"));
    let cancel = Message::parse(sent.bytes).unwrap();
    assert_eq!(
        start_line(cancel.as_bytes()),
        "CANCEL sip:bob@example.com SIP/2.0"
    );
    assert_eq!(cancel.header(HeaderName::CSeq).unwrap(), b"314159 CANCEL");
    assert_eq!(t.state(can), Some(State::Trying));
    // Responses to the CANCEL and to the INVITE reach their own transactions.
    assert!(matches!(
        t.handle_response(c.at(40), response(&cancel, 200, "x")).unwrap(),
        ResponseOutcome::Delivered { txn } if txn == can
    ));
    assert!(matches!(
        t.handle_response(c.at(50), response(&invite, 487, "x")).unwrap(),
        ResponseOutcome::Delivered { txn } if txn == inv
    ));
    // Cancelling a CANCEL or a server transaction is refused.
    assert_eq!(
        t.cancel(c.at(60), can),
        Err(TxnError::WrongTransactionKind(can))
    );
    assert_eq!(
        t.cancel(c.at(60), inv),
        Err(TxnError::CancelNotAllowed(State::Completed))
    );
}

#[test]
fn errors_for_unknown_and_wrong_kind_transactions() {
    let c = Clock::new();
    let mut t = table();
    let cli = t
        .send_request(c.at(0), request("OPTIONS", BRANCH), U, "b")
        .unwrap();
    assert_eq!(
        t.send_response(c.at(0), cli, 200, Bytes::from_static(b"x")),
        Err(TxnError::WrongTransactionKind(cli))
    );
    t.handle_transport_error(c.at(1), cli).unwrap();
    assert_eq!(
        events(&mut t),
        vec![
            format!("{} transport error", cli.get()),
            format!("{} terminated", cli.get())
        ]
    );
    assert_eq!(
        t.send_response(c.at(0), cli, 200, Bytes::from_static(b"x")),
        Err(TxnError::UnknownTransaction(cli))
    );
    assert_eq!(
        t.handle_transport_error(c.at(0), cli),
        Err(TxnError::UnknownTransaction(cli))
    );
    // A request without Via cannot be matched.
    let no_via = Message::parse(Bytes::from_static(
        b"OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
    ))
    .unwrap();
    assert!(matches!(
        t.handle_request(c.at(0), &no_via, U, "a"),
        Err(TxnError::Unmatchable(_))
    ));
}

#[test]
fn timer_index_orders_many_transactions() {
    let c = Clock::new();
    let mut t = quiet_table();
    let a = t
        .send_request(c.at(0), request("OPTIONS", "z9hG4bKa"), U, "x")
        .unwrap();
    let b = t
        .send_request(
            c.at(100),
            request("OPTIONS", "z9hG4bKb"),
            Reliability::Reliable,
            "y",
        )
        .unwrap();
    let s = new_txn(
        t.handle_request(c.at(200), &request("INVITE", "z9hG4bKs"), U, "z")
            .unwrap(),
    );
    t.send_response(
        c.at(200),
        s,
        500,
        response_bytes(&request("INVITE", "z9hG4bKs"), 500, "q"),
    )
    .unwrap();
    transmits(&mut t);
    let mut wakeups = Vec::new();
    while let Some(next) = t.poll_timeout() {
        if c.ms(next) > 3_000 {
            break;
        }
        t.handle_timeout(next);
        wakeups.push((c.ms(next), transmits(&mut t)));
    }
    let opt = |d| vec![(d, OPTIONS_LINE.to_owned())];
    let err = || vec![("z", "SIP/2.0 500 Reason".to_owned())];
    assert_eq!(
        wakeups,
        vec![
            (500, opt("x")), // E of a
            (700, err()),    // G of s
            (1_500, opt("x")),
            (1_700, err()),
        ]
    );
    // Timeouts reach the TU as events, then the transactions go.
    t.handle_timeout(c.at(32_000));
    t.handle_timeout(c.at(32_100));
    t.handle_timeout(c.at(32_200));
    let (a, b, s) = (a.get(), b.get(), s.get());
    let evs = events(&mut t);
    assert_eq!(
        evs,
        vec![
            format!("{a} timeout F"),
            format!("{a} terminated"),
            format!("{b} timeout F"),
            format!("{b} terminated"),
            format!("{s} timeout H"),
            format!("{s} terminated"),
        ]
    );
    assert!(t.is_empty());
    assert_eq!(t.poll_timeout(), None);
}

#[test]
fn transactions_are_counted_by_kind() {
    let c = Clock::new();
    let mut t = table();
    new_txn(
        t.handle_request(c.at(0), &request("INVITE", BRANCH), U, "alice")
            .unwrap(),
    );
    new_txn(
        t.handle_request(c.at(0), &request("OPTIONS", "z9hG4bKcount2"), U, "alice")
            .unwrap(),
    );
    assert_eq!(t.counts_by_kind(), [1, 1, 0, 0]);
}
