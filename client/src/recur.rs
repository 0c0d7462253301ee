//! How people say a task repeats (`weekly`, `every 2 weeks`, `every monday,wednesday`),
//! as the RFC 5545 rule the server takes, in the local time zone.

const DAYS: [(&str, &str); 7] = [
    ("monday", "MO"),
    ("tuesday", "TU"),
    ("wednesday", "WE"),
    ("thursday", "TH"),
    ("friday", "FR"),
    ("saturday", "SA"),
    ("sunday", "SU"),
];

fn day_code(word: &str) -> Option<&'static str> {
    let word = word.trim().to_ascii_lowercase();
    (word.len() >= 2)
        .then(|| {
            DAYS.iter()
                .find(|(name, _)| name.starts_with(&word))
                .map(|(_, code)| *code)
        })
        .flatten()
}

fn unit(word: &str) -> Option<&'static str> {
    match word.trim_end_matches('s') {
        "day" => Some("DAILY"),
        "week" => Some("WEEKLY"),
        "month" => Some("MONTHLY"),
        "year" => Some("YEARLY"),
        _ => None,
    }
}

/// The rule for `text`: `daily`, `weekdays`, `weekly`, `monthly`, `yearly`, `every N
/// days|weeks|months|years`, `every monday,wednesday`, or an RRULE as it is.
pub fn parse_recur(text: &str) -> Result<String, String> {
    let text = text.trim().to_ascii_lowercase();
    let bad = || {
        format!(
            "{text:?} is not a repetition: use daily, weekdays, weekly, monthly, yearly, \"every 2 weeks\", \"every monday,wednesday\" or an RRULE such as FREQ=WEEKLY;BYDAY=MO"
        )
    };
    let rule = match text.as_str() {
        "daily" => "FREQ=DAILY".to_string(),
        "weekdays" => "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR".to_string(),
        "weekly" => "FREQ=WEEKLY".to_string(),
        "monthly" => "FREQ=MONTHLY".to_string(),
        "yearly" => "FREQ=YEARLY".to_string(),
        rrule if rrule.starts_with("freq=") || rrule.starts_with("rrule:") => rrule.to_ascii_uppercase(),
        other => {
            let rest = other.strip_prefix("every ").ok_or_else(bad)?.trim();
            let words: Vec<&str> = rest.split_whitespace().collect();
            match words.as_slice() {
                [n, u] => {
                    let n: u32 = n.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
                    format!("FREQ={};INTERVAL={n}", unit(u).ok_or_else(bad)?)
                }
                [u] if unit(u).is_some() => format!("FREQ={}", unit(u).ok_or_else(bad)?),
                _ => {
                    let days: Option<Vec<&str>> = rest.split(',').map(day_code).collect();
                    format!("FREQ=WEEKLY;BYDAY={}", days.ok_or_else(bad)?.join(","))
                }
            }
        }
    };
    Ok(rule)
}

/// A reminder as people say it: a while before the due date, or a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remind {
    /// An ISO 8601 duration such as `PT30M` (the server's `remind_before`).
    Before(String),
    At(time::OffsetDateTime),
}

/// `30m`, `2h`, `1d`, `1w` or ISO 8601 (`PT1H30M`) before the due date; otherwise a
/// moment in the forms of [`crate::due::parse_due`].
pub fn parse_remind(text: &str, local_now: time::OffsetDateTime) -> Result<Remind, String> {
    let text = text.trim();
    if text.starts_with(['P', 'p']) {
        return Ok(Remind::Before(text.to_ascii_uppercase()));
    }
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let iso = match (number.parse::<u32>(), unit.trim()) {
        (Ok(n), "m" | "min" | "minutes") => Some(format!("PT{n}M")),
        (Ok(n), "h" | "hours") => Some(format!("PT{n}H")),
        (Ok(n), "d" | "days") => Some(format!("P{n}D")),
        (Ok(n), "w" | "weeks") => Some(format!("P{n}W")),
        _ => None,
    };
    match iso {
        Some(iso) => Ok(Remind::Before(iso)),
        None => crate::due::parse_due(text, local_now).map(Remind::At),
    }
}

/// The next `n` due dates a repeating task makes, checked as the server checks the rule:
/// `rule` as [`parse_recur`] reads it, in `zone`, from the instance due at `due`.
pub fn preview(
    rule: &str,
    zone: &str,
    due: time::OffsetDateTime,
    occurrence: u32,
    n: usize,
) -> Result<Vec<time::OffsetDateTime>, String> {
    let rule = todo_api::recurrence::Rule::parse(&todo_api::Recurrence {
        rule: parse_recur(rule)?,
        time_zone: zone.to_string(),
    })
    .map_err(|e| e.reason)?;
    Ok(rule.upcoming(due, occurrence, n))
}

/// The local time zone's IANA name (`UTC` when the system does not say).
pub fn local_zone_name() -> String {
    jiff::tz::TimeZone::system()
        .iana_name()
        .unwrap_or("UTC")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_shows_the_dates_completions_make_in_the_zone() {
        use time::macros::datetime;
        // 09:00 Berlin, Friday before the spring change: the third date is 07:00 UTC.
        let dates =
            preview("daily", "Europe/Berlin", datetime!(2030-03-29 08:00 UTC), 1, 3).expect("a valid rule");
        assert_eq!(
            dates,
            [
                datetime!(2030-03-30 08:00 UTC),
                datetime!(2030-03-31 07:00 UTC),
                datetime!(2030-04-01 07:00 UTC),
            ]
        );
        let refused = preview("FREQ=HOURLY", "UTC", datetime!(2030-03-29 08:00 UTC), 1, 3);
        assert!(refused.is_err_and(|e| e.contains("HOURLY")));
    }

    #[test]
    fn reminders_are_a_while_before_or_a_moment() {
        use time::macros::datetime;
        let now = datetime!(2030-03-29 08:00 UTC);
        assert_eq!(parse_remind("30m", now), Ok(Remind::Before("PT30M".into())));
        assert_eq!(parse_remind("pt1h30m", now), Ok(Remind::Before("PT1H30M".into())));
        assert_eq!(parse_remind("2d", now), Ok(Remind::Before("P2D".into())));
        assert!(matches!(parse_remind("2030-04-01", now), Ok(Remind::At(_))));
        assert!(parse_remind("whenever", now).is_err());
    }

    #[test]
    fn words_people_use_become_rules() {
        for (said, rule) in [
            ("daily", "FREQ=DAILY"),
            ("Weekly", "FREQ=WEEKLY"),
            ("weekdays", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
            ("every 2 weeks", "FREQ=WEEKLY;INTERVAL=2"),
            ("every month", "FREQ=MONTHLY"),
            ("every monday,wed", "FREQ=WEEKLY;BYDAY=MO,WE"),
            ("freq=monthly;bymonthday=31", "FREQ=MONTHLY;BYMONTHDAY=31"),
        ] {
            assert_eq!(parse_recur(said).as_deref(), Ok(rule), "{said}");
        }
        for bad in [
            "sometimes",
            "every 0 days",
            "every blursday",
            "every 2 fortnights",
        ] {
            assert!(parse_recur(bad).is_err(), "{bad}");
        }
    }
}
