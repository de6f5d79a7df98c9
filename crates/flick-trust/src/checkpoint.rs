//! C2SP tlog-checkpoint (<https://c2sp.org/tlog-checkpoint>): the signed tree
//! head. The note text is exactly
//!
//! ```text
//! <origin>\n<tree size in decimal>\n<base64 of the 32-byte root hash>\n
//! ```
//!
//! signed as a C2SP signed note whose key name is the origin. Pure: no IO.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::merkle::Hash;
use crate::note::{NoteError, NoteSigner, NoteVerifier};

/// A tree head: which log, how many leaves, and the root over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("the checkpoint text is malformed: {0}")]
    Malformed(&'static str),
    #[error("the checkpoint is for log {found:?}, not {expected:?}")]
    WrongOrigin { expected: String, found: String },
}

impl Checkpoint {
    /// The note text (body) of this checkpoint.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parses a checkpoint body. Extension lines after the third are allowed
    /// by the spec and ignored here (this log never writes any), but must be
    /// non-empty.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::Malformed("it does not end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        let size = lines
            .next()
            .ok_or(CheckpointError::Malformed("no tree size line"))?;
        let root = lines
            .next()
            .ok_or(CheckpointError::Malformed("no root hash line"))?;
        if origin.is_empty() {
            return Err(CheckpointError::Malformed("the origin is empty"));
        }
        if lines.any(str::is_empty) {
            return Err(CheckpointError::Malformed("an empty extension line"));
        }
        // Decimal with no sign and no leading zero, so one size has one text.
        let canonical = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        if !canonical {
            return Err(CheckpointError::Malformed(
                "the tree size is not a plain decimal number",
            ));
        }
        let size = size
            .parse()
            .map_err(|_| CheckpointError::Malformed("the tree size is too large"))?;
        let root: Hash = B64
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or(CheckpointError::Malformed(
                "the root hash is not 32 bytes of base64",
            ))?;
        Ok(Self {
            origin: origin.to_string(),
            size,
            root,
        })
    }

    /// The signed note for this checkpoint.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        Ok(signer.sign(&self.body())?)
    }

    /// Verifies a signed checkpoint with `verifier` and parses it. The origin
    /// must be the key's name: a checkpoint is only meaningful for the log
    /// whose key signed it.
    pub fn verify(note: &str, verifier: &NoteVerifier) -> Result<Self, CheckpointError> {
        let text = verifier.verify(note)?;
        let cp = Self::parse_body(text)?;
        if cp.origin != verifier.name() {
            return Err(CheckpointError::WrongOrigin {
                expected: verifier.name().to_string(),
                found: cp.origin,
            });
        }
        Ok(cp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle;

    #[test]
    fn body_round_trip_and_signature() {
        let signer = NoteSigner::generate("flick.example/transparency").unwrap();
        let cp = Checkpoint {
            origin: "flick.example/transparency".into(),
            size: 0,
            root: merkle::empty_root(),
        };
        assert_eq!(
            cp.body(),
            "flick.example/transparency\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        );
        assert_eq!(Checkpoint::parse_body(&cp.body()).unwrap(), cp);
        let note = cp.sign(&signer).unwrap();
        assert_eq!(Checkpoint::verify(&note, &signer.verifier()).unwrap(), cp);
        let other = NoteSigner::generate("flick.example/transparency").unwrap();
        assert!(Checkpoint::verify(&note, &other.verifier()).is_err());
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        let root = B64.encode([7u8; 32]);
        for bad in [
            format!("o\n1\n{root}"),
            format!("\n1\n{root}\n"),
            format!("o\n01\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n1 \n{root}\n"),
            format!("o\n99999999999999999999999\n{root}\n"),
            format!("o\n1\n{}\n", B64.encode([7u8; 31])),
            "o\n1\nnot base64\n".to_string(),
            format!("o\n1\n{root}\n\n"),
            "o\n1\n".to_string(),
        ] {
            assert!(Checkpoint::parse_body(&bad).is_err(), "accepted {bad:?}");
        }
        assert!(Checkpoint::parse_body(&format!("o\n10\n{root}\next\n")).is_ok());
    }

    #[test]
    fn origin_must_match_key_name() {
        let signer = NoteSigner::generate("log-a").unwrap();
        let cp = Checkpoint {
            origin: "log-b".into(),
            size: 1,
            root: [0; 32],
        };
        let note = cp.sign(&signer).unwrap();
        assert!(matches!(
            Checkpoint::verify(&note, &signer.verifier()),
            Err(CheckpointError::WrongOrigin { .. })
        ));
    }
}
