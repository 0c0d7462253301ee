//! Due dates as people type them: RFC 3339, a date, `today`, `tomorrow`, `+3d`, `+2h`,
//! `+1w`. A bare day means the end of that day in the local time zone.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};

const FORMS: &str = "use RFC 3339 (2030-01-31T17:00:00Z), a date (2030-01-31), today, tomorrow, or +N followed by h, d or w (+3d)";

fn end_of(day: Date, now: OffsetDateTime) -> OffsetDateTime {
    day.with_time(Time::from_hms(23, 59, 59).unwrap_or(Time::MIDNIGHT))
        .assume_offset(now.offset())
}

/// Parses `input` relative to `now`, whose offset is the local time zone.
pub fn parse_due(input: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let text = input.trim().to_lowercase();
    let invalid = || format!("`{input}` is not a due date: {FORMS}");
    match text.as_str() {
        "today" => return Ok(end_of(now.date(), now)),
        "tomorrow" => return Ok(end_of(now.date() + Duration::days(1), now)),
        _ => {}
    }
    if let Some(relative) = text.strip_prefix('+') {
        let (number, unit) = relative.split_at(relative.len().saturating_sub(1));
        let n: i64 = number.parse().map_err(|_| invalid())?;
        if !(0..=3650).contains(&n) {
            return Err(invalid());
        }
        return match unit {
            "h" => Ok(now + Duration::hours(n)),
            "d" => Ok(end_of(now.date() + Duration::days(n), now)),
            "w" => Ok(end_of(now.date() + Duration::weeks(n), now)),
            _ => Err(invalid()),
        };
    }
    if let Ok(at) = OffsetDateTime::parse(input.trim(), &Rfc3339) {
        return Ok(at);
    }
    Date::parse(&text, format_description!("[year]-[month]-[day]"))
        .map(|day| end_of(day, now))
        .map_err(|_| invalid())
}

/// `2030-01-31 17:00` in the given time zone: how both clients show a moment.
pub fn format_date_time(t: OffsetDateTime, offset: UtcOffset) -> String {
    let t = t.to_offset(offset);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// A due date as people read it: a bare date when it is the end of a day (what `today`,
/// `+3d` and `2030-01-31` produce), otherwise the date and time.
pub fn format_due(t: OffsetDateTime, offset: UtcOffset) -> String {
    let local = t.to_offset(offset);
    let full = format_date_time(t, offset);
    if (local.hour(), local.minute()) == (23, 59) {
        full[..10].to_string()
    } else {
        full
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2030-03-10 14:30:00 +01:00);

    #[test]
    fn words_and_offsets_are_ends_of_local_days() {
        assert_eq!(parse_due("today", NOW), Ok(datetime!(2030-03-10 23:59:59 +01:00)));
        assert_eq!(
            parse_due("Tomorrow", NOW),
            Ok(datetime!(2030-03-11 23:59:59 +01:00))
        );
        assert_eq!(parse_due("+3d", NOW), Ok(datetime!(2030-03-13 23:59:59 +01:00)));
        assert_eq!(parse_due("+1w", NOW), Ok(datetime!(2030-03-17 23:59:59 +01:00)));
        assert_eq!(parse_due("+2h", NOW), Ok(datetime!(2030-03-10 16:30:00 +01:00)));
    }

    #[test]
    fn dates_and_rfc3339_are_accepted() {
        assert_eq!(
            parse_due("2030-12-24", NOW),
            Ok(datetime!(2030-12-24 23:59:59 +01:00))
        );
        assert_eq!(
            parse_due("2030-12-24T08:00:00Z", NOW),
            Ok(datetime!(2030-12-24 08:00:00 UTC))
        );
    }

    #[test]
    fn due_dates_show_as_dates_or_date_times() {
        assert_eq!(
            format_due(
                datetime!(2030-03-10 22:59:59 UTC),
                UtcOffset::from_hms(1, 0, 0).expect("offset")
            ),
            "2030-03-10"
        );
        assert_eq!(
            format_due(datetime!(2030-03-10 08:30 UTC), UtcOffset::UTC),
            "2030-03-10 08:30"
        );
        assert_eq!(
            format_date_time(datetime!(2030-03-10 23:59:59 UTC), UtcOffset::UTC),
            "2030-03-10 23:59"
        );
    }

    #[test]
    fn anything_else_is_refused_with_the_accepted_forms() {
        for bad in ["soon", "+3x", "+d", "2030-13-01", "", "+99999d"] {
            let err = parse_due(bad, NOW).expect_err(bad);
            assert!(err.contains("RFC 3339"), "{err}");
        }
    }
}
