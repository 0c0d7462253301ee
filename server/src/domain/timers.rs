//! Waiting and reminders: when a task's reminder fires, whether a late one still fires,
//! and the `remind_before` duration, parsed.

use std::time::Duration;
use time::OffsetDateTime;

use super::tasks::InvalidTask;

/// A reminder this long before the due date: weeks, days, hours, minutes and seconds in
/// ISO 8601 (`PT30M`, `PT1H30M`, `P1D`, `P1W`); years and months have no fixed length
/// and are refused. Kept as given for the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemindBefore {
    text: String,
    length: Duration,
}

/// The longest `remind_before`: a year of days.
const REMIND_BEFORE_MAX: Duration = Duration::from_secs(366 * 86_400);

impl RemindBefore {
    pub fn parse(text: &str) -> Result<RemindBefore, InvalidTask> {
        let invalid = |reason: &str| InvalidTask {
            field: "remind_before".into(),
            reason: reason.into(),
        };
        let text = text.trim();
        if !text.chars().any(|c| c.is_ascii_digit()) {
            return Err(invalid(
                "remind_before is an ISO 8601 duration such as PT30M, PT1H30M or P1D",
            ));
        }
        let parsed = iso8601::duration(text)
            .map_err(|_| invalid("remind_before is an ISO 8601 duration such as PT30M, PT1H30M or P1D"))?;
        if let iso8601::Duration::YMDHMS { year, month, .. } = parsed
            && (year > 0 || month > 0)
        {
            return Err(invalid(
                "remind_before counts weeks, days, hours, minutes and seconds (a month has no fixed length)",
            ));
        }
        let length = Duration::from(parsed);
        if length > REMIND_BEFORE_MAX {
            return Err(invalid("remind_before is at most a year (P366D)"));
        }
        Ok(RemindBefore {
            text: text.to_string(),
            length,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// When the reminder of a task due at `due` fires.
    pub fn before(&self, due: OffsetDateTime) -> Option<OffsetDateTime> {
        due.checked_sub(time::Duration::try_from(self.length).ok()?)
    }
}

/// The reminder of a repeating task's next instance, due at `due`: as far before it as
/// the last one's (a reminder at a fixed moment does not repeat).
pub fn follow(remind_before: Option<&str>, due: OffsetDateTime) -> Option<OffsetDateTime> {
    RemindBefore::parse(remind_before?).ok()?.before(due)
}

/// A reminder fired after the server was down for longer than this is dropped, not
/// sent: a day-old nudge about a meeting helps no one.
pub const CATCH_UP: Duration = Duration::from_secs(24 * 3600);
/// A reminder fired more than this after its time is marked late.
pub const LATE_AFTER: Duration = Duration::from_secs(60);

/// What to do with a reminder due at `at`, now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firing {
    /// Send it (`late` when well past its time).
    Send { late: bool },
    /// Claim it without a word: it is more than [`CATCH_UP`] old.
    Drop,
}

pub fn firing(at: OffsetDateTime, now: OffsetDateTime) -> Firing {
    let overdue = now - at;
    if overdue > CATCH_UP {
        Firing::Drop
    } else {
        Firing::Send {
            late: overdue > LATE_AFTER,
        }
    }
}

/// Whether the `task.reminder` event stored at `at` for a reminder due at `remind_at`
/// was late (the stream tells it from what it stored, so a replay says the same).
pub fn was_late(remind_at: Option<OffsetDateTime>, at: OffsetDateTime) -> bool {
    remind_at.is_some_and(|due| at - due > LATE_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn remind_before_takes_fixed_lengths_only() {
        let due = datetime!(2031-03-30 09:00 UTC);
        let half_hour = RemindBefore::parse("PT30M").expect("PT30M");
        assert_eq!(half_hour.before(due), Some(datetime!(2031-03-30 08:30 UTC)));
        assert_eq!(
            RemindBefore::parse("P1DT2H").expect("P1DT2H").before(due),
            Some(datetime!(2031-03-29 07:00 UTC))
        );
        assert!(RemindBefore::parse("P1W").is_ok());
        for bad in ["30m", "P1M", "P1Y", "", "PT", "P400D"] {
            assert!(RemindBefore::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_reminder_more_than_a_day_late_is_dropped_and_over_a_minute_is_late() {
        let at = datetime!(2031-03-30 09:00 UTC);
        assert_eq!(firing(at, at), Firing::Send { late: false });
        assert_eq!(
            firing(at, at + time::Duration::seconds(30)),
            Firing::Send { late: false }
        );
        assert_eq!(
            firing(at, at + time::Duration::hours(3)),
            Firing::Send { late: true }
        );
        assert_eq!(firing(at, at + time::Duration::hours(25)), Firing::Drop);
        assert!(was_late(Some(at), at + time::Duration::minutes(5)));
        assert!(!was_late(Some(at), at));
    }
}
