//! An in-memory tree for tests and tools.

use crate::hash::{Hash, leaf_hash};
use crate::tree::{Frontier, HashReader};

/// A stored node was asked for that the tree does not (yet) have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no stored hash for subtree (level {level}, index {index})")]
pub struct MemoryTreeError {
    /// Level asked for.
    pub level: u8,
    /// Index asked for.
    pub index: u64,
}

/// An append-only Merkle tree held in memory: every complete subtree hash, per level,
/// plus the live [`Frontier`]. Implements [`HashReader`].
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` is the hash of complete subtree `(l, i)`.
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
    scratch: Vec<(u8, u64, Hash)>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tree with room for `leaves` leaves and their nodes, so that appending
    /// them does not reallocate.
    pub fn with_capacity(leaves: usize) -> Self {
        let mut levels = Vec::new();
        let mut n = leaves;
        while n > 0 {
            levels.push(Vec::with_capacity(n));
            n /= 2;
        }
        MemoryTree {
            levels,
            ..Self::default()
        }
    }

    /// Hashes `data` as a leaf and appends it; returns its index.
    pub fn append(&mut self, data: &[u8]) -> u64 {
        self.append_leaf_hash(leaf_hash(data))
    }

    /// Appends an already computed leaf hash; returns its index.
    pub fn append_leaf_hash(&mut self, leaf_hash: Hash) -> u64 {
        let index = self.frontier.size();
        self.scratch.clear();
        self.frontier.append_into(leaf_hash, &mut self.scratch);
        for &(level, _, h) in &self.scratch {
            let l = usize::from(level);
            if self.levels.len() <= l {
                self.levels.push(Vec::new());
            }
            // Nodes of one level complete strictly left to right, so pushing keeps
            // `levels[l][i]` at index i.
            self.levels[l].push(h);
        }
        index
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Root of the whole tree.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The live frontier.
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }
}

impl HashReader for MemoryTree {
    type Error = MemoryTreeError;

    fn read_hash(&self, level: u8, index: u64) -> Result<Hash, MemoryTreeError> {
        self.levels
            .get(usize::from(level))
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or(MemoryTreeError { level, index })
    }
}
