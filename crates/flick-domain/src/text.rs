use crate::ValidationError;
use serde::Serialize;

/// A public user name, unique without regard to case. Stored lowercased so
/// that `@Ana` and `@ana` can never be two people.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Handle(String);

impl Handle {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let lower = raw.to_ascii_lowercase();
        let len = lower.chars().count();
        let valid_chars = lower
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
        let starts_well = lower
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if (2..=30).contains(&len) && valid_chars && starts_well {
            Ok(Self(lower))
        } else {
            Err(ValidationError::InvalidHandle(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed. Deliberately neither `Serialize` nor `Display`: it
/// must never end up in a response or a log line.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(raw: String) -> Result<Self, ValidationError> {
        let got = raw.chars().count();
        if got < Self::MIN_CHARS {
            Err(ValidationError::PasswordTooShort { got })
        } else if got > Self::MAX_CHARS {
            Err(ValidationError::PasswordTooLong)
        } else {
            Ok(Self(raw))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A clip's caption with the `#hashtags` and `@mentions` found in it.
/// The text itself is kept verbatim: HTML or SQL in a caption is just text,
/// escaping is the renderer's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caption {
    text: String,
    hashtags: Vec<String>,
    mentions: Vec<String>,
}

impl Caption {
    pub const MAX_CHARS: usize = 300;

    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let got = text.chars().count();
        if got > Self::MAX_CHARS {
            return Err(ValidationError::CaptionTooLong { got });
        }
        Ok(Self {
            text: text.to_owned(),
            hashtags: tokens_after(text, '#', |c| c.is_alphanumeric() || c == '_')
                .into_iter()
                .map(|t| t.to_lowercase())
                .collect(),
            mentions: tokens_after(text, '@', |c| {
                c.is_ascii_alphanumeric() || c == '_' || c == '.'
            })
            .into_iter()
            .filter_map(|t| Handle::parse(t.trim_end_matches('.')).ok())
            .map(|h| h.0)
            .collect(),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Lowercased, without the `#`, each once, in order of appearance.
    pub fn hashtags(&self) -> &[String] {
        &self.hashtags
    }

    /// Handles mentioned, lowercased, each once.
    pub fn mentions(&self) -> &[String] {
        &self.mentions
    }
}

/// Words that follow `sigil` where the sigil starts a word (so `a#b` and
/// e-mail addresses are not tags). Deduplicated, in order.
fn tokens_after(text: &str, sigil: char, is_word: impl Fn(char) -> bool) -> Vec<&str> {
    let mut found: Vec<&str> = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        if c == sigil && !prev.is_some_and(|p| p.is_alphanumeric() || p == '_') {
            let rest = &text[i + c.len_utf8()..];
            let end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
            let token = &rest[..end];
            if !token.is_empty()
                && !found
                    .iter()
                    .any(|f| f.to_lowercase() == token.to_lowercase())
            {
                found.push(token);
            }
        }
        prev = Some(c);
    }
    found
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, $err:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                let n = raw.chars().count();
                if ($min..=$max).contains(&n) {
                    Ok(Self(raw.to_owned()))
                } else {
                    Err($err)
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

bounded_text!(
    /// The name shown above a profile; may be empty.
    DisplayName, 0, 50, ValidationError::DisplayNameTooLong
);
bounded_text!(
    /// A profile's free text; may be empty.
    Bio, 0, 300, ValidationError::BioTooLong
);
bounded_text!(
    /// The text of a comment; never empty.
    CommentBody, 1, 500, ValidationError::InvalidComment
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_lowercased_and_checked() {
        assert_eq!(Handle::parse("Ana_B.2").unwrap().as_str(), "ana_b.2");
        for bad in ["a", "has space", "_x", ".x", "ünï", "", &"x".repeat(31)] {
            assert!(Handle::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn caption_finds_tags_and_mentions() {
        let c = Caption::parse("Sunset #Beach #beach with @Ana, mail a@b.c #über_cool!").unwrap();
        assert_eq!(c.hashtags(), ["beach", "über_cool"]);
        assert_eq!(c.mentions(), ["ana"]);
    }

    #[test]
    fn caption_length_counts_characters_not_bytes() {
        assert!(Caption::parse(&"🎉".repeat(300)).is_ok());
        assert_eq!(
            Caption::parse(&"x".repeat(301)),
            Err(ValidationError::CaptionTooLong { got: 301 })
        );
    }

    #[test]
    fn passwords_are_never_printed() {
        let p = Password::parse("correct horse".into()).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        assert!(Password::parse("x".into()).is_err());
    }
}
