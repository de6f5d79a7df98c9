//! Signed label statements: who put which label on which clip, and when,
//! as a C2SP signed note under the log's key, so that anyone holding the
//! verifier key can check a label without asking Flick (as Bluesky's
//! labelers sign theirs). Pure: no IO.
//!
//! The note text is exactly these lines, each ending in `\n`:
//!
//! ```text
//! flick-label/v1
//! origin <log origin>
//! video <video id>
//! subject <the clip's name in the log, video:…>
//! label <label>
//! by creator | by moderator <the moderator's name in the log, subject:…>
//! decision <decision id> | decision none
//! time <Unix ms>
//! ```
//!
//! The first line keeps statements and checkpoints apart: a checkpoint's
//! first line is the origin, and its second a number. A moderator's
//! statement names the same `subject`, moderator and `decision` as the
//! `moderation` record of the log, so the two can be matched.

use crate::note::{NoteError, NoteSigner, NoteVerifier};

const FIRST_LINE: &str = "flick-label/v1";

/// Who set a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Labeller {
    /// Declared by the clip's creator at upload.
    Creator,
    /// A moderator, by their pseudonym in the log.
    Moderator(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelStatement {
    pub origin: String,
    pub video: i64,
    pub subject: String,
    pub label: String,
    pub by: Labeller,
    pub decision: Option<i64>,
    pub time_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("the label statement is malformed: {0}")]
    Malformed(&'static str),
}

/// A field that fits on its line: printable, no spaces.
fn token(s: &str) -> Result<&str, LabelError> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(LabelError::Malformed("a field is empty or holds spaces"));
    }
    Ok(s)
}

impl LabelStatement {
    /// The note text.
    pub fn body(&self) -> Result<String, LabelError> {
        let by = match &self.by {
            Labeller::Creator => "creator".to_owned(),
            Labeller::Moderator(who) => format!("moderator {}", token(who)?),
        };
        let decision = self
            .decision
            .map_or_else(|| "none".to_owned(), |d| d.to_string());
        Ok(format!(
            "{FIRST_LINE}\norigin {}\nvideo {}\nsubject {}\nlabel {}\nby {by}\ndecision {decision}\ntime {}\n",
            token(&self.origin)?,
            self.video,
            token(&self.subject)?,
            token(&self.label)?,
            self.time_ms
        ))
    }

    /// The signed note.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, LabelError> {
        Ok(signer.sign(&self.body()?)?)
    }

    /// Checks `note`'s signature by `verifier` and reads the statement.
    pub fn verify(note: &str, verifier: &NoteVerifier) -> Result<Self, LabelError> {
        Self::parse_body(verifier.verify(note)?)
    }

    pub fn parse_body(text: &str) -> Result<Self, LabelError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(LabelError::Malformed("it does not end in a newline"))?;
        let mut lines = body.split('\n');
        if lines.next() != Some(FIRST_LINE) {
            return Err(LabelError::Malformed(
                "the first line is not flick-label/v1",
            ));
        }
        let mut field = |name: &'static str| -> Result<&str, LabelError> {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(' '))
                .ok_or(LabelError::Malformed("a line is missing or out of order"))
        };
        let number = |s: &str| {
            s.parse::<i64>()
                .map_err(|_| LabelError::Malformed("a number is not a decimal integer"))
        };
        let origin = token(field("origin")?)?.to_owned();
        let video = number(field("video")?)?;
        let subject = token(field("subject")?)?.to_owned();
        let label = token(field("label")?)?.to_owned();
        let by = match field("by")? {
            "creator" => Labeller::Creator,
            other => match other.strip_prefix("moderator ") {
                Some(who) => Labeller::Moderator(token(who)?.to_owned()),
                None => {
                    return Err(LabelError::Malformed(
                        "`by` is neither creator nor moderator",
                    ))
                }
            },
        };
        let decision = match field("decision")? {
            "none" => None,
            d => Some(number(d)?),
        };
        let time_ms = number(field("time")?)?;
        if lines.next().is_some() {
            return Err(LabelError::Malformed("there are lines after `time`"));
        }
        Ok(Self {
            origin,
            video,
            subject,
            label,
            by,
            decision,
            time_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> LabelStatement {
        LabelStatement {
            origin: "flick-transparency-log".into(),
            video: 42,
            subject: "video:0123abcd".into(),
            label: "misinformation".into(),
            by: Labeller::Moderator("subject:99ff".into()),
            decision: Some(7),
            time_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_signed_statement_verifies_and_reads_back() {
        let signer = NoteSigner::generate("flick-transparency-log").unwrap();
        let note = statement().sign(&signer).unwrap();
        assert!(note.starts_with("flick-label/v1\norigin flick-transparency-log\nvideo 42\n"));
        assert_eq!(
            LabelStatement::verify(&note, &signer.verifier()).unwrap(),
            statement()
        );
        // The same statement signs to the same bytes (Ed25519 is deterministic).
        assert_eq!(statement().sign(&signer).unwrap(), note);
        let creator = LabelStatement {
            by: Labeller::Creator,
            decision: None,
            ..statement()
        };
        let note = creator.sign(&signer).unwrap();
        assert_eq!(
            LabelStatement::verify(&note, &signer.verifier()).unwrap(),
            creator
        );
    }

    #[test]
    fn a_changed_statement_or_another_key_fails() {
        let signer = NoteSigner::generate("flick-transparency-log").unwrap();
        let note = statement().sign(&signer).unwrap();
        let forged = note.replace("label misinformation", "label sensitive");
        assert!(LabelStatement::verify(&forged, &signer.verifier()).is_err());
        let other = NoteSigner::generate("flick-transparency-log").unwrap();
        assert!(LabelStatement::verify(&note, &other.verifier()).is_err());
        // A checkpoint signed by the same key is not a label statement.
        let checkpoint = signer.sign("flick-transparency-log\n3\nAAAA\n").unwrap();
        assert!(LabelStatement::verify(&checkpoint, &signer.verifier()).is_err());
    }

    #[test]
    fn fields_cannot_smuggle_lines() {
        let bad = LabelStatement {
            label: "sensitive\nlabel misinformation".into(),
            ..statement()
        };
        assert!(bad.body().is_err());
    }
}
