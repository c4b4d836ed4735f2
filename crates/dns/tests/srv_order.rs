//! RFC 2782 ordering with a scripted random source.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::VecDeque;

use sipwarden_dns::{order_srv, Srv, StdWeightRandom, WeightRandom};

fn targets(records: &[Srv]) -> Vec<&str> {
    records.iter().map(|r| r.target.as_str()).collect()
}

/// Replays `draws` and records the totals it was asked for.
struct Script {
    draws: VecDeque<u32>,
    totals: Vec<u32>,
}

impl Script {
    fn new(draws: &[u32]) -> Self {
        Script {
            draws: draws.iter().copied().collect(),
            totals: Vec::new(),
        }
    }
}

impl WeightRandom for Script {
    fn pick(&mut self, total: u32) -> u32 {
        self.totals.push(total);
        self.draws.pop_front().unwrap()
    }
}

fn sample() -> Vec<Srv> {
    vec![
        Srv::new(20, 0, 5060, "backup.example.com"),
        Srv::new(10, 60, 5060, "a.example.com"),
        Srv::new(10, 0, 5060, "zero.example.com"),
        Srv::new(10, 40, 5060, "b.example.com"),
    ]
}

#[test]
fn priority_first_then_weights_low_draw() {
    let mut rng = Script::new(&[0, 0, 0, 0]);
    let out = order_srv(&sample(), 16, &mut rng);
    // Draw 0 selects the zero-weight record placed first, then the first by running sum.
    assert_eq!(
        targets(&out),
        [
            "zero.example.com",
            "a.example.com",
            "b.example.com",
            "backup.example.com"
        ]
    );
    // Totals: priority 10 group 100, then 100 (zero taken), then 40, then priority 20 alone.
    assert_eq!(rng.totals, [100, 100, 40, 0]);
}

#[test]
fn high_draw_selects_by_running_sum() {
    // 61 > 60 skips a (running sums 0, 60, 100): picks b; then 0 picks zero; then a.
    let mut rng = Script::new(&[61, 0, 0, 0]);
    let out = order_srv(&sample(), 16, &mut rng);
    assert_eq!(
        targets(&out),
        [
            "b.example.com",
            "zero.example.com",
            "a.example.com",
            "backup.example.com"
        ]
    );
}

#[test]
fn out_of_range_draw_is_clamped() {
    let mut rng = |_total: u32| u32::MAX;
    let out = order_srv(&sample(), 16, &mut rng);
    assert_eq!(
        targets(&out),
        [
            "b.example.com",
            "a.example.com",
            "zero.example.com",
            "backup.example.com"
        ]
    );
}

#[test]
fn root_targets_and_port_zero_are_dropped() {
    let records = vec![
        Srv::new(0, 0, 5060, "."),
        Srv::new(0, 0, 0, "x.example.com"),
        Srv::new(1, 0, 5060, "ok.example.com"),
    ];
    let out = order_srv(&records, 16, &mut |_| 0);
    assert_eq!(targets(&out), ["ok.example.com"]);
}

#[test]
fn cap_keeps_lowest_priorities() {
    let records: Vec<Srv> = (0..100u16)
        .rev()
        .map(|p| Srv::new(p, 1, 5060, &format!("h{p}.example.com")))
        .collect();
    let out = order_srv(&records, 3, &mut |_| 0);
    assert_eq!(
        targets(&out),
        ["h0.example.com", "h1.example.com", "h2.example.com"]
    );
}

#[test]
fn weights_shape_the_distribution() {
    // Over every possible draw 0..=100 the 60-weight record should lead 61
    // times (draws 0..=60) and the 40-weight one 40 times.
    let records = vec![
        Srv::new(0, 60, 5060, "a.example.com"),
        Srv::new(0, 40, 5060, "b.example.com"),
    ];
    let mut a_first = 0;
    for draw in 0..=100u32 {
        let mut once = Some(draw);
        let mut rng = |_| once.take().unwrap_or(0);
        let out = order_srv(&records, 16, &mut rng);
        if out[0].target == "a.example.com" {
            a_first += 1;
        }
    }
    assert_eq!(a_first, 61);
}

#[test]
fn huge_weights_do_not_overflow() {
    let records: Vec<Srv> = (0..5u16)
        .map(|i| Srv::new(0, u16::MAX, 5060, &format!("h{i}.example.com")))
        .collect();
    let mut rng = StdWeightRandom::new();
    let out = order_srv(&records, usize::MAX, &mut rng);
    assert_eq!(out.len(), 5);
}

#[test]
fn std_random_stays_in_range() {
    let mut rng = StdWeightRandom::new();
    for total in [0u32, 1, 7, 100, u32::MAX] {
        for _ in 0..100 {
            assert!(rng.pick(total) <= total);
        }
    }
    assert_eq!(rng.pick(0), 0);
}
