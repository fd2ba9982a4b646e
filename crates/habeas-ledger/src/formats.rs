//! Proof formats: C2SP `tlog-proof@v1` inclusion receipts (<https://c2sp.org/tlog-proof>)
//! and C2SP `tlog-witness` add-checkpoint request bodies (<https://c2sp.org/tlog-witness>).
//!
//! Both end with a signed checkpoint note that is kept verbatim. Parsing checks its
//! syntax (a signed note whose text is a checkpoint) but not its signatures: that needs
//! the caller's trusted keys, see `verify` on each type.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::checkpoint::{Checkpoint, check_controls, encode_hash, parse_decimal, parse_hash_line};
use crate::error::FormatError;
use crate::hash::Hash;
use crate::note::{Note, OpenedNote, Verifier};
use crate::proof::{verify_consistency, verify_inclusion};

/// First line of a `tlog-proof`.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// A tlog-witness client MUST NOT send more than 63 consistency proof lines.
pub const MAX_WITNESS_PROOF_LINES: usize = 63;
/// An inclusion proof in a tree of at most 2^64 - 1 leaves has at most 64 hashes.
const MAX_INCLUSION_PROOF_LINES: usize = 64;

/// A C2SP `tlog-proof@v1`: an offline-verifiable proof that leaf `index` is in the tree of
/// the embedded signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionReceipt {
    /// Opaque, unauthenticated extra data (the optional `extra` line), decoded.
    pub extra: Option<Vec<u8>>,
    /// Zero-based leaf index.
    pub index: u64,
    /// RFC 6962 inclusion proof, leaf sibling first.
    pub hashes: Vec<Hash>,
    /// The whole signed checkpoint note, verbatim.
    pub checkpoint: String,
}

/// A C2SP tlog-witness `add-checkpoint` request body: a consistency proof from `old_size`
/// to the embedded signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessRequest {
    /// Size of the previous checkpoint (0 if none).
    pub old_size: u64,
    /// RFC 6962 consistency proof (empty when `old_size` is 0).
    pub proof: Vec<Hash>,
    /// The whole signed checkpoint note, verbatim.
    pub checkpoint: String,
}

/// Iterates over newline-terminated lines, numbering them from 1.
struct Lines<'a> {
    rest: &'a str,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(s: &'a str) -> Self {
        Lines { rest: s, line: 0 }
    }
    /// The next full line without its newline; `None` at the end or on an unterminated tail.
    fn next_line(&mut self) -> Option<&'a str> {
        let (l, rest) = self.rest.split_once('\n')?;
        self.rest = rest;
        self.line += 1;
        Some(l)
    }
    /// Consumes hash lines up to the blank line; the checkpoint is everything after it.
    fn hashes_then_checkpoint(&mut self, max: usize) -> Result<(Vec<Hash>, &'a str), FormatError> {
        let mut hashes = Vec::new();
        loop {
            let l = self.next_line().ok_or(FormatError::MissingBlankLine)?;
            if l.is_empty() {
                break;
            }
            if hashes.len() == max {
                return Err(FormatError::TooManyProofLines { max });
            }
            hashes.push(parse_hash_line(l, self.line)?);
        }
        let checkpoint = self.rest;
        check_checkpoint_note(checkpoint, self.line)?;
        Ok((hashes, checkpoint))
    }
}

/// The embedded note must be a syntactically valid signed note carrying a checkpoint.
/// Errors carry line numbers of the whole text (the note starts after `offset` lines).
fn check_checkpoint_note(note: &str, offset: usize) -> Result<(), FormatError> {
    if note.is_empty() {
        return Err(FormatError::MissingCheckpoint);
    }
    let parsed = Note::parse(note).map_err(|e| e.shift_lines(offset))?;
    Checkpoint::parse(&parsed.text).map_err(|e| e.shift_lines(offset))?;
    Ok(())
}

fn push_hashes(out: &mut String, hashes: &[Hash]) {
    for h in hashes {
        out.push_str(&encode_hash(h));
        out.push('\n');
    }
}

impl InclusionReceipt {
    /// Formats the receipt: header, optional `extra`, `index`, hashes, blank line, checkpoint.
    pub fn format(&self) -> String {
        let mut out = String::with_capacity(64 + 45 * self.hashes.len() + self.checkpoint.len());
        out.push_str(TLOG_PROOF_HEADER);
        out.push('\n');
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            out.push_str(&STANDARD.encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        push_hashes(&mut out, &self.hashes);
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a receipt strictly.
    pub fn parse(s: &str) -> Result<InclusionReceipt, FormatError> {
        check_controls(s, 1)?;
        let mut lines = Lines::new(s);
        let header = lines.next_line().ok_or(FormatError::MissingFinalNewline)?;
        if header != TLOG_PROOF_HEADER {
            return Err(FormatError::UnexpectedLine {
                line: 1,
                expected: TLOG_PROOF_HEADER,
            });
        }
        let mut l = lines.next_line().ok_or(FormatError::MissingBlankLine)?;
        let mut extra = None;
        if let Some(b64) = l.strip_prefix("extra ") {
            extra = Some(
                STANDARD
                    .decode(b64)
                    .map_err(|_| FormatError::BadBase64 { line: 2 })?,
            );
            l = lines.next_line().ok_or(FormatError::MissingBlankLine)?;
        }
        let index = l
            .strip_prefix("index ")
            .ok_or(FormatError::UnexpectedLine {
                line: lines.line,
                expected: "index N",
            })?;
        let index = parse_decimal(index, lines.line, "index")?;
        let (hashes, checkpoint) = lines.hashes_then_checkpoint(MAX_INCLUSION_PROOF_LINES)?;
        Ok(InclusionReceipt {
            extra,
            index,
            hashes,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Verifies the checkpoint signature with `verifiers` and the inclusion of `leaf_hash`
    /// at `index` in that checkpoint's tree. Returns the checkpoint and the opened note.
    pub fn verify(
        &self,
        leaf_hash: &Hash,
        verifiers: &[Verifier],
    ) -> Result<(Checkpoint, OpenedNote), FormatError> {
        let (cp, opened) = Checkpoint::open(&self.checkpoint, verifiers)?;
        verify_inclusion(leaf_hash, self.index, cp.size, &self.hashes, &cp.root)?;
        Ok((cp, opened))
    }
}

impl WitnessRequest {
    /// Formats the body: `old N`, proof hashes, blank line, checkpoint.
    pub fn format(&self) -> String {
        let mut out = String::with_capacity(32 + 45 * self.proof.len() + self.checkpoint.len());
        out.push_str(&format!("old {}\n", self.old_size));
        push_hashes(&mut out, &self.proof);
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a request body strictly (at most 63 proof lines; none when `old` is 0).
    pub fn parse(s: &str) -> Result<WitnessRequest, FormatError> {
        check_controls(s, 1)?;
        let mut lines = Lines::new(s);
        let first = lines.next_line().ok_or(FormatError::MissingFinalNewline)?;
        let old = first
            .strip_prefix("old ")
            .ok_or(FormatError::UnexpectedLine {
                line: 1,
                expected: "old N",
            })?;
        let old_size = parse_decimal(old, 1, "old size")?;
        let (proof, checkpoint) = lines.hashes_then_checkpoint(MAX_WITNESS_PROOF_LINES)?;
        if old_size == 0 && !proof.is_empty() {
            return Err(FormatError::ProofFromEmptyTree { got: proof.len() });
        }
        Ok(WitnessRequest {
            old_size,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Verifies the checkpoint signature with `verifiers` and the consistency proof from
    /// (`old_size`, `old_root`) to the checkpoint. Returns the checkpoint and the opened note.
    pub fn verify(
        &self,
        old_root: &Hash,
        verifiers: &[Verifier],
    ) -> Result<(Checkpoint, OpenedNote), FormatError> {
        let (cp, opened) = Checkpoint::open(&self.checkpoint, verifiers)?;
        verify_consistency(self.old_size, cp.size, &self.proof, old_root, &cp.root)?;
        Ok((cp, opened))
    }
}
