//! Throughput and latency figures for habeas-ledger. Run: `cargo bench -p habeas-ledger`.
//!
//! A plain `main` (harness = false): it prints medians, because the machine is shared and
//! noisy.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use habeas_ledger::{
    Frontier, MemoryTree, consistency_proof, inclusion_proof, leaf_hash, root_at,
    verify_consistency, verify_inclusion,
};
use sha2::{Digest, Sha256};

const LEAVES: usize = 1_000_000;
const LEAF_LEN: usize = 100;
const RUNS: usize = 5;
const SAMPLES: usize = 20_000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: enough to spread indexes.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn main() {
    let mut data = vec![0u8; LEAVES * LEAF_LEN];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for chunk in data.chunks_mut(8) {
        let r = rng.next().to_le_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
    let mb = (LEAVES * LEAF_LEN) as f64 / 1e6;

    // Bound 1: one SHA-256 per 100-byte record (2 compression blocks each).
    let per_record = median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                for rec in data.chunks(LEAF_LEN) {
                    black_box(Sha256::digest(black_box(rec)));
                }
                t.elapsed()
            })
            .collect(),
    );
    // Bound 2: one streaming SHA-256 over all 100 MB (1.56 blocks per record).
    let stream = median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                black_box(Sha256::digest(black_box(&data)));
                t.elapsed()
            })
            .collect(),
    );
    // Breakdown: leaf hashes alone, then leaf hashes + frontier (no storage).
    let leaf_only = median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                for rec in data.chunks(LEAF_LEN) {
                    black_box(leaf_hash(black_box(rec)));
                }
                t.elapsed()
            })
            .collect(),
    );
    let frontier_only = median(
        (0..RUNS)
            .map(|_| {
                let mut f = Frontier::empty();
                let mut out = Vec::with_capacity(64);
                let t = Instant::now();
                for rec in data.chunks(LEAF_LEN) {
                    out.clear();
                    f.append_into(leaf_hash(rec), &mut out);
                    black_box(&out);
                }
                t.elapsed()
            })
            .collect(),
    );
    // The log: leaf hash + frontier append + storing every new node.
    let mut tree = MemoryTree::new();
    let append = median(
        (0..RUNS)
            .map(|_| {
                let mut t2 = MemoryTree::with_capacity(LEAVES);
                let t = Instant::now();
                for rec in data.chunks(LEAF_LEN) {
                    t2.append(rec);
                }
                let e = t.elapsed();
                tree = t2;
                e
            })
            .collect(),
    );
    let rate = |d: Duration| LEAVES as f64 / d.as_secs_f64();
    let mbs = |d: Duration| mb / d.as_secs_f64();
    println!("habeas-ledger benchmark: {LEAVES} leaves x {LEAF_LEN} bytes, median of {RUNS} runs");
    println!(
        "  SHA-256 per record     : {:>8.1} ms  {:>12.0} records/s  {:>8.1} MB/s",
        per_record.as_secs_f64() * 1e3,
        rate(per_record),
        mbs(per_record)
    );
    println!(
        "  SHA-256 streaming      : {:>8.1} ms  {:>12.0} records/s  {:>8.1} MB/s",
        stream.as_secs_f64() * 1e3,
        rate(stream),
        mbs(stream)
    );
    println!(
        "  leaf_hash only         : {:>8.1} ms  {:>12.0} leaves/s   {:>8.1} MB/s",
        leaf_only.as_secs_f64() * 1e3,
        rate(leaf_only),
        mbs(leaf_only)
    );
    println!(
        "  leaf_hash + Frontier   : {:>8.1} ms  {:>12.0} leaves/s   {:>8.1} MB/s",
        frontier_only.as_secs_f64() * 1e3,
        rate(frontier_only),
        mbs(frontier_only)
    );
    println!(
        "  MemoryTree append      : {:>8.1} ms  {:>12.0} leaves/s   {:>8.1} MB/s",
        append.as_secs_f64() * 1e3,
        rate(append),
        mbs(append)
    );
    println!(
        "  ratio append / SHA-256 per record = {:.2}; / SHA-256 streaming = {:.2}",
        per_record.as_secs_f64() / append.as_secs_f64(),
        stream.as_secs_f64() / append.as_secs_f64()
    );

    // Proof latency at 1M leaves.
    let size = tree.size();
    let root = tree.root();
    let mut gen_incl = Vec::with_capacity(SAMPLES);
    let mut ver_incl = Vec::with_capacity(SAMPLES);
    let mut gen_cons = Vec::with_capacity(SAMPLES);
    let mut ver_cons = Vec::with_capacity(SAMPLES);
    let mut proof_len = (0usize, 0usize);
    for _ in 0..SAMPLES {
        let index = rng.next() % size;
        let leaf = leaf_hash(&data[index as usize * LEAF_LEN..][..LEAF_LEN]);
        let t = Instant::now();
        let p = black_box(inclusion_proof(&tree, index, size).unwrap());
        gen_incl.push(t.elapsed());
        let t = Instant::now();
        verify_inclusion(black_box(&leaf), index, size, &p, &root).unwrap();
        ver_incl.push(t.elapsed());
        proof_len.0 = proof_len.0.max(p.len());

        let old = 1 + rng.next() % (size - 1);
        let old_root = root_at(&tree, old).unwrap();
        let t = Instant::now();
        let p = black_box(consistency_proof(&tree, old, size).unwrap());
        gen_cons.push(t.elapsed());
        let t = Instant::now();
        verify_consistency(old, size, &p, black_box(&old_root), &root).unwrap();
        ver_cons.push(t.elapsed());
        proof_len.1 = proof_len.1.max(p.len());
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("proofs at {size} leaves, median of {SAMPLES} random samples:");
    println!(
        "  inclusion   generate {:>6.2} us   verify {:>6.2} us   (<= {} hashes)",
        us(median(gen_incl)),
        us(median(ver_incl)),
        proof_len.0
    );
    println!(
        "  consistency generate {:>6.2} us   verify {:>6.2} us   (<= {} hashes)",
        us(median(gen_cons)),
        us(median(ver_cons)),
        proof_len.1
    );
}
