//! The one clock of the server: every wall-clock reading (token lifetimes, expiries,
//! limit windows, timestamps of tasks and events) comes from an injected [`Clock`], so
//! tests move time instead of sleeping. Monotonic `Instant`s stay for what only this
//! process measures (cache ages, connection timeouts).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;

/// Where a clock's time comes from.
pub trait TimeSource: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The time now, at the microsecond precision the database keeps (so what a write
/// returns equals what a later read returns).
#[derive(Clone)]
pub struct Clock(Arc<dyn TimeSource>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    pub fn system() -> Clock {
        Clock(Arc::new(SystemTime))
    }

    pub fn from_source(source: impl TimeSource) -> Clock {
        Clock(Arc::new(source))
    }

    /// The system time moved by the number of seconds written in `path` (none, or an
    /// unreadable file: not moved). For end-to-end tests of the real binary, which
    /// move its time by writing the file.
    pub fn offset_by_file(path: PathBuf) -> Clock {
        Clock(Arc::new(OffsetFile { path }))
    }

    pub fn now(&self) -> OffsetDateTime {
        let now = self.0.now();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now)
    }
}

struct SystemTime;

impl TimeSource for SystemTime {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A time a test sets and moves by hand.
#[derive(Clone)]
pub struct ManualTime(Arc<Mutex<OffsetDateTime>>);

impl ManualTime {
    pub fn starting_at(at: OffsetDateTime) -> ManualTime {
        ManualTime(Arc::new(Mutex::new(at)))
    }

    pub fn advance(&self, by: time::Duration) {
        let mut at = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *at += by;
    }
}

impl TimeSource for ManualTime {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Read at every reading: a test that writes the file sees the next request at the new
/// time (this clock is for tests, where a file read per reading costs nothing that
/// matters).
struct OffsetFile {
    path: PathBuf,
}

impl OffsetFile {
    fn offset(&self) -> time::Duration {
        let seconds = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|text| text.trim().parse::<i64>().ok())
            .unwrap_or(0);
        time::Duration::seconds(seconds)
    }
}

impl TimeSource for OffsetFile {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.offset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_keeps_microseconds() {
        let start = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).expect("time");
        let time = ManualTime::starting_at(start);
        let clock = Clock::from_source(time.clone());
        assert_eq!(clock.now().nanosecond() % 1_000, 0, "microsecond precision");
        assert_eq!(clock.now(), clock.now());
        time.advance(time::Duration::minutes(5));
        assert_eq!(
            clock.now() - start,
            time::Duration::minutes(5) - time::Duration::nanoseconds(789)
        );
    }

    #[test]
    fn the_offset_file_moves_the_system_time() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("offset");
        let clock = Clock::offset_by_file(path.clone());
        let unmoved = clock.now() - OffsetDateTime::now_utc();
        assert!(unmoved.abs() < time::Duration::seconds(1), "{unmoved}");
        std::fs::write(&path, "3600").expect("write");
        let moved = clock.now() - OffsetDateTime::now_utc();
        assert!(
            (moved - time::Duration::hours(1)).abs() < time::Duration::seconds(1),
            "{moved}"
        );
    }
}
