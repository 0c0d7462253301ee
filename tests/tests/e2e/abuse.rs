//! Abuse: brute force against one account from many addresses and from one address
//! against many accounts; and sign-in timing that does not tell which emails exist.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use todo_e2e::api::{concurrent_wrong_passwords, sign_in_from};
use todo_e2e::{TestServer, sign_up, unique_email};

/// A client whose connections come from `127.0.0.<n>` (all of 127/8 is loopback).
fn client_from(n: u8) -> reqwest::blocking::Client {
    todo_e2e::tls_ready(reqwest::blocking::Client::builder())
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

#[test]
fn one_account_attacked_from_many_addresses_locks_then_reopens_for_its_owner() {
    let server = TestServer::start(&["--failed-signin-limit", "5", "--failed-signin-window", "3s"]);
    let victim = sign_up(&server, "victim");
    let mut statuses = Vec::new();
    for n in 0..12u8 {
        let attacker = client_from(10 + n);
        statuses.push(
            sign_in_from(&attacker, &server, &victim.email, &format!("guess-{n}"))
                .status()
                .as_u16(),
        );
    }
    assert_eq!(&statuses[..5], &[401; 5], "five wrong guesses are answered");
    assert!(
        statuses[5..].iter().all(|s| *s == 429),
        "then the account is locked: {statuses:?}"
    );
    let locked = sign_in_from(&client_from(99), &server, &victim.email, &victim.password);
    assert_eq!(
        locked.status().as_u16(),
        429,
        "even the right password waits out the window"
    );
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("secs");
    assert!((1..=3).contains(&retry), "Retry-After {retry}");

    std::thread::sleep(Duration::from_millis(3_200));
    let owner = sign_in_from(&client_from(99), &server, &victim.email, &victim.password);
    assert_eq!(owner.status().as_u16(), 200, "after the window the owner gets in");
}

#[test]
fn one_address_spraying_many_accounts_is_limited_per_address() {
    let server = TestServer::start(&["--signin-limit", "8"]);
    let attacker = client_from(42);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(
            sign_in_from(&attacker, &server, &unique_email("spray"), "password123")
                .status()
                .as_u16(),
        );
    }
    assert_eq!(&statuses[..8], &[401; 8]);
    assert!(statuses[8..].iter().all(|s| *s == 429), "{statuses:?}");
    let limited = sign_in_from(&attacker, &server, &unique_email("spray"), "password123");
    assert_eq!(limited.status().as_u16(), 429);
    let retry: u64 = limited
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a per-address 429 says when to retry");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let bystander = client_from(43);
    assert_eq!(
        sign_in_from(&bystander, &server, &unique_email("other"), "password123")
            .status()
            .as_u16(),
        401,
        "other addresses are unaffected"
    );
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[test]
fn unknown_email_and_wrong_password_take_the_same_time() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let user = sign_up(&server, "timing");
    let client = client_from(1);
    // Warm up connections and caches.
    for _ in 0..5 {
        sign_in_from(&client, &server, &user.email, "warm-up-wrong");
    }
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    let (mut unknown_body, mut wrong_body) = (String::new(), String::new());
    for i in 0..150 {
        let start = Instant::now();
        let r = sign_in_from(
            &client,
            &server,
            &format!("nobody-{i}@example.com"),
            "not-the-password",
        );
        unknown.push(start.elapsed());
        assert_eq!(r.status().as_u16(), 401);
        unknown_body = r.text().expect("body");
        let start = Instant::now();
        let r = sign_in_from(&client, &server, &user.email, "not-the-password");
        wrong.push(start.elapsed());
        assert_eq!(r.status().as_u16(), 401);
        wrong_body = r.text().expect("body");
    }
    assert_eq!(unknown_body, wrong_body, "same body");
    let (u, w) = (median(unknown), median(wrong));
    let ratio = u.as_secs_f64() / w.as_secs_f64();
    eprintln!("median sign-in: unknown email {u:?}, wrong password {w:?}, ratio {ratio:.3}");
    assert!(
        (0.9..=1.1).contains(&ratio),
        "medians differ by more than 10%: {u:?} vs {w:?}"
    );
}

/// A burst of wrong passwords sent at once: the attempts are reserved before any
/// password is checked, so no more than the limit are ever checked, and the right
/// password that follows the burst waits out the window like any other.
#[test]
fn a_concurrent_burst_checks_no_more_passwords_than_the_limit() {
    let server = TestServer::start(&["--failed-signin-limit", "5", "--signin-limit", "0"]);
    let victim = sign_up(&server, "burst");
    let statuses = concurrent_wrong_passwords(&[&server], &victim.email, 19, |n| client_from(20 + n as u8));
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 5, "{checked} passwords were checked: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
    let right = sign_in_from(&client_from(99), &server, &victim.email, &victim.password);
    assert_eq!(
        right.status().as_u16(),
        429,
        "the account is locked for the window"
    );
}

fn sign_up_via(client: &reqwest::blocking::Client, server: &TestServer, forwarded_for: &str) -> u16 {
    client
        .post(server.url("/api/auth/sign-up"))
        .header("X-Forwarded-For", forwarded_for)
        .json(&serde_json::json!({"email": unique_email("proxied"), "password": todo_e2e::strong_password()}))
        .send()
        .expect("sign-up")
        .status()
        .as_u16()
}

/// Behind a trusted reverse proxy the per-address limits key on the address it forwards;
/// from any other peer the header is ignored, so a client cannot pick its own key.
#[test]
fn forwarded_addresses_count_only_from_a_trusted_proxy() {
    let server = TestServer::start(&["--signup-limit", "1", "--trusted-proxy", "127.0.0.1/32"]);
    let proxy = client_from(1);
    assert_eq!(sign_up_via(&proxy, &server, "203.0.113.1"), 201);
    assert_eq!(
        sign_up_via(&proxy, &server, "203.0.113.2"),
        201,
        "another client behind the proxy"
    );
    assert_eq!(
        sign_up_via(&proxy, &server, "203.0.113.1"),
        429,
        "the same client again"
    );
    let direct = client_from(7);
    assert_eq!(sign_up_via(&direct, &server, "203.0.113.3"), 201);
    assert_eq!(
        sign_up_via(&direct, &server, "203.0.113.4"),
        429,
        "an untrusted peer's header is ignored"
    );
}
