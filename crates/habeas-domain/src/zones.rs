//! Facilities' own days: the IANA time zone database bundled with habeas (never the
//! machine's zoneinfo, so a register gives the same days on every machine), and the one
//! conversion between instants and local calendar days that every check and figure uses.

use std::sync::OnceLock;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::{TimeZone, TimeZoneDatabase};

fn database() -> &'static TimeZoneDatabase {
    static DB: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DB.get_or_init(TimeZoneDatabase::bundled)
}

/// The time zone of that IANA name (`America/El_Salvador`, `UTC`), if the database has it.
pub fn zone(name: &str) -> Option<TimeZone> {
    database().get(name).ok()
}

/// The calendar day of `t` in `tz`.
pub fn local_date(t: Timestamp, tz: &TimeZone) -> Date {
    tz.to_datetime(t).date()
}

/// When day `d` begins in `tz` (the first instant of the day, also on a day whose midnight a
/// clock change skips).
pub fn day_start(d: Date, tz: &TimeZone) -> Timestamp {
    tz.to_ambiguous_timestamp(d.to_datetime(Time::midnight()))
        .compatible()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The register's own time zone, for figures that span its facilities (the statistics'
/// months): the zone most of its facilities record (the first by code on a tie), UTC when
/// it has none the database knows.
pub fn register_zone<'a>(facilities: impl IntoIterator<Item = &'a crate::Facility>) -> TimeZone {
    let mut counts: std::collections::BTreeMap<&str, (usize, &crate::FacilityCode)> =
        std::collections::BTreeMap::new();
    for f in facilities {
        let e = counts
            .entry(f.timezone.as_str())
            .or_insert((0, &f.facility));
        e.0 += 1;
        e.1 = e.1.min(&f.facility);
    }
    let mut best: Option<(usize, &crate::FacilityCode, TimeZone)> = None;
    for (name, (n, first)) in counts {
        let Some(tz) = zone(name) else { continue };
        if best
            .as_ref()
            .is_none_or(|(bn, bf, _)| n > *bn || (n == *bn && first < *bf))
        {
            best = Some((n, first, tz));
        }
    }
    best.map_or(TimeZone::UTC, |(_, _, tz)| tz)
}

/// The first instant of the month of `d` in `tz`.
pub fn month_start(d: Date, tz: &TimeZone) -> Timestamp {
    day_start(d.first_of_month(), tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn el_salvador_days_are_six_hours_behind_utc() {
        let tz = zone("America/El_Salvador").unwrap();
        // 19:30 local on 31 March is 01:30 UTC on 1 April.
        let t: Timestamp = "2024-04-01T01:30:00Z".parse().unwrap();
        assert_eq!(local_date(t, &tz), "2024-03-31".parse::<Date>().unwrap());
        assert_eq!(
            day_start("2024-03-31".parse().unwrap(), &tz),
            "2024-03-31T06:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert!(zone("Mars/Olympus").is_none());
        assert!(zone("UTC").is_some());
    }
}
