//! What the benchmarks share: medians, and running a command to the end while sampling its
//! peak memory.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs a command to the end (stdout discarded); returns its wall time and peak RSS in KiB.
/// VmHWM is the process's high-water mark, so the last reading before it exits is its peak.
pub fn run_measured(cmd: &mut Command) -> (Duration, u64) {
    let start = Instant::now();
    let mut child = cmd.stdout(Stdio::null()).spawn().expect("spawn");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "{cmd:?} failed");
            break;
        }
        if let Ok(s) = std::fs::read_to_string(&status_file)
            && let Some(line) = s.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kb = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            peak = peak.max(kb);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (start.elapsed(), peak)
}
