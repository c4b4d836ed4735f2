//! RFC 2782 SRV target ordering.

use crate::lookup::Srv;
use crate::random::WeightRandom;

/// Orders SRV records for trying: by priority ascending, and within one
/// priority by RFC 2782 weighted random selection.
///
/// Records whose target is the root (`""`) or whose port is 0 are dropped.
/// At most `max` records are kept, taken from the lowest priorities before the
/// weighted draw, so the work is bounded by `max` whatever the answer held.
pub fn order_srv<R: WeightRandom + ?Sized>(records: &[Srv], max: usize, rng: &mut R) -> Vec<Srv> {
    let mut usable: Vec<&Srv> = records
        .iter()
        .filter(|r| !r.target.is_empty() && r.port != 0)
        .collect();
    usable.sort_by_key(|r| r.priority);
    usable.truncate(max);

    let mut out = Vec::with_capacity(usable.len());
    let mut rest = usable.as_slice();
    while let Some(first) = rest.first() {
        let prio = first.priority;
        let split = rest
            .iter()
            .position(|r| r.priority != prio)
            .unwrap_or(rest.len());
        let (group, tail) = rest.split_at(split);
        weighted_order(group, rng, &mut out);
        rest = tail;
    }
    out
}

/// RFC 2782: zero-weight records first, then repeatedly draw a number in
/// `0..=sum` and take the first record whose running sum reaches it.
fn weighted_order<R: WeightRandom + ?Sized>(group: &[&Srv], rng: &mut R, out: &mut Vec<Srv>) {
    let mut pool: Vec<&Srv> = group.iter().filter(|r| r.weight == 0).copied().collect();
    pool.extend(group.iter().filter(|r| r.weight != 0).copied());
    while !pool.is_empty() {
        let total = pool
            .iter()
            .fold(0u32, |acc, r| acc.saturating_add(u32::from(r.weight)));
        let draw = rng.pick(total).min(total);
        let mut running = 0u32;
        let mut chosen = pool.len().saturating_sub(1);
        for (i, r) in pool.iter().enumerate() {
            running = running.saturating_add(u32::from(r.weight));
            if running >= draw {
                chosen = i;
                break;
            }
        }
        let picked = pool.remove(chosen);
        out.push(picked.clone());
    }
}
