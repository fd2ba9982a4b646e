//! C2SP checkpoints (<https://c2sp.org/tlog-checkpoint>): the note text of a signed tree head.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{FormatError, NoteError};
use crate::hash::{HASH_LEN, Hash};
use crate::note::{Note, OpenedNote, Signer, Verifier};

/// A tree head: origin, size and root, plus optional opaque extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log identity (first line). Non-empty.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root at `size`.
    pub root: Hash,
    /// Extension lines, each non-empty, without their newline. Not recommended.
    pub extensions: Vec<String>,
}

/// Parses a canonical ASCII decimal: digits only, no sign, no leading zeroes except "0".
pub(crate) fn parse_decimal(s: &str, line: usize, what: &'static str) -> Result<u64, FormatError> {
    let bad = || FormatError::BadNumber {
        line,
        what,
        value: s.chars().take(40).collect(),
    };
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(bad());
    }
    s.parse::<u64>().map_err(|_| bad())
}

/// Decodes one standard-base64 hash line.
pub(crate) fn parse_hash_line(s: &str, line: usize) -> Result<Hash, FormatError> {
    let raw = STANDARD
        .decode(s)
        .map_err(|_| FormatError::BadBase64 { line })?;
    Hash::try_from(raw.as_slice()).map_err(|_| FormatError::BadHashLength {
        line,
        got: raw.len(),
    })
}

/// Encodes a hash as standard base64 (44 characters).
pub(crate) fn encode_hash(h: &Hash) -> String {
    STANDARD.encode(h)
}

/// Rejects ASCII control characters other than newline; reports the 1-based line.
pub(crate) fn check_controls(s: &str, first_line: usize) -> Result<(), FormatError> {
    let mut line = first_line;
    for c in s.chars() {
        if c == '\n' {
            line += 1;
        } else if c.is_ascii_control() {
            return Err(FormatError::ControlCharacter {
                line,
                code: u32::from(c),
            });
        }
    }
    Ok(())
}

impl Checkpoint {
    /// Formats the note text: `origin\nsize\nbase64(root)\n` and the extension lines.
    pub fn format(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            encode_hash(&self.root)
        );
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        out
    }

    /// Parses checkpoint note text (without signatures), strictly.
    pub fn parse(text: &str) -> Result<Checkpoint, FormatError> {
        check_controls(text, 1)?;
        let body = text
            .strip_suffix('\n')
            .ok_or(FormatError::MissingFinalNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(FormatError::TooFewLines { got: lines.len() });
        };
        if origin.is_empty() {
            return Err(FormatError::EmptyOrigin);
        }
        let size = parse_decimal(size, 2, "tree size")?;
        let root = parse_hash_line(root, 3)?;
        for (i, e) in extensions.iter().enumerate() {
            if e.is_empty() {
                return Err(FormatError::EmptyExtensionLine { line: 4 + i });
            }
        }
        Ok(Checkpoint {
            origin: (*origin).to_owned(),
            size,
            root,
            extensions: extensions.iter().map(|e| (*e).to_owned()).collect(),
        })
    }

    /// Signs the checkpoint as a note with the given signers.
    pub fn sign(&self, signers: &[&Signer]) -> Result<String, NoteError> {
        Note::sign(&self.format(), signers)
    }

    /// Opens a signed checkpoint note with `verifiers` and parses its text.
    pub fn open(
        note: &str,
        verifiers: &[Verifier],
    ) -> Result<(Checkpoint, OpenedNote), FormatError> {
        let opened = Note::open(note, verifiers)?;
        let cp = Checkpoint::parse(&opened.text)?;
        Ok((cp, opened))
    }
}

const _: () = assert!(HASH_LEN == 32);
