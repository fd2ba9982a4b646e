//! Place checks: cells over capacity, beds, floor space, facilities over capacity.

use super::*;

/// Who belongs to one side of a category (men, people on remand, children…).
type Group<'a> = &'a dyn Fn(&PersonFacts) -> bool;

pub(super) fn place_checks(s: &Snapshot, out: &mut Vec<Finding>) {
    let t = s.at;
    // Who is in each cell, and in each facility, at T.
    let mut in_cell: BTreeMap<&CellPath, Vec<(&PersonFacts, Timestamp)>> = BTreeMap::new();
    let mut in_facility: BTreeMap<&FacilityCode, Vec<Timestamp>> = BTreeMap::new();
    for pf in &s.persons {
        let Some((e, stay)) = current(pf) else {
            continue;
        };
        if let (Status::InCustody, Some(cell)) = (stay.status, &stay.cell) {
            in_cell.entry(cell).or_default().push((pf, stay.from));
        }
        if let Some(f) = &stay.facility {
            in_facility
                .entry(f)
                .or_default()
                .push(e.in_facility_since().unwrap_or(stay.from));
        }
    }
    let cells: BTreeMap<&CellPath, &Cell> = s.cells.iter().map(|c| (&c.cell, c)).collect();
    let zones = Zones::of_snapshot(s);
    for (path, occupants) in &in_cell {
        let Some(cell) = cells.get(path) else {
            continue;
        };
        let n = occupants.len();
        let mut arrivals: Vec<Timestamp> = occupants.iter().map(|(_, a)| *a).collect();
        let fac = Some(path.facility.to_string());
        let mut cell_finding = |check: &'static str, since: Timestamp, detail: String| {
            out.push(Finding {
                check,
                severity: info(check),
                subject_kind: SubjectKind::Cell,
                subject: path.to_string(),
                facility: fac.clone(),
                since,
                detail,
                evidence: vec![cell.seq],
            });
        };
        if n > cell.places as usize
            && let Some(since) = kth_earliest(&mut arrivals, cell.places as usize + 1)
        {
            cell_finding(
                "cell-over-capacity",
                since,
                format!(
                    "cell {path} holds {n} people for {} places since {since}",
                    cell.places
                ),
            );
        }
        if n > cell.beds as usize
            && let Some(since) = kth_earliest(&mut arrivals, cell.beds as usize + 1)
        {
            cell_finding(
                "bed-shortage",
                since,
                format!(
                    "cell {path} holds {n} people for {} beds since {since}",
                    cell.beds
                ),
            );
        }
        if let Some(area) = cell.area_m2 {
            let min = s.limits.get("floor-space.min_m2");
            // The most people the cell can hold with `min` m² each.
            let fits = if min > 0.0 {
                (area / min).floor() as usize
            } else {
                usize::MAX
            };
            if n > fits
                && let Some(since) = kth_earliest(&mut arrivals, fits + 1)
            {
                cell_finding(
                    "floor-space",
                    since,
                    format!(
                        "cell {path} gives {:.2} m² per person ({n} people in {area} m²; minimum {min} m²) since {since}",
                        area / n as f64
                    ),
                );
            }
        }
        // category-mixing: one finding per kind of mixing.
        let group_since = |pred: &dyn Fn(&PersonFacts) -> bool| -> Option<Timestamp> {
            occupants
                .iter()
                .filter(|(p, _)| pred(p))
                .map(|(_, a)| *a)
                .min()
        };
        let sex = |p: &PersonFacts| p.person.identity.as_ref().map(|i| i.sex);
        let status = |p: &PersonFacts| p.person.open_episode().map(|e| e.legal_status);
        let adult = s.limits.get("adult.age");
        let tz = zones.of(Some(&path.facility));
        let minor = |p: &PersonFacts| {
            p.person
                .identity
                .as_ref()
                .and_then(|i| i.date_of_birth)
                .map(|d| f64::from(age_at(d, t, tz)) < adult)
        };
        let kinds: [(&str, Group, Group); 3] = [
            ("men with women", &|p| sex(p) == Some(Sex::Male), &|p| {
                sex(p) == Some(Sex::Female)
            }),
            (
                "people on remand with convicted people",
                &|p| status(p) == Some(LegalStatus::Remand),
                &|p| {
                    matches!(
                        status(p),
                        Some(LegalStatus::Sentenced | LegalStatus::ConvictedUnsentenced)
                    )
                },
            ),
            ("children with adults", &|p| minor(p) == Some(true), &|p| {
                minor(p) == Some(false)
            }),
        ];
        for (what, a, b) in kinds {
            if let (Some(sa), Some(sb)) = (group_since(a), group_since(b)) {
                let since = sa.max(sb);
                let na = occupants.iter().filter(|(p, _)| a(p)).count();
                let nb = occupants.iter().filter(|(p, _)| b(p)).count();
                out.push(Finding {
                    check: "category-mixing",
                    severity: info("category-mixing"),
                    subject_kind: SubjectKind::Cell,
                    subject: path.to_string(),
                    facility: Some(path.facility.to_string()),
                    since,
                    detail: format!("cell {path} holds {what} ({na} and {nb}) since {since}"),
                    evidence: vec![cell.seq],
                });
            }
        }
    }
    // facility-over-capacity
    let pct = s.limits.get("facility-over-capacity.pct");
    for f in &s.facilities {
        let Some(arrivals) = in_facility.get_mut(&f.facility) else {
            continue;
        };
        let allowed = (f64::from(f.official_capacity) * pct / 100.0).floor() as usize;
        let n = arrivals.len();
        if n > allowed
            && let Some(since) = kth_earliest(arrivals, allowed + 1)
        {
            out.push(Finding {
                check: "facility-over-capacity",
                severity: info("facility-over-capacity"),
                subject_kind: SubjectKind::Facility,
                subject: f.facility.to_string(),
                facility: Some(f.facility.to_string()),
                since,
                detail: format!(
                    "facility {} holds {n} people for an official capacity of {} ({:.0} %) since {since}",
                    f.facility,
                    f.official_capacity,
                    n as f64 * 100.0 / f64::from(f.official_capacity.max(1))
                ),
                evidence: vec![f.seq],
            });
        }
    }
    // count-discrepancy: the latest count of each unit.
    let tolerance = s.limits.get("count-discrepancy.tolerance");
    for c in &s.roll_counts {
        if (f64::from(c.counted) - f64::from(c.expected)).abs() > tolerance {
            out.push(Finding {
                check: "count-discrepancy",
                severity: info("count-discrepancy"),
                subject_kind: SubjectKind::Unit,
                subject: c.unit.to_string(),
                facility: Some(c.unit.facility.to_string()),
                since: c.at,
                detail: format!(
                    "the roll count of {} at {} found {} people; the register has {} there",
                    c.unit, c.at, c.counted, c.expected
                ),
                evidence: vec![c.seq],
            });
        }
    }
}
