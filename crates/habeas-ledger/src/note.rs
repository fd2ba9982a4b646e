//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys, in the key and
//! note formats of Go's `golang.org/x/mod/sumdb/note`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};

use crate::error::NoteError;
use crate::hash::sha256;

/// Signature type byte for Ed25519 in key ids and key strings.
const ALG_ED25519: u8 = 0x01;
/// Prefix of a private key string.
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";
/// The signature line prefix: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Most signatures accepted in one note (Go's limit; the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// Checks a key name: non-empty, no '+', no Unicode whitespace.
pub fn validate_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::InvalidKeyName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Key id of an Ed25519 key: the first 4 bytes, big-endian, of
/// `SHA-256(name || 0x0A || 0x01 || public key)`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let h = sha256(&[name.as_bytes(), b"\n", &[ALG_ED25519], public_key]);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// Splits `name+hex8+base64` into its parts and checks the name and the hex id.
fn split_key(s: &str) -> Result<(&str, u32, Vec<u8>), NoteError> {
    // The base64 key may itself contain '+', so split off only name and id.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey {
            reason: "expected name+keyid+key",
        });
    };
    validate_key_name(name)?;
    // Go writes ids as %08x; only that canonical form is accepted.
    if hex.len() != 8 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(NoteError::MalformedKey {
            reason: "key id must be 8 lowercase hex digits",
        });
    }
    let id = u32::from_str_radix(hex, 16).map_err(|_| NoteError::MalformedKey {
        reason: "key id must be 8 lowercase hex digits",
    })?;
    let raw = STANDARD.decode(b64).map_err(|_| NoteError::MalformedKey {
        reason: "key is not valid base64",
    })?;
    let Some((&alg, key)) = raw.split_first() else {
        return Err(NoteError::MalformedKey {
            reason: "key is empty",
        });
    };
    if alg != ALG_ED25519 {
        return Err(NoteError::UnknownAlgorithm { alg });
    }
    Ok((name, id, key.to_vec()))
}

fn key_bytes(key: &[u8]) -> Result<[u8; 32], NoteError> {
    <[u8; 32]>::try_from(key).map_err(|_| NoteError::BadKeyLength { got: key.len() })
}

fn encode_key(alg_and_key: &[u8; 32]) -> String {
    let mut raw = [0u8; 33];
    raw[0] = ALG_ED25519;
    raw[1..].copy_from_slice(alg_and_key);
    STANDARD.encode(raw)
}

/// An Ed25519 note signer with a key name.
#[derive(Clone)]
pub struct Signer {
    name: String,
    key: SigningKey,
    key_id: u32,
}

impl std::fmt::Debug for Signer {
    // Never print the seed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("name", &self.name)
            .field("key_id", &self.key_id)
            .finish()
    }
}

impl Signer {
    /// Creates a signer from a key name and a 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Signer, NoteError> {
        validate_key_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let key_id = key_id(name, &key.verifying_key().to_bytes());
        Ok(Signer {
            name: name.to_owned(),
            key,
            key_id,
        })
    }

    /// Parses a private key string `PRIVATE+KEY+name+hex8(keyID)+base64(0x01||seed)`,
    /// checking the key id.
    pub fn from_private_key(s: &str) -> Result<Signer, NoteError> {
        let rest = s
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or(NoteError::MalformedKey {
                reason: "missing PRIVATE+KEY+ prefix",
            })?;
        let (name, id, seed) = split_key(rest)?;
        let signer = Signer::from_seed(name, key_bytes(&seed)?)?;
        if signer.key_id != id {
            return Err(NoteError::KeyIdMismatch {
                expected: signer.key_id,
                got: id,
            });
        }
        Ok(signer)
    }

    /// The private key string, as Go's `note.GenerateKey` writes it. Keep it secret.
    pub fn to_private_key(&self) -> String {
        format!(
            "{PRIVATE_PREFIX}{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_key(&self.key.to_bytes())
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The verifier key string `name+hex8(keyID)+base64(0x01||pubkey)`.
    pub fn verifier_key(&self) -> String {
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_key(&self.public_key())
        )
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
            key_id: self.key_id,
        }
    }

    /// Signs raw bytes (the note text). Ed25519 is deterministic.
    pub fn sign_bytes(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.key.sign(msg).to_bytes()
    }
}

/// An Ed25519 note verifier with a key name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key: VerifyingKey,
    key_id: u32,
}

impl Verifier {
    /// Parses a verifier key string `name+hex8(keyID)+base64(0x01||pubkey)`, checking that
    /// the key id matches the name and key.
    pub fn from_verifier_key(s: &str) -> Result<Verifier, NoteError> {
        let (name, id, key) = split_key(s)?;
        let bytes = key_bytes(&key)?;
        let expected = key_id(name, &bytes);
        if expected != id {
            return Err(NoteError::KeyIdMismatch { expected, got: id });
        }
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| NoteError::InvalidPublicKey)?;
        Ok(Verifier {
            name: name.to_owned(),
            key,
            key_id: id,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The verifier key string.
    pub fn verifier_key(&self) -> String {
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_key(&self.key.to_bytes())
        )
    }

    /// Checks an Ed25519 signature over `msg`.
    pub fn verify_bytes(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = Signature::from_slice(sig) else {
            return false;
        };
        self.key.verify_strict(msg, &sig).is_ok()
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key id (first 4 bytes of the decoded signature).
    pub key_id: u32,
    /// The signature proper (after the key id).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// Formats the line `— name base64(keyID||signature)\n`.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, STANDARD.encode(raw))
    }
}

/// A signed note: text plus signature lines, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The text, including its final newline.
    pub text: String,
    /// The signatures, in order of appearance.
    pub signatures: Vec<NoteSignature>,
}

/// A note whose signatures were checked by [`Note::open`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedNote {
    /// The text, including its final newline.
    pub text: String,
    /// Signatures that verified, deduplicated, in order.
    pub verified: Vec<NoteSignature>,
    /// For each entry of `verified`, the index of its verifier in the list given to `open`.
    pub verified_by: Vec<usize>,
    /// Signatures from unknown keys (not checked), deduplicated, in order.
    pub unverified: Vec<NoteSignature>,
}

/// Rejects ASCII control characters other than newline; reports the 1-based line.
fn check_controls(s: &str) -> Result<(), NoteError> {
    let mut line = 1;
    for c in s.chars() {
        if c == '\n' {
            line += 1;
        } else if c.is_ascii_control() {
            return Err(NoteError::ControlCharacter {
                line,
                code: u32::from(c),
            });
        }
    }
    Ok(())
}

/// Checks note text: non-empty, newline-terminated, no control characters.
fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() {
        return Err(NoteError::EmptyText);
    }
    if !text.ends_with('\n') {
        return Err(NoteError::TextNotNewlineTerminated);
    }
    check_controls(text)
}

impl Note {
    /// Signs `text` with every signer and returns the whole note
    /// (`text`, blank line, one signature line per signer).
    pub fn sign(text: &str, signers: &[&Signer]) -> Result<String, NoteError> {
        check_text(text)?;
        if signers.is_empty() {
            return Err(NoteError::NoSigners);
        }
        let note = Note {
            text: text.to_owned(),
            signatures: signers
                .iter()
                .map(|s| NoteSignature {
                    name: s.name.clone(),
                    key_id: s.key_id,
                    signature: s.sign_bytes(text.as_bytes()).to_vec(),
                })
                .collect(),
        };
        Ok(note.format())
    }

    /// Formats the note: text, blank line, signature lines.
    pub fn format(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 1 + 120 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out
    }

    /// Parses a signed note without verifying it. The text ends at the last blank line.
    pub fn parse(note: &str) -> Result<Note, NoteError> {
        check_controls(note)?;
        // The last "\n\n" separates text (with its newline) from the signature block.
        let split = note
            .rfind("\n\n")
            .ok_or(NoteError::MissingSignatureSeparator)?;
        let text = &note[..split + 1];
        let sigs = &note[split + 2..];
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        if !sigs.ends_with('\n') {
            return Err(NoteError::MalformedSignatureLine {
                line: note.lines().count(),
                reason: "signature block must end with a newline",
            });
        }
        let first_line = text.matches('\n').count() + 2;
        let mut signatures = Vec::new();
        for (i, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
            let line_no = first_line + i;
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            signatures.push(parse_sig_line(line, line_no)?);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Parses and verifies a note. Signatures from keys not in `verifiers` (by name and key
    /// id) are kept as unverified; a known key whose signature fails is an error; a note
    /// with no verified signature is an error.
    pub fn open(note: &str, verifiers: &[Verifier]) -> Result<OpenedNote, NoteError> {
        let parsed = Note::parse(note)?;
        let mut opened = OpenedNote {
            text: parsed.text,
            verified: Vec::new(),
            verified_by: Vec::new(),
            unverified: Vec::new(),
        };
        for sig in parsed.signatures {
            let mut known = verifiers
                .iter()
                .enumerate()
                .filter(|(_, v)| v.name == sig.name && v.key_id == sig.key_id);
            match (known.next(), known.next()) {
                (None, _) => {
                    if !opened.unverified.contains(&sig) {
                        opened.unverified.push(sig);
                    }
                }
                (Some(_), Some(_)) => {
                    return Err(NoteError::AmbiguousVerifier {
                        name: sig.name,
                        key_id: sig.key_id,
                    });
                }
                (Some((idx, v)), None) => {
                    if !v.verify_bytes(opened.text.as_bytes(), &sig.signature) {
                        return Err(NoteError::InvalidSignature {
                            name: sig.name,
                            key_id: sig.key_id,
                        });
                    }
                    if !opened.verified.contains(&sig) {
                        opened.verified.push(sig);
                        opened.verified_by.push(idx);
                    }
                }
            }
        }
        if opened.verified.is_empty() {
            return Err(NoteError::NoVerifiedSignature {
                unverified: opened.unverified.len(),
            });
        }
        Ok(opened)
    }
}

fn parse_sig_line(line: &str, line_no: usize) -> Result<NoteSignature, NoteError> {
    let bad = |reason| NoteError::MalformedSignatureLine {
        line: line_no,
        reason,
    };
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or(bad("must start with an em dash and a space"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(bad("expected a key name and a signature"))?;
    if validate_key_name(name).is_err() {
        return Err(bad("invalid key name"));
    }
    let raw = STANDARD
        .decode(b64)
        .map_err(|_| bad("signature is not valid base64"))?;
    // Four bytes of key id and at least one byte of signature.
    if raw.len() < 5 {
        return Err(bad("signature is shorter than 5 bytes"));
    }
    let (id, sig) = raw.split_at(4);
    let key_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id,
        signature: sig.to_vec(),
    })
}
