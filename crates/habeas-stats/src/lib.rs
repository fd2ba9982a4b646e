//! habeas-stats: the register's published statistics (STANDARDS.md, Publication).
//!
//! The store gathers [`Facts`] (the state at a date, the stays and movements of the months
//! of the series, the agreements, the open findings); [`compute`] turns them into
//! [`Statistics`] by the definitions below; [`Statistics::suppress`] hides small counts of
//! people; the renderers give the same figures as tables ([`tables`]: CSV, JSON), text, and a
//! static site ([`site`]) whose charts ([`svg`]) any page can reuse.

mod compute;
mod facts;
mod site;
pub mod svg;
mod table;
mod text;

pub use compute::*;
pub use facts::*;
pub use site::{SiteFile, SiteInfo, page, series, site, table_html};
pub use table::{CellValue, Column, Table, format_num, tables};
pub use text::text;

/// What every figure means: shown on the published site's definitions page and in the
/// README. "At the date" is the instant the statistics are for; months are the register's.
pub const DEFINITIONS: &[(&str, &str)] = &[
    (
        "Held",
        "A person the register holds at the date: in a cell of a facility, admitted and not yet placed, temporarily absent (court, hospital), or in transit between two facilities of the register.",
    ),
    (
        "view",
        "Which records a figure about a past date counts. known_now (the default, and always on the published site): everything recorded until the statistics were computed, including records entered late, so a past date's figures are revised as late records arrive. as_recorded (the audit view): only what had been recorded by the date, i.e. what the facility's staff could have seen then.",
    ),
    (
        "total",
        "Persons held at the date (World Prison Brief: prison population total).",
    ),
    (
        "rate_per_100k",
        "total × 100,000 / the national population recorded by settings.record (World Prison Brief: prison population rate). Empty when no national population is recorded.",
    ),
    (
        "remand_pct",
        "Persons whose legal status at the date is remand (pre-trial), per 100 held (World Prison Brief: pre-trial detainees / remand prisoners). Convicted but unsentenced persons are counted apart. The legal status at the date is the latest one a legal-basis record had set by then, else the status at admission.",
    ),
    (
        "female_pct",
        "Persons recorded as female, per 100 held (World Prison Brief: female prisoners). Persons without a recorded identity are counted in the total and in sex_unknown.",
    ),
    (
        "juvenile_pct",
        "Persons under 18 years of age at the date (from the date of birth), per 100 held (World Prison Brief: juveniles / minors). Persons without a date of birth are counted in age_unknown, not as juveniles.",
    ),
    (
        "foreign_pct",
        "Persons with at least one recorded nationality and none of them the register's country (settings.record country), per 100 held (World Prison Brief: foreign prisoners). Empty when no country is recorded.",
    ),
    (
        "establishments",
        "Facilities on the register's list (World Prison Brief: number of establishments / institutions).",
    ),
    (
        "official_capacity",
        "The sum of the official capacities the facilities declared (World Prison Brief: official capacity of prison system).",
    ),
    (
        "occupancy_pct",
        "Persons held by a facility (in its cells, not yet placed, or absent; not those in transit) per 100 places of official capacity (World Prison Brief: occupancy level). Per facility: its population per 100 of its official capacity.",
    ),
    (
        "persons_per_bed",
        "Persons in the facility's cells at the date / the beds of its registered cells (SMR 21).",
    ),
    (
        "m2_per_person",
        "The floor area of the facility's cells whose area is recorded / the persons in those cells at the date (SMR 13; ICRC 3.4 m², CPT 4 m² per person in a shared cell).",
    ),
    (
        "Months",
        "Calendar months of the register's time zone (time_zone: the IANA zone its facilities record, the most common when they differ). The population at month end is counted at the month's last microsecond (for the month of the date, at the date). Admissions, releases, escapes, transfers and deaths are counted by the date they happened, from the first instant of the month to its end (or to the date).",
    ),
    (
        "Transfers",
        "Departures on transfer: to another facility of the register (transfers_internal), or out of the register's jurisdiction to another state or authority (transfers_out_of_jurisdiction), which ends the custody episode.",
    ),
    (
        "Deaths and referral",
        "Deaths in custody by the cause recorded (not recorded when none was). A death is referred when a notification to an independent authority about it is recorded after it, by the date (SMR 71; CED 12). Deaths are never suppressed.",
    ),
    (
        "Agreements",
        "For each agreement to hold persons for another authority: people_held, those held under it at the date; people_total, everyone admitted under it by the date; person_days, the time they were held inside the agreement's term (from its first day to the end of its last, in the register's time zone) up to the date, in days; cost_to_date, a per-term price pro rata of the term's days elapsed by the date, or a per-person-day price times person_days; price_per_person_day, cost_to_date / person_days.",
    ),
    (
        "Checks",
        "For each check of the standards (STANDARDS.md), from the findings open at the date, as the checks evaluate the register at that date: persons_affected, persons with an open finding; person_days, the sum over those findings of the time from the finding's since to the date, in days (how long the people affected at the date had been affected: conditions that ended before the date are not counted, because counting them would need the checks evaluated at every past day); places_affected and place_days, the same for cells, units and facilities; persons_in_affected_places, persons held at the date in those places; other_findings, findings about a log entry (late records) or the whole register.",
    ),
    (
        "Suppression",
        "With publication_min_count N recorded by settings.record, every count of people from 1 to N − 1, and every figure that would reveal it (a share, a rate, person-days, persons per bed), is published as suppressed: <N on the pages, empty in CSV, null in JSON, and listed in statistics.json under suppression.suppressed. Zero is shown. Deaths are never suppressed, nor the persons affected by the checks on deaths (death-not-referred, death-family-not-notified). The suppression is primary only: a suppressed count can sometimes be recovered by subtraction from figures that are shown (a facility's population from the total and the other facilities'); choose the threshold and the published range with that in mind.",
    ),
];

/// The instruments and the data standard the statistics follow.
pub const SOURCES: &[&str] = &[
    "World Prison Brief (Institute for Crime & Justice Policy Research, Birkbeck, University of London): the fields prison population total, prison population rate per 100,000 of the national population, pre-trial detainees / remand prisoners, female prisoners, juveniles, foreign prisoners, number of establishments, official capacity and occupancy level.",
    "OPCAT: Optional Protocol to the Convention against Torture, arts. 20–21 (access of national preventive mechanisms to information and to places of detention).",
    "SMR: UN Standard Minimum Rules for the Treatment of Prisoners (the Nelson Mandela Rules, A/RES/70/175, 2015), rules 10, 13, 21 (accommodation and bedding), 71 (deaths referred to an independent authority) and 85 (inspection reports).",
    "CED: International Convention for the Protection of All Persons from Enforced Disappearance (2006), arts. 12, 17 and 18.",
    "ICRC: Water, sanitation, hygiene and habitat in prisons, supplementary guidance (2012): 3.4 m² per person in a shared cell.",
    "CPT: European Committee for the Prevention of Torture, Living space per prisoner in prison establishments, CPT/Inf(2015)44: 4 m² per person in a shared cell.",
];
