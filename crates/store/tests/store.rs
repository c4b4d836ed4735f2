#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The same behaviour from every backend, and persistence of the SQLite one.

use sipwarden_store::{
    Binding, CachedLocation, CachedUsers, GroupCommit, Ha1Hashes, LocationStore, MemoryStore,
    SqliteStore, StoreError, UserRecord, UserStore,
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
    bindings_behave_at(s, 0);
}

/// The behaviour with every time offset by `t` (a store with a clock of its own needs
/// times near the present).
fn bindings_behave_at(s: &dyn LocationStore, t: u64) {
    let aor = "sip:alice@example.com";
    s.apply(
        aor,
        &[binding(aor, "k1", t + 100), binding(aor, "k2", t + 200)],
        &[],
    )
    .unwrap();
    s.apply(
        "sip:bob@example.com",
        &[binding("sip:bob@example.com", "k1", t + 300)],
        &[],
    )
    .unwrap();
    assert_eq!(s.bindings(aor, t + 50).unwrap().len(), 2);
    // Expiry is exclusive: a binding expiring at `now` is gone.
    assert_eq!(s.bindings(aor, t + 100).unwrap().len(), 1);
    assert_eq!(
        s.bindings(aor, t + 50).unwrap()[0],
        binding(aor, "k1", t + 100)
    );

    // Refresh one, remove the other, atomically.
    s.apply(aor, &[binding(aor, "k1", t + 500)], &["k2".to_string()])
        .unwrap();
    let now = s.bindings(aor, t + 150).unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].expires_at, t + 500);

    assert_eq!(s.all_bindings(t).unwrap().len(), 2);
    assert_eq!(s.count(t).unwrap(), 2);
    assert_eq!(s.count(t + 400).unwrap(), 1);
    assert_eq!(s.count_from_ip("127.0.0.1", t).unwrap(), 2);
    assert_eq!(s.count_from_ip("127.0.0.1", t + 400).unwrap(), 1);
    assert_eq!(s.count_from_ip("127.0.0.2", t).unwrap(), 0);
    assert_eq!(s.purge_expired(t + 300).unwrap(), 1); // bob's
    assert_eq!(s.remove_aor(aor).unwrap(), 1);
    assert!(s.all_bindings(t).unwrap().is_empty());
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

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn cached(path: &std::path::Path) -> CachedLocation {
    CachedLocation::open(
        std::sync::Arc::new(SqliteStore::open(path).unwrap()),
        unix_now(),
        GroupCommit::default(),
        Box::new(|err| panic!("group commit failed: {err}")),
    )
    .unwrap()
}

#[test]
fn cached_location_bindings() {
    let dir = tempfile::tempdir().unwrap();
    bindings_behave_at(&cached(&dir.path().join("s.db")), unix_now());
}

/// Waits for `when_durable` to call back.
fn durable(s: &dyn LocationStore) {
    let (tx, rx) = std::sync::mpsc::channel();
    s.when_durable(Box::new(move || tx.send(()).unwrap()));
    rx.recv_timeout(std::time::Duration::from_secs(5))
        .expect("durable callback");
}

#[test]
fn cached_location_answers_only_once_the_write_is_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let aor = "sip:alice@example.com";
    let t = unix_now();
    let s = cached(&path);
    s.apply(aor, &[binding(aor, "k1", t + 3600)], &[]).unwrap();
    // Another connection (as after a kill -9 and a restart) sees the write as soon as
    // the callback runs.
    durable(&s);
    let other = SqliteStore::open(&path).unwrap();
    assert_eq!(other.bindings(aor, t).unwrap().len(), 1);
    // Nothing outstanding: the callback runs at once.
    durable(&s);
    // A removal is durable the same way.
    s.apply(aor, &[], &["k1".to_string()]).unwrap();
    durable(&s);
    assert!(other.bindings(aor, t).unwrap().is_empty());
}

#[test]
fn cached_location_groups_concurrent_writes_and_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let t = unix_now();
    let s = std::sync::Arc::new(cached(&path));
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|n| {
            let s = std::sync::Arc::clone(&s);
            let answered = std::sync::Arc::clone(&answered);
            std::thread::spawn(move || {
                for i in 0..250 {
                    let aor = format!("sip:u{n}-{i}@example.com");
                    s.apply(&aor, &[binding(&aor, "k", t + 3600)], &[]).unwrap();
                    let answered = std::sync::Arc::clone(&answered);
                    s.when_durable(Box::new(move || {
                        answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }));
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    durable(&*s);
    assert_eq!(answered.load(std::sync::atomic::Ordering::SeqCst), 1000);
    assert_eq!(s.count_from_ip("127.0.0.1", t).unwrap(), 1000);
    let other = SqliteStore::open(&path).unwrap();
    assert_eq!(other.all_bindings(t).unwrap().len(), 1000);
}

#[test]
fn cached_location_reloads_what_the_database_holds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let aor = "sip:alice@example.com";
    let t = unix_now();
    {
        let s = cached(&path);
        s.apply(
            aor,
            &[binding(aor, "live", t + 3600), binding(aor, "gone", t + 1)],
            &[],
        )
        .unwrap();
        // Closing commits what is queued, without waiting for a callback.
        s.close();
    }
    let s = CachedLocation::open(
        std::sync::Arc::new(SqliteStore::open(&path).unwrap()),
        t + 2,
        GroupCommit::default(),
        Box::new(|err| panic!("group commit failed: {err}")),
    )
    .unwrap();
    let live = s.bindings(aor, t + 2).unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].key, "live");
    assert_eq!(s.count_from_ip("127.0.0.1", t + 2).unwrap(), 1);
    // Writes after close are refused, not silently dropped.
    s.close();
    assert!(matches!(
        s.apply(aor, &[binding(aor, "late", t + 3600)], &[]),
        Err(StoreError::Closed)
    ));
}

#[test]
fn cached_location_counts_a_source_without_its_expired_bindings() {
    let dir = tempfile::tempdir().unwrap();
    let t = unix_now();
    let s = cached(&dir.path().join("s.db"));
    let aor = "sip:alice@example.com";
    s.apply(
        aor,
        &[binding(aor, "a", t + 10), binding(aor, "b", t + 3600)],
        &[],
    )
    .unwrap();
    assert_eq!(s.count_from_ip("127.0.0.1", t).unwrap(), 2);
    assert_eq!(s.count_from_ip("127.0.0.1", t + 10).unwrap(), 1);
    assert_eq!(s.count_from_ip("127.0.0.1", t + 3600).unwrap(), 0);
    // Refreshing a binding moves it in the expiry order instead of duplicating it.
    s.apply(aor, &[binding(aor, "a", t + 7200)], &[]).unwrap();
    assert_eq!(s.count_from_ip("127.0.0.1", t + 3600).unwrap(), 1);
    assert_eq!(s.all_bindings(t).unwrap().len(), 2);
}

#[test]
fn cached_users_behave_like_the_database() {
    let s = CachedUsers::new(std::sync::Arc::new(SqliteStore::open_in_memory().unwrap()));
    users_behave(&s);
}

#[test]
fn cached_users_see_what_another_process_commits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let db = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
    let cache = CachedUsers::new(std::sync::Arc::clone(&db));
    // The server's own writer shares the connection: its commits are not "changes".
    let location = CachedLocation::open(
        std::sync::Arc::clone(&db),
        unix_now(),
        GroupCommit::default(),
        Box::new(|err| panic!("group commit failed: {err}")),
    )
    .unwrap();
    assert!(cache.user("example.com", "alice").unwrap().is_none());

    // The user commands write through their own connection.
    let cli = SqliteStore::open(&path).unwrap();
    cli.add_user(&user("alice", "example.com")).unwrap();
    assert_eq!(
        cache.user("example.com", "alice").unwrap(),
        Some(user("alice", "example.com"))
    );
    let aor = "sip:alice@example.com";
    location
        .apply(aor, &[binding(aor, "k", unix_now() + 3600)], &[])
        .unwrap();
    durable(&location);
    assert!(cache.user("example.com", "alice").unwrap().is_some());

    let mut changed = user("alice", "example.com");
    changed.ha1.md5 = Some("new".into());
    cli.update_user(&changed).unwrap();
    assert_eq!(
        cache
            .user("example.com", "alice")
            .unwrap()
            .unwrap()
            .ha1
            .md5
            .as_deref(),
        Some("new")
    );
    assert!(cli.delete_user("example.com", "alice").unwrap());
    assert!(cache.user("example.com", "alice").unwrap().is_none());
}
