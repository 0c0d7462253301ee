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
