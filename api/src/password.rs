//! The password rule, once for the server and the clients that check as the user
//! types: 8 to 128 characters, and a zxcvbn score of at least 2 given the account's own
//! words (email, name).

use crate::limits::{PASSWORD_MAX, PASSWORD_MIN};

/// Why `password` is refused, with zxcvbn's advice; `None` when it is strong enough.
pub fn strength_problem(password: &str, context: &[&str]) -> Option<String> {
    let len = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        return Some(format!(
            "password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"
        ));
    }
    let estimate = zxcvbn::zxcvbn(password, context);
    if u8::from(estimate.score()) >= 2 {
        return None;
    }
    let mut reason = String::from("password is too easy to guess");
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            reason.push_str(&format!(": {warning}"));
        }
        if let Some(tip) = feedback.suggestions().first() {
            reason.push_str(&format!(" ({tip})"));
        }
    }
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_and_own_words_are_refused() {
        assert!(strength_problem("short", &[]).is_some_and(|r| r.contains("8 to 128")));
        assert!(strength_problem("password123", &[]).is_some_and(|r| r.contains("too easy")));
        assert!(strength_problem("ann.lee@example.com", &["ann.lee@example.com"]).is_some());
        assert_eq!(strength_problem("correct horse battery staple", &[]), None);
    }
}
