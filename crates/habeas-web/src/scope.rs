//! Facility scopes: the one implementation of "a user limited to facilities sees and acts
//! only there", used by every read path of the API and the pages, and by both write paths.
//!
//! The rule is `habeas_domain::authz::in_scope` over one facility per thing:
//! - a person: the facility holding them now, or the last one that held them
//!   (`Store::person_facility`);
//! - a place, a finding, a population row: its own facility;
//! - an access-log entry: the person it is about (an entry about no person — a search, a
//!   cell list, a locator query — names what was asked, which may be about anyone: only
//!   unscoped users see it);
//! - a command: every facility it acts in (`authz::command_facilities`).
//!
//! Something in no facility is in scope only for unscoped users.

use std::collections::HashMap;

use habeas_domain::authz::{command_facilities, in_scope};
use habeas_domain::checks::Finding;
use habeas_domain::{Command, FacilityCode, RegisterNo};
use habeas_store::{AccessEntry, FileEvent, PersonHit, Population, Store};

use crate::ApiError;

/// Whether a facility, by its code as the tables hold it, is in `scope`.
pub(crate) fn covers(scope: &[FacilityCode], facility: Option<&str>) -> bool {
    let code = facility.and_then(|f| FacilityCode::parse(f).ok());
    in_scope(scope, code.as_ref())
}

/// Whether the person is in `scope` (`None` when the register has never held them).
pub(crate) fn person_in_scope(
    store: &Store,
    scope: &[FacilityCode],
    r: &RegisterNo,
) -> Result<Option<bool>, ApiError> {
    if scope.is_empty() {
        return Ok(Some(true));
    }
    Ok(store.person_facility(r)?.map(|f| in_scope(scope, Some(&f))))
}

/// A read of one person's file or whereabouts: forbidden outside the user's facilities.
pub(crate) fn check_person(
    store: &Store,
    scope: &[FacilityCode],
    r: &RegisterNo,
) -> Result<(), ApiError> {
    match person_in_scope(store, scope, r)? {
        Some(true) => Ok(()),
        Some(false) => Err(ApiError::forbidden(
            "this person is held outside the facilities this user is limited to",
        )),
        None => Err(ApiError::not_found(format!("{r} is not in the register"))),
    }
}

/// Remembers each person's answer during one read (lists name a person many times).
struct PersonScope<'a> {
    store: &'a Store,
    scope: &'a [FacilityCode],
    seen: HashMap<String, bool>,
}

impl PersonScope<'_> {
    fn allows(&mut self, r: &RegisterNo) -> Result<bool, ApiError> {
        if let Some(&ok) = self.seen.get(r.as_str()) {
            return Ok(ok);
        }
        let ok = person_in_scope(self.store, self.scope, r)?.unwrap_or(false);
        self.seen.insert(r.as_str().to_owned(), ok);
        Ok(ok)
    }

    fn allows_text(&mut self, r: &str) -> Result<bool, ApiError> {
        match RegisterNo::parse(r) {
            Ok(r) => self.allows(&r),
            Err(_) => Ok(false),
        }
    }
}

fn person_scope<'a>(store: &'a Store, scope: &'a [FacilityCode]) -> PersonScope<'a> {
    PersonScope {
        store,
        scope,
        seen: HashMap::new(),
    }
}

/// How many rows to read for a list of `limit` that is filtered afterwards: more for a
/// scoped user, so that the rows of other facilities do not crowd theirs out.
pub(crate) fn read_limit(scope: &[FacilityCode], limit: usize) -> usize {
    if scope.is_empty() {
        limit
    } else {
        limit.saturating_mul(20).max(500)
    }
}

/// Persons found (search, cell list): those in scope, at most `limit`.
pub(crate) fn persons(
    store: &Store,
    scope: &[FacilityCode],
    mut hits: Vec<PersonHit>,
    limit: usize,
) -> Result<Vec<PersonHit>, ApiError> {
    if !scope.is_empty() {
        let mut ps = person_scope(store, scope);
        let mut kept = Vec::with_capacity(hits.len().min(limit));
        for h in hits {
            if ps.allows_text(&h.register_no)? {
                kept.push(h);
            }
        }
        hits = kept;
    }
    hits.truncate(limit);
    Ok(hits)
}

/// Events about persons (the latest movements): those about persons in scope, at most `limit`.
pub(crate) fn person_events(
    store: &Store,
    scope: &[FacilityCode],
    mut events: Vec<FileEvent>,
    limit: usize,
) -> Result<Vec<FileEvent>, ApiError> {
    if !scope.is_empty() {
        let mut ps = person_scope(store, scope);
        let mut kept = Vec::new();
        for e in events {
            let ok = match e.event.register_no() {
                Some(r) => ps.allows(r)?,
                None => false,
            };
            if ok {
                kept.push(e);
            }
        }
        events = kept;
    }
    events.truncate(limit);
    Ok(events)
}

/// Access-log entries: for a scoped user, those about persons in scope, at most `limit`.
pub(crate) fn access_entries(
    store: &Store,
    scope: &[FacilityCode],
    mut entries: Vec<AccessEntry>,
    limit: usize,
) -> Result<Vec<AccessEntry>, ApiError> {
    if !scope.is_empty() {
        let mut ps = person_scope(store, scope);
        let mut kept = Vec::new();
        for e in entries {
            let ok = match &e.register_no {
                Some(r) => ps.allows(r)?,
                None => false,
            };
            if ok {
                kept.push(e);
            }
        }
        entries = kept;
    }
    entries.truncate(limit);
    Ok(entries)
}

/// The population of the user's facilities only; the total is theirs, and persons in
/// transit (between facilities, in none) are not counted for a scoped user.
pub(crate) fn population(mut p: Population, scope: &[FacilityCode]) -> Population {
    if !scope.is_empty() {
        p.facilities.retain(|f| covers(scope, Some(&f.facility)));
        p.total = p.facilities.iter().map(|f| f.held).sum();
        p.in_transit = 0;
    }
    p
}

/// Findings of the user's facilities only.
pub(crate) fn findings(mut f: Vec<Finding>, scope: &[FacilityCode]) -> Vec<Finding> {
    f.retain(|x| covers(scope, x.facility.as_deref()));
    f
}

/// Whether a command acts only inside the user's facilities (as the register stands when
/// it is decided). A register-wide command (no facility) is for unscoped users only.
pub(crate) fn command_in_scope(store: &Store, scope: &[FacilityCode], command: &Command) -> bool {
    if scope.is_empty() {
        return true;
    }
    let facilities = command_facilities(command, |r| store.person_facility(r).ok().flatten());
    !facilities.is_empty() && facilities.iter().all(|f| in_scope(scope, Some(f)))
}
