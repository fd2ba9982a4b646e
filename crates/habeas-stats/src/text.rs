//! The statistics as text for people: each table with aligned columns.

use crate::compute::Statistics;
use crate::table::tables;

/// Every table, titled and captioned, columns aligned; numbers right-aligned.
pub fn text(s: &Statistics) -> String {
    let min = s.suppression.min_count;
    let mut out = String::new();
    for t in tables(s) {
        if t.rows.is_empty() {
            out.push_str(&format!("{}: none\n\n", t.caption));
            continue;
        }
        out.push_str(&t.caption);
        out.push('\n');
        let cells: Vec<Vec<String>> = t
            .rows
            .iter()
            .map(|r| r.iter().map(|v| v.display(min)).collect())
            .collect();
        let widths: Vec<usize> = t
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cells
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([c.key.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let numeric: Vec<bool> = (0..t.columns.len())
            .map(|i| i > 0 && t.rows.iter().all(|r| r[i].is_numeric()))
            .collect();
        let line = |row: Vec<&str>| {
            let mut l = String::from(" ");
            for (i, v) in row.iter().enumerate() {
                let pad = widths[i].saturating_sub(v.chars().count());
                l.push(' ');
                if numeric[i] {
                    l.push_str(&" ".repeat(pad));
                    l.push_str(v);
                } else {
                    l.push_str(v);
                    l.push_str(&" ".repeat(pad));
                }
            }
            l.trim_end().to_owned() + "\n"
        };
        out.push_str(&line(t.columns.iter().map(|c| c.key).collect()));
        for r in &cells {
            out.push_str(&line(r.iter().map(String::as_str).collect()));
        }
        out.push('\n');
    }
    out
}
