//! The habeas log: an append-only RFC 6962 / RFC 9162 Merkle tree over opaque leaves,
//! its inclusion and consistency proofs, and the C2SP text formats around it
//! (signed notes, checkpoints, `tlog-proof` receipts and `tlog-witness` request bodies).
//!
//! The crate knows bytes and hashes, not persons or databases: storage is reached through
//! the [`HashReader`] trait, which a database implements over its table of full-subtree
//! hashes. [`MemoryTree`] is an in-memory implementation for tests and tools.
//!
//! Conventions: a subtree is named `(level, index)`, the complete subtree of `2^level`
//! leaves starting at leaf `index * 2^level`. Only complete subtrees are ever stored;
//! hashes on the ragged right edge of a tree are recomputed from them.

mod checkpoint;
mod error;
mod formats;
mod hash;
mod memory;
mod note;
mod proof;
mod tree;

pub use checkpoint::Checkpoint;
pub use error::{FormatError, LedgerError, NoteError, ProofError};
pub use formats::{InclusionReceipt, MAX_WITNESS_PROOF_LINES, TLOG_PROOF_HEADER, WitnessRequest};
pub use hash::{HASH_LEN, Hash, empty_root, hash_from_slice, leaf_hash, node_hash};
pub use memory::{MemoryTree, MemoryTreeError};
pub use note::{
    MAX_SIGNATURES, Note, NoteSignature, OpenedNote, Signer, Verifier, key_id, validate_key_name,
};
pub use proof::{
    consistency_proof, consistency_proof_len, inclusion_proof, inclusion_proof_len,
    verify_consistency, verify_inclusion,
};
pub use tree::{Frontier, HashReader, NodeId, root_at};
