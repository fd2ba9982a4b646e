//! JSON lines written by hand (fixed key order, no dependency on map ordering features), times
//! and dates, and invented names.

use crate::rng::Rng;

/// One JSON object, keys in the order they are added.
pub(crate) struct Obj {
    s: String,
    empty: bool,
}

pub(crate) fn esc(out: &mut String, v: &str) {
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Obj {
    pub(crate) fn plain() -> Obj {
        Obj {
            s: String::with_capacity(128),
            empty: true,
        }
    }

    /// A command: `{"type":KIND, …`.
    pub(crate) fn command(kind: &str) -> Obj {
        let mut o = Obj::plain();
        o.str("type", kind);
        o
    }

    fn key(&mut self, k: &str) {
        self.s.push(if self.empty { '{' } else { ',' });
        self.empty = false;
        esc(&mut self.s, k);
        self.s.push(':');
    }

    pub(crate) fn str(&mut self, k: &str, v: &str) -> &mut Obj {
        self.key(k);
        esc(&mut self.s, v);
        self
    }

    pub(crate) fn num(&mut self, k: &str, v: impl std::fmt::Display) -> &mut Obj {
        self.key(k);
        self.s.push_str(&v.to_string());
        self
    }

    pub(crate) fn bool(&mut self, k: &str, v: bool) -> &mut Obj {
        self.key(k);
        self.s.push_str(if v { "true" } else { "false" });
        self
    }

    /// A value that is already JSON.
    pub(crate) fn raw(&mut self, k: &str, json: &str) -> &mut Obj {
        self.key(k);
        self.s.push_str(json);
        self
    }

    pub(crate) fn strs(&mut self, k: &str, vs: &[String]) -> &mut Obj {
        self.key(k);
        self.s.push('[');
        for (i, v) in vs.iter().enumerate() {
            if i > 0 {
                self.s.push(',');
            }
            esc(&mut self.s, v);
        }
        self.s.push(']');
        self
    }

    pub(crate) fn end(&mut self) -> String {
        if self.empty {
            self.s.push('{');
        }
        self.s.push('}');
        std::mem::take(&mut self.s)
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD` of days since the epoch.
pub(crate) fn date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 UTC of seconds since the epoch.
pub(crate) fn time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let s = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date(days),
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

// Invented syllables: combinations are meant to sound plausible, not to be anyone's name.
const ONSETS: &[&str] = &[
    "b", "c", "d", "f", "g", "l", "m", "n", "r", "s", "t", "v", "z", "br", "cr", "dr", "gl", "tr",
    "qu", "x", "y", "ch", "ll",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ia", "ue", "ai"];
const CODAS: &[&str] = &["", "", "", "n", "r", "s", "l", "x"];
const MALE_ENDS: &[&str] = &["o", "el", "ando", "ecio", "iro", "us", "an"];
const FEMALE_ENDS: &[&str] = &["a", "ela", "ina", "ira", "ia", "elda", "ana"];
const FAMILY_ENDS: &[&str] = &["ez", "oza", "ulo", "ara", "eño", "illo", "ós", "anda"];

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn stem(rng: &mut Rng, syllables: u64) -> String {
    let mut s = String::new();
    for _ in 0..syllables {
        s.push_str(rng.pick(ONSETS));
        s.push_str(rng.pick(VOWELS));
        s.push_str(rng.pick(CODAS));
    }
    s
}

pub(crate) fn given_name(rng: &mut Rng, female: bool) -> String {
    let ends = if female { FEMALE_ENDS } else { MALE_ENDS };
    let n = rng.range(1, 3);
    cap(&(stem(rng, n) + rng.pick(ends)))
}

pub(crate) fn family_name(rng: &mut Rng) -> String {
    let n = rng.range(1, 3);
    cap(&(stem(rng, n) + rng.pick(FAMILY_ENDS)))
}

pub(crate) fn place_name(rng: &mut Rng) -> String {
    let n = rng.range(2, 4);
    cap(&(stem(rng, n) + rng.pick(&["a", "o", "al", "ito", "illa"])))
}
