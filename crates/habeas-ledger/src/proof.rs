//! RFC 9162 §2.1.3 inclusion and §2.1.4 consistency proofs: generation from stored
//! complete subtrees and verification.
//!
//! Decisions on edge cases:
//! - Inclusion in an empty tree is [`ProofError::EmptyTree`]; `index >= size` is
//!   [`ProofError::IndexOutOfRange`].
//! - A consistency proof from size 0 is the empty proof (RFC 9162 leaves it undefined;
//!   c2sp.org/tlog-witness requires it to be empty). Verifying it accepts only an empty
//!   proof and only the empty-tree root as the old root.
//! - Equal sizes: the proof is empty and the two roots must be equal.

use crate::error::{LedgerError, ProofError};
use crate::hash::{Hash, empty_root, node_hash};
use crate::tree::{HashReader, check_batch, decompose, fold_right};

/// Largest power of two strictly less than `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Number of levels where the path of `index` and of the last leaf differ (`inner`), and
/// the number of right-edge siblings above them (`border`).
fn decomp_inclusion(index: u64, size: u64) -> (u32, u32) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner, border)
}

/// The number of hashes in the inclusion proof of leaf `index` in a tree of `size`.
pub fn inclusion_proof_len(index: u64, size: u64) -> Result<usize, ProofError> {
    if size == 0 {
        return Err(ProofError::EmptyTree);
    }
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (inner, border) = decomp_inclusion(index, size);
    Ok((inner + border) as usize)
}

/// The number of hashes in the consistency proof from `old_size` to `new_size`.
pub fn consistency_proof_len(old_size: u64, new_size: u64) -> Result<usize, ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldSizeGreater { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(0);
    }
    let (inner, border) = decomp_inclusion(old_size - 1, new_size);
    // The part of the path inside the old tree's last complete subtree is implied.
    let shift = old_size.trailing_zeros();
    let seed = u32::from(!old_size.is_power_of_two());
    Ok((seed + inner - shift + border) as usize)
}

/// Leaf ranges whose hashes form PATH(index, D[0:size]), leaf sibling first.
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
        }
    }
    out.reverse();
    out
}

/// Leaf ranges whose hashes form PROOF(old, D[0:new]) (RFC 6962 §2.1.2 SUBPROOF).
fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0u64, new);
    let mut complete = true; // the `b` flag: is the old tree's subtree a node we may omit?
    loop {
        let n = hi - lo;
        let m = old - lo;
        if m == n {
            if !complete {
                out.push((lo, hi));
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
            complete = false;
        }
    }
    out.reverse();
    out
}

/// Reads the complete subtrees of every range in one batch and folds each range.
/// Only the one range on the ragged right edge is not itself complete, so this is
/// O(log n) reads.
fn range_hashes<R: HashReader>(
    reader: &R,
    ranges: &[(u64, u64)],
) -> Result<Vec<Hash>, LedgerError<R::Error>> {
    let mut ids = Vec::with_capacity(ranges.len() + 64);
    let mut counts = Vec::with_capacity(ranges.len());
    for &(s, e) in ranges {
        let before = ids.len();
        decompose(s, e, &mut ids);
        counts.push(ids.len() - before);
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = reader.read_hashes(&ids).map_err(LedgerError::Store)?;
    check_batch(&ids, &hashes)?;
    let mut out = Vec::with_capacity(ranges.len());
    let mut rest = hashes.as_slice();
    for c in counts {
        let (mine, tail) = rest.split_at(c);
        out.push(fold_right(mine).unwrap_or_else(empty_root));
        rest = tail;
    }
    Ok(out)
}

/// RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of the first `size`
/// leaves, leaf sibling first. Reads O(log n) stored hashes in one batch.
pub fn inclusion_proof<R: HashReader>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, LedgerError<R::Error>> {
    inclusion_proof_len(index, size)?;
    range_hashes(reader, &inclusion_ranges(index, size))
}

/// RFC 9162 §2.1.4.1 consistency proof from the tree of `old_size` leaves to the tree of
/// `new_size` leaves. Empty when `old_size` is 0 or equals `new_size`.
pub fn consistency_proof<R: HashReader>(
    reader: &R,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, LedgerError<R::Error>> {
    if consistency_proof_len(old_size, new_size)? == 0 {
        return Ok(Vec::new());
    }
    range_hashes(reader, &consistency_ranges(old_size, new_size))
}

/// RFC 9162 §2.1.3.2: checks that `leaf_hash` is leaf `index` of the tree of `size`
/// leaves whose root is `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let expected = inclusion_proof_len(index, size)?;
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: checks that the tree of `new_size` leaves with root `new_root`
/// extends the tree of `old_size` leaves with root `old_root`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldSizeGreater { old_size, new_size });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::NonEmptyProofForEqualSizes { got: proof.len() });
        }
        if old_size == 0 && *old_root != empty_root() {
            return Err(ProofError::OldRootMismatch);
        }
        if old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::NonEmptyProofFromEmptyTree { got: proof.len() });
        }
        if *old_root != empty_root() {
            return Err(ProofError::OldRootMismatch);
        }
        return Ok(());
    }
    let expected = consistency_proof_len(old_size, new_size)?;
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    // A power-of-two old tree is itself a node of the new tree: its root seeds the path.
    let (seed, rest) = if old_size.is_power_of_two() {
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(ProofError::WrongProofLength { expected, got: 0 }),
        }
    };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        if s == 0 {
            return Err(ProofError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}
