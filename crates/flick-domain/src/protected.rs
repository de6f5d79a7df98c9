//! Protected data in types.
//!
//! A [`Protected`] value belongs to one account (its subject). It is neither
//! `Serialize` nor `Display`, so it cannot end up in a response or a log line
//! by accident; the only ways out are [`Protected::reveal_to_owner`], with an
//! [`Owner`] proof, and [`Protected::reveal_through_gate`], with a
//! [`GatePermit`].
//!
//! Neither proof has a public constructor. An `Owner` is made only by
//! [`Owner::of_session`], from a session the [`Sessions`] check found; a
//! `GatePermit` only by [`gate`], which decides by the rule of
//! [`AccessRequest::decide`] and has the decision recorded in the
//! [`AccessLog`] before it lets anyone in. Code elsewhere cannot mint either:
//! to reveal data, it has to go through one of these two doors, and each
//! implementation of `Sessions` and `AccessLog` is one `impl` to review.

use crate::access::{AccessRequest, Refusal};
use crate::UserId;

pub struct Protected<T> {
    subject: UserId,
    value: T,
}

/// Proof that the caller is this account: a session of it was found.
#[derive(Debug, Clone, Copy)]
pub struct Owner(UserId);

/// Proof that the access gate allowed, and recorded, a read of `subject`'s
/// data.
#[derive(Debug)]
pub struct GatePermit {
    subject: UserId,
}

/// Where sessions are checked (the store of the token's home region).
pub trait Sessions {
    type Error;
    /// The account whose unexpired session has this token hash.
    fn session_user(&self, token_hash: &[u8], now_ms: i64) -> Result<Option<UserId>, Self::Error>;
}

/// Where the gate writes its decisions before they take effect (the
/// transparency log). `record` returns only once the decision is durable;
/// it may decline to write a refusal (e.g. a flood of them), never an
/// allowed access, which it must write or fail.
pub trait AccessLog {
    type Error;
    fn record(
        &self,
        request: &AccessRequest<'_>,
        decision: Result<(), Refusal>,
    ) -> Result<(), Self::Error>;
}

/// Why the gate issued no permit.
#[derive(Debug)]
pub enum GateError<E> {
    /// The rule said no; the refusal was recorded.
    Refused(Refusal),
    /// The decision could not be recorded, so nobody is let in.
    Log(E),
}

impl Owner {
    /// The owner proof of whoever holds the session with `token_hash`.
    pub fn of_session<S: Sessions + ?Sized>(
        sessions: &S,
        token_hash: &[u8],
        now_ms: i64,
    ) -> Result<Option<Owner>, S::Error> {
        Ok(sessions.session_user(token_hash, now_ms)?.map(Owner))
    }

    pub fn user(&self) -> UserId {
        self.0
    }
}

/// The access gate: decides by the rule, records the decision, and only
/// then issues the permit. The one place a [`GatePermit`] is made.
pub fn gate<L: AccessLog + ?Sized>(
    log: &L,
    request: &AccessRequest<'_>,
) -> Result<GatePermit, GateError<L::Error>> {
    let decision = request.decide();
    log.record(request, decision).map_err(GateError::Log)?;
    decision.map_err(GateError::Refused)?;
    Ok(GatePermit {
        subject: request.subject,
    })
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
    use crate::access::{DataClass, RegionCode, Role};
    use std::cell::RefCell;

    struct OneSession;
    impl Sessions for OneSession {
        type Error = ();
        fn session_user(&self, hash: &[u8], _: i64) -> Result<Option<UserId>, ()> {
            Ok((hash == b"tok").then_some(UserId(1)))
        }
    }

    /// Records decisions; fails when told to.
    struct Log {
        records: RefCell<Vec<Result<(), Refusal>>>,
        broken: bool,
    }
    impl AccessLog for Log {
        type Error = &'static str;
        fn record(
            &self,
            _: &AccessRequest<'_>,
            d: Result<(), Refusal>,
        ) -> Result<(), &'static str> {
            if self.broken {
                return Err("disk full");
            }
            self.records.borrow_mut().push(d);
            Ok(())
        }
    }

    #[test]
    fn only_the_owner_or_a_permit_for_the_subject_reveals() {
        let p = || Protected::new(UserId(1), "history");
        let owner = Owner::of_session(&OneSession, b"tok", 0).unwrap().unwrap();
        assert_eq!(p().reveal_to_owner(&owner), Ok("history"));
        assert!(Owner::of_session(&OneSession, b"other", 0)
            .unwrap()
            .is_none());
        assert_eq!(
            Protected::new(UserId(2), "x").reveal_to_owner(&owner),
            Err(NotYours)
        );

        let eu = RegionCode::parse("eu").unwrap();
        let req = |subject, role| AccessRequest {
            actor: UserId(9),
            role,
            class: DataClass::WatchHistory,
            subject,
            region: &eu,
            purpose: "abuse report #42 review",
        };
        let log = Log {
            records: RefCell::default(),
            broken: false,
        };
        let permit = gate(&log, &req(UserId(1), Role::Support)).unwrap();
        assert_eq!(p().reveal_through_gate(&permit), Ok("history"));
        let other = gate(&log, &req(UserId(2), Role::Support)).unwrap();
        assert_eq!(p().reveal_through_gate(&other), Err(NotYours));
        assert!(matches!(
            gate(&log, &req(UserId(1), Role::User)),
            Err(GateError::Refused(Refusal::NotStaff))
        ));
        assert_eq!(
            log.records.borrow().len(),
            3,
            "every decision was recorded first"
        );
        let broken = Log {
            records: RefCell::default(),
            broken: true,
        };
        assert!(
            matches!(
                gate(&broken, &req(UserId(1), Role::Admin)),
                Err(GateError::Log(_))
            ),
            "no record, no permit"
        );
        assert!(!format!("{:?}", p()).contains("history"));
    }
}
