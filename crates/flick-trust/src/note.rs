//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys.
//!
//! A signed note is a text ending in `\n`, a blank line, then one or more
//! signature lines `— <key name> <base64(4-byte key ID || signature)>\n`. The
//! key ID is the first four bytes of `SHA-256(name || "\n" || 0x01 || public
//! key)`; the Ed25519 signature covers the text including its final newline.
//!
//! Pure: no IO. Parsing rejects every malformation it can detect, because a
//! verifier that is lenient about the envelope invites confusion about what
//! was signed.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The signature type byte C2SP assigns to Ed25519.
pub const ALG_ED25519: u8 = 0x01;

/// Notes with more signature lines than this are rejected (the spec asks
/// verifiers to accept at least 16 and to set some limit).
pub const MAX_SIGNATURES: usize = 100;

const SIG_PREFIX: &str = "\u{2014} ";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("the key name {0:?} is empty or contains a space or a '+'")]
    BadKeyName(String),
    #[error("the key is not in the `name+hash+base64` form: {0}")]
    BadKey(&'static str),
    #[error("the note text must be non-empty, end in a newline and hold no control characters other than newline")]
    BadText,
    #[error("the note is malformed: {0}")]
    Malformed(&'static str),
    #[error("the note has no signature by key {0}")]
    NotSigned(String),
    #[error(
        "the signature by key {0} does not verify: the note was altered or signed by another key"
    )]
    BadSignature(String),
}

/// The C2SP key ID: `SHA-256(name || 0x0A || 0x01 || public key)[:4]`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::BadKeyName(name.to_string()));
    }
    // Control characters would break the line format the name is written in.
    if name.chars().any(char::is_control) {
        return Err(NoteError::BadKeyName(name.to_string()));
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') || has_bad_control(text) {
        return Err(NoteError::BadText);
    }
    Ok(())
}

fn has_bad_control(s: &str) -> bool {
    s.chars().any(|c| c < '\u{20}' && c != '\n')
}

/// Parses `<name>+<8 hex>+<base64(0x01 || key bytes)>`, checking that the
/// hash matches, and returns the name, key ID and key bytes.
fn parse_key_string(s: &str) -> Result<(String, u32, [u8; 32]), NoteError> {
    // The base64 part may itself contain '+', so split off only two fields.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::BadKey("expected three '+'-separated fields"));
    };
    check_name(name)?;
    if hash.len() != 8 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(NoteError::BadKey(
            "the key hash is not 8 lowercase hex digits",
        ));
    }
    let id = u32::from_str_radix(hash, 16).map_err(|_| NoteError::BadKey("bad key hash"))?;
    let raw = B64
        .decode(key)
        .map_err(|_| NoteError::BadKey("the key is not valid base64"))?;
    if raw.first() != Some(&ALG_ED25519) {
        return Err(NoteError::BadKey(
            "the key is not an Ed25519 key (type 0x01)",
        ));
    }
    let bytes: [u8; 32] = raw[1..]
        .try_into()
        .map_err(|_| NoteError::BadKey("an Ed25519 key must be 32 bytes"))?;
    Ok((name.to_string(), id, bytes))
}

/// A public key that checks signed notes: the auditor's trust anchor.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl std::fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteVerifier({self})")
    }
}

impl NoteVerifier {
    /// Parses a verifier key `<name>+<hash>+<base64(0x01 || public key)>`.
    /// Surrounding whitespace (a trailing newline in a key file) is ignored.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let (name, id, bytes) = parse_key_string(s.trim())?;
        if key_id(&name, &bytes) != id {
            return Err(NoteError::BadKey(
                "the key hash does not match the name and key",
            ));
        }
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| NoteError::BadKey("not a valid Ed25519 public key"))?;
        Ok(Self { name, id, key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// Checks the note's signature by this key and returns the note text
    /// (including its final newline). Signatures by other keys are ignored,
    /// as the spec requires; a signature that claims to be by this key (same
    /// name and ID) but does not verify rejects the whole note.
    pub fn verify<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let (text, sigs) = split_note(note)?;
        let mut verified = false;
        for (name, blob) in sigs {
            if blob.len() < 4 {
                return Err(NoteError::Malformed(
                    "a signature is shorter than its key ID",
                ));
            }
            let id = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
            if name != self.name || id != self.id {
                continue;
            }
            let sig: [u8; 64] = blob[4..]
                .try_into()
                .map_err(|_| NoteError::BadSignature(self.to_string()))?;
            self.key
                .verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
                .map_err(|_| NoteError::BadSignature(self.to_string()))?;
            verified = true;
        }
        if verified {
            Ok(text)
        } else {
            Err(NoteError::NotSigned(self.to_string()))
        }
    }
}

impl std::fmt::Display for NoteVerifier {
    /// The verifier key string, the form the log serves and auditors pin.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, B64.encode(raw))
    }
}

/// Splits a signed note into its text and its (name, decoded signature)
/// lines, rejecting anything that is not exactly the C2SP format.
/// A signature line: key name and the decoded `key ID || signature`.
type SigLine<'a> = (&'a str, Vec<u8>);

fn split_note(note: &str) -> Result<(&str, Vec<SigLine<'_>>), NoteError> {
    if has_bad_control(note) {
        return Err(NoteError::Malformed(
            "control characters other than newline",
        ));
    }
    if !note.ends_with('\n') {
        return Err(NoteError::Malformed("it does not end in a newline"));
    }
    // The text ends at the last blank line; it keeps its own final newline.
    let Some(split) = note.rfind("\n\n") else {
        return Err(NoteError::Malformed("no blank line before the signatures"));
    };
    let text = &note[..split + 1];
    let sig_block = &note[split + 2..];
    if sig_block.is_empty() {
        return Err(NoteError::Malformed("no signature lines"));
    }
    let mut sigs = Vec::new();
    for line in sig_block
        .strip_suffix('\n')
        .unwrap_or(sig_block)
        .split('\n')
    {
        if sigs.len() == MAX_SIGNATURES {
            return Err(NoteError::Malformed("too many signature lines"));
        }
        let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed(
            "a signature line does not start with '— '",
        ))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(NoteError::Malformed("a signature line has no signature"))?;
        check_name(name)
            .map_err(|_| NoteError::Malformed("a signature line has a bad key name"))?;
        let blob = B64
            .decode(b64)
            .map_err(|_| NoteError::Malformed("a signature is not valid base64"))?;
        sigs.push((name, blob));
    }
    Ok((text, sigs))
}

/// An Ed25519 signing key with its note name. The seed is secret: `Debug`
/// does not print it.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({})", self.verifier())
    }
}

impl NoteSigner {
    /// A new key from the operating system's random source.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        Self::from_seed(name, seed)
    }

    /// The key for a 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_string(),
            id,
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>`, the form
    /// Go's `golang.org/x/mod/sumdb/note` also reads and writes.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let rest = s
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::BadKey("a signing key starts with PRIVATE+KEY+"))?;
        let (name, id, seed) = parse_key_string(rest)?;
        let signer = Self::from_seed(&name, seed)?;
        if signer.id != id {
            return Err(NoteError::BadKey(
                "the key hash does not match the name and key",
            ));
        }
        Ok(signer)
    }

    /// The signing key string. Secret: write it only to a private file.
    pub fn to_key_string(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            B64.encode(raw)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The signature line for `text` (ending in `\n`), without the note.
    pub fn signature_line(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let sig = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.id.to_be_bytes());
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(blob)))
    }

    /// The signed note: text, blank line, one signature line. Ed25519 is
    /// deterministic, so signing the same text again gives the same bytes.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        let line = self.signature_line(text)?;
        Ok(format!("{text}\n{line}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example key and note of Go's golang.org/x/mod/sumdb/note, which
    // pins this implementation to the format other tools read.
    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn matches_go_reference_note() {
        let signer = NoteSigner::parse(GO_SKEY).unwrap();
        assert_eq!(signer.to_key_string(), GO_SKEY);
        assert_eq!(signer.verifier().to_string(), GO_VKEY);
        assert_eq!(signer.sign(GO_TEXT).unwrap(), GO_NOTE);
        let verifier = NoteVerifier::parse(GO_VKEY).unwrap();
        assert_eq!(verifier.verify(GO_NOTE).unwrap(), GO_TEXT);
    }

    #[test]
    fn round_trip_and_rejections() {
        let signer = NoteSigner::generate("flick.example/log").unwrap();
        let v = NoteVerifier::parse(&signer.verifier().to_string()).unwrap();
        assert_eq!(v, signer.verifier());
        let text = "flick.example/log\n3\nabc=\n";
        let note = signer.sign(text).unwrap();
        assert_eq!(v.verify(&note).unwrap(), text);

        // Altered text.
        let altered = note.replacen("\n3\n", "\n4\n", 1);
        assert!(matches!(
            v.verify(&altered),
            Err(NoteError::BadSignature(_))
        ));

        // Another key with another name: its signature is ignored, so the
        // note is unsigned as far as `v` is concerned.
        let other = NoteSigner::generate("other.example/log").unwrap();
        assert!(matches!(
            v.verify(&other.sign(text).unwrap()),
            Err(NoteError::NotSigned(_))
        ));
        // Another key claiming our name: different key ID, so also ignored.
        let impostor = NoteSigner::generate("flick.example/log").unwrap();
        assert!(matches!(
            v.verify(&impostor.sign(text).unwrap()),
            Err(NoteError::NotSigned(_))
        ));
        // An impostor that also copies our key ID: signature fails.
        let impostor_note = impostor.sign(text).unwrap();
        let mut blob = B64
            .decode(impostor_note.rsplit(' ').next().unwrap().trim_end())
            .unwrap();
        blob[..4].copy_from_slice(&v.key_id().to_be_bytes());
        let forged = format!("{text}\n\u{2014} flick.example/log {}\n", B64.encode(blob));
        assert!(matches!(v.verify(&forged), Err(NoteError::BadSignature(_))));

        // A second, unknown signature is fine; ours still counts.
        let cosigned = format!("{note}{}", other.signature_line(text).unwrap());
        assert_eq!(v.verify(&cosigned).unwrap(), text);
    }

    #[test]
    fn malformed_notes_are_rejected() {
        let signer = NoteSigner::generate("log").unwrap();
        let v = signer.verifier();
        let note = signer.sign("hello\n").unwrap();
        let bad = [
            note.trim_end().to_string(),                     // no final newline
            note.replace("\n\n", "\n"),                      // no blank line
            note.replace('\u{2014}', "-"),                   // not an em dash
            note.replace("\u{2014} log ", "\u{2014} log  "), // extra space
            note.replace("\u{2014} log ", "\u{2014} log\t"), // tab
            format!("{note}\n"),                             // trailing blank line
            "hello\n\n".to_string(),                         // no signatures
            note.replace('=', ""),                           // unpadded base64
            note.replacen("hello", "hel\rlo", 1),            // control character
        ];
        for b in &bad {
            assert!(v.verify(b).is_err(), "accepted {b:?}");
        }
        assert!(signer.sign("no newline").is_err());
        assert!(signer.sign("").is_err());
        assert!(signer.sign("tab\there\n").is_err());
    }

    #[test]
    fn key_strings_reject_malformation() {
        let signer = NoteSigner::generate("flick-transparency-log").unwrap();
        let vkey = signer.verifier().to_string();
        assert!(NoteVerifier::parse(&format!("{vkey}\n")).is_ok());
        // Every single-byte change breaks it (hash, name, type byte or key).
        let bytes = vkey.as_bytes();
        for i in 0..bytes.len() {
            let mut b = bytes.to_vec();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            if let Ok(s) = String::from_utf8(b) {
                assert!(NoteVerifier::parse(&s).is_err(), "accepted {s}");
            }
        }
        // A wrong key hash.
        let (name_hash, key) = vkey.rsplit_once('+').unwrap();
        let (name, _) = name_hash.split_once('+').unwrap();
        assert!(NoteVerifier::parse(&format!("{name}+00000000+{key}")).is_err());
        assert!(NoteSigner::generate("bad name").is_err());
        assert!(NoteSigner::generate("bad+name").is_err());
        assert!(NoteSigner::generate("").is_err());
        let skey = signer.to_key_string();
        assert_eq!(
            NoteSigner::parse(&skey).unwrap().verifier(),
            signer.verifier()
        );
        assert!(NoteSigner::parse(&vkey).is_err());
        // `PRIVATE+KEY+<name>+<hash>+<base64>`: the base64 may itself hold
        // a `+`, so the secret is the fifth field, not what follows the last.
        let secret = skey.splitn(5, '+').nth(4).unwrap();
        assert!(secret.len() > 40, "{skey}");
        assert!(!format!("{signer:?}").contains(secret));
    }
}
