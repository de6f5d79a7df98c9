//! Who may see whose protected data: the vocabulary of access (roles, data
//! classes, regions) and the gate's rule, which is pure.

use crate::UserId;

/// A region's name as the operator configures it: `us`, `eu`, `ap-south`.
/// Short and plain because it is part of file paths, tokens and log records.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(String);

impl RegionCode {
    /// 1 to 16 of `a-z`, `0-9` and `-`, starting with a letter.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=16).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RegionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an account may do beyond its own data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Admin,
    Moderator,
    Support,
    /// The trusted technology partner: reads the transparency log and
    /// aggregates, never protected data.
    Auditor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Support => "support",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Role::User,
            Role::Admin,
            Role::Moderator,
            Role::Support,
            Role::Auditor,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// Roles whose job may require reading someone's protected data.
    pub fn may_read_protected(self) -> bool {
        matches!(self, Role::Admin | Role::Moderator | Role::Support)
    }

    /// Roles that read the transparency log and aggregates (never
    /// protected data).
    pub fn may_audit(self) -> bool {
        matches!(self, Role::Auditor | Role::Admin)
    }
}

/// Which of a person's protected data a call reads or writes: the words
/// of every access record and every refusal at the region boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataClass {
    /// The account row: role, home region.
    Account,
    /// What a staff read through the gate returns: the account and all its
    /// activity.
    AccountAndActivity,
    Credentials,
    Sessions,
    /// Uploads before publication and their jobs.
    Uploads,
    Follows,
    Likes,
    /// Shares, comments' events, not-interested marks.
    Interactions,
    WatchHistory,
    /// The recommender's view of the person (their interests).
    RecommendationState,
    Profile,
    /// The reports a person made (who reported what) and their notices.
    Reports,
    /// Every protected row of the account (export, deletion).
    Everything,
}

impl DataClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DataClass::Account => "account",
            DataClass::AccountAndActivity => "account_and_activity",
            DataClass::Credentials => "credentials",
            DataClass::Sessions => "sessions",
            DataClass::Uploads => "uploads",
            DataClass::Follows => "follows",
            DataClass::Likes => "likes",
            DataClass::Interactions => "interactions",
            DataClass::WatchHistory => "watch_history",
            DataClass::RecommendationState => "recommendation_state",
            DataClass::Profile => "profile",
            DataClass::Reports => "reports",
            DataClass::Everything => "everything",
        }
    }
}

impl std::fmt::Display for DataClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to read someone else's protected data.
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    pub actor: UserId,
    pub role: Role,
    pub class: DataClass,
    pub subject: UserId,
    /// The subject's home region, where the read happens.
    pub region: &'a RegionCode,
    /// Why, in the actor's words.
    pub purpose: &'a str,
}

/// Why the gate said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this role may not read other people's data")]
    NotStaff,
    #[error("a purpose of {min} to {max} characters is required", min = PURPOSE_CHARS.start(), max = PURPOSE_CHARS.end())]
    PurposeRequired,
}

/// A staff member's stated purpose, in characters.
pub const PURPOSE_CHARS: std::ops::RangeInclusive<usize> = 10..=300;

impl AccessRequest<'_> {
    /// The gate's rule: a role whose job needs it, and a stated purpose.
    pub fn decide(&self) -> Result<(), Refusal> {
        if !self.role.may_read_protected() {
            return Err(Refusal::NotStaff);
        }
        if !PURPOSE_CHARS.contains(&self.purpose.trim().chars().count()) {
            return Err(Refusal::PurposeRequired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_staff_with_a_purpose_are_let_in() {
        let eu = RegionCode::parse("eu").unwrap();
        let req = |role, purpose| AccessRequest {
            actor: UserId(1),
            role,
            class: DataClass::AccountAndActivity,
            subject: UserId(2),
            region: &eu,
            purpose,
        };
        assert_eq!(req(Role::Moderator, "report #12 review").decide(), Ok(()));
        assert_eq!(
            req(Role::User, "report #12 review").decide(),
            Err(Refusal::NotStaff)
        );
        assert_eq!(
            req(Role::Auditor, "report #12 review").decide(),
            Err(Refusal::NotStaff)
        );
        assert_eq!(
            req(Role::Admin, "  short  ").decide(),
            Err(Refusal::PurposeRequired)
        );
        let long = "x".repeat(301);
        assert_eq!(
            req(Role::Admin, &long).decide(),
            Err(Refusal::PurposeRequired)
        );
    }

    #[test]
    fn region_codes_are_short_and_plain() {
        assert!(RegionCode::parse("ap-south").is_some());
        for bad in ["", "EU", "1eu", "e u", "../x", &"a".repeat(17)] {
            assert!(RegionCode::parse(bad).is_none(), "{bad:?}");
        }
    }
}
