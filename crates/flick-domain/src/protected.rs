//! Protected data in types.
//!
//! A [`Protected`] value belongs to one account (its subject). It is neither
//! `Serialize` nor `Display`, so it cannot end up in a response or a log line
//! by accident; the only ways out are [`Protected::reveal_to_owner`], with an
//! [`Owner`] proof made from the caller's verified session, and
//! [`Protected::reveal_through_gate`], with a [`GatePermit`] that only the
//! access gate issues after logging the read. Both are easy to find with
//! grep: every place protected data leaves the server names one of them.

use crate::UserId;

pub struct Protected<T> {
    subject: UserId,
    value: T,
}

/// Proof that the caller is this account (from a verified session).
#[derive(Debug, Clone, Copy)]
pub struct Owner(UserId);

/// Proof that the access gate allowed, and logged, a read of `subject`'s data.
#[derive(Debug)]
pub struct GatePermit {
    subject: UserId,
}

impl Owner {
    /// Only the API's session check calls this.
    pub fn from_verified_session(user: UserId) -> Self {
        Self(user)
    }

    pub fn user(&self) -> UserId {
        self.0
    }
}

impl GatePermit {
    /// Only the access gate calls this, after its log record is durable.
    pub fn after_logged_access(subject: UserId) -> Self {
        Self { subject }
    }
}

/// Why a protected value was not revealed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("this data belongs to another account")]
pub struct NotYours;

impl<T> Protected<T> {
    pub fn new(subject: UserId, value: T) -> Self {
        Self { subject, value }
    }

    pub fn subject(&self) -> UserId {
        self.subject
    }

    /// Uses the value where it is without letting it out, e.g. to check a
    /// password against its hash.
    pub fn check(&self, f: impl FnOnce(&T) -> bool) -> bool {
        f(&self.value)
    }

    pub fn reveal_to_owner(self, owner: &Owner) -> Result<T, NotYours> {
        (owner.0 == self.subject)
            .then_some(self.value)
            .ok_or(NotYours)
    }

    pub fn reveal_through_gate(self, permit: &GatePermit) -> Result<T, NotYours> {
        (permit.subject == self.subject)
            .then_some(self.value)
            .ok_or(NotYours)
    }
}

impl<T> std::fmt::Debug for Protected<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Protected(subject {}, <redacted>)", self.subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owner_or_a_permit_for_the_subject_reveals() {
        let p = || Protected::new(UserId(1), "history");
        assert_eq!(
            p().reveal_to_owner(&Owner::from_verified_session(UserId(1))),
            Ok("history")
        );
        assert_eq!(
            p().reveal_to_owner(&Owner::from_verified_session(UserId(2))),
            Err(NotYours)
        );
        assert_eq!(
            p().reveal_through_gate(&GatePermit::after_logged_access(UserId(1))),
            Ok("history")
        );
        assert_eq!(
            p().reveal_through_gate(&GatePermit::after_logged_access(UserId(2))),
            Err(NotYours)
        );
        assert!(!format!("{:?}", p()).contains("history"));
    }
}
