//! Due dates as people type them, in the local time zone (daylight saving included):
//! dates (`2030-01-31`), date-times (`2030-01-31 17:00`, `2030-01-31T17:00`, RFC 3339
//! with an offset), words (`today`, `tomorrow`, `yesterday`, `eod`, `eow`, `eom`,
//! `eoy`, weekday names, `next friday`), a time alone or after a day (`17:00`, `9am`,
//! `tomorrow 9am`, `friday 17:00`), and signed offsets (`+3d`, `-1d`, `+2w`, `+2h`,
//! `+30min`, `in 3 days`). A day without a time means the end of that day (23:59:59).
//! One parser for both clients.

use jiff::civil::{Date, DateTime, Time, Weekday};
pub use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

const FORMS: &str = "use a date (2030-01-31), a date and time (2030-01-31 17:00), RFC 3339, \
                     today, tomorrow, yesterday, eod, eow, eom, eoy, a weekday (friday, next friday), \
                     a time (17:00, 9am, tomorrow 9am), or an offset (+3d, -1d, +2w, +2h, in 3 days)";

/// Parses `input` relative to `now` in the machine's time zone.
pub fn parse_due(input: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    parse_due_in(input, now, &TimeZone::system())
}

/// Parses `input` relative to `now` in `zone`.
pub fn parse_due_in(input: &str, now: OffsetDateTime, zone: &TimeZone) -> Result<OffsetDateTime, String> {
    let invalid = || format!("`{}` is not a due date: {FORMS}", input.trim());
    if let Ok(at) = OffsetDateTime::parse(input.trim(), &Rfc3339) {
        return Ok(at);
    }
    let now_ts = Timestamp::from_nanosecond(now.unix_timestamp_nanos()).map_err(|_| invalid())?;
    let today = now_ts.to_zoned_datetime(zone.clone()).date();
    let text = input.trim().to_lowercase();
    let moment = parse_text(&text, today, now_ts, zone).ok_or_else(invalid)?;
    OffsetDateTime::from_unix_timestamp_nanos(moment.as_nanosecond()).map_err(|_| invalid())
}

/// What the words name: a local date-time (resolved in the zone) or an instant.
enum Named {
    Local(DateTime),
    Instant(Timestamp),
}

fn parse_text(text: &str, today: Date, now: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
    let named = offset(text, today, now).or_else(|| day_and_time(text, today))?;
    match named {
        Named::Instant(at) => Some(at),
        // In a gap (clocks forward) the later time, in a fold the earlier: never an error.
        Named::Local(local) => zone.to_ambiguous_timestamp(local).compatible().ok(),
    }
}

fn end_of(day: Date) -> DateTime {
    day.to_datetime(Time::constant(23, 59, 59, 0))
}

/// `+3d`, `-1d`, `+2w`, `+2h`, `+30min`, `in 3 days`, `in 2 hours`.
fn offset(text: &str, today: Date, now: Timestamp) -> Option<Named> {
    let (sign, rest) = if let Some(rest) = text.strip_prefix('+') {
        (1, rest.trim())
    } else if let Some(rest) = text.strip_prefix('-') {
        (-1, rest.trim())
    } else if let Some(rest) = text.strip_prefix("in ") {
        (1, rest.trim())
    } else {
        return None;
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let n: i64 = rest[..digits].parse().ok()?;
    if n > 3650 {
        return None;
    }
    let n = sign * n;
    match rest[digits..].trim() {
        "m" | "min" | "mins" | "minute" | "minutes" => {
            now.checked_add((n).minutes()).ok().map(Named::Instant)
        }
        "h" | "hour" | "hours" => now.checked_add((n).hours()).ok().map(Named::Instant),
        "d" | "day" | "days" => today
            .checked_add((n).days())
            .ok()
            .map(|d| Named::Local(end_of(d))),
        "w" | "week" | "weeks" => today
            .checked_add((n).weeks())
            .ok()
            .map(|d| Named::Local(end_of(d))),
        _ => None,
    }
}

/// A day (word or date) and/or a time: `tomorrow 9am`, `friday 17:00`, `17:00`,
/// `2030-01-31 17:00`, `2030-01-31t17:00`.
fn day_and_time(text: &str, today: Date) -> Option<Named> {
    // `2030-01-31t17:00` (the input was lower-cased): the date and the time.
    let text = match text.split_at_checked(10) {
        Some((date, rest)) if rest.starts_with('t') && date.parse::<Date>().is_ok() => {
            format!("{date} {}", &rest[1..])
        }
        _ => text.to_string(),
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let (day_words, time) = match words.as_slice() {
        [] => return None,
        [only] => match time_of_day(only) {
            Some(t) => (&words[..0], Some(t)),
            None => (&words[..], None),
        },
        [rest @ .., last] => match time_of_day(last) {
            Some(t) => (rest, Some(t)),
            None => (&words[..], None),
        },
    };
    let day = if day_words.is_empty() {
        Some(today)
    } else {
        day(&day_words.join(" "), today)
    }?;
    Some(Named::Local(match time {
        Some(t) => day.to_datetime(t),
        None => end_of(day),
    }))
}

fn day(text: &str, today: Date) -> Option<Date> {
    match text {
        "today" | "eod" => return Some(today),
        "tomorrow" => return today.tomorrow().ok(),
        "yesterday" => return today.yesterday().ok(),
        // The week ends on Sunday (ISO 8601).
        "eow" if today.weekday() == Weekday::Sunday => return Some(today),
        "eow" => return today.nth_weekday(1, Weekday::Sunday).ok(),
        "eom" => return Some(today.last_of_month()),
        "eoy" => return Date::new(today.year(), 12, 31).ok(),
        _ => {}
    }
    if let Some(name) = text.strip_prefix("next ") {
        return weekday(name).and_then(|w| today.nth_weekday(1, w).ok());
    }
    if let Some(w) = weekday(text) {
        return today.nth_weekday(1, w).ok();
    }
    text.parse::<Date>().ok()
}

fn weekday(text: &str) -> Option<Weekday> {
    Some(match text {
        "mon" | "monday" => Weekday::Monday,
        "tue" | "tues" | "tuesday" => Weekday::Tuesday,
        "wed" | "wednesday" => Weekday::Wednesday,
        "thu" | "thur" | "thurs" | "thursday" => Weekday::Thursday,
        "fri" | "friday" => Weekday::Friday,
        "sat" | "saturday" => Weekday::Saturday,
        "sun" | "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

/// `17:00`, `9:30`, `9am`, `5pm`, `12:15pm`.
fn time_of_day(text: &str) -> Option<Time> {
    let (clock, pm) = match (text.strip_suffix("am"), text.strip_suffix("pm")) {
        (Some(c), _) => (c, Some(false)),
        (_, Some(c)) => (c, Some(true)),
        _ => (text, None),
    };
    let (hour, minute) = match clock.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?),
        None if pm.is_some() => (clock.parse::<i8>().ok()?, 0),
        _ => return None,
    };
    let hour = match pm {
        None => hour,
        Some(_) if !(1..=12).contains(&hour) => return None,
        Some(false) => hour % 12,
        Some(true) => hour % 12 + 12,
    };
    Time::new(hour, minute, 0, 0).ok()
}

/// The machine's time zone, with its rules: the offset of each moment is the one in
/// force then (a July date seen in January is shown in summer time).
pub fn local_zone() -> TimeZone {
    TimeZone::system()
}

/// `t` as a wall clock in `zone` reads it at that moment.
pub fn in_zone(t: OffsetDateTime, zone: &TimeZone) -> OffsetDateTime {
    let offset = Timestamp::from_nanosecond(t.unix_timestamp_nanos())
        .ok()
        .and_then(|ts| UtcOffset::from_whole_seconds(zone.to_offset(ts).seconds()).ok())
        .unwrap_or(UtcOffset::UTC);
    t.to_offset(offset)
}

/// `2030-01-31 17:00` in the given time zone: how both clients show a moment.
pub fn format_date_time(t: OffsetDateTime, zone: &TimeZone) -> String {
    let t = in_zone(t, zone);
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
pub fn format_due(t: OffsetDateTime, zone: &TimeZone) -> String {
    let local = in_zone(t, zone);
    let full = format_date_time(t, zone);
    if (local.hour(), local.minute()) == (23, 59) {
        full[..10].to_string()
    } else {
        full
    }
}

/// A duration in words, as a status line says how old something is: `40 s`, `12 min`,
/// `3 h`, `2 days`.
pub fn age(d: time::Duration) -> String {
    let s = d.whole_seconds().max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// A Wednesday afternoon in Berlin, in winter time (+01:00).
    const NOW: OffsetDateTime = datetime!(2030-03-13 14:30:00 +01:00);

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").expect("bundled zone")
    }

    fn parse(text: &str) -> Result<OffsetDateTime, String> {
        parse_due_in(text, NOW, &berlin())
    }

    #[test]
    fn words_are_ends_of_local_days() {
        assert_eq!(parse("today"), Ok(datetime!(2030-03-13 23:59:59 +01:00)));
        assert_eq!(parse("EOD"), Ok(datetime!(2030-03-13 23:59:59 +01:00)));
        assert_eq!(parse("Tomorrow"), Ok(datetime!(2030-03-14 23:59:59 +01:00)));
        assert_eq!(parse("yesterday"), Ok(datetime!(2030-03-12 23:59:59 +01:00)));
        assert_eq!(parse("eow"), Ok(datetime!(2030-03-17 23:59:59 +01:00)), "Sunday");
        assert_eq!(
            parse("eom"),
            Ok(datetime!(2030-03-31 23:59:59 +02:00)),
            "after the clocks change"
        );
        assert_eq!(parse("eoy"), Ok(datetime!(2030-12-31 23:59:59 +01:00)));
    }

    #[test]
    fn weekdays_are_the_coming_ones() {
        assert_eq!(parse("friday"), Ok(datetime!(2030-03-15 23:59:59 +01:00)));
        assert_eq!(parse("next fri"), Ok(datetime!(2030-03-15 23:59:59 +01:00)));
        assert_eq!(
            parse("wednesday"),
            Ok(datetime!(2030-03-20 23:59:59 +01:00)),
            "not today"
        );
        assert_eq!(parse("friday 17:00"), Ok(datetime!(2030-03-15 17:00:00 +01:00)));
    }

    #[test]
    fn offsets_are_signed_and_days_end_at_midnight() {
        assert_eq!(parse("+3d"), Ok(datetime!(2030-03-16 23:59:59 +01:00)));
        assert_eq!(parse("-1d"), Ok(datetime!(2030-03-12 23:59:59 +01:00)));
        assert_eq!(parse("+2w"), Ok(datetime!(2030-03-27 23:59:59 +01:00)));
        assert_eq!(parse("in 3 days"), Ok(datetime!(2030-03-16 23:59:59 +01:00)));
        assert_eq!(parse("+2h"), Ok(datetime!(2030-03-13 16:30:00 +01:00)));
        assert_eq!(parse("in 90 minutes"), Ok(datetime!(2030-03-13 16:00:00 +01:00)));
    }

    #[test]
    fn times_alone_and_after_a_day() {
        assert_eq!(parse("17:00"), Ok(datetime!(2030-03-13 17:00:00 +01:00)));
        assert_eq!(parse("tomorrow 9am"), Ok(datetime!(2030-03-14 09:00:00 +01:00)));
        assert_eq!(parse("5pm"), Ok(datetime!(2030-03-13 17:00:00 +01:00)));
        assert_eq!(parse("12am"), Ok(datetime!(2030-03-13 00:00:00 +01:00)));
        assert_eq!(
            parse("2030-01-31 17:00"),
            Ok(datetime!(2030-01-31 17:00:00 +01:00))
        );
        assert_eq!(
            parse("2030-01-31T17:00"),
            Ok(datetime!(2030-01-31 17:00:00 +01:00))
        );
    }

    /// A date in summer time gets summer time's offset, whatever the offset now; a time
    /// in the hour skipped when the clocks go forward lands after the gap.
    #[test]
    fn daylight_saving_is_the_zones_not_nows() {
        assert_eq!(parse("2030-07-01"), Ok(datetime!(2030-07-01 23:59:59 +02:00)));
        assert_eq!(
            parse("2030-03-31 02:30"),
            Ok(datetime!(2030-03-31 03:30:00 +02:00))
        );
        assert_eq!(
            parse("2030-10-27 02:30"),
            Ok(datetime!(2030-10-27 02:30:00 +02:00)),
            "the earlier of the two"
        );
    }

    #[test]
    fn dates_and_rfc3339_are_accepted() {
        assert_eq!(parse("2030-12-24"), Ok(datetime!(2030-12-24 23:59:59 +01:00)));
        assert_eq!(
            parse("2030-12-24T08:00:00Z"),
            Ok(datetime!(2030-12-24 08:00:00 UTC))
        );
    }

    #[test]
    fn due_dates_show_as_dates_or_date_times() {
        assert_eq!(
            format_due(
                datetime!(2030-03-10 22:59:59 UTC),
                &TimeZone::fixed(jiff::tz::offset(1))
            ),
            "2030-03-10"
        );
        assert_eq!(
            format_due(datetime!(2030-03-10 08:30 UTC), &TimeZone::UTC),
            "2030-03-10 08:30"
        );
        assert_eq!(
            format_date_time(datetime!(2030-03-10 23:59:59 UTC), &TimeZone::UTC),
            "2030-03-10 23:59"
        );
    }

    /// Each moment is shown with the offset in force at that moment, not today's: the
    /// end of a summer day is still the end of that day when seen in winter.
    #[test]
    fn dates_across_a_daylight_saving_change_show_in_their_own_offset() {
        let zone = berlin();
        // 23:59:59 in summer time (+02:00) and in winter time (+01:00).
        assert_eq!(
            format_due(datetime!(2030-07-01 21:59:59 UTC), &zone),
            "2030-07-01"
        );
        assert_eq!(
            format_due(datetime!(2030-01-10 22:59:59 UTC), &zone),
            "2030-01-10"
        );
        // The night the clocks go forward (31 March 2030, 02:00 -> 03:00).
        assert_eq!(
            format_date_time(datetime!(2030-03-31 00:30 UTC), &zone),
            "2030-03-31 01:30"
        );
        assert_eq!(
            format_date_time(datetime!(2030-03-31 01:30 UTC), &zone),
            "2030-03-31 03:30"
        );
        // What is typed round-trips through what is shown, on either side of the change.
        let winter_now = datetime!(2030-01-10 12:00 +01:00);
        let typed = parse_due_in("2030-07-01", winter_now, &zone).expect("parses");
        assert_eq!(format_due(typed, &zone), "2030-07-01");
    }

    #[test]
    fn anything_else_is_refused_with_the_accepted_forms() {
        for bad in [
            "soon",
            "+3x",
            "+d",
            "2030-13-01",
            "",
            "+99999d",
            "13pm",
            "25:00",
            "next soon",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.contains("RFC 3339"), "{err}");
        }
    }
}
