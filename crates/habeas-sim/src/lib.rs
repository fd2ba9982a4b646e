//! habeas-sim: a seeded, deterministic generator of realistic synthetic custody registers,
//! written as JSON lines of habeas commands (DESIGN §4), in chronological order.
//!
//! The shape is the case the defaults were tested against (STANDARDS.md): a mega-prison of 8
//! pavilions and 40,000 places in cells of 65–70 with fewer beds, where nobody goes outdoors or
//! receives visits; a national population growing from 36,000 to 110,000 over three years, about
//! three quarters on remand; deaths in custody; several hundred persons received from another
//! state under an agreement priced at $6 million for a year while a court order there barred
//! their removal (and a few of them sent back regardless).
//!
//! Everything is synthetic: register numbers `SYN-0000001…`, invented names, every authority,
//! reference and text carries "SYN" or "(synthetic)". The same scale and seed give the same
//! bytes. Output is streamed day by day; memory grows with the number of persons, not commands.

mod rng;
mod text;

use std::io::Write;
use std::str::FromStr;

use rng::Rng;
use text::{Obj, date, days_from_civil, time};

/// The code of the mega-prison.
pub const MEGA_PRISON: &str = "CECOT-SYN";

/// Bumped whenever the same settings give other commands, so that a cached register (the
/// demo's, the benchmarks') is never reused across a change. 2: the mega-prison filled
/// pavilion after pavilion, cell after cell (#20).
pub const GENERATOR_REVISION: u32 = 2;
/// The agreement under which persons are received from another state.
pub const AGREEMENT: &str = "SYN-AG-1";
/// The reference of the legal basis of every person held under the agreement.
pub const AGREEMENT_BASIS: &str = "SYN-AG-1-LB";
/// The court order of the sending state barring their removal.
pub const BAR_ORDER: &str = "SYN-CO-1";

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("writing the register: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "scale `{0}`: expected `small`, `national` or a number of persons held at the end (at least 100)"
    )]
    Scale(String),
}

/// How large a register to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// A few hundred persons, three facilities, three months (2024-01-01 → 2024-03-31): tests.
    Small,
    /// The case: 36,000 → 110,000 held, 2021-04-01 → 2024-03-31.
    National,
    /// The national shape scaled to this many persons held at the end.
    Persons(u32),
}

impl FromStr for Scale {
    type Err = SimError;
    fn from_str(s: &str) -> Result<Scale, SimError> {
        match s {
            "small" => Ok(Scale::Small),
            "national" => Ok(Scale::National),
            n => match n.parse::<u32>() {
                Ok(n) if n >= 100 => Ok(Scale::Persons(n)),
                _ => Err(SimError::Scale(s.to_owned())),
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub scale: Scale,
    pub seed: u64,
    /// Also write daily-life records (exercise, contacts, notifications, health, separation,
    /// incidents, roll counts, settings).
    pub daily_life: bool,
    /// Recurring daily life (exercise, roll counts, family contacts, health requests,
    /// separations, incidents) only over the last this many days; records made at admission
    /// and legal visits stay for every day, so the checks counted "since admission" read the
    /// same facts as in the full register. `None`: every day. A demo register with a recent
    /// window builds several times faster.
    pub recurring_days: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            scale: Scale::Small,
            seed: 1,
            daily_life: true,
            recurring_days: None,
        }
    }
}

/// What was generated: the figures a register built from the output must show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Persons admitted (register numbers issued).
    pub persons: u64,
    /// Lines written.
    pub commands: u64,
    pub facilities: u64,
    pub first_day: String,
    pub last_day: String,
    pub held_at_start: u64,
    /// Held (in custody, absent or in transit) at the end of the last day.
    pub held_at_end: u64,
    /// Of those, on remand.
    pub remand_at_end: u64,
    pub releases: u64,
    pub deaths: u64,
    pub escapes: u64,
    /// Departures to another facility of the register.
    pub transfers: u64,
    /// Persons received under the agreement.
    pub agreement_persons: u64,
    /// Of those, sent back to the sending state while the court order barred it.
    pub removed_against_order: u64,
    /// Daily-life records written.
    pub daily_life_records: u64,
}

// --- the shape of a run --------------------------------------------------------------------

struct Shape {
    /// Days since the epoch of the first (local) day.
    start: i64,
    days: u32,
    /// Held at the end of a day: piecewise linear through these points.
    points: Vec<(u32, f64)>,
    initial_remand: f64,
    pre_remand: f64,
    surge_day: u32,
    surge_remand: f64,
    mega_open: u32,
    mass_transfer_days: Vec<u32>,
    agreement_day: u32,
    agreement_persons: u32,
    returns: u32,
    others: u32,
    /// Multiplier of the rates of rare events (deaths, transfers, incidents…), so that a short
    /// small run still shows each kind of fact.
    boost: f64,
    n_end: f64,
}

impl Shape {
    fn of(scale: Scale) -> Shape {
        match scale {
            Scale::Small => Shape {
                start: days_from_civil(2024, 1, 1),
                days: 91,
                points: vec![(0, 200.0), (90, 300.0)],
                initial_remand: 0.75,
                pre_remand: 0.85,
                surge_day: 0,
                surge_remand: 0.85,
                mega_open: 0,
                mass_transfer_days: vec![],
                agreement_day: 14,
                agreement_persons: 12,
                returns: 2,
                others: 2,
                boost: 20.0,
                n_end: 300.0,
            },
            Scale::National => Shape::national(110_000),
            Scale::Persons(n) => Shape::national(n),
        }
    }

    fn national(n: u32) -> Shape {
        let n_end = f64::from(n);
        let k = n_end / 110_000.0;
        let start = days_from_civil(2021, 4, 1);
        let day = |y, m, d| (days_from_civil(y, m, d) - start) as u32;
        let mega_open = day(2023, 2, 1);
        Shape {
            start,
            days: (days_from_civil(2024, 4, 1) - start) as u32,
            points: vec![
                (0, 36_000.0 * k),
                (day(2022, 3, 26), 39_000.0 * k),
                (day(2022, 11, 30), 95_000.0 * k),
                (day(2024, 3, 31), n_end),
            ],
            initial_remand: 0.30,
            pre_remand: 0.55,
            surge_day: day(2022, 3, 26),
            surge_remand: 0.95,
            mega_open,
            mass_transfer_days: vec![mega_open, mega_open + 30],
            agreement_day: day(2023, 3, 16),
            agreement_persons: ((288.0 * k).round() as u32).max(8),
            returns: ((7.0 * k).round() as u32).max(2),
            others: ((n_end / 6000.0).round() as u32).clamp(2, 18),
            boost: 1.0,
            n_end,
        }
    }

    fn target(&self, day: u32) -> f64 {
        let mut prev = self.points[0];
        for &p in &self.points {
            if day <= p.0 {
                if p.0 == prev.0 {
                    return p.1;
                }
                let f = f64::from(day - prev.0) / f64::from(p.0 - prev.0);
                return prev.1 + f * (p.1 - prev.1);
            }
            prev = p;
        }
        prev.1
    }
}

// --- places ----------------------------------------------------------------------------------

struct Unit {
    code: String,
    /// Cells C001…; only their number is needed after registration.
    cells: u32,
    /// Persons placed in a cell of this unit now.
    in_cells: u32,
    /// The mega-prison's cells only: each cell's places and the persons in it now, so that
    /// it is filled as such a prison is (see `Gen::random_cell`).
    places: Vec<u16>,
    in_cell: Vec<u16>,
}

struct Facility {
    code: String,
    name: String,
    mega: bool,
    units: Vec<Unit>,
}

impl Facility {
    fn cell_path(&self, unit: usize, cell: u32) -> String {
        format!("{}/{}/C{:03}", self.code, self.units[unit].code, cell + 1)
    }
    fn unit_path(&self, unit: usize) -> String {
        format!("{}/{}", self.code, self.units[unit].code)
    }
}

// --- persons ---------------------------------------------------------------------------------

const HELD: u8 = 1;
const AGREEMENT_PERSON: u8 = 2;
const FOREIGN: u8 = 4;
const SEPARATED: u8 = 8;
const PLACED: u8 = 16;
/// Has had a legal visit in this episode (the one fact `no-legal-access` reads).
const LEGAL_VISITED: u8 = 32;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Remand,
    ConvictedUnsentenced,
    Sentenced,
    Other,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Remand => "remand",
            Status::ConvictedUnsentenced => "convicted_unsentenced",
            Status::Sentenced => "sentenced",
            Status::Other => "other",
        }
    }
}

/// Compact per-person state.
struct Person {
    fac: u16,
    unit: u16,
    cell: u32,
    flags: u8,
    status: Status,
    /// day + 1 of the day the person last moved (admission, transfer, absence, placement).
    busy: u32,
    /// Index in `held`.
    pos: u32,
    next_contact: u32,
    next_legal: u32,
}

const NO_DAY: u32 = u32::MAX;

fn reg_no(id: u32) -> String {
    format!("SYN-{:07}", id + 1)
}

// --- texts -----------------------------------------------------------------------------------

const AUTHORITY: &str = "Dirección General de Centros Penales Sintética (synthetic)";
const POLICE: &str = "Policía Nacional Sintética (synthetic)";
const SENDING_STATE: &str = "Synthetic Sending State (synthetic)";
const SENDING_AUTHORITY: &str = "Synthetic Sending State, Department of Custody (synthetic)";
const OVERSIGHT: &str = "Procuraduría Sintética de Derechos Humanos (synthetic)";
const TIMEZONE: &str = "America/El_Salvador";
/// Local time is UTC−6 all year: local midnight is 06:00Z.
const LOCAL_OFFSET: i64 = 6 * 3600;
const H: u64 = 3600;

const GROUNDS: &[&str] = &[
    "(synthetic) alleged membership of an unlawful association",
    "(synthetic) alleged extortion",
    "(synthetic) alleged homicide",
    "(synthetic) alleged drug trafficking",
    "(synthetic) alleged robbery",
    "(synthetic) detained under the emergency regime",
];
const RELATIONS: &[&str] = &[
    "mother", "father", "spouse", "sister", "brother", "daughter",
];
const DEATH_CIRCUMSTANCES: &[&str] = &[
    "(synthetic) found unresponsive in the cell at the morning count",
    "(synthetic) died in hospital after transfer from the facility",
    "(synthetic) collapsed in the cell; no medical attention recorded before death",
    "(synthetic) died after a chronic illness went untreated",
    "(synthetic) died after an assault by other detainees",
];
const DEATH_CAUSES: &[&str] = &[
    "(synthetic) pulmonary oedema",
    "(synthetic) cardiac arrest",
    "(synthetic) blunt force trauma",
    "(synthetic) undetermined",
];
const INCIDENTS: &[(&str, &str)] = &[
    (
        "use_of_force",
        "(synthetic) force used to restore order during a cell search",
    ),
    (
        "assault",
        "(synthetic) assault between detainees in the cell",
    ),
    (
        "injury",
        "(synthetic) injury during transport between units",
    ),
    ("self_harm", "(synthetic) self-harm reported by cellmates"),
    ("other", "(synthetic) protest over food rations"),
];

// --- the generator ---------------------------------------------------------------------------

struct Line {
    at: i64,
    seq: u64,
    text: String,
}

struct Gen<'w, W: Write> {
    out: std::io::BufWriter<&'w mut W>,
    cfg: Config,
    shape: Shape,
    /// Population facts.
    rng: Rng,
    /// Daily-life records: their own stream, so that the population is the same with or
    /// without them.
    drng: Rng,
    facilities: Vec<Facility>,
    persons: Vec<Person>,
    held: Vec<u32>,
    agreement_ids: Vec<u32>,
    buf: Vec<Line>,
    seq: u64,
    day: u32,
    acc: Accumulators,
    transfer_no: u64,
    release_no: u64,
    basis_no: u64,
    request_no: u64,
    incident_no: u64,
    /// Health requests to be seen, by day: (person, request number).
    seen_due: Vec<Vec<(u32, u64)>>,
    /// Separations to end, by day.
    separation_due: Vec<Vec<u32>>,
    summary: Summary,
}

#[derive(Default)]
struct Accumulators {
    release: f64,
    death: f64,
    escape: f64,
    transfer: f64,
    absence: f64,
    placement: f64,
    conversion: f64,
    request: f64,
    separation: f64,
    incident: f64,
}

fn take(acc: &mut f64, add: f64) -> u32 {
    *acc += add;
    let n = acc.floor();
    *acc -= n;
    n as u32
}

/// Writes a synthetic register for `config` to `out`; returns its figures.
pub fn generate<W: Write>(config: &Config, out: &mut W) -> Result<Summary, SimError> {
    let shape = Shape::of(config.scale);
    let horizon = shape.days as usize + 100;
    let mut g = Gen {
        out: std::io::BufWriter::with_capacity(1 << 16, out),
        cfg: config.clone(),
        rng: Rng::new(config.seed),
        drng: Rng::new(config.seed ^ 0x5EED_DA11_7111_FE00),
        shape,
        facilities: Vec::new(),
        persons: Vec::new(),
        held: Vec::new(),
        agreement_ids: Vec::new(),
        buf: Vec::new(),
        seq: 0,
        day: 0,
        acc: Accumulators::default(),
        transfer_no: 0,
        release_no: 0,
        basis_no: 0,
        request_no: 0,
        incident_no: 0,
        seen_due: vec![Vec::new(); horizon],
        separation_due: vec![Vec::new(); horizon],
        summary: Summary::default(),
    };
    g.run()?;
    Ok(g.summary)
}

impl<W: Write> Gen<'_, W> {
    fn run(&mut self) -> Result<(), SimError> {
        self.summary.first_day = date(self.shape.start);
        self.summary.last_day = date(self.shape.start + i64::from(self.shape.days) - 1);
        self.register_places()?;
        for day in 0..self.shape.days {
            self.day = day;
            self.simulate_day();
            self.flush_day()?;
            if day == 0 {
                self.summary.held_at_start = self.held.len() as u64;
            }
        }
        self.summary.held_at_end = self.held.len() as u64;
        self.summary.remand_at_end = self
            .held
            .iter()
            .filter(|&&id| self.persons[id as usize].status == Status::Remand)
            .count() as u64;
        self.summary.persons = self.persons.len() as u64;
        self.summary.facilities = self.facilities.len() as u64;
        self.out.flush()?;
        Ok(())
    }

    // --- output ----------------------------------------------------------------------------

    fn write_now(&mut self, line: String) -> Result<(), SimError> {
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.summary.commands += 1;
        Ok(())
    }

    /// Seconds since the epoch of `sec` seconds after local midnight of the current day.
    fn t(&self, sec: u64) -> i64 {
        (self.shape.start + i64::from(self.day)) * 86_400 + LOCAL_OFFSET + sec.min(86_399) as i64
    }

    /// A random time today between `lo` and `hi` seconds after local midnight.
    fn rt(&mut self, lo: u64, hi: u64) -> i64 {
        let s = self.rng.range(lo, hi);
        self.t(s)
    }

    /// The same, from the daily-life stream.
    fn dt(&mut self, lo: u64, hi: u64) -> i64 {
        let s = self.drng.range(lo, hi);
        self.t(s)
    }

    fn emit(&mut self, at: i64, text: String) {
        self.seq += 1;
        self.buf.push(Line {
            at,
            seq: self.seq,
            text,
        });
    }

    fn emit_daily(&mut self, at: i64, text: String) {
        if self.cfg.daily_life {
            self.summary.daily_life_records += 1;
            self.emit(at, text);
        }
    }

    fn flush_day(&mut self) -> Result<(), SimError> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.sort_by_key(|l| (l.at, l.seq));
        for l in buf.drain(..) {
            self.out.write_all(l.text.as_bytes())?;
            self.out.write_all(b"\n")?;
            self.summary.commands += 1;
        }
        self.buf = buf;
        Ok(())
    }

    // --- places ----------------------------------------------------------------------------

    fn register_places(&mut self) -> Result<(), SimError> {
        // The mega-prison: 8 pavilions of 5,000 places each, cells of 65–70 places with fewer
        // beds than places.
        let mut mega = Facility {
            code: MEGA_PRISON.into(),
            name: "Centro de Confinamiento Sintético (synthetic)".into(),
            mega: true,
            units: Vec::new(),
        };
        let mut lines = vec![facility_line(&mega, 40_000)];
        for p in 1..=8u32 {
            let code = format!("P{p}");
            lines.push(unit_line(
                MEGA_PRISON,
                &code,
                &format!("Pabellón {p} (synthetic)"),
            ));
            // 74 cells: 65 places each, plus 190 spread so that each has at most 70.
            let n = 74u32;
            let mut places = vec![65u32; n as usize];
            let mut extra = 5000 - 65 * n;
            while extra > 0 {
                let i = self.rng.below(u64::from(n)) as usize;
                if places[i] < 70 {
                    places[i] += 1;
                    extra -= 1;
                }
            }
            for (i, &pl) in places.iter().enumerate() {
                let beds = pl - self.rng.range(8, 20) as u32;
                let area = 95.0 + self.rng.below(150) as f64 / 10.0;
                lines.push(cell_line(
                    &format!("{MEGA_PRISON}/{code}/C{:03}", i + 1),
                    pl,
                    beds,
                    area,
                ));
            }
            mega.units.push(Unit {
                code,
                cells: n,
                in_cells: 0,
                places: places.iter().map(|&p| p as u16).collect(),
                in_cell: vec![0; n as usize],
            });
        }
        self.facilities.push(mega);

        // Other facilities: a few units of smaller cells, overcrowded (places for about 55 %
        // of the population they end up holding).
        let others = self.shape.others;
        let per_facility = (self.shape.n_end * 0.55 / f64::from(others)).max(60.0) as u32;
        for f in 1..=others {
            let code = format!("SYN-CP{f:02}");
            let name = format!(
                "Centro Penal Sintético de {} (synthetic)",
                text::place_name(&mut self.rng)
            );
            let mut fac = Facility {
                code: code.clone(),
                name,
                mega: false,
                units: Vec::new(),
            };
            let n_units = self.rng.range(3, 7) as u32;
            let per_unit = per_facility / n_units + 1;
            let mut body = Vec::new();
            let mut capacity = 0;
            for u in 0..n_units {
                let letter = char::from(b'A' + u as u8);
                let ucode = format!("S{letter}");
                body.push(unit_line(
                    &code,
                    &ucode,
                    &format!("Sector {letter} (synthetic)"),
                ));
                let mut placed = 0;
                let mut cells = 0;
                while placed < per_unit {
                    let places = self.rng.pick(&[2u32, 4, 6, 8, 12, 16, 20, 24]);
                    let beds = if self.rng.chance(0.8) {
                        places
                    } else {
                        places - places / 4
                    };
                    let area = f64::from(places) * (3.0 + self.rng.below(16) as f64 / 10.0);
                    cells += 1;
                    body.push(cell_line(
                        &format!("{code}/{ucode}/C{cells:03}"),
                        places,
                        beds,
                        area,
                    ));
                    placed += places;
                }
                capacity += placed;
                fac.units.push(Unit {
                    code: ucode,
                    cells,
                    in_cells: 0,
                    places: Vec::new(),
                    in_cell: Vec::new(),
                });
            }
            lines.push(facility_line(&fac, capacity));
            lines.extend(body);
            self.facilities.push(fac);
        }
        for l in lines {
            self.write_now(l)?;
        }
        Ok(())
    }

    // --- one day ---------------------------------------------------------------------------

    fn simulate_day(&mut self) {
        let day = self.day;
        if day == 0 {
            let at = self.t(5);
            let mut o = Obj::command("settings.record");
            o.str("at", &time(at))
                .num("national_population", 6_300_000)
                .str("country", "SLV");
            self.emit_daily(at, o.end());
        }
        if day + 1 == self.shape.agreement_day {
            self.agreement_and_order();
        }
        if day > 0 {
            self.exits();
            self.agreement_returns();
            self.transfers();
            self.absences();
            self.moves();
            self.conversions();
        }
        self.admissions();
        if self.cfg.daily_life {
            self.daily_life();
        }
    }

    /// Whether today's recurring daily life is written (see [`Config::recurring_days`]).
    fn recurring_today(&self) -> bool {
        self.cfg
            .recurring_days
            .is_none_or(|n| self.day + n >= self.shape.days)
    }

    fn is_busy(&self, id: u32) -> bool {
        self.persons[id as usize].busy == self.day + 1
    }

    /// A random held person who has not moved today and satisfies `ok`.
    fn pick(&mut self, ok: impl Fn(&Person) -> bool) -> Option<u32> {
        if self.held.is_empty() {
            return None;
        }
        for _ in 0..64 {
            let id = self.held[self.rng.below(self.held.len() as u64) as usize];
            let p = &self.persons[id as usize];
            if p.busy != self.day + 1 && ok(p) {
                return Some(id);
            }
        }
        None
    }

    fn mark_busy(&mut self, id: u32) {
        self.persons[id as usize].busy = self.day + 1;
    }

    fn leave_cell(&mut self, id: u32) {
        let p = &mut self.persons[id as usize];
        if p.flags & PLACED != 0 {
            p.flags &= !PLACED;
            let u = &mut self.facilities[p.fac as usize].units[p.unit as usize];
            u.in_cells = u.in_cells.saturating_sub(1);
            if let Some(n) = u.in_cell.get_mut(p.cell as usize) {
                *n = n.saturating_sub(1);
            }
        }
    }

    fn enter_cell(&mut self, id: u32, fac: usize, unit: usize, cell: u32) {
        self.leave_cell(id);
        let p = &mut self.persons[id as usize];
        p.fac = fac as u16;
        p.unit = unit as u16;
        p.cell = cell;
        p.flags |= PLACED;
        let u = &mut self.facilities[fac].units[unit];
        u.in_cells += 1;
        if let Some(n) = u.in_cell.get_mut(cell as usize) {
            *n += 1;
        }
    }

    /// The cell a person is placed in. In the mega-prison, as such a prison is filled:
    /// pavilion after pavilion, the first cell in order not yet holding its 65–70 places (for
    /// fewer bunks), so the cells in use are full and the rest empty; once every cell is full,
    /// any cell. Elsewhere, any cell of the facility. The same random draws are made either
    /// way, so the rest of the register does not depend on this choice.
    fn random_cell(&mut self, fac: usize) -> (usize, u32) {
        let f = &self.facilities[fac];
        let unit = self.rng.below(f.units.len() as u64) as usize;
        let cell = self.rng.below(u64::from(f.units[unit].cells)) as u32;
        if f.mega {
            for (u, pav) in f.units.iter().enumerate() {
                if let Some(c) = pav.in_cell.iter().zip(&pav.places).position(|(n, p)| n < p) {
                    return (u, c as u32);
                }
            }
        }
        (unit, cell)
    }

    /// Ends a custody episode in the simulation (after its command is emitted).
    fn remove(&mut self, id: u32) {
        self.leave_cell(id);
        let p = &mut self.persons[id as usize];
        p.flags &= !HELD;
        let pos = p.pos as usize;
        self.held.swap_remove(pos);
        if let Some(&moved) = self.held.get(pos) {
            self.persons[moved as usize].pos = pos as u32;
        }
    }

    fn separation_end_before(&mut self, id: u32, at: i64) {
        if self.persons[id as usize].flags & SEPARATED != 0 {
            self.persons[id as usize].flags &= !SEPARATED;
            let mut o = Obj::command("separation.end");
            o.str("register_no", &reg_no(id)).str("at", &time(at - 300));
            self.emit_daily(at - 300, o.end());
        }
    }

    fn exits(&mut self) {
        let held = self.held.len() as f64;
        let surge = self.day >= self.shape.surge_day;
        let (release_rate, death_rate) = if surge {
            (1.0 / 1100.0, 4.6e-6)
        } else {
            (1.0 / 650.0, 1.6e-6)
        };
        let releases = take(&mut self.acc.release, held * release_rate);
        let deaths = take(&mut self.acc.death, held * death_rate * self.shape.boost);
        let escapes = take(&mut self.acc.escape, held * 2.0e-7 * self.shape.boost);
        for _ in 0..releases {
            let Some(id) = self.pick(|p| p.flags & AGREEMENT_PERSON == 0) else {
                break;
            };
            let at = self.rt(9 * H, 21 * H);
            self.separation_end_before(id, at);
            self.release_no += 1;
            let status = self.persons[id as usize].status;
            let reason = match status {
                Status::Sentenced => "sentence_served",
                _ => self.rng.pick(&[
                    "court_order",
                    "court_order",
                    "charges_dropped",
                    "bail",
                    "acquittal",
                ]),
            };
            let court = self.rng.range(1, 40);
            let mut o = Obj::command("release.record");
            o.str("register_no", &reg_no(id))
                .str("at", &time(at))
                .str("reason", reason)
                .str(
                    "authority",
                    &format!("Juzgado Sintético de Instrucción {court} (synthetic)"),
                )
                .str("reference", &format!("SYN-REL-{:07}", self.release_no));
            self.emit(at, o.end());
            if self.drng.chance(0.6) {
                self.notify(id, at + 1800, "family", "release", false);
            }
            self.remove(id);
            self.summary.releases += 1;
        }
        for _ in 0..deaths {
            let Some(id) = self.pick(|_| true) else { break };
            let at = self.rt(H, 21 * H);
            self.separation_end_before(id, at);
            let p = &self.persons[id as usize];
            let f = &self.facilities[p.fac as usize];
            let place = if p.flags & PLACED != 0 {
                format!("{}, cell {}", f.name, f.cell_path(p.unit as usize, p.cell))
            } else {
                f.name.clone()
            };
            let mut o = Obj::command("death.record");
            o.str("register_no", &reg_no(id))
                .str("at", &time(at))
                .str("place", &place)
                .str("circumstances", self.rng.pick(DEATH_CIRCUMSTANCES));
            if self.rng.chance(0.6) {
                o.str("cause", self.rng.pick(DEATH_CAUSES));
            }
            self.emit(at, o.end());
            // Some deaths are notified to the family and to the independent authority, some not.
            let day_end = self.t(86_399);
            if self.drng.chance(0.7) {
                let t = at + self.drng.range(600, (day_end - at).max(601) as u64) as i64;
                self.notify(id, t.min(day_end), "family", "death", false);
            }
            if self.drng.chance(0.35) {
                let t = at + self.drng.range(600, (day_end - at).max(601) as u64) as i64;
                self.notify(id, t.min(day_end), "independent_authority", "death", false);
            }
            self.remove(id);
            self.summary.deaths += 1;
        }
        for _ in 0..escapes {
            let Some(id) = self.pick(|p| p.flags & AGREEMENT_PERSON == 0) else {
                break;
            };
            let at = self.rt(H, 5 * H);
            self.separation_end_before(id, at);
            let mut o = Obj::command("escape.record");
            o.str("register_no", &reg_no(id)).str("at", &time(at));
            self.emit(at, o.end());
            self.remove(id);
            self.summary.escapes += 1;
        }
    }

    fn agreement_and_order(&mut self) {
        let from = self.shape.start + i64::from(self.day);
        let at = self.t(60);
        let mut o = Obj::command("agreement.record");
        o.str("agreement", AGREEMENT)
            .strs(
                "parties",
                &[
                    "Gobierno de la República Sintética (synthetic)".into(),
                    SENDING_STATE.into(),
                ],
            )
            .str("from", &date(from))
            .str("until", &date(from + 365))
            .raw(
                "price",
                r#"{"amount":6000000,"currency":"USD","per":"term"}"#,
            );
        self.emit(at, o.end());
        // The sending state's court bars their removal the evening before they arrive.
        let issued = self.t(20 * H);
        let mut o = Obj::command("court_order.record");
        o.str("order", BAR_ORDER)
            .str(
                "court",
                "Synthetic District Court of the Sending State (synthetic)",
            )
            .str("case", "SYN-CV-0001")
            .str("kind", "bar_transfer")
            .str("issued_at", &time(issued))
            .raw(
                "applies_to",
                &format!(r#"{{"legal_basis_reference":"{AGREEMENT_BASIS}"}}"#),
            );
        self.emit(issued, o.end());
    }

    /// A few persons held under the agreement are sent back to the sending state while the
    /// court order bars it: the register records the departure; the checks report it.
    fn agreement_returns(&mut self) {
        let start = self.shape.agreement_day + 10;
        if self.day < start || self.summary.removed_against_order >= u64::from(self.shape.returns) {
            return;
        }
        if !(self.day - start).is_multiple_of(15) {
            return;
        }
        let candidates: Vec<u32> = self
            .agreement_ids
            .iter()
            .copied()
            .filter(|&id| self.persons[id as usize].flags & HELD != 0 && !self.is_busy(id))
            .collect();
        if candidates.is_empty() {
            return;
        }
        let id = self.rng.pick(&candidates);
        let at = self.rt(4 * H, 7 * H);
        self.separation_end_before(id, at);
        let mut o = Obj::command("transfer.depart");
        o.str("register_no", &reg_no(id)).str("at", &time(at)).raw(
            "to",
            &format!(r#"{{"jurisdiction":"{SENDING_STATE}","authority":"{SENDING_AUTHORITY}"}}"#),
        );
        self.emit(at, o.end());
        self.remove(id);
        self.summary.removed_against_order += 1;
    }

    fn transfers(&mut self) {
        let held = self.held.len() as f64;
        let mega_open = self.day >= self.shape.mega_open;
        let mut moves: Vec<(u32, usize)> = Vec::new();
        let n = take(&mut self.acc.transfer, held / 3000.0 * self.shape.boost);
        for _ in 0..n {
            let Some(id) = self.pick(|p| p.flags & AGREEMENT_PERSON == 0) else {
                break;
            };
            let from = self.persons[id as usize].fac as usize;
            let to = if mega_open && from != 0 && self.rng.chance(0.3) {
                0
            } else {
                let o = 1 + self.rng.below(u64::from(self.shape.others)) as usize;
                if o == from {
                    1 + (o % self.shape.others as usize)
                } else {
                    o
                }
            };
            if to == from {
                continue;
            }
            self.mark_busy(id);
            moves.push((id, to));
        }
        for (id, to) in std::mem::take(&mut moves) {
            let ordered = self.rng.chance(0.7);
            self.transfer(&[id], to, ordered);
        }
        // Mass transfers into the mega-prison when it opens.
        if self.shape.mass_transfer_days.contains(&self.day) {
            let n = (held * 0.045) as usize;
            let mut batch = Vec::with_capacity(n);
            for _ in 0..n {
                let Some(id) = self.pick(|p| p.fac != 0 && p.flags & AGREEMENT_PERSON == 0) else {
                    break;
                };
                self.mark_busy(id);
                batch.push(id);
            }
            for chunk in batch.chunks(500) {
                self.transfer(chunk, 0, true);
            }
        }
    }

    fn transfer(&mut self, ids: &[u32], to: usize, ordered: bool) {
        let planned = self.t(7 * H);
        let transfer_id = if ordered {
            self.transfer_no += 1;
            let tid = format!("SYN-T-{:07}", self.transfer_no);
            let nos: Vec<String> = ids.iter().map(|&id| reg_no(id)).collect();
            let mut o = Obj::command("transfer.order");
            o.str("transfer", &tid)
                .strs("register_nos", &nos)
                .raw(
                    "to",
                    &format!(r#"{{"facility":"{}"}}"#, self.facilities[to].code),
                )
                .str("authority", AUTHORITY)
                .str("reference", &format!("SYN-TO-{:07}", self.transfer_no))
                .str("planned_at", &time(planned));
            self.emit(planned, o.end());
            Some(tid)
        } else {
            None
        };
        for &id in ids {
            let depart = self.rt(8 * H, 12 * H);
            let arrive = self.rt(14 * H, 20 * H);
            let to_code = self.facilities[to].code.clone();
            let mut o = Obj::command("transfer.depart");
            o.str("register_no", &reg_no(id))
                .str("at", &time(depart))
                .raw("to", &format!(r#"{{"facility":"{to_code}"}}"#));
            if let Some(t) = &transfer_id {
                o.str("transfer", t);
            }
            self.emit(depart, o.end());
            let (unit, cell) = self.random_cell(to);
            let mut o = Obj::command("transfer.arrive");
            o.str("register_no", &reg_no(id))
                .str("facility", &to_code)
                .str("at", &time(arrive))
                .str("cell", &self.facilities[to].cell_path(unit, cell));
            self.emit(arrive, o.end());
            self.enter_cell(id, to, unit, cell);
            self.summary.transfers += 1;
            if !self.facilities[to].mega && self.drng.chance(0.5) {
                self.notify(id, arrive + 3600, "family", "transfer", false);
            }
        }
    }

    fn absences(&mut self) {
        let held = self.held.len() as f64;
        let n = take(
            &mut self.acc.absence,
            held / 400.0 * self.shape.boost.min(4.0),
        );
        for _ in 0..n {
            let Some(id) = self.pick(|p| p.flags & PLACED != 0) else {
                break;
            };
            self.mark_busy(id);
            let hospital = self.rng.chance(0.1);
            let start = self.rt(7 * H, 9 * H);
            let end = self.rt(14 * H, 18 * H);
            let (purpose, destination) = if hospital {
                (
                    "hospital",
                    "Hospital Nacional Sintético (synthetic)".to_owned(),
                )
            } else {
                (
                    "court_hearing",
                    format!(
                        "Juzgado Sintético de Instrucción {} (synthetic)",
                        self.rng.range(1, 40)
                    ),
                )
            };
            let mut o = Obj::command("absence.start");
            o.str("register_no", &reg_no(id))
                .str("at", &time(start))
                .str("purpose", purpose)
                .str("destination", &destination);
            self.emit(start, o.end());
            let mut o = Obj::command("absence.end");
            o.str("register_no", &reg_no(id)).str("at", &time(end));
            self.emit(end, o.end());
            if hospital && self.drng.chance(0.5) {
                self.notify(id, start + 1800, "family", "serious_illness", false);
            }
        }
    }

    fn moves(&mut self) {
        let held = self.held.len() as f64;
        let n = take(&mut self.acc.placement, held / 700.0);
        for _ in 0..n {
            let Some(id) = self.pick(|p| p.flags & PLACED != 0) else {
                break;
            };
            self.mark_busy(id);
            let fac = self.persons[id as usize].fac as usize;
            let (unit, cell) = self.random_cell(fac);
            let at = self.rt(10 * H, 19 * H);
            let mut o = Obj::command("placement.record");
            o.str("register_no", &reg_no(id))
                .str("cell", &self.facilities[fac].cell_path(unit, cell))
                .str("at", &time(at));
            self.emit(at, o.end());
            self.enter_cell(id, fac, unit, cell);
        }
    }

    /// Some persons on remand are convicted or sentenced.
    fn conversions(&mut self) {
        let held = self.held.len() as f64;
        let n = take(&mut self.acc.conversion, held / 6000.0);
        for _ in 0..n {
            let Some(id) = self.pick(|p| p.status == Status::Remand) else {
                break;
            };
            let at = self.rt(10 * H, 16 * H);
            let sentenced = self.rng.chance(0.7);
            let (kind, status) = if sentenced {
                ("sentence", Status::Sentenced)
            } else {
                ("court_order", Status::ConvictedUnsentenced)
            };
            let basis = self.legal_basis(kind, self.shape.start + i64::from(self.day), None);
            let mut o = Obj::command("legal_basis.record");
            o.str("register_no", &reg_no(id))
                .str("at", &time(at))
                .raw("legal_basis", &basis)
                .str("legal_status", status.as_str());
            self.emit(at, o.end());
            self.persons[id as usize].status = status;
        }
    }

    fn legal_basis(&mut self, kind: &str, issued_on: i64, grounds: Option<&str>) -> String {
        self.basis_no += 1;
        let court = self.rng.range(1, 40);
        let authority = match kind {
            "arrest_warrant" => format!("Juzgado Sintético de Paz {court} (synthetic)"),
            "administrative_order" => "Ministerio Sintético de Seguridad (synthetic)".to_owned(),
            "sentence" => format!("Tribunal Sintético de Sentencia {court} (synthetic)"),
            _ => format!("Juzgado Sintético de Instrucción {court} (synthetic)"),
        };
        let grounds = grounds.unwrap_or_else(|| self.rng.pick(GROUNDS));
        let mut o = Obj::plain();
        o.str("kind", kind)
            .str("authority", &authority)
            .str("reference", &format!("SYN-LB-{:07}", self.basis_no))
            .str("issued_on", &date(issued_on))
            .str("grounds", grounds);
        o.end()
    }

    fn admissions(&mut self) {
        let day = self.day;
        let arrivals = if day == self.shape.agreement_day {
            self.shape.agreement_persons
        } else {
            0
        };
        let target = self.shape.target(day).round() as i64;
        let regular = (target - self.held.len() as i64 - i64::from(arrivals)).max(0);
        let mega_open = day >= self.shape.mega_open;
        for _ in 0..regular {
            let fac = if mega_open && self.rng.chance(0.25) {
                0
            } else {
                1 + self.rng.below(u64::from(self.shape.others)) as usize
            };
            self.admit(fac, false);
        }
        for _ in 0..arrivals {
            self.admit(0, true);
        }
    }

    fn admit(&mut self, fac: usize, agreement: bool) {
        let id = self.persons.len() as u32;
        let day = self.day;
        let today = self.shape.start + i64::from(day);
        let initial = day == 0;
        let at = self.rt(6 * H, 18 * H);
        let place_at = at + self.rng.range(1800, 4 * H) as i64;
        let female = !agreement && self.rng.chance(0.08);
        let foreign = agreement || self.rng.chance(0.02);
        let nationality = if agreement {
            "XSY"
        } else if foreign {
            self.rng.pick(&["GTM", "HND", "NIC", "XSY"])
        } else {
            "SLV"
        };
        let age_days = self.rng.range(18 * 365 + 5, 60 * 365) as i64;
        let mut person = Obj::plain();
        person
            .str("given_names", &text::given_name(&mut self.rng, female))
            .str(
                "family_names",
                &format!(
                    "{} {}",
                    text::family_name(&mut self.rng),
                    text::family_name(&mut self.rng)
                ),
            )
            .str("sex", if female { "female" } else { "male" })
            .str("date_of_birth", &date(today - age_days))
            .strs("nationalities", &[nationality.to_owned()]);
        let person = person.end();

        let remand_share = if initial {
            self.shape.initial_remand
        } else if day >= self.shape.surge_day {
            self.shape.surge_remand
        } else {
            self.shape.pre_remand
        };
        let (status, kind, held_for) = if agreement {
            (Status::Other, "transfer_agreement", 0)
        } else if self.rng.chance(remand_share) {
            let kind = if self.rng.chance(0.15) {
                "administrative_order"
            } else if self.rng.chance(0.7) {
                "arrest_warrant"
            } else {
                "court_order"
            };
            let held_for = if initial { self.rng.range(1, 700) } else { 0 };
            (Status::Remand, kind, held_for)
        } else if self.rng.chance(0.85) {
            let held_for = if initial { self.rng.range(30, 3000) } else { 0 };
            (Status::Sentenced, "sentence", held_for)
        } else if self.rng.chance(0.6) {
            (
                Status::ConvictedUnsentenced,
                "court_order",
                self.rng.range(0, 200),
            )
        } else {
            (Status::Other, "other", 0)
        };
        // Deprived of liberty before admission: the initial population long before.
        let deprived_at = at - held_for as i64 * 86_400 - self.rng.range(2 * H, 72 * H) as i64;
        let issued_on = if agreement {
            today - 1
        } else {
            (deprived_at - LOCAL_OFFSET).div_euclid(86_400) + self.rng.range(0, 2) as i64
        }
        .min(today);
        let basis = if agreement {
            let mut o = Obj::plain();
            o.str("kind", "transfer_agreement")
                .str("authority", SENDING_AUTHORITY)
                .str("reference", AGREEMENT_BASIS)
                .str("issued_on", &date(today - 1))
                .str(
                    "grounds",
                    "(synthetic) held for the sending state under agreement SYN-AG-1",
                );
            o.end()
        } else {
            self.legal_basis(kind, issued_on, None)
        };
        let mut deprived = Obj::plain();
        deprived
            .str("at", &time(deprived_at))
            .str(
                "place",
                &if agreement {
                    format!("(synthetic) {SENDING_STATE}")
                } else {
                    format!("(synthetic) Colonia {}", text::place_name(&mut self.rng))
                },
            )
            .str("by", if agreement { SENDING_AUTHORITY } else { POLICE });
        let deprived = deprived.end();
        let contact_female = self.rng.chance(0.7);
        let contact = format!(
            "{} {}",
            text::given_name(&mut self.rng, contact_female),
            text::family_name(&mut self.rng)
        );
        let relation = self.rng.pick(RELATIONS);

        let f = &self.facilities[fac];
        let mut o = Obj::command("admission.record");
        o.str("register_no", &reg_no(id))
            .str("facility", &f.code)
            .str("at", &time(at))
            .raw("person", &person)
            .raw("deprived", &deprived)
            .raw("legal_basis", &basis)
            .str("legal_status", status.as_str());
        if agreement {
            o.str("custodial_authority", SENDING_AUTHORITY)
                .str("agreement", AGREEMENT);
        }
        let mut c = Obj::plain();
        c.str("name", &contact)
            .str("relation", relation)
            .bool("notify", true);
        o.raw("contacts", &format!("[{}]", c.end()));
        self.emit(at, o.end());

        let (unit, cell) = self.random_cell(fac);
        let mut o = Obj::command("placement.record");
        o.str("register_no", &reg_no(id))
            .str("cell", &self.facilities[fac].cell_path(unit, cell))
            .str("at", &time(place_at));
        self.emit(place_at, o.end());

        let mut flags = HELD;
        if agreement {
            flags |= AGREEMENT_PERSON;
            self.agreement_ids.push(id);
            self.summary.agreement_persons += 1;
        }
        if foreign {
            flags |= FOREIGN;
        }
        self.persons.push(Person {
            fac: fac as u16,
            unit: 0,
            cell: 0,
            flags,
            status,
            busy: day + 1,
            pos: self.held.len() as u32,
            next_contact: day + self.drng.range(7, 29) as u32,
            next_legal: NO_DAY,
        });
        self.held.push(id);
        self.enter_cell(id, fac, unit, cell);

        // Daily life at admission, by the facility's regime.
        if !self.cfg.daily_life {
            return;
        }
        let mega = self.facilities[fac].mega;
        if self.drng.chance(if mega { 0.2 } else { 0.97 }) {
            let t = at + self.drng.range(600, (place_at - at).max(601) as u64) as i64;
            let mut o = Obj::command("health.exam");
            o.str("register_no", &reg_no(id))
                .str("at", &time(t))
                .bool("injuries_observed", self.drng.chance(0.03));
            self.emit_daily(t, o.end());
        }
        if self.drng.chance(if mega { 0.05 } else { 0.92 }) {
            let declined = self.drng.chance(0.04);
            self.notify(id, place_at + 600, "family", "admission", declined);
        }
        if foreign && !mega && self.drng.chance(0.85) {
            self.notify(id, place_at + 900, "consulate", "admission", false);
        }
        if status == Status::Remand && !mega {
            self.persons[id as usize].next_legal = if self.drng.chance(0.9) {
                day + self.drng.range(1, 6) as u32
            } else {
                day + self.drng.range(10, 40) as u32
            };
        }
    }

    fn notify(&mut self, id: u32, at: i64, to: &str, about: &str, declined: bool) {
        if !self.cfg.daily_life {
            return;
        }
        let at = at.min(self.t(86_399));
        let mut o = Obj::command("notification.record");
        o.str("register_no", &reg_no(id))
            .str("at", &time(at))
            .str("to", to)
            .str("about", about);
        if declined {
            o.bool("declined_by_person", true);
        }
        self.emit_daily(at, o.end());
    }

    // --- daily life --------------------------------------------------------------------------

    /// Unit-level exercise outdoors, every day, except in the mega-prison; roll counts in
    /// every unit of an open facility, at 23:00 when every movement of the day is over.
    fn exercise_and_counts(&mut self, open: bool) {
        for f in 0..self.facilities.len() {
            if self.facilities[f].mega && !open {
                continue;
            }
            for u in 0..self.facilities[f].units.len() {
                if !self.facilities[f].mega && !self.drng.chance(0.01) {
                    let at = self.dt(9 * H, 10 * H + 1800);
                    let until = at + self.drng.range(60, 121) as i64 * 60;
                    let mut o = Obj::command("exercise.record");
                    o.str("at", &time(at))
                        .str("until", &time(until))
                        .bool("outdoors", true)
                        .str("unit", &self.facilities[f].unit_path(u));
                    self.emit_daily(at, o.end());
                }
                let mut counted = i64::from(self.facilities[f].units[u].in_cells);
                if self.drng.chance(0.003) {
                    counted += self.drng.pick(&[-3i64, -2, -1, 1, 2, 3]);
                }
                let at = self.t(23 * H);
                let mut o = Obj::command("count.record");
                o.str("unit", &self.facilities[f].unit_path(u))
                    .str("at", &time(at))
                    .num("counted", counted.max(0));
                self.emit_daily(at, o.end());
            }
        }
    }

    fn daily_life(&mut self) {
        let day = self.day;
        let open = day >= self.shape.mega_open;
        let recurring = self.recurring_today();
        if recurring {
            self.exercise_and_counts(open);
        }

        // Contacts: family every 1–4 weeks, legal visits for remand; none in the mega-prison.
        for i in 0..self.held.len() {
            let id = self.held[i];
            let p = &self.persons[id as usize];
            if p.busy == day + 1 || self.facilities[p.fac as usize].mega {
                continue;
            }
            let (contact_due, legal_due) = (p.next_contact <= day, p.next_legal <= day);
            if contact_due && !recurring {
                // Outside the window the schedule still runs, so the window starts as the full
                // register's does.
                let gap = self.drng.range(7, 29);
                self.persons[id as usize].next_contact = day + gap as u32;
            } else if contact_due {
                let r = self.drng.unit();
                let kind = if r < 0.6 {
                    "family_visit"
                } else if r < 0.9 {
                    "call"
                } else {
                    "letter"
                };
                let at = self.dt(9 * H, 17 * H);
                let mut o = Obj::command("contact.record");
                o.str("register_no", &reg_no(id))
                    .str("at", &time(at))
                    .str("kind", kind);
                self.emit_daily(at, o.end());
                let gap = if self.drng.chance(0.1) {
                    self.drng.range(29, 60)
                } else {
                    self.drng.range(7, 29)
                };
                self.persons[id as usize].next_contact = day + gap as u32;
            }
            if legal_due {
                let at = self.dt(9 * H, 17 * H);
                // Outside the window only the first legal visit of an episode is written.
                if recurring || self.persons[id as usize].flags & LEGAL_VISITED == 0 {
                    let mut o = Obj::command("contact.record");
                    o.str("register_no", &reg_no(id))
                        .str("at", &time(at))
                        .str("kind", "legal_visit");
                    self.emit_daily(at, o.end());
                }
                let p = &mut self.persons[id as usize];
                p.flags |= LEGAL_VISITED;
                p.next_legal = if p.status == Status::Remand {
                    day + self.drng.range(30, 90) as u32
                } else {
                    NO_DAY
                };
            }
        }

        if !recurring {
            return;
        }
        // Health requests, seen within days outside the mega-prison, late or never inside it.
        let held = self.held.len() as f64;
        let n = take(&mut self.acc.request, held / 400.0);
        for _ in 0..n {
            let id = self.held[self.drng.below(self.held.len() as u64) as usize];
            if self.is_busy(id) {
                continue;
            }
            self.request_no += 1;
            let at = self.dt(8 * H, 18 * H);
            let mut o = Obj::command("health.request");
            o.str("request", &format!("SYN-H-{:07}", self.request_no))
                .str("register_no", &reg_no(id))
                .str("at", &time(at));
            self.emit_daily(at, o.end());
            let mega = self.facilities[self.persons[id as usize].fac as usize].mega;
            let due = if mega {
                self.drng.chance(0.3).then(|| self.drng.range(3, 41))
            } else {
                self.drng.chance(0.92).then(|| self.drng.range(1, 8))
            };
            if let Some(d) = due {
                self.seen_due[(day as u64 + d) as usize].push((id, self.request_no));
            }
        }
        for (id, request) in std::mem::take(&mut self.seen_due[day as usize]) {
            if self.persons[id as usize].flags & HELD == 0 {
                continue;
            }
            if self.is_busy(id) {
                self.seen_due[day as usize + 1].push((id, request));
                continue;
            }
            let at = self.dt(9 * H, 17 * H);
            let mut o = Obj::command("health.seen");
            o.str("request", &format!("SYN-H-{request:07}"))
                .str("at", &time(at));
            self.emit_daily(at, o.end());
        }

        // Separation (solitary confinement) episodes.
        for id in std::mem::take(&mut self.separation_due[day as usize]) {
            let p = &self.persons[id as usize];
            if p.flags & HELD == 0 || p.flags & SEPARATED == 0 {
                continue;
            }
            if self.is_busy(id) {
                self.separation_due[day as usize + 1].push(id);
                continue;
            }
            let at = self.dt(8 * H, 12 * H);
            let mut o = Obj::command("separation.end");
            o.str("register_no", &reg_no(id)).str("at", &time(at));
            self.emit_daily(at, o.end());
            self.persons[id as usize].flags &= !SEPARATED;
        }
        let n = take(&mut self.acc.separation, held / 20_000.0 * self.shape.boost);
        for _ in 0..n {
            let id = self.held[self.drng.below(self.held.len() as u64) as usize];
            let p = &self.persons[id as usize];
            if p.busy == day + 1 || p.flags & SEPARATED != 0 {
                continue;
            }
            let mega = self.facilities[p.fac as usize].mega;
            let at = self.dt(13 * H, 20 * H);
            let mut o = Obj::command("separation.start");
            o.str("register_no", &reg_no(id))
                .str("at", &time(at))
                .str("reason", "(synthetic) risk to the safety of others")
                .str("authorized_by", "Director of the facility (synthetic)");
            self.emit_daily(at, o.end());
            self.persons[id as usize].flags |= SEPARATED;
            let length = if mega {
                self.drng.range(5, 91)
            } else {
                self.drng.range(1, 31)
            };
            let due = (day as u64 + length).min(self.separation_due.len() as u64 - 2);
            self.separation_due[due as usize].push(id);
        }

        // Incidents, some involving two persons of the same facility.
        let n = take(&mut self.acc.incident, held / 15_000.0 * self.shape.boost);
        for _ in 0..n {
            let id = self.held[self.drng.below(self.held.len() as u64) as usize];
            if self.is_busy(id) {
                continue;
            }
            let fac = self.persons[id as usize].fac;
            let mut nos = vec![reg_no(id)];
            for _ in 0..8 {
                let other = self.held[self.drng.below(self.held.len() as u64) as usize];
                if other != id && self.persons[other as usize].fac == fac && !self.is_busy(other) {
                    nos.push(reg_no(other));
                    break;
                }
            }
            self.incident_no += 1;
            let (kind, description) = self.drng.pick(INCIDENTS);
            let at = self.dt(8 * H, 22 * H);
            let mut o = Obj::command("incident.record");
            o.str("incident", &format!("SYN-I-{:07}", self.incident_no))
                .str("kind", kind)
                .strs("register_nos", &nos)
                .str("at", &time(at))
                .str("description", description);
            if self.drng.chance(0.4) {
                o.str("referred_to", OVERSIGHT);
            }
            self.emit_daily(at, o.end());
        }
    }
}

fn facility_line(f: &Facility, capacity: u32) -> String {
    let mut o = Obj::command("facility.register");
    o.str("facility", &f.code)
        .str("name", &f.name)
        .str("authority", AUTHORITY)
        .str("timezone", TIMEZONE)
        .num("official_capacity", capacity);
    o.end()
}

fn unit_line(facility: &str, unit: &str, name: &str) -> String {
    let mut o = Obj::command("unit.register");
    o.str("facility", facility)
        .str("unit", unit)
        .str("name", name);
    o.end()
}

fn cell_line(cell: &str, places: u32, beds: u32, area: f64) -> String {
    let mut o = Obj::command("cell.register");
    o.str("cell", cell)
        .num("places", places)
        .num("beds", beds)
        .num("area_m2", format!("{area:.1}"));
    o.end()
}
