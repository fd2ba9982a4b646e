//! Charts as server-side SVG, written by hand: no script, readable by screen readers through
//! their title and the data table every page shows beside them. Takes labelled series so the
//! statistics page can chart any of them.

use std::fmt::Write as _;

/// One line or set of bars: a label and its values, one per category.
pub struct Series {
    pub label: String,
    pub values: Vec<f64>,
}

/// Colours with contrast against white, told apart also by the dash pattern.
const COLOURS: [&str; 6] = [
    "#1f4e99", "#b5261e", "#2d6a2d", "#7a3e9d", "#8a5a00", "#005f6b",
];
const DASHES: [&str; 6] = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4"];

const W: f64 = 640.0;
const H: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 56.0;

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" upper bound for the axis: 1, 2 or 5 times a power of ten.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let exp = max.log10().floor();
    let base = 10f64.powf(exp);
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * base)
}

fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// Series named per legend row: more go on further rows, so no name runs off the chart.
const LEGEND_PER_ROW: usize = 4;
const LEGEND_ROW: f64 = 15.0;

/// Rows of legend below the first (none for one series, which needs no legend).
fn extra_legend_rows(series: usize) -> usize {
    if series < 2 {
        0
    } else {
        series.div_ceil(LEGEND_PER_ROW) - 1
    }
}

fn frame(out: &mut String, title: &str, categories: &[String], max: f64, series: usize) -> f64 {
    let h = H + LEGEND_ROW * extra_legend_rows(series) as f64;
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {h}" role="img" aria-label="{t}" class="chart"><title>{t}</title>"#,
        t = esc(title)
    );
    let plot_h = H - TOP - BOTTOM;
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#ccc"/><text x="{tx}" y="{ty:.1}" text-anchor="end" font-size="11" fill="#222">{v}</text>"##,
            x2 = W - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            v = fmt_num(v)
        );
    }
    let n = categories.len().max(1);
    let step = (W - LEFT - RIGHT) / n as f64;
    // Every label when they fit, else every k-th.
    let every = (n as f64 * 60.0 / (W - LEFT - RIGHT)).ceil().max(1.0) as usize;
    for (i, c) in categories.iter().enumerate() {
        if i % every != 0 {
            continue;
        }
        let x = LEFT + step * (i as f64 + 0.5);
        let _ = write!(
            out,
            r##"<text x="{x:.1}" y="{y}" text-anchor="end" font-size="11" fill="#222" transform="rotate(-35 {x:.1} {y})">{c}</text>"##,
            y = H - BOTTOM + 16.0,
            c = esc(c)
        );
    }
    step
}

fn legend(out: &mut String, series: &[Series]) {
    if series.len() < 2 {
        return;
    }
    for (i, s) in series.iter().enumerate() {
        let x = LEFT + 150.0 * (i % LEGEND_PER_ROW) as f64;
        let row = LEGEND_ROW * (i / LEGEND_PER_ROW) as f64;
        let _ = write!(
            out,
            r##"<line x1="{x}" x2="{x2}" y1="{y}" y2="{y}" stroke="{c}" stroke-width="3" stroke-dasharray="{d}"/><text x="{tx}" y="{ty}" font-size="11" fill="#222">{l}</text>"##,
            x2 = x + 18.0,
            y = H - 6.0 + row,
            c = COLOURS[i % COLOURS.len()],
            d = DASHES[i % DASHES.len()],
            tx = x + 22.0,
            ty = H - 2.0 + row,
            l = esc(&s.label)
        );
    }
}

fn max_of(series: &[Series]) -> f64 {
    nice_max(
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max),
    )
}

/// Lines over categories (population at month ends).
pub fn line_chart(title: &str, categories: &[String], series: &[Series]) -> String {
    let mut out = String::new();
    let max = max_of(series);
    let step = frame(&mut out, title, categories, max, series.len());
    let plot_h = H - TOP - BOTTOM;
    for (i, s) in series.iter().enumerate() {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(j, v)| {
                format!(
                    "{:.1},{:.1}",
                    LEFT + step * (j as f64 + 0.5),
                    TOP + plot_h - plot_h * v / max
                )
            })
            .collect();
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{c}" stroke-width="2.5" stroke-dasharray="{d}" points="{p}"/>"#,
            c = COLOURS[i % COLOURS.len()],
            d = DASHES[i % DASHES.len()],
            p = points.join(" ")
        );
        for p in &points {
            let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(
                out,
                r#"<circle cx="{x}" cy="{y}" r="3" fill="{c}"/>"#,
                c = COLOURS[i % COLOURS.len()]
            );
        }
    }
    legend(&mut out, series);
    out.push_str("</svg>");
    out
}

/// Grouped bars over categories (held and capacity by facility).
pub fn bar_chart(title: &str, categories: &[String], series: &[Series]) -> String {
    let mut out = String::new();
    let max = max_of(series);
    let step = frame(&mut out, title, categories, max, series.len());
    let plot_h = H - TOP - BOTTOM;
    let k = series.len().max(1) as f64;
    let bar = (step * 0.8 / k).max(1.0);
    for (i, s) in series.iter().enumerate() {
        for (j, v) in s.values.iter().enumerate() {
            let h = plot_h * v / max;
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{c}"><title>{l}: {v}</title></rect>"#,
                x = LEFT + step * j as f64 + step * 0.1 + bar * i as f64,
                y = TOP + plot_h - h,
                c = COLOURS[i % COLOURS.len()],
                l = esc(&s.label),
                v = fmt_num(*v)
            );
        }
    }
    legend(&mut out, series);
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_bounds_are_round_and_labels_are_escaped() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(120.0), 200.0);
        assert_eq!(nice_max(40_000.0), 50_000.0);
        let svg = line_chart(
            "A <b> & c",
            &["x<1".into(), "y".into()],
            &[Series {
                label: "s\"1".into(),
                values: vec![1.0, 3.0],
            }],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("A &lt;b&gt; &amp; c") && svg.contains("x&lt;1"));
        assert_eq!(svg.matches("<circle").count(), 2);
        let bars = bar_chart(
            "b",
            &["F1".into(), "F2".into()],
            &[
                Series {
                    label: "held".into(),
                    values: vec![5.0, 2.0],
                },
                Series {
                    label: "places".into(),
                    values: vec![4.0, 8.0],
                },
            ],
        );
        assert_eq!(bars.matches("<rect").count(), 4);
    }
}
