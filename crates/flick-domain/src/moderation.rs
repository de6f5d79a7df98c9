//! The vocabulary of online safety: what can be reported and why, what a
//! moderator can decide and on which ground, and the labels a clip can
//! carry. Closed sets are enums, so a typo is refused at the edge and a
//! `match` elsewhere is checked for every case.

use serde::Serialize;

/// Names of a closed set of values, for parsing and for error messages.
macro_rules! closed_set {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($text => Some($name::$variant),)+ _ => None }
            }

            /// Every accepted value, for a message: "a, b or c".
            pub fn choices() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                match names.split_last() {
                    Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                    _ => names.concat(),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

closed_set!(
    /// What a report or a moderation case is about.
    SubjectType {
        Video => "video",
        Comment => "comment",
        Account => "account",
        Sound => "sound",
        Hashtag => "hashtag",
    }
);

closed_set!(
    /// Why someone reports something.
    ReportCategory {
        Spam => "spam",
        Harassment => "harassment",
        Hate => "hate",
        Violence => "violence",
        Sexual => "sexual",
        ChildSafety => "child_safety",
        SelfHarm => "self_harm",
        Misinformation => "misinformation",
        Illegal => "illegal",
        IntellectualProperty => "intellectual_property",
        Privacy => "privacy",
        UndisclosedAi => "undisclosed_ai",
        Other => "other",
    }
);

impl ReportCategory {
    /// Cases with a report in an urgent category come first in the queue:
    /// harm to a child, or content someone says breaks the law.
    pub fn urgent(self) -> bool {
        matches!(self, ReportCategory::ChildSafety | ReportCategory::Illegal)
    }
}

closed_set!(
    /// What a moderator decides about a case.
    ModAction {
        Dismiss => "dismiss",
        Label => "label",
        Demote => "demote",
        Remove => "remove",
        Restrict => "restrict",
        Suspend => "suspend",
    }
);

impl ModAction {
    /// Whether this action can be taken on a subject of this type. Labels,
    /// demotion and the clip's own removal are about clips; restriction and
    /// suspension are about the account behind the subject.
    pub fn applies_to(self, subject: SubjectType) -> bool {
        use ModAction as A;
        use SubjectType as S;
        match self {
            A::Dismiss => true,
            A::Label | A::Demote => subject == S::Video,
            A::Remove => matches!(subject, S::Video | S::Comment),
            A::Restrict | A::Suspend => subject != S::Hashtag,
        }
    }

    /// Whether the action lasts a number of days.
    pub fn takes_duration(self) -> bool {
        matches!(self, ModAction::Restrict | ModAction::Suspend)
    }
}

closed_set!(
    /// The ground of a decision (DSA Art. 17(3)(d) and (e)): the law, or
    /// the platform's own rules.
    Ground {
        Illegal => "illegal",
        Terms => "terms",
    }
);

closed_set!(
    /// A label on a clip, served with it.
    Label {
        Misinformation => "misinformation",
        Sensitive => "sensitive",
        Sexual => "sexual",
        AiGenerated => "ai_generated",
        Promotional => "promotional",
    }
);

impl Label {
    /// A clip with this label never enters For You or trending; it stays
    /// reachable by link and on its creator's profile, labelled.
    pub fn keeps_out_of_for_you(self) -> bool {
        matches!(self, Label::Misinformation)
    }

    /// Shown blurred behind a tap, and left out for visitors.
    pub fn is_sensitive(self) -> bool {
        matches!(self, Label::Sensitive | Label::Sexual)
    }
}

closed_set! {
    /// What a person's keyword filter does to a clip or comment that
    /// matches it.
    FilterAction {
        Hide => "hide",
        Warn => "warn",
    }
}

closed_set! {
    /// Who may comment on a clip; its creator always may.
    CommentPolicy {
        Everyone => "everyone",
        Followers => "followers",
        Off => "off",
    }
}

/// Words or phrases per keyword filter.
pub const FILTER_WORDS: std::ops::RangeInclusive<usize> = 1..=20;
/// Characters per word or phrase.
pub const FILTER_WORD_CHARS: std::ops::RangeInclusive<usize> = 1..=40;
/// Filters per account: enough for anyone's list, bounded for every page
/// that applies them.
pub const MAX_FILTERS: usize = 50;

/// A person's keyword filter: its words or phrases, each matched without
/// regard to case where it stands as a whole word (`cat` matches "Cat!"
/// and "#cat", not "concatenate").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordFilter {
    pub words: Vec<String>,
    pub action: FilterAction,
}

impl KeywordFilter {
    /// Validates and normalises words as a person typed them: trimmed,
    /// lowercased, without repeats.
    pub fn words(raw: &[String]) -> Result<Vec<String>, String> {
        let mut words: Vec<String> = Vec::new();
        for w in raw {
            let w = w.trim().to_lowercase();
            let n = w.chars().count();
            if !FILTER_WORD_CHARS.contains(&n) || w.chars().any(char::is_control) {
                return Err(format!(
                    "each word or phrase has {} to {} characters and no control characters; got {w:?}",
                    FILTER_WORD_CHARS.start(),
                    FILTER_WORD_CHARS.end()
                ));
            }
            if !words.contains(&w) {
                words.push(w);
            }
        }
        if !FILTER_WORDS.contains(&words.len()) {
            return Err(format!(
                "a filter has {} to {} words or phrases",
                FILTER_WORDS.start(),
                FILTER_WORDS.end()
            ));
        }
        Ok(words)
    }

    /// The first of the filter's words `text` contains as a whole word.
    pub fn matches(&self, text: &str) -> Option<&str> {
        self.matches_lowercase(&text.to_lowercase())
    }

    /// [`Self::matches`] for a text already lowercased: a caller checking
    /// one text against many filters lowers it once.
    pub fn matches_lowercase(&self, lowercase: &str) -> Option<&str> {
        self.words
            .iter()
            .find(|w| contains_word(lowercase, w))
            .map(String::as_str)
    }
}

/// Whether `word` occurs in `text` with no letter or digit right before or
/// after it. Both are lowercase.
fn contains_word(text: &str, word: &str) -> bool {
    let is_word_char = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !is_word_char(before) && !is_word_char(after)
    })
}

/// The longest report note, in characters.
pub const REPORT_NOTE_CHARS: usize = 1000;
/// A decision's statement of facts: long enough to say something.
pub const FACTS_CHARS: std::ops::RangeInclusive<usize> = 10..=2000;
/// The rule or law a decision rests on.
pub const RULE_CHARS: std::ops::RangeInclusive<usize> = 3..=200;
/// An appeal's text.
pub const APPEAL_CHARS: std::ops::RangeInclusive<usize> = 10..=2000;
/// The longest restriction or suspension a single decision can impose;
/// longer would be a permanent ban dressed up as a temporary one.
pub const MAX_DURATION_DAYS: u32 = 3650;
/// How long after a decision its subject may appeal (DSA Art. 20(1): at
/// least six months).
pub const APPEAL_WINDOW_DAYS: i64 = 183;

/// A context note's text, in characters: room for a sentence or two of
/// context, as in Community Notes (which allow 280 plus links).
pub const NOTE_TEXT_CHARS: std::ops::RangeInclusive<usize> = 10..=500;
/// The longest source link of a note.
pub const NOTE_URL_CHARS: usize = 500;
/// Clips a person must have watched before they may propose a note: some
/// history makes throwaway accounts costlier and gives the bridging model
/// something to place them by.
pub const NOTE_MIN_WATCHED: u32 = 5;

/// Checks a note's source link: an absolute `http` or `https` URL with a
/// host name, no credentials and nothing a browser would read as a
/// different scheme. The web app makes it a link, so this is what keeps
/// `javascript:` and look-alike tricks out. Returns the trimmed URL.
pub fn source_url(raw: &str) -> Result<&str, &'static str> {
    let url = raw.trim();
    if url.chars().count() > NOTE_URL_CHARS {
        return Err("is too long (at most 500 characters)");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("may not contain spaces or control characters");
    }
    let rest = match url.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http") =>
        {
            rest
        }
        _ => return Err("must start with https:// or http://"),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("may not carry a user name or password");
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    let labels_ok = host
        .split('.')
        .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !host.contains('.') || !labels_ok {
        return Err("needs a host name such as example.org");
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_filters_match_whole_words_whatever_the_case() {
        let words =
            KeywordFilter::words(&[" Cat ".into(), "cat".into(), "spoiler alert".into()]).unwrap();
        assert_eq!(words, ["cat", "spoiler alert"]);
        let f = KeywordFilter {
            words,
            action: FilterAction::Hide,
        };
        assert_eq!(f.matches("My CAT!"), Some("cat"));
        assert_eq!(f.matches("#cat video"), Some("cat"));
        assert_eq!(f.matches("Spoiler Alert: the end"), Some("spoiler alert"));
        assert_eq!(f.matches("concatenate cats"), None);
        assert_eq!(f.matches("Über-cat"), Some("cat"));
        assert!(KeywordFilter::words(&[]).is_err());
        assert!(KeywordFilter::words(&["  ".into()]).is_err());
        assert!(KeywordFilter::words(&["a\u{7}".into()]).is_err());
        assert!(KeywordFilter::words(&["x".repeat(41)]).is_err());
    }

    #[test]
    fn source_links_are_web_addresses_with_a_host() {
        for ok in [
            "https://example.org/a?b=c#d",
            "http://news.example.co.uk:8080/x",
            " https://a.b ",
        ] {
            assert!(source_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "https://",
            "https://localhost/",
            "https://user:pw@example.org/",
            "https://exa mple.org",
            "ftp://example.org",
            "//example.org",
            "https://example..org",
            "https://example.org/a\nb",
        ] {
            assert!(source_url(bad).is_err(), "{bad}");
        }
        assert!(source_url(&format!("https://example.org/{}", "a".repeat(500))).is_err());
    }

    #[test]
    fn every_value_round_trips_through_its_name() {
        for c in ReportCategory::ALL {
            assert_eq!(ReportCategory::parse(c.as_str()), Some(*c));
        }
        for a in ModAction::ALL {
            assert_eq!(ModAction::parse(a.as_str()), Some(*a));
        }
        assert_eq!(Label::parse("Misinformation"), None, "names are exact");
        assert_eq!(Ground::choices(), "illegal or terms");
    }

    #[test]
    fn actions_fit_their_subjects() {
        assert!(ModAction::Label.applies_to(SubjectType::Video));
        assert!(!ModAction::Label.applies_to(SubjectType::Account));
        assert!(ModAction::Remove.applies_to(SubjectType::Comment));
        assert!(!ModAction::Suspend.applies_to(SubjectType::Hashtag));
        assert!(ModAction::Suspend.applies_to(SubjectType::Sound));
    }
}
