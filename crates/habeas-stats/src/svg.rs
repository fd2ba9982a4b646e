//! Charts as hand-written SVG: small functions over labelled series, with no scripts, fonts
//! or external assets, so a page works offline and prints. Each chart carries a `<title>` and
//! a `<desc>` for screen readers; the table beside it holds the same figures.

use std::fmt::Write as _;

/// One line or one set of bars: a label and one value per x label (`None`: no value, e.g.
/// suppressed).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub values: Vec<Option<f64>>,
}

/// What every chart needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart<'a> {
    /// Unique in the page: the ids of the title and description derive from it.
    pub id: &'a str,
    pub title: &'a str,
    /// One sentence for screen readers (what the chart shows).
    pub description: &'a str,
    pub x_labels: &'a [String],
    pub series: &'a [Series],
    /// The unit of the y axis (`persons`, `%`).
    pub y_label: &'a str,
    /// A horizontal reference line (e.g. 100 for occupancy), labelled.
    pub reference: Option<(f64, &'a str)>,
}

const W: f64 = 720.0;
const H: f64 = 320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 56.0;
/// Colour-blind-safe (Okabe–Ito), dark enough on white.
pub const PALETTE: &[&str] = &[
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

/// Escapes text for SVG and HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The smallest "nice" number (1, 2, 2.5, 5 × 10^k) at or above `x`.
fn nice_ceiling(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return 1.0;
    }
    let k = 10f64.powf(x.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * k >= x {
            return m * k;
        }
    }
    10.0 * k
}

fn fmt_tick(v: f64) -> String {
    if v.abs() >= 1_000_000.0 {
        format!("{}M", crate::table::format_num(v / 1_000_000.0))
    } else if v.abs() >= 10_000.0 {
        format!("{}k", crate::table::format_num(v / 1_000.0))
    } else {
        crate::table::format_num(v)
    }
}

struct Frame {
    max: f64,
    n: usize,
}

impl Frame {
    fn new(c: &Chart<'_>) -> Frame {
        let data_max = c
            .series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .copied()
            .chain(c.reference.map(|r| r.0))
            .fold(0.0f64, f64::max);
        Frame {
            max: nice_ceiling(data_max),
            n: c.x_labels.len().max(1),
        }
    }
    fn y(&self, v: f64) -> f64 {
        TOP + (H - TOP - BOTTOM) * (1.0 - v / self.max)
    }
    fn slot(&self) -> f64 {
        (W - LEFT - RIGHT) / self.n as f64
    }
    fn x_center(&self, i: usize) -> f64 {
        LEFT + self.slot() * (i as f64 + 0.5)
    }
}

fn open(out: &mut String, c: &Chart<'_>) {
    let id = escape(c.id);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" font-family="sans-serif" font-size="12"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(c.title),
        escape(c.description)
    );
}

fn axes(out: &mut String, c: &Chart<'_>, f: &Frame) {
    // Horizontal grid lines and y ticks.
    for i in 0..=4 {
        let v = f.max * f64::from(i) / 4.0;
        let y = f.y(v);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end" fill="#333">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            fmt_tick(v)
        );
    }
    let _ = write!(
        out,
        r##"<text x="12" y="{}" fill="#333" transform="rotate(-90 12 {})" text-anchor="middle">{}</text>"##,
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0,
        escape(c.y_label)
    );
    // X labels: at most about twelve, evenly spaced.
    let every = f.n.div_ceil(12).max(1);
    for (i, label) in c.x_labels.iter().enumerate() {
        if i % every != 0 && i + 1 != f.n {
            continue;
        }
        let x = f.x_center(i);
        let _ = write!(
            out,
            r##"<text x="{x:.1}" y="{}" text-anchor="end" fill="#333" transform="rotate(-35 {x:.1} {})">{}</text>"##,
            H - BOTTOM + 16.0,
            H - BOTTOM + 16.0,
            escape(label)
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" x2="{}" y1="{}" y2="{}" stroke="#333"/>"##,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    if let Some((v, label)) = c.reference {
        let y = f.y(v);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#000" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" text-anchor="end" fill="#000">{}</text>"##,
            W - RIGHT,
            W - RIGHT,
            y - 4.0,
            escape(label)
        );
    }
}

fn legend(out: &mut String, c: &Chart<'_>) {
    let mut x = LEFT;
    for (i, s) in c.series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let _ = write!(
            out,
            r##"<rect x="{x:.1}" y="12" width="12" height="12" fill="{colour}"/><text x="{:.1}" y="22" fill="#333">{}</text>"##,
            x + 16.0,
            escape(&s.label)
        );
        x += 28.0 + 7.0 * s.label.chars().count() as f64;
    }
}

/// A line per series over the x labels (months); a missing value breaks the line.
pub fn line_chart(c: &Chart<'_>) -> String {
    let f = Frame::new(c);
    let mut out = String::new();
    open(&mut out, c);
    axes(&mut out, c, &f);
    for (si, s) in c.series.iter().enumerate() {
        let colour = PALETTE[si % PALETTE.len()];
        let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (i, v) in s.values.iter().enumerate().take(f.n) {
            match v {
                Some(v) => segments
                    .last_mut()
                    .map(|seg| seg.push((f.x_center(i), f.y(*v))))
                    .unwrap_or_default(),
                None => segments.push(Vec::new()),
            }
        }
        for seg in segments.iter().filter(|s| !s.is_empty()) {
            let points: Vec<String> = seg.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = write!(
                out,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
                points.join(" ")
            );
            for (x, y) in seg {
                let _ = write!(
                    out,
                    r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="{colour}"/>"#
                );
            }
        }
    }
    legend(&mut out, c);
    out.push_str("</svg>");
    out
}

/// Grouped vertical bars: one group per x label, one bar per series.
pub fn bar_chart(c: &Chart<'_>) -> String {
    let f = Frame::new(c);
    let mut out = String::new();
    open(&mut out, c);
    axes(&mut out, c, &f);
    let k = c.series.len().max(1) as f64;
    let group = f.slot() * 0.8;
    let bar = group / k;
    for (si, s) in c.series.iter().enumerate() {
        let colour = PALETTE[si % PALETTE.len()];
        for (i, v) in s.values.iter().enumerate().take(f.n) {
            let Some(v) = v else { continue };
            let x = f.x_center(i) - group / 2.0 + bar * si as f64;
            let y = f.y(*v);
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>{}: {}</title></rect>"#,
                (bar - 1.0).max(1.0),
                (H - BOTTOM - y).max(0.0),
                escape(&format!(
                    "{} {}",
                    s.label,
                    c.x_labels.get(i).map_or("", String::as_str)
                )),
                crate::table::format_num(*v)
            );
        }
    }
    legend(&mut out, c);
    out.push_str("</svg>");
    out
}
