//! The location service the server runs on: every read from memory, every write kept in
//! memory at once and committed to SQLite by one writer thread in groups.
//!
//! A registrar answers a REGISTER only once its binding is on disk (see
//! [`LocationStore::when_durable`]), so an acknowledged registration survives a kill -9
//! exactly as with one transaction per write, while a thousand registrations a second
//! cost a few hundred commits instead of a thousand — and no read touches the database.
//!
//! The bindings table is written only by the server that owns it (the user commands
//! never touch it), so the memory index loaded at start stays authoritative.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::sqlite::LocationWrite;
use crate::{Binding, LocationStore, SqliteStore, StoreError};

/// How often expired bindings leave the memory index.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Something to run once the writes made before it are committed.
pub type DurableCallback = Box<dyn FnOnce() + Send>;

/// How the writer groups commits.
#[derive(Debug, Clone, Copy)]
pub struct GroupCommit {
    /// How long the writer waits after the first write of a group for more to join it.
    pub window: Duration,
    /// A group is committed at once when it reaches this many writes.
    pub max_writes: usize,
    /// How often expired rows are deleted from the database.
    pub purge_every: Duration,
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            window: Duration::from_millis(4),
            max_writes: 512,
            purge_every: Duration::from_secs(60),
        }
    }
}

/// Called with the error of a group commit that failed (the writes stay in memory and
/// are retried with the next group).
pub type ErrorHook = Box<dyn Fn(&StoreError) + Send + Sync>;

/// The in-memory location index with a write-behind SQLite writer.
pub struct CachedLocation {
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for CachedLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedLocation").finish_non_exhaustive()
    }
}

struct Shared {
    db: Arc<SqliteStore>,
    index: Mutex<Index>,
    queue: Mutex<Queue>,
    wake: Condvar,
    config: GroupCommit,
    on_error: ErrorHook,
}

#[derive(Default)]
struct Queue {
    writes: Vec<LocationWrite>,
    /// Sequence number of the last write queued.
    queued: u64,
    /// Sequence number of the last write committed.
    committed: u64,
    waiters: Vec<(u64, DurableCallback)>,
    stop: bool,
}

/// Bindings by AOR (each AOR's bindings ordered by key), with an expiry order and a
/// count per source IP so that every query is a lookup, not a scan.
#[derive(Default)]
struct Index {
    by_aor: HashMap<String, Vec<Binding>>,
    expiry: BTreeSet<(u64, String, String)>,
    per_ip: HashMap<String, usize>,
    len: usize,
}

impl Index {
    fn insert(&mut self, b: Binding) {
        self.remove(&b.aor, &b.key);
        self.expiry
            .insert((b.expires_at, b.aor.clone(), b.key.clone()));
        *self
            .per_ip
            .entry(crate::source_ip(&b.source).to_owned())
            .or_default() += 1;
        self.len += 1;
        let list = self.by_aor.entry(b.aor.clone()).or_default();
        let at = list.partition_point(|e| e.key < b.key);
        list.insert(at, b);
    }

    fn remove(&mut self, aor: &str, key: &str) -> Option<Binding> {
        let list = self.by_aor.get_mut(aor)?;
        let at = list.iter().position(|e| e.key == key)?;
        let b = list.remove(at);
        if list.is_empty() {
            self.by_aor.remove(aor);
        }
        self.expiry
            .remove(&(b.expires_at, b.aor.clone(), b.key.clone()));
        let ip = crate::source_ip(&b.source);
        if let Some(n) = self.per_ip.get_mut(ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_ip.remove(ip);
            }
        }
        self.len = self.len.saturating_sub(1);
        Some(b)
    }

    /// Live bindings from `ip`: the running count less those expired but not yet swept
    /// (the writer sweeps every second, so that is at most a second's worth).
    fn count_from_ip(&self, ip: &str, now: u64) -> usize {
        let held = self.per_ip.get(ip).copied().unwrap_or(0);
        let stale = self
            .unswept(now)
            .filter(|(_, aor, key)| {
                self.by_aor.get(aor).is_some_and(|l| {
                    l.iter()
                        .any(|b| &b.key == key && crate::source_ip(&b.source) == ip)
                })
            })
            .count();
        held.saturating_sub(stale)
    }

    /// Live bindings: all held less those expired but not yet swept.
    fn live(&self, now: u64) -> usize {
        self.len.saturating_sub(self.unswept(now).count())
    }

    /// Bindings expired at `now` that the sweep has not removed yet (at most a second's
    /// worth, see [`SWEEP_EVERY`]).
    fn unswept(&self, now: u64) -> impl Iterator<Item = &(u64, String, String)> {
        self.expiry.iter().take_while(move |(at, _, _)| *at <= now)
    }

    /// Drops every binding expired at `now`; returns how many.
    fn sweep(&mut self, now: u64) -> usize {
        let mut n = 0;
        while let Some(first) = self.expiry.first() {
            if first.0 > now {
                break;
            }
            let (_, aor, key) = first.clone();
            if self.remove(&aor, &key).is_none() {
                // Cannot happen (the orders are kept together); never loop on it.
                self.expiry.pop_first();
            }
            n += 1;
        }
        n
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, StoreError> {
    m.lock().map_err(|_| StoreError::Poisoned)
}

impl CachedLocation {
    /// Loads the unexpired bindings of `db` at `now` and starts the writer thread, which
    /// writes through `db` (share it with [`crate::CachedUsers`], see there).
    pub fn open(
        db: Arc<SqliteStore>,
        now: u64,
        config: GroupCommit,
        on_error: ErrorHook,
    ) -> Result<CachedLocation, StoreError> {
        let mut index = Index::default();
        for b in db.all_bindings(now)? {
            index.insert(b);
        }
        let shared = Arc::new(Shared {
            db,
            index: Mutex::new(index),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            config,
            on_error,
        });
        let worker = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("location-writer".into())
            .spawn(move || worker.run())
            .map_err(|e| StoreError::Writer(e.to_string()))?;
        Ok(CachedLocation {
            shared,
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Commits everything queued and stops the writer; later writes are refused.
    pub fn close(&self) {
        if let Ok(mut q) = self.shared.queue.lock() {
            q.stop = true;
        }
        self.shared.wake.notify_all();
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    fn enqueue(&self, write: LocationWrite) -> Result<(), StoreError> {
        let mut q = lock(&self.shared.queue)?;
        if q.stop {
            return Err(StoreError::Closed);
        }
        q.writes.push(write);
        q.queued += 1;
        if q.writes.len() == 1 || q.writes.len() >= self.shared.config.max_writes {
            self.shared.wake.notify_one();
        }
        Ok(())
    }
}

impl Drop for CachedLocation {
    fn drop(&mut self) {
        self.close();
    }
}

impl Shared {
    fn run(&self) {
        let mut last_purge = Instant::now();
        let mut last_sweep = Instant::now();
        loop {
            if last_sweep.elapsed() >= SWEEP_EVERY {
                last_sweep = Instant::now();
                if let Ok(mut index) = self.index.lock() {
                    index.sweep(unix_now());
                }
            }
            let Ok(mut q) = self.queue.lock() else { return };
            while q.writes.is_empty() && !q.stop {
                let idle = SWEEP_EVERY.saturating_sub(last_sweep.elapsed());
                q = match self
                    .wake
                    .wait_timeout(q, idle.max(Duration::from_millis(10)))
                {
                    Ok((q, _)) => q,
                    Err(_) => return,
                };
                if last_sweep.elapsed() >= SWEEP_EVERY {
                    last_sweep = Instant::now();
                    if let Ok(mut index) = self.index.lock() {
                        index.sweep(unix_now());
                    }
                }
                if q.writes.is_empty() && last_purge.elapsed() >= self.config.purge_every {
                    break;
                }
            }
            let stopping = q.stop;
            if !stopping && q.writes.len() < self.config.max_writes {
                // Let the group fill for one window (a REGISTER's 200 waits this long).
                let deadline = Instant::now() + self.config.window;
                while !q.stop && q.writes.len() < self.config.max_writes {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    q = match self.wake.wait_timeout(q, left) {
                        Ok((q, _)) => q,
                        Err(_) => return,
                    };
                }
            }
            let mut writes = std::mem::take(&mut q.writes);
            let upto = q.queued;
            drop(q);
            if last_purge.elapsed() >= self.config.purge_every {
                last_purge = Instant::now();
                writes.push(LocationWrite::PurgeExpired(unix_now()));
            }
            let ready = match self.db.write_batch(&writes) {
                Ok(()) => {
                    let Ok(mut q) = self.queue.lock() else { return };
                    q.committed = upto;
                    let (ready, waiting) = std::mem::take(&mut q.waiters)
                        .into_iter()
                        .partition(|(seq, _)| *seq <= upto);
                    q.waiters = waiting;
                    let done = q.stop && q.writes.is_empty();
                    drop(q);
                    for (_, then) in ready {
                        then();
                    }
                    if done {
                        return;
                    }
                    continue;
                }
                Err(err) => err,
            };
            (self.on_error)(&ready);
            // Put the group back in front and try again shortly; nothing is answered
            // before it is on disk.
            let Ok(mut q) = self.queue.lock() else { return };
            let newer = std::mem::take(&mut q.writes);
            writes.retain(|w| !matches!(w, LocationWrite::PurgeExpired(_)));
            q.writes = writes;
            q.writes.extend(newer);
            let stop = q.stop;
            drop(q);
            if stop {
                // Shutting down with a failing disk: answer what waits (the bindings are
                // live in memory) rather than hang the shutdown.
                if let Ok(mut q) = self.queue.lock() {
                    for (_, then) in std::mem::take(&mut q.waiters) {
                        then();
                    }
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl LocationStore for CachedLocation {
    fn bindings(&self, aor: &str, now: u64) -> Result<Vec<Binding>, StoreError> {
        let index = lock(&self.shared.index)?;
        Ok(index
            .by_aor
            .get(aor)
            .map(|list| {
                list.iter()
                    .filter(|b| b.expires_at > now)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    fn apply(&self, aor: &str, upserts: &[Binding], removals: &[String]) -> Result<(), StoreError> {
        {
            let mut index = lock(&self.shared.index)?;
            for k in removals {
                index.remove(aor, k);
            }
            for u in upserts {
                let mut b = u.clone();
                aor.clone_into(&mut b.aor);
                index.insert(b);
            }
        }
        self.enqueue(LocationWrite::Apply {
            aor: aor.to_owned(),
            upserts: upserts.to_vec(),
            removals: removals.to_vec(),
        })
    }

    fn remove_aor(&self, aor: &str) -> Result<usize, StoreError> {
        let n = {
            let mut index = lock(&self.shared.index)?;
            let keys: Vec<String> = index
                .by_aor
                .get(aor)
                .map(|l| l.iter().map(|b| b.key.clone()).collect())
                .unwrap_or_default();
            keys.iter()
                .filter(|k| index.remove(aor, k).is_some())
                .count()
        };
        self.enqueue(LocationWrite::RemoveAor(aor.to_owned()))?;
        Ok(n)
    }

    fn purge_expired(&self, now: u64) -> Result<usize, StoreError> {
        let n = lock(&self.shared.index)?.sweep(now);
        self.enqueue(LocationWrite::PurgeExpired(now))?;
        Ok(n)
    }

    fn all_bindings(&self, now: u64) -> Result<Vec<Binding>, StoreError> {
        let index = lock(&self.shared.index)?;
        let mut all: Vec<Binding> = index
            .by_aor
            .values()
            .flatten()
            .filter(|b| b.expires_at > now)
            .cloned()
            .collect();
        drop(index);
        all.sort_by(|a, b| (&a.aor, &a.key).cmp(&(&b.aor, &b.key)));
        Ok(all)
    }

    fn count(&self, now: u64) -> Result<usize, StoreError> {
        Ok(lock(&self.shared.index)?.live(now))
    }

    fn count_from_ip(&self, ip: &str, now: u64) -> Result<usize, StoreError> {
        let index = lock(&self.shared.index)?;
        Ok(index.count_from_ip(ip, now))
    }

    fn when_durable(&self, then: DurableCallback) {
        let Ok(mut q) = self.shared.queue.lock() else {
            return then();
        };
        // Nothing outstanding, or shutting down (the writer commits what is queued).
        if q.committed >= q.queued || q.stop {
            drop(q);
            return then();
        }
        let seq = q.queued;
        q.waiters.push((seq, then));
    }
}
