//! Integration tests for habeas-ledger, through the public API only.
//!
//! Published vectors used (facts, not code):
//! - transparency-dev/merkle `rfc6962/rfc6962_test.go`: RFC 6962 hasher values.
//! - transparency-dev/merkle `proof/verify_test.go`: the 8-leaf reference tree (leaves,
//!   roots for sizes 1..8, inclusion and consistency proofs).
//! - golang/mod `sumdb/note/note_test.go`: PeterNeumann / EnochRoot keys and signatures.
//! - C2SP/C2SP `signed-note.md`, `tlog-checkpoint.md`, `tlog-witness.md`, `tlog-proof.md`:
//!   the examples in the specs.
//! - transparency-dev/formats `proof/tlog_proof_test.go`: Go-produced tlog-proof texts.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use habeas_ledger::*;
use proptest::prelude::*;
use sha2::Sha256;

fn h(s: &str) -> Hash {
    assert_eq!(s.len(), 64);
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

fn b64(s: &str) -> Vec<u8> {
    STANDARD.decode(s).unwrap()
}

// ---------------------------------------------------------------------------------------
// RFC 6962 hashing

#[test]
fn rfc6962_hasher_vectors() {
    assert_eq!(empty_root(), h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_eq!(leaf_hash(b""), h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"));
    assert_eq!(
        leaf_hash(b"L123456"),
        h("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
    );
    // The published node vector hashes 4-byte children; our node_hash takes 32-byte
    // hashes, so check it on the 2-leaf reference root instead.
    assert_eq!(
        node_hash(&leaf_hash(b""), &leaf_hash(&[0x00])),
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")
    );
    assert_ne!(node_hash(&[1; 32], &[2; 32]), node_hash(&[2; 32], &[1; 32]));
}

#[test]
fn hash_from_slice_checks_length() {
    assert_eq!(hash_from_slice(&[7u8; 32]).unwrap(), [7u8; 32]);
    assert_eq!(hash_from_slice(&[0u8; 31]), Err(ProofError::BadHashLength { got: 31 }));
    assert_eq!(hash_from_slice(&[0u8; 33]), Err(ProofError::BadHashLength { got: 33 }));
    assert_eq!(hash_from_slice(&[]), Err(ProofError::BadHashLength { got: 0 }));
}

// ---------------------------------------------------------------------------------------
// The 8-leaf reference tree

fn ref_leaves() -> Vec<Vec<u8>> {
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
        .iter()
        .map(|s| unhex(s))
        .collect()
}

fn ref_roots() -> Vec<Hash> {
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    .iter()
    .map(|s| h(s))
    .collect()
}

/// (leaf index, tree size, proof), from proof/verify_test.go (which numbers leaves from 1).
fn ref_inclusion() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (2, 3, vec![h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

fn ref_consistency() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

fn ref_tree() -> MemoryTree {
    let mut t = MemoryTree::new();
    for l in ref_leaves() {
        t.append(&l);
    }
    t
}

#[test]
fn reference_tree_roots_every_size() {
    let roots = ref_roots();
    let mut t = MemoryTree::new();
    assert_eq!(t.root(), empty_root());
    for (i, l) in ref_leaves().iter().enumerate() {
        assert_eq!(t.append(l), i as u64);
        assert_eq!(t.root(), roots[i], "live root at size {}", i + 1);
    }
    for size in 1..=8u64 {
        assert_eq!(root_at(&t, size).unwrap(), roots[size as usize - 1], "root_at({size})");
    }
    assert_eq!(root_at(&t, 0).unwrap(), empty_root());
}

#[test]
fn reference_tree_inclusion_proofs() {
    let t = ref_tree();
    let (leaves, roots) = (ref_leaves(), ref_roots());
    for (index, size, want) in ref_inclusion() {
        let got = inclusion_proof(&t, index, size).unwrap();
        assert_eq!(got, want, "inclusion proof ({index}, {size})");
        let leaf = leaf_hash(&leaves[index as usize]);
        let root = roots[size as usize - 1];
        verify_inclusion(&leaf, index, size, &want, &root).unwrap();
        // Probes from verify_test.go's corruptInclusionProof.
        let mut bad: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (index.wrapping_sub(1), size, leaf, root, want.clone()),
            (index + 1, size, leaf, root, want.clone()),
            (index ^ 2, size, leaf, root, want.clone()),
            (index, size * 2, leaf, root, want.clone()),
            (index, size / 2, leaf, root, want.clone()),
            (index, size, leaf_hash(b"WrongLeaf"), root, want.clone()),
            (index, size, leaf, empty_root(), want.clone()),
            (index, size, leaf, [0xab; 32], want.clone()),
            (index, size, leaf, root, [want.clone(), vec![root]].concat()),
            (index, size, leaf, root, [vec![root], want.clone()].concat()),
        ];
        for i in 0..want.len() {
            let mut p = want.clone();
            p[i][0] ^= 8;
            bad.push((index, size, leaf, root, p));
        }
        if !want.is_empty() {
            bad.push((index, size, leaf, root, want[..want.len() - 1].to_vec()));
        }
        for (i, s, l, r, p) in bad {
            assert!(verify_inclusion(&l, i, s, &p, &r).is_err(), "probe ({i},{s}) verified");
        }
    }
}

#[test]
fn reference_tree_consistency_proofs() {
    let t = ref_tree();
    let roots = ref_roots();
    for (old, new, want) in ref_consistency() {
        let got = consistency_proof(&t, old, new).unwrap();
        assert_eq!(got, want, "consistency proof ({old}, {new})");
        let (r1, r2) = (roots[old as usize - 1], roots[new as usize - 1]);
        verify_consistency(old, new, &want, &r1, &r2).unwrap();
        if want.is_empty() {
            continue;
        }
        let mut bad: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (old - 1, new, r1, r2, want.clone()),
            (old + 1, new, r1, r2, want.clone()),
            (old ^ 2, new, r1, r2, want.clone()),
            (old, new * 2, r1, r2, want.clone()),
            (old, new / 2, r1, r2, want.clone()),
            (old, new, leaf_hash(b"WrongRoot"), r2, want.clone()),
            (old, new, r1, leaf_hash(b"WrongRoot"), want.clone()),
            (old, new, r2, r1, want.clone()),
            (old, new, r1, r2, vec![]),
            (old, new, r1, r2, [want.clone(), vec![r1]].concat()),
            (old, new, r1, r2, [want.clone(), vec![r2]].concat()),
            (old, new, r1, r2, [vec![r1], want.clone()].concat()),
            (old, new, r1, r2, [vec![r2], want.clone()].concat()),
            (old, new, r1, r2, [vec![want[0]], want.clone()].concat()),
            (old, new, r1, r2, want[..want.len() - 1].to_vec()),
        ];
        for i in 0..want.len() {
            let mut p = want.clone();
            p[i][0] ^= 16;
            bad.push((old, new, r1, r2, p));
        }
        for (o, n, a, b, p) in bad {
            assert!(verify_consistency(o, n, &p, &a, &b).is_err(), "probe ({o},{n}) verified");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Edge cases, rejected explicitly

#[test]
fn inclusion_edge_cases() {
    let t = ref_tree();
    let r = t.root();
    let l = leaf_hash(b"");
    assert!(matches!(inclusion_proof(&t, 0, 0), Err(LedgerError::Proof(ProofError::EmptyTree))));
    assert!(matches!(
        inclusion_proof(&t, 8, 8),
        Err(LedgerError::Proof(ProofError::IndexOutOfRange { index: 8, size: 8 }))
    ));
    assert_eq!(verify_inclusion(&l, 0, 0, &[], &empty_root()), Err(ProofError::EmptyTree));
    assert_eq!(
        verify_inclusion(&l, 3, 3, &[], &r),
        Err(ProofError::IndexOutOfRange { index: 3, size: 3 })
    );
    assert_eq!(
        verify_inclusion(&l, u64::MAX, 5, &[], &r),
        Err(ProofError::IndexOutOfRange { index: u64::MAX, size: 5 })
    );
    let p = inclusion_proof(&t, 0, 8).unwrap();
    assert_eq!(
        verify_inclusion(&l, 0, 8, &p[..2], &r),
        Err(ProofError::WrongProofLength { expected: 3, got: 2 })
    );
    assert_eq!(
        verify_inclusion(&l, 0, 8, &[p.clone(), vec![r]].concat(), &r),
        Err(ProofError::WrongProofLength { expected: 3, got: 4 })
    );
    assert_eq!(verify_inclusion(&[9; 32], 0, 8, &p, &r), Err(ProofError::RootMismatch));
    // Single-entry tree: root equals leaf hash, empty proof.
    verify_inclusion(&leaf_hash(b"data"), 0, 1, &[], &leaf_hash(b"data")).unwrap();
    // Asking beyond what is stored is a store error, not a panic.
    assert!(matches!(inclusion_proof(&t, 0, 9), Err(LedgerError::Store(_))));
    assert!(matches!(root_at(&t, 100), Err(LedgerError::Store(_))));
    // Huge sizes do not overflow.
    assert_eq!(inclusion_proof_len(u64::MAX - 1, u64::MAX).unwrap(), 64);
    assert_eq!(inclusion_proof_len(0, u64::MAX).unwrap(), 64);
}

#[test]
fn consistency_edge_cases() {
    let t = ref_tree();
    let roots = ref_roots();
    let e = empty_root();
    assert!(matches!(
        consistency_proof(&t, 5, 4),
        Err(LedgerError::Proof(ProofError::OldSizeGreater { old_size: 5, new_size: 4 }))
    ));
    assert_eq!(
        verify_consistency(5, 4, &[], &roots[4], &roots[3]),
        Err(ProofError::OldSizeGreater { old_size: 5, new_size: 4 })
    );
    // Equal sizes: empty proof, equal roots.
    assert!(consistency_proof(&t, 4, 4).unwrap().is_empty());
    verify_consistency(4, 4, &[], &roots[3], &roots[3]).unwrap();
    assert_eq!(verify_consistency(4, 4, &[], &roots[3], &roots[4]), Err(ProofError::RootMismatch));
    assert_eq!(
        verify_consistency(4, 4, &[e], &roots[3], &roots[3]),
        Err(ProofError::NonEmptyProofForEqualSizes { got: 1 })
    );
    verify_consistency(0, 0, &[], &e, &e).unwrap();
    assert_eq!(verify_consistency(0, 0, &[], &roots[0], &roots[0]), Err(ProofError::OldRootMismatch));
    // From the empty tree: the proof is empty, and the old root must be the empty root.
    assert!(consistency_proof(&t, 0, 8).unwrap().is_empty());
    verify_consistency(0, 8, &[], &e, &roots[7]).unwrap();
    assert_eq!(
        verify_consistency(0, 8, &[e], &e, &roots[7]),
        Err(ProofError::NonEmptyProofFromEmptyTree { got: 1 })
    );
    assert_eq!(verify_consistency(0, 8, &[], &roots[0], &roots[7]), Err(ProofError::OldRootMismatch));
    // Length checks.
    assert_eq!(
        verify_consistency(1, 2, &[], &roots[0], &roots[1]),
        Err(ProofError::WrongProofLength { expected: 1, got: 0 })
    );
    let p = consistency_proof(&t, 6, 8).unwrap();
    assert_eq!(
        verify_consistency(6, 8, &[p.clone(), vec![e]].concat(), &roots[5], &roots[7]),
        Err(ProofError::WrongProofLength { expected: 3, got: 4 })
    );
    assert_eq!(verify_consistency(6, 8, &p, &roots[5], &roots[6]), Err(ProofError::RootMismatch));
    assert_eq!(verify_consistency(6, 8, &p, &roots[4], &roots[7]), Err(ProofError::OldRootMismatch));
    assert_eq!(consistency_proof_len(u64::MAX - 1, u64::MAX).unwrap() <= 64, true);
}

/// A reader that counts calls and ids, to check proofs need O(log n) reads in one batch.
struct Counting<'a> {
    inner: &'a MemoryTree,
    calls: Cell<usize>,
    ids: Cell<usize>,
}

impl HashReader for Counting<'_> {
    type Error = MemoryTreeError;
    fn read_hash(&self, level: u8, index: u64) -> Result<Hash, MemoryTreeError> {
        self.calls.set(self.calls.get() + 1);
        self.ids.set(self.ids.get() + 1);
        self.inner.read_hash(level, index)
    }
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MemoryTreeError> {
        self.calls.set(self.calls.get() + 1);
        self.ids.set(self.ids.get() + ids.len());
        ids.iter().map(|&(l, i)| self.inner.read_hash(l, i)).collect()
    }
}

#[test]
fn proofs_read_log_n_hashes_in_one_batch() {
    let mut t = MemoryTree::new();
    for i in 0..5000u32 {
        t.append(&i.to_be_bytes());
    }
    let c = Counting { inner: &t, calls: Cell::new(0), ids: Cell::new(0) };
    for (index, size) in [(0u64, 5000u64), (4999, 5000), (1234, 4097), (2047, 2049)] {
        c.calls.set(0);
        c.ids.set(0);
        inclusion_proof(&c, index, size).unwrap();
        assert_eq!(c.calls.get(), 1);
        assert!(c.ids.get() <= 2 * 13 + 2, "{} ids for ({index},{size})", c.ids.get());
    }
    for (old, new) in [(1u64, 5000u64), (4999, 5000), (1234, 4097), (2047, 2049), (3, 4999)] {
        c.calls.set(0);
        c.ids.set(0);
        consistency_proof(&c, old, new).unwrap();
        assert_eq!(c.calls.get(), 1);
        assert!(c.ids.get() <= 2 * 13 + 2, "{} ids for ({old},{new})", c.ids.get());
    }
    c.ids.set(0);
    root_at(&c, 4999).unwrap();
    assert_eq!(c.ids.get(), 4999u64.count_ones() as usize);
}

/// A reader that returns too few hashes must give an error, not a panic.
struct Short;
impl HashReader for Short {
    type Error = MemoryTreeError;
    fn read_hash(&self, level: u8, index: u64) -> Result<Hash, MemoryTreeError> {
        Err(MemoryTreeError { level, index })
    }
    fn read_hashes(&self, _ids: &[NodeId]) -> Result<Vec<Hash>, MemoryTreeError> {
        Ok(vec![[0; 32]])
    }
}

#[test]
fn misbehaving_reader_is_an_error() {
    assert!(matches!(inclusion_proof(&Short, 3, 77), Err(LedgerError::BatchLength { .. })));
    assert!(matches!(consistency_proof(&Short, 3, 77), Err(LedgerError::BatchLength { .. })));
    assert!(matches!(root_at(&Short, 77), Err(LedgerError::BatchLength { .. })));
}

// ---------------------------------------------------------------------------------------
// Frontier

#[test]
fn frontier_load_matches_live_frontier_at_every_size() {
    let mut t = MemoryTree::new();
    let mut snapshots = vec![Frontier::empty()];
    let mut f = Frontier::empty();
    for i in 0..1100u32 {
        let lh = leaf_hash(&i.to_le_bytes());
        let nodes = f.append(lh);
        // The returned nodes are exactly what a store must write.
        assert_eq!(nodes[0], (0, u64::from(i), lh));
        assert_eq!(nodes.len(), 1 + (u64::from(i) + 1).trailing_zeros() as usize);
        t.append_leaf_hash(lh);
        for &(level, index, hash) in &nodes {
            assert_eq!(t.read_hash(level, index).unwrap(), hash);
        }
        assert_eq!(&f, t.frontier());
        assert_eq!(Frontier::load(&t, t.size()).unwrap(), f);
        assert_eq!(f.root(), root_at(&t, t.size()).unwrap());
        assert_eq!(f.hashes().len(), f.size().count_ones() as usize);
        snapshots.push(f.clone());
    }
    for (size, snap) in snapshots.iter().enumerate() {
        let loaded = Frontier::load(&t, size as u64).unwrap();
        assert_eq!(&loaded, snap, "load at size {size}");
        assert_eq!(loaded.root(), root_at(&t, size as u64).unwrap());
    }
    // A loaded frontier keeps appending correctly.
    let mut g = Frontier::load(&t, 777).unwrap();
    let mut h2 = snapshots[777].clone();
    for i in 0..50u8 {
        assert_eq!(g.append(leaf_hash(&[i])), h2.append(leaf_hash(&[i])));
    }
    assert_eq!(g, h2);
    assert_eq!(Frontier::empty().root(), empty_root());
}

// ---------------------------------------------------------------------------------------
// Property tests

/// The left/right pattern the RFC 9162 inclusion verifier follows; two sizes with the same
/// pattern accept the same proofs (a known property of the algorithm, not a bug).
fn inclusion_shape(index: u64, size: u64) -> Vec<bool> {
    let (mut f, mut s) = (index, size - 1);
    let mut out = vec![];
    while s > 0 {
        let left = f & 1 == 1 || f == s;
        out.push(left);
        if left {
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        }
        f >>= 1;
        s >>= 1;
    }
    out
}

/// The steps the RFC 9162 consistency verifier takes over a proof of `len` hashes.
fn consistency_shape(old: u64, new: u64, len: usize) -> (bool, Vec<u8>, u64) {
    let pow2 = old.is_power_of_two();
    let steps = if pow2 { len } else { len.saturating_sub(1) };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut out = vec![];
    for _ in 0..steps {
        if s == 0 {
            out.push(2);
            break;
        }
        if f & 1 == 1 || f == s {
            out.push(1);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            out.push(0);
        }
        f >>= 1;
        s >>= 1;
    }
    (pow2, out, s)
}

fn build(n: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.append(&i.to_le_bytes());
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn prop_inclusion_proofs_verify_and_detect_changes(size in 1u64..3000, seed: u64, bit in 0usize..256) {
        let t = build(size);
        let index = seed % size;
        let root = t.root();
        let leaf = leaf_hash(&index.to_le_bytes());
        let proof = inclusion_proof(&t, index, size).unwrap();
        prop_assert_eq!(proof.len(), inclusion_proof_len(index, size).unwrap());
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
        // A bit flip anywhere in the proof, the leaf or the root.
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_inclusion(&leaf, index, size, &p, &root).is_err());
        }
        let mut l2 = leaf; l2[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_inclusion(&l2, index, size, &proof, &root).is_err());
        let mut r2 = root; r2[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &r2).is_err());
        // Another index.
        for other in [index.wrapping_sub(1), index + 1, index ^ 1, index ^ 2] {
            if other != index {
                prop_assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
            }
        }
        // Another size: fails unless the verifier walks the same shape (RFC 9162 property).
        for other in [size - 1, size + 1, size * 2, size / 2] {
            if other != size && other > index {
                let ok = verify_inclusion(&leaf, index, other, &proof, &root).is_ok();
                prop_assert!(!ok || inclusion_shape(index, other) == inclusion_shape(index, size));
            }
        }
        // Removing or adding a hash.
        if !proof.is_empty() {
            prop_assert!(verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
            prop_assert!(verify_inclusion(&leaf, index, size, &proof[..proof.len() - 1], &root).is_err());
        }
        let longer = [proof.clone(), vec![root]].concat();
        prop_assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
    }

    #[test]
    fn prop_consistency_proofs_verify_and_detect_changes(new in 1u64..3000, seed: u64, bit in 0usize..256) {
        let t = build(new);
        let old = 1 + seed % new;
        let (r1, r2) = (root_at(&t, old).unwrap(), t.root());
        let proof = consistency_proof(&t, old, new).unwrap();
        prop_assert_eq!(proof.len(), consistency_proof_len(old, new).unwrap());
        prop_assert!(verify_consistency(old, new, &proof, &r1, &r2).is_ok());
        if old == new {
            prop_assert!(proof.is_empty());
            return Ok(());
        }
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_consistency(old, new, &p, &r1, &r2).is_err());
        }
        let mut a = r1; a[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_consistency(old, new, &proof, &a, &r2).is_err());
        let mut b = r2; b[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_consistency(old, new, &proof, &r1, &b).is_err());
        prop_assert!(verify_consistency(old, new, &proof[1..], &r1, &r2).is_err());
        prop_assert!(verify_consistency(old, new, &proof[..proof.len() - 1], &r1, &r2).is_err());
        let longer = [proof.clone(), vec![r1]].concat();
        prop_assert!(verify_consistency(old, new, &longer, &r1, &r2).is_err());
        // Other sizes: fails unless the verifier walks the same shape (RFC 9162 property).
        for (o, n) in [(old - 1, new), (old + 1, new), (old, new + 1), (old, new - 1), (old, new * 2)] {
            if o >= 1 && o < n && (o, n) != (old, new) {
                let ok = verify_consistency(o, n, &proof, &r1, &r2).is_ok();
                prop_assert!(!ok || consistency_shape(o, n, proof.len()) == consistency_shape(old, new, proof.len()),
                    "({}, {}) verified with the proof for ({}, {})", o, n, old, new);
            }
        }
    }

    #[test]
    fn prop_cross_check_with_ct_merkle(size in 1usize..400, seed: u64) {
        let mut ct = ct_merkle::mem_backed_tree::MemoryBackedTree::<Sha256, Vec<u8>>::new();
        let mut ours = MemoryTree::new();
        for i in 0..size {
            let leaf = format!("leaf {i} {seed}").into_bytes();
            ct.push(leaf.clone());
            ours.append(&leaf);
            let ct_root = ct.root();
            prop_assert_eq!(ct_root.as_bytes().as_slice(), &ours.root()[..]);
        }
        let idx = (seed as usize) % size;
        let leaf = format!("leaf {idx} {seed}").into_bytes();
        // Inclusion: identical bytes, and each verifier accepts the other's proof.
        let ct_root = ct.root();
        let theirs = ct.prove_inclusion(idx);
        let mine = inclusion_proof(&ours, idx as u64, size as u64).unwrap();
        let mine_flat = mine.concat();
        prop_assert_eq!(theirs.as_bytes(), mine_flat.as_slice());
        let their_hashes: Vec<Hash> =
            theirs.as_bytes().chunks(32).map(|c| hash_from_slice(c).unwrap()).collect();
        prop_assert!(verify_inclusion(&leaf_hash(&leaf), idx as u64, size as u64, &their_hashes, &ours.root()).is_ok());
        let mine_ct = ct_merkle::InclusionProof::<Sha256>::from_bytes(mine.concat());
        prop_assert!(ct_root.verify_inclusion(&leaf, idx as u64, &mine_ct).is_ok());
        // Consistency from old = size - additions (ct-merkle needs old >= 1).
        let additions = (seed as usize / 7) % size;
        let old = (size - additions) as u64;
        let theirs = ct.prove_consistency(additions);
        let mine = consistency_proof(&ours, old, size as u64).unwrap();
        let mine_flat = mine.concat();
        prop_assert_eq!(theirs.as_bytes(), mine_flat.as_slice());
        let old_root = root_at(&ours, old).unwrap();
        let their_hashes: Vec<Hash> =
            theirs.as_bytes().chunks(32).map(|c| hash_from_slice(c).unwrap()).collect();
        prop_assert!(verify_consistency(old, size as u64, &their_hashes, &old_root, &ours.root()).is_ok());
        let ct_old = ct_merkle::RootHash::<Sha256>::new(old_root.into(), old);
        let mine_ct = ct_merkle::ConsistencyProof::<Sha256>::try_from_bytes(mine.concat()).unwrap();
        prop_assert!(ct_root.verify_consistency(&ct_old, &mine_ct).is_ok());
    }
}
