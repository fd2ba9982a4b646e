//! Error types. Each variant names what is wrong, so a caller can report it precisely.

/// A proof, or a request for one, is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// An inclusion proof was requested in, or checked against, a tree of size 0.
    #[error("the tree is empty: no leaf can be included in it")]
    EmptyTree,
    /// A consistency proof was asked for from a larger tree to a smaller one.
    #[error("old size {old_size} is greater than new size {new_size}")]
    OldSizeGreater {
        /// The older tree size.
        old_size: u64,
        /// The newer tree size.
        new_size: u64,
    },
    /// The proof has the wrong number of hashes for these sizes / this index.
    #[error("proof has {got} hashes, expected {expected}")]
    WrongProofLength {
        /// The number of hashes the sizes call for.
        expected: usize,
        /// The number of hashes given.
        got: usize,
    },
    /// A consistency proof between equal sizes must be empty.
    #[error("sizes are equal, so the consistency proof must be empty, but it has {got} hashes")]
    NonEmptyProofForEqualSizes {
        /// The number of hashes given.
        got: usize,
    },
    /// A consistency proof from the empty tree must be empty (c2sp.org/tlog-witness).
    #[error("old size is 0, so the consistency proof must be empty, but it has {got} hashes")]
    NonEmptyProofFromEmptyTree {
        /// The number of hashes given.
        got: usize,
    },
    /// A hash is not 32 bytes long.
    #[error("a hash must be 32 bytes, got {got}")]
    BadHashLength {
        /// The length found.
        got: usize,
    },
    /// The root recomputed from the proof differs from the expected (new) root.
    #[error("the root computed from the proof does not match the expected root")]
    RootMismatch,
    /// The old root recomputed from a consistency proof differs from the expected old root.
    #[error("the old root computed from the proof does not match the expected old root")]
    OldRootMismatch,
}

/// Failure while building a proof or root from stored hashes.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError<E> {
    /// The request itself is invalid (e.g. index out of range).
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The [`HashReader`](crate::HashReader) failed.
    #[error("reading stored hashes failed: {0}")]
    Store(#[source] E),
    /// The reader's `read_hashes` returned a different number of hashes than asked for.
    #[error("hash reader returned {got} hashes for {expected} ids")]
    BatchLength {
        /// Ids asked for.
        expected: usize,
        /// Hashes returned.
        got: usize,
    },
}

/// A signed note, key or signature is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Key names must be non-empty and contain no '+' and no Unicode whitespace.
    #[error("invalid key name {name:?}: must be non-empty, without '+' or spaces")]
    InvalidKeyName {
        /// The rejected name.
        name: String,
    },
    /// The note text is empty.
    #[error("note text is empty")]
    EmptyText,
    /// The note text does not end in a newline.
    #[error("note text must end with a newline")]
    TextNotNewlineTerminated,
    /// The note contains an ASCII control character other than newline.
    #[error("line {line}: control character U+{code:04X} is not allowed in a note")]
    ControlCharacter {
        /// 1-based line number.
        line: usize,
        /// The offending code point.
        code: u32,
    },
    /// No signer was given to [`Note::sign`](crate::Note::sign).
    #[error("at least one signer is required")]
    NoSigners,
    /// The note has no blank line separating text and signatures.
    #[error("note has no blank line before its signatures")]
    MissingSignatureSeparator,
    /// The note has no signature lines.
    #[error("note has no signature lines")]
    NoSignatures,
    /// A signature line is malformed.
    #[error("line {line}: malformed signature line: {reason}")]
    MalformedSignatureLine {
        /// 1-based line number.
        line: usize,
        /// Which rule the line breaks.
        reason: &'static str,
    },
    /// The note has more signature lines than we accept.
    #[error("note has more than {max} signatures")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A key string does not have the expected shape.
    #[error("malformed key: {reason}")]
    MalformedKey {
        /// Which rule the key breaks.
        reason: &'static str,
    },
    /// The key's algorithm byte is not Ed25519 (0x01).
    #[error("unsupported key algorithm 0x{alg:02x} (only Ed25519, 0x01)")]
    UnknownAlgorithm {
        /// The algorithm byte found.
        alg: u8,
    },
    /// The key material has the wrong length.
    #[error("key material must be 32 bytes, got {got}")]
    BadKeyLength {
        /// The length found.
        got: usize,
    },
    /// The key id in the key string does not match the key.
    #[error("key id {got:08x} does not match the key (expected {expected:08x})")]
    KeyIdMismatch {
        /// The id computed from name and key.
        expected: u32,
        /// The id written in the key string.
        got: u32,
    },
    /// The public key is not a valid Ed25519 point.
    #[error("invalid Ed25519 public key")]
    InvalidPublicKey,
    /// Two verifiers share a name and key id, so a signature cannot be attributed.
    #[error("ambiguous key {name}+{key_id:08x}: more than one verifier has it")]
    AmbiguousVerifier {
        /// Key name.
        name: String,
        /// Key id.
        key_id: u32,
    },
    /// A signature from a known key does not verify.
    #[error("invalid signature for key {name}+{key_id:08x}")]
    InvalidSignature {
        /// Key name.
        name: String,
        /// Key id.
        key_id: u32,
    },
    /// None of the signatures is from a known key.
    #[error("note has no signature from a known key ({unverified} signatures from unknown keys)")]
    NoVerifiedSignature {
        /// How many signatures were from unknown keys.
        unverified: usize,
    },
}

impl NoteError {
    /// Renumbers line-carrying errors for a note embedded after `offset` lines of another text.
    pub(crate) fn shift_lines(self, offset: usize) -> Self {
        match self {
            NoteError::ControlCharacter { line, code } => NoteError::ControlCharacter {
                line: line + offset,
                code,
            },
            NoteError::MalformedSignatureLine { line, reason } => {
                NoteError::MalformedSignatureLine {
                    line: line + offset,
                    reason,
                }
            }
            other => other,
        }
    }
}

/// A checkpoint, inclusion receipt or witness request is malformed or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The text does not end with a newline.
    #[error("text must end with a newline")]
    MissingFinalNewline,
    /// An ASCII control character other than newline.
    #[error("line {line}: control character U+{code:04X} is not allowed")]
    ControlCharacter {
        /// 1-based line number.
        line: usize,
        /// The offending code point.
        code: u32,
    },
    /// A checkpoint needs origin, size and root lines.
    #[error("checkpoint needs at least 3 lines, got {got}")]
    TooFewLines {
        /// Lines found.
        got: usize,
    },
    /// The checkpoint origin line is empty.
    #[error("line 1: checkpoint origin is empty")]
    EmptyOrigin,
    /// A size or index is not a canonical ASCII decimal fitting in 64 bits.
    #[error(
        "line {line}: {what} {value:?} is not a decimal without leading zeroes that fits in 64 bits"
    )]
    BadNumber {
        /// 1-based line number.
        line: usize,
        /// Which number ("tree size", "index", "old size").
        what: &'static str,
        /// The text found (truncated to 40 bytes).
        value: String,
    },
    /// Not standard, padded, canonical base64.
    #[error("line {line}: invalid base64")]
    BadBase64 {
        /// 1-based line number.
        line: usize,
    },
    /// A hash line does not decode to 32 bytes.
    #[error("line {line}: hash must be 32 bytes, got {got}")]
    BadHashLength {
        /// 1-based line number.
        line: usize,
        /// Bytes decoded.
        got: usize,
    },
    /// Extension lines must be non-empty.
    #[error("line {line}: checkpoint extension line is empty")]
    EmptyExtensionLine {
        /// 1-based line number.
        line: usize,
    },
    /// The first line is not the expected header / keyword.
    #[error("line {line}: expected {expected:?}")]
    UnexpectedLine {
        /// 1-based line number.
        line: usize,
        /// What the line must be or start with.
        expected: &'static str,
    },
    /// The input ends before the blank line that precedes the checkpoint.
    #[error("missing blank line before the checkpoint")]
    MissingBlankLine,
    /// The checkpoint part is empty.
    #[error("the checkpoint is missing")]
    MissingCheckpoint,
    /// More proof lines than the format allows.
    #[error("more than {max} proof lines")]
    TooManyProofLines {
        /// The limit.
        max: usize,
    },
    /// A witness request from size 0 carries a proof.
    #[error("old size is 0 but {got} proof lines follow (the proof must be empty)")]
    ProofFromEmptyTree {
        /// Lines found.
        got: usize,
    },
    /// The embedded signed note is malformed or does not verify.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// The embedded proof does not verify.
    #[error("proof: {0}")]
    Proof(#[from] ProofError),
}

impl FormatError {
    /// Renumbers line-carrying errors for a text embedded after `offset` lines of another.
    pub(crate) fn shift_lines(self, offset: usize) -> Self {
        use FormatError as F;
        match self {
            F::ControlCharacter { line, code } => F::ControlCharacter {
                line: line + offset,
                code,
            },
            F::BadNumber { line, what, value } => F::BadNumber {
                line: line + offset,
                what,
                value,
            },
            F::BadBase64 { line } => F::BadBase64 {
                line: line + offset,
            },
            F::BadHashLength { line, got } => F::BadHashLength {
                line: line + offset,
                got,
            },
            F::EmptyExtensionLine { line } => F::EmptyExtensionLine {
                line: line + offset,
            },
            F::UnexpectedLine { line, expected } => F::UnexpectedLine {
                line: line + offset,
                expected,
            },
            F::Note(e) => F::Note(e.shift_lines(offset)),
            other => other,
        }
    }
}
