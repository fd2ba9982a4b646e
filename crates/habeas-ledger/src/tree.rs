//! Stored full subtrees, the right-edge frontier, and roots computed from storage.

use crate::error::LedgerError;
use crate::hash::{Hash, empty_root, node_hash};

/// Identifies a complete subtree: `(level, index)` covers leaves
/// `[index * 2^level, (index + 1) * 2^level)`. Level 0 are the leaves themselves.
pub type NodeId = (u8, u64);

/// Read access to the stored hashes of complete subtrees. A database implements this.
///
/// Only complete subtrees are ever asked for; a node is asked for only if the tree
/// size the caller names covers it completely.
pub trait HashReader {
    /// The storage error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the hash of the complete subtree `(level, index)`.
    fn read_hash(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;

    /// Returns the hashes of several subtrees, in the order asked. Proof generation
    /// calls this once per proof, so a database can answer with one query.
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        ids.iter().map(|&(l, i)| self.read_hash(l, i)).collect()
    }
}

impl<R: HashReader + ?Sized> HashReader for &R {
    type Error = R::Error;
    fn read_hash(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        (**self).read_hash(level, index)
    }
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error> {
        (**self).read_hashes(ids)
    }
}

/// Decomposes the leaf range `[start, end)` into complete subtrees, largest first.
/// `start` must be aligned to the largest of them, which holds for every range the
/// RFC 6962 recursion produces (and for `[0, size)`).
pub(crate) fn decompose(start: u64, end: u64, out: &mut Vec<NodeId>) {
    let mut pos = start;
    let n = end - start;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if n & width != 0 {
            debug_assert_eq!(pos % width, 0, "unaligned range");
            out.push((level, pos >> level));
            pos = pos.wrapping_add(width);
        }
    }
}

/// Folds complete-subtree hashes (largest first) into the RFC 6962 hash of their range:
/// the left subtree is always the largest power of two, so fold from the right.
pub(crate) fn fold_right(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

/// The right edge of the tree: the hashes of the complete subtrees that make up a tree of
/// `size` leaves (one per set bit of `size`, at most 64), largest first.
///
/// A store keeps this in memory so that an append needs no reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Largest subtree first; `hashes[i]` has level = the i-th highest set bit of `size`.
    hashes: Vec<Hash>,
}

impl Default for Frontier {
    fn default() -> Self {
        Self::empty()
    }
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn empty() -> Self {
        Frontier {
            size: 0,
            hashes: Vec::with_capacity(64),
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The complete-subtree hashes of the right edge, largest first.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The ids of the subtrees in [`Frontier::hashes`], largest first.
    pub fn node_ids(&self) -> Vec<NodeId> {
        let mut ids = Vec::with_capacity(self.hashes.len());
        decompose(0, self.size, &mut ids);
        ids
    }

    /// Appends a leaf hash and returns the nodes to store: `(0, index, leaf_hash)` plus every
    /// complete subtree this append finished, lowest level first. Amortized O(1), no reads.
    pub fn append(&mut self, leaf_hash: Hash) -> Vec<(u8, u64, Hash)> {
        let mut out = Vec::with_capacity(2);
        self.append_into(leaf_hash, &mut out);
        out
    }

    /// Like [`Frontier::append`], but pushes the new nodes onto `out` (no allocation).
    pub fn append_into(&mut self, leaf_hash: Hash, out: &mut Vec<(u8, u64, Hash)>) {
        let index = self.size;
        out.push((0, index, leaf_hash));
        let mut h = leaf_hash;
        let mut level = 0u8;
        // Each trailing one bit of the old size is a subtree of the same level as the one we
        // carry; merge them like a binary increment.
        while index.checked_shr(u32::from(level)).unwrap_or(0) & 1 == 1 {
            let Some(left) = self.hashes.pop() else { break };
            h = node_hash(&left, &h);
            level += 1;
            out.push((level, index.checked_shr(u32::from(level)).unwrap_or(0), h));
        }
        self.hashes.push(h);
        self.size = index.saturating_add(1);
    }

    /// The RFC 6962 Merkle tree hash of the whole tree; [`empty_root`] when empty.
    pub fn root(&self) -> Hash {
        fold_right(&self.hashes).unwrap_or_else(empty_root)
    }

    /// Rebuilds the frontier of a tree of `size` leaves from stored hashes
    /// (one batch read of at most 64 nodes).
    pub fn load<R: HashReader>(reader: &R, size: u64) -> Result<Self, R::Error> {
        let mut ids = Vec::with_capacity(64);
        decompose(0, size, &mut ids);
        let mut hashes = if ids.is_empty() {
            Vec::new()
        } else {
            reader.read_hashes(&ids)?
        };
        if hashes.len() != ids.len() {
            // A batch that came back short or long cannot be trusted; read one by one.
            hashes = ids
                .iter()
                .map(|&(l, i)| reader.read_hash(l, i))
                .collect::<Result<_, _>>()?;
        }
        hashes.reserve(64usize.saturating_sub(hashes.len()));
        Ok(Frontier { size, hashes })
    }
}

/// Root of the tree made of the first `size` leaves, from stored hashes (O(log n) reads,
/// one batch). `size` 0 gives [`empty_root`].
pub fn root_at<R: HashReader>(reader: &R, size: u64) -> Result<Hash, LedgerError<R::Error>> {
    let mut ids = Vec::with_capacity(64);
    decompose(0, size, &mut ids);
    if ids.is_empty() {
        return Ok(empty_root());
    }
    let hashes = reader.read_hashes(&ids).map_err(LedgerError::Store)?;
    check_batch(&ids, &hashes)?;
    Ok(fold_right(&hashes).unwrap_or_else(empty_root))
}

/// A misbehaving reader that returns the wrong number of hashes must not cause a panic.
pub(crate) fn check_batch<E>(ids: &[NodeId], hashes: &[Hash]) -> Result<(), LedgerError<E>> {
    if ids.len() != hashes.len() {
        return Err(LedgerError::BatchLength {
            expected: ids.len(),
            got: hashes.len(),
        });
    }
    Ok(())
}
