#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The same behaviour from every backend, and persistence of the SQLite one.

use sipwarden_store::{
    Binding, Ha1Hashes, LocationStore, MemoryStore, SqliteStore, StoreError, UserRecord, UserStore,
};

fn user(name: &str, domain: &str) -> UserRecord {
    UserRecord {
        domain: domain.into(),
        username: name.into(),
        ha1: Ha1Hashes {
            md5: Some(format!("md5-{name}")),
            sha256: Some(format!("sha256-{name}")),
            sha512_256: None,
        },
    }
}

fn binding(aor: &str, key: &str, expires_at: u64) -> Binding {
    Binding {
        aor: aor.into(),
        key: key.into(),
        contact: key.into(),
        expires_at,
        q: 500,
        call_id: "cid@host".into(),
        cseq: 7,
        path: vec!["<sip:edge1.example.com;lr>".into(), "<sip:edge2;lr>".into()],
        instance: Some("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>".into()),
        reg_id: Some(1),
        source: "127.0.0.1:5070".into(),
        transport: "tls".into(),
        flow: Some("tls:127.0.0.1:5061>127.0.0.1:5070#3".into()),
        user_agent: None,
    }
}

fn users_behave(s: &dyn UserStore) {
    assert!(s.user("example.com", "alice").unwrap().is_none());
    s.add_user(&user("alice", "example.com")).unwrap();
    assert!(matches!(
        s.add_user(&user("alice", "example.com")),
        Err(StoreError::UserExists(_))
    ));
    assert_eq!(
        s.user("example.com", "alice").unwrap(),
        Some(user("alice", "example.com"))
    );
    // Same name, other domain: a different account.
    assert!(s.user("other.org", "alice").unwrap().is_none());

    let mut changed = user("alice", "example.com");
    changed.ha1.md5 = None;
    s.update_user(&changed).unwrap();
    assert_eq!(
        s.user("example.com", "alice").unwrap().unwrap().ha1.md5,
        None
    );
    assert!(matches!(
        s.update_user(&user("nobody", "example.com")),
        Err(StoreError::NoSuchUser(_))
    ));

    let bulk: Vec<_> = (0..100)
        .map(|i| user(&format!("u{i:03}"), "example.com"))
        .collect();
    assert_eq!(s.upsert_users(&bulk).unwrap(), 100);
    assert_eq!(s.list_users(Some("example.com")).unwrap().len(), 101);
    assert_eq!(s.list_users(Some("other.org")).unwrap().len(), 0);
    let all = s.list_users(None).unwrap();
    assert_eq!(all.first().unwrap().username, "alice");

    assert!(s.delete_user("example.com", "alice").unwrap());
    assert!(!s.delete_user("example.com", "alice").unwrap());
}

fn bindings_behave(s: &dyn LocationStore) {
    let aor = "sip:alice@example.com";
    s.apply(
        aor,
        &[binding(aor, "k1", 100), binding(aor, "k2", 200)],
        &[],
    )
    .unwrap();
    s.apply(
        "sip:bob@example.com",
        &[binding("sip:bob@example.com", "k1", 300)],
        &[],
    )
    .unwrap();
    assert_eq!(s.bindings(aor, 50).unwrap().len(), 2);
    // Expiry is exclusive: a binding expiring at `now` is gone.
    assert_eq!(s.bindings(aor, 100).unwrap().len(), 1);
    assert_eq!(s.bindings(aor, 50).unwrap()[0], binding(aor, "k1", 100));

    // Refresh one, remove the other, atomically.
    s.apply(aor, &[binding(aor, "k1", 500)], &["k2".to_string()])
        .unwrap();
    let now = s.bindings(aor, 150).unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].expires_at, 500);

    assert_eq!(s.all_bindings(0).unwrap().len(), 2);
    assert_eq!(s.count_from_ip("127.0.0.1", 0).unwrap(), 2);
    assert_eq!(s.count_from_ip("127.0.0.1", 400).unwrap(), 1);
    assert_eq!(s.count_from_ip("127.0.0.2", 0).unwrap(), 0);
    assert_eq!(s.purge_expired(300).unwrap(), 1); // bob's
    assert_eq!(s.remove_aor(aor).unwrap(), 1);
    assert!(s.all_bindings(0).unwrap().is_empty());
}

#[test]
fn memory_store_users() {
    users_behave(&MemoryStore::new());
}

#[test]
fn memory_store_bindings() {
    bindings_behave(&MemoryStore::new());
}

#[test]
fn sqlite_store_users() {
    users_behave(&SqliteStore::open_in_memory().unwrap());
}

#[test]
fn sqlite_store_bindings() {
    bindings_behave(&SqliteStore::open_in_memory().unwrap());
}

#[test]
fn sqlite_store_persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sipwarden.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        s.add_user(&user("alice", "example.com")).unwrap();
        s.apply(
            "a",
            &[binding("a", "live", 1_000), binding("a", "dead", 10)],
            &[],
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert!(s.user("example.com", "alice").unwrap().is_some());
    let live = s.bindings("a", 500).unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0], binding("a", "live", 1_000));
}

#[test]
fn sqlite_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sipwarden.db");
    drop(SqliteStore::open(&path).unwrap());
    {
        let c = rusqlite_bump(&path);
        drop(c);
    }
    match SqliteStore::open(&path) {
        Err(StoreError::SchemaTooNew { found: 99, .. }) => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

fn rusqlite_bump(path: &std::path::Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch("PRAGMA user_version=99").unwrap();
    c
}

#[test]
fn source_ip_strips_the_port() {
    assert_eq!(sipwarden_store::source_ip("127.0.0.1:5060"), "127.0.0.1");
    assert_eq!(sipwarden_store::source_ip("[::1]:5060"), "::1");
    assert_eq!(sipwarden_store::source_ip("garbage"), "garbage");
}
