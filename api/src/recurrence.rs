//! Recurrence: an RFC 5545 rule and the time zone it runs in, checked once, and the next
//! occurrence after an instance's due date. The arithmetic is the `rrule` crate's; the
//! rule runs on the wall clock of its zone, so a 09:00 Europe/Berlin series stays 09:00
//! local across daylight saving. Here, in the contract, so the server checks a rule and
//! a client previews its dates with the same code.

use std::str::FromStr;

use time::OffsetDateTime;

use crate::Recurrence;

/// Why a rule is refused, and the field it names (`recurrence` or
/// `recurrence.time_zone`), as the server's 422 `invalid_recurrence` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRule {
    pub field: &'static str,
    pub reason: String,
}

impl std::fmt::Display for InvalidRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for InvalidRule {}

/// A checked recurrence. The fields are private: the only way to get one is
/// [`Rule::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule as given, upper-cased, without `RRULE:`.
    rule: String,
    zone: chrono_tz::Tz,
    /// `COUNT`: how many instances the series has in all.
    count: Option<u32>,
}

/// The parts a rule may have, and the frequencies it may use.
const PARTS: [&str; 7] = [
    "FREQ",
    "INTERVAL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "COUNT",
    "UNTIL",
];
const FREQUENCIES: [&str; 4] = ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"];

fn invalid(reason: impl Into<String>) -> InvalidRule {
    InvalidRule {
        field: "recurrence",
        reason: reason.into(),
    }
}

impl Rule {
    pub fn parse(given: &Recurrence) -> Result<Rule, InvalidRule> {
        let upper = given.rule.trim().to_ascii_uppercase();
        let rule = upper.trim_start_matches("RRULE:").to_string();
        if rule.is_empty() || rule.len() > 200 {
            return Err(invalid(
                "recurrence.rule is 1 to 200 characters, such as FREQ=WEEKLY;BYDAY=MO",
            ));
        }
        let mut count = None;
        let mut frequency = None;
        for part in rule.split(';').filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| invalid(format!("recurrence part {part:?} is not NAME=VALUE")))?;
            if !PARTS.contains(&name) {
                return Err(invalid(format!(
                    "recurrence part {name} is not supported (use {})",
                    PARTS.join(", ")
                )));
            }
            match name {
                "FREQ" if !FREQUENCIES.contains(&value) => {
                    return Err(invalid(format!(
                        "recurrence FREQ={value} is not supported (use {})",
                        FREQUENCIES.join(", ")
                    )));
                }
                "FREQ" => frequency = Some(value),
                "COUNT" => {
                    let n: u32 = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=10_000).contains(n))
                        .ok_or_else(|| invalid("recurrence COUNT is 1 to 10000"))?;
                    count = Some(n);
                }
                _ => {}
            }
        }
        if frequency.is_none() {
            return Err(invalid(
                "recurrence needs FREQ (DAILY, WEEKLY, MONTHLY or YEARLY)",
            ));
        }
        let zone = chrono_tz::Tz::from_str(given.time_zone.trim()).map_err(|_| InvalidRule {
            field: "recurrence.time_zone",
            reason: format!(
                "{:?} is not an IANA time zone (such as Europe/Berlin)",
                crate::text::printable(given.time_zone.trim(), false)
            ),
        })?;
        let parsed = Rule { rule, zone, count };
        // The rule must also be one the arithmetic accepts (UNTIL's form, BYDAY's).
        parsed.set_from(OffsetDateTime::UNIX_EPOCH + time::Duration::days(365 * 40))?;
        Ok(parsed)
    }

    /// The recurrence as the API shows it.
    pub fn to_api(&self) -> Recurrence {
        Recurrence {
            rule: self.rule.clone(),
            time_zone: self.zone.name().to_string(),
        }
    }

    /// The due date of the instance after the one numbered `occurrence` that is due at
    /// `due`; `None` when the series ends there (COUNT, UNTIL).
    pub fn next_after(&self, due: OffsetDateTime, occurrence: u32) -> Option<OffsetDateTime> {
        if self.count.is_some_and(|count| occurrence >= count) {
            return None;
        }
        let set = self.set_from(due).ok()?;
        let after = to_chrono(due + time::Duration::seconds(1), self.zone)?;
        let next = set.after(after).all(1).dates.into_iter().next()?;
        OffsetDateTime::from_unix_timestamp(next.timestamp()).ok()
    }

    /// The due dates of the `n` instances after the one numbered `occurrence` due at
    /// `due`, fewer when the series ends first: what completing it again and again makes.
    pub fn upcoming(&self, due: OffsetDateTime, occurrence: u32, n: usize) -> Vec<OffsetDateTime> {
        let mut dates = Vec::with_capacity(n);
        let (mut due, mut occurrence) = (due, occurrence);
        while dates.len() < n {
            match self.next_after(due, occurrence) {
                Some(next) => {
                    dates.push(next);
                    (due, occurrence) = (next, occurrence + 1);
                }
                None => break,
            }
        }
        dates
    }

    /// The rule as a set starting at `start` (in the rule's zone, whole seconds), without
    /// COUNT: the series counts its own instances (`occurrence`).
    fn set_from(&self, start: OffsetDateTime) -> Result<rrule::RRuleSet, InvalidRule> {
        let local =
            to_chrono(start, self.zone).ok_or_else(|| invalid("the due date cannot start a series"))?;
        let rule: String = self
            .rule
            .split(';')
            .filter(|p| !p.starts_with("COUNT="))
            .collect::<Vec<_>>()
            .join(";");
        let text = format!(
            "DTSTART;TZID={}:{}\nRRULE:{rule}",
            self.zone.name(),
            local.format("%Y%m%dT%H%M%S")
        );
        rrule::RRuleSet::from_str(&text).map_err(|e| invalid(format!("recurrence rule: {e}")))
    }
}

fn to_chrono(t: OffsetDateTime, zone: chrono_tz::Tz) -> Option<chrono::DateTime<rrule::Tz>> {
    use chrono::TimeZone;
    let utc = chrono::Utc.timestamp_opt(t.unix_timestamp(), 0).single()?;
    Some(utc.with_timezone(&rrule::Tz::Tz(zone)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn rule(rule: &str, zone: &str) -> Result<Rule, InvalidRule> {
        Rule::parse(&Recurrence {
            rule: rule.into(),
            time_zone: zone.into(),
        })
    }

    /// Every instance from `start`, `n` of them, walking the series as completions do.
    fn walk(rule: &Rule, start: OffsetDateTime, n: u32) -> Vec<OffsetDateTime> {
        let mut due = start;
        let mut seen = vec![start];
        for occurrence in 1..n {
            match rule.next_after(due, occurrence) {
                Some(next) => {
                    seen.push(next);
                    due = next;
                }
                None => break,
            }
        }
        seen
    }

    #[test]
    fn a_daily_0900_berlin_series_keeps_0900_local_across_both_changes() {
        let daily = rule("FREQ=DAILY", "Europe/Berlin").expect("valid");
        // 09:00 CET on 2030-03-29 is 08:00 UTC; DST starts 2030-03-31, then 07:00 UTC.
        let spring = walk(&daily, datetime!(2030-03-29 08:00 UTC), 4);
        assert_eq!(
            spring,
            [
                datetime!(2030-03-29 08:00 UTC),
                datetime!(2030-03-30 08:00 UTC),
                datetime!(2030-03-31 07:00 UTC),
                datetime!(2030-04-01 07:00 UTC),
            ]
        );
        // DST ends 2030-10-27: 09:00 CEST (07:00 UTC) becomes 09:00 CET (08:00 UTC).
        let autumn = walk(&daily, datetime!(2030-10-26 07:00 UTC), 3);
        assert_eq!(autumn[2], datetime!(2030-10-28 08:00 UTC));
        assert_eq!(autumn[1], datetime!(2030-10-27 08:00 UTC));
    }

    #[test]
    fn monthly_31st_and_yearly_feb_29_follow_rfc_5545_and_count_and_until_end() {
        let monthly = rule("FREQ=MONTHLY;BYMONTHDAY=31", "UTC").expect("valid");
        let days: Vec<_> = walk(&monthly, datetime!(2031-01-31 12:00 UTC), 4)
            .iter()
            .map(|d| (d.month() as u8, d.day()))
            .collect();
        assert_eq!(
            days,
            [(1, 31), (3, 31), (5, 31), (7, 31)],
            "months without a 31st are skipped"
        );
        let leap = rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "UTC").expect("valid");
        let years: Vec<_> = walk(&leap, datetime!(2032-02-29 00:00 UTC), 3)
            .iter()
            .map(|d| d.year())
            .collect();
        assert_eq!(years, [2032, 2036, 2040]);
        let counted = rule("FREQ=WEEKLY;COUNT=3", "UTC").expect("valid");
        assert_eq!(walk(&counted, datetime!(2031-01-06 09:00 UTC), 10).len(), 3);
        let until = rule("FREQ=DAILY;UNTIL=20310103T235959Z", "UTC").expect("valid");
        assert_eq!(walk(&until, datetime!(2031-01-01 09:00 UTC), 10).len(), 3);
    }

    #[test]
    fn upcoming_lists_what_completions_make_and_stops_with_the_series() {
        let counted = rule("FREQ=WEEKLY;COUNT=3", "UTC").expect("valid");
        let start = datetime!(2031-01-06 09:00 UTC);
        assert_eq!(
            counted.upcoming(start, 1, 5),
            [datetime!(2031-01-13 09:00 UTC), datetime!(2031-01-20 09:00 UTC)]
        );
        assert_eq!(counted.upcoming(start, 1, 1).len(), 1);
    }

    #[test]
    fn parts_frequencies_and_zones_outside_the_contract_are_refused_by_name() {
        for (bad, named) in [
            ("FREQ=HOURLY", "HOURLY"),
            ("FREQ=DAILY;BYHOUR=9", "BYHOUR"),
            ("INTERVAL=2", "FREQ"),
            ("FREQ=DAILY;COUNT=0", "COUNT"),
            ("nonsense", "NAME=VALUE"),
        ] {
            let e = rule(bad, "UTC").expect_err(bad);
            assert!(e.reason.contains(named), "{bad}: {}", e.reason);
        }
        let e = rule("FREQ=DAILY", "Mars/Olympus").expect_err("zone");
        assert_eq!(e.field, "recurrence.time_zone");
        let weekly = rule("rrule:freq=weekly;byday=mo,we", "Europe/Berlin").expect("lower case is read");
        assert_eq!(weekly.to_api().rule, "FREQ=WEEKLY;BYDAY=MO,WE");
    }
}
