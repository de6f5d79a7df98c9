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

#[cfg(test)]
mod tests {
    use super::*;

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
