//! kill -9 while appending: every append that returned is there on restart.
//!
//! The test re-runs its own binary as a child that appends in a loop and
//! reports each acknowledged index on stdout; the parent SIGKILLs it
//! mid-stream, reopens the log and checks every acknowledged record.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use flick_trust::{Decision, Record, TransparencyLog, DEFAULT_ORIGIN};

const CHILD_ENV: &str = "FLICK_TRUST_CRASH_CHILD_DIR";

fn record(i: u64) -> Record {
    Record::Access {
        actor: "admin-1".into(),
        role: "admin".into(),
        data_class: "profile".into(),
        subject: format!("user-{i}"),
        purpose: "crash test".into(),
        time_ms: i as i64,
        region: "eu".into(),
        decision: Decision::Allowed,
    }
}

/// The child: a no-op unless started by the parent below.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let log = TransparencyLog::open(dir.as_ref(), DEFAULT_ORIGIN).unwrap();
    let mut out = std::io::stdout().lock();
    // Record i goes to index i, across restarts, so the parent can check
    // every entry's bytes.
    for i in log.size().. {
        let r = log.append(&record(i)).unwrap();
        assert_eq!(r.index, i);
        writeln!(out, "acked {}", r.index).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn acknowledged_appends_survive_kill_9() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut last_acked = None;
        while let Some(Ok(line)) = lines.next() {
            if let Some(i) = line.strip_prefix("acked ") {
                last_acked = Some(i.parse::<u64>().unwrap());
                if last_acked.unwrap() >= 50 * (round + 1) {
                    break;
                }
            }
        }
        // SIGKILL on unix: no destructors, no flush, possibly mid-write.
        child.kill().unwrap();
        child.wait().unwrap();
        let last_acked = last_acked.expect("the child acknowledged appends");

        let log = TransparencyLog::open(dir.path(), DEFAULT_ORIGIN).unwrap();
        assert!(
            log.size() > last_acked,
            "acknowledged entry {last_acked} lost"
        );
        let entries = log.entries(0, last_acked + 1).unwrap();
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.leaf_bytes, record(i as u64).leaf_bytes());
        }
        // The log is whole: its export verifies.
        let export = serde_json::to_string(&log.export().unwrap()).unwrap();
        flick_trust::verify_export(&export, &log.verifier_key(), None).unwrap();
    }
}
