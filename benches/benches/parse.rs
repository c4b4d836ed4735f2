//! Wall time of parsing the reference INVITE and REGISTER and reading the transaction
//! key fields, sipwarden and rsip side by side in one run.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_main, Criterion, Throughput};
use sipwarden_benches::{rsip_parse, sipwarden_parse, INVITE, REGISTER};
use sipwarden_wire::Limits;

fn parse(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, msg) in [("invite", INVITE), ("register", REGISTER)] {
        let mut group = c.benchmark_group(format!("parse_{name}"));
        group.throughput(Throughput::Bytes(msg.len() as u64));
        group.bench_function("sipwarden", |b| {
            b.iter(|| sipwarden_parse(black_box(Bytes::from_static(msg)), &limits))
        });
        group.bench_function("rsip", |b| b.iter(|| rsip_parse(black_box(msg))));
        group.finish();
    }
}

// The macro generates an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::parse);
}
use group::benches;
criterion_main!(benches);
