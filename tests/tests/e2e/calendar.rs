//! The calendar over the real server, read back by an independent iCalendar parser (the
//! `ical` crate): one VTODO per task with a due date, its fields as the API has them; a
//! feed reads the same without a header and is 404 once revoked or with the account.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};
use todo_e2e::api::{call_as as call, must};
use todo_e2e::{Account, TestServer, http, sign_up};

/// Each VTODO of a calendar, as property name -> (value, parameters), with its alarms'
/// triggers.
fn todos(text: &str) -> Vec<(HashMap<String, String>, Vec<String>)> {
    let mut parser = ical::IcalParser::new(text.as_bytes());
    let calendar = parser.next().expect("a calendar").expect("it parses");
    assert!(parser.next().is_none(), "one calendar");
    calendar
        .todos
        .into_iter()
        .map(|todo| {
            let fields = todo
                .properties
                .into_iter()
                .map(|p| (p.name, p.value.unwrap_or_default()))
                .collect();
            let alarms = todo
                .alarms
                .into_iter()
                .flat_map(|a| a.properties)
                .filter(|p| p.name == "TRIGGER")
                .map(|p| p.value.unwrap_or_default())
                .collect();
            (fields, alarms)
        })
        .collect()
}

fn ics(server: &TestServer, who: &Account) -> (String, String) {
    let response = http()
        .get(server.url(&format!("/api/{}/calendar.ics", who.id)))
        .bearer_auth(&who.access_token)
        .send()
        .expect("calendar");
    assert_eq!(response.status().as_u16(), 200);
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (kind, response.text().expect("text"))
}

#[test]
fn the_calendar_holds_each_dated_task_as_a_parser_reads_it() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "calendar");
    let plants = must(
        &server,
        &ann,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({
            "title": "Water the plants; twice, please",
            "description": "the big one\nand the small one",
            "priority": "high",
            "tags": ["home", "garden"],
            "due_at": "2031-03-24T08:00:00Z",
            "remind_at": "2031-03-24T07:30:00Z",
            "recurrence": {"rule": "FREQ=WEEKLY;BYDAY=MO", "time_zone": "Europe/Berlin"}
        })),
    );
    let filed = must(
        &server,
        &ann,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": "File taxes", "due_at": "2031-04-30T17:00:00Z", "priority": "low"})),
    );
    must(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}/complete", filed["id"]),
        Some(json!({"completed": true})),
    );
    must(
        &server,
        &ann,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": "No date"})),
    );

    let (kind, text) = ics(&server, &ann);
    assert!(kind.starts_with("text/calendar"), "{kind}");
    let todos = todos(&text);
    let by_uid: HashMap<String, &(HashMap<String, String>, Vec<String>)> =
        todos.iter().map(|t| (t.0["UID"].clone(), t)).collect();
    assert_eq!(
        by_uid.len(),
        2,
        "the two dated tasks, not the undated one: {text}"
    );

    let (water, alarms) = by_uid[&format!("task-{}@todo", plants["id"])];
    // RFC 5545 text escapes `;` and `,`; unescaped, it is the title as given.
    let unescaped = |v: &str| v.replace("\\;", ";").replace("\\,", ",").replace("\\n", "\n");
    assert_eq!(
        unescaped(&water["SUMMARY"]),
        plants["title"].as_str().expect("title")
    );
    assert_eq!(water["DUE"], "20310324T080000Z");
    assert_eq!(water["PRIORITY"], "1");
    assert_eq!(water["STATUS"], "NEEDS-ACTION");
    assert_eq!(water["RRULE"], "FREQ=WEEKLY;BYDAY=MO");
    assert!(water["CATEGORIES"].contains("home") && water["CATEGORIES"].contains("garden"));
    assert_eq!(
        unescaped(&water["DESCRIPTION"]),
        plants["description"].as_str().expect("description")
    );
    assert_eq!(alarms, &["20310324T073000Z"]);

    let (taxes, alarms) = by_uid[&format!("task-{}@todo", filed["id"])];
    assert_eq!(taxes["STATUS"], "COMPLETED");
    assert_eq!(taxes["PRIORITY"], "9");
    assert!(taxes.contains_key("COMPLETED"));
    assert!(alarms.is_empty());

    // The same UIDs at the next fetch: a calendar updates its entries, not adds.
    let again: Vec<String> = self::todos(&ics(&server, &ann).1)
        .into_iter()
        .map(|t| t.0["UID"].clone())
        .collect();
    let mut first: Vec<String> = by_uid.keys().cloned().collect();
    let mut second = again;
    first.sort();
    second.sort();
    assert_eq!(first, second);
}

#[test]
fn a_feed_reads_without_a_header_until_revoked_or_the_account_goes() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "feeds");
    must(
        &server,
        &ann,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": "Dentist", "due_at": "2031-05-02T09:00:00Z"})),
    );
    let (status, feed) = call(
        &server,
        &ann,
        Method::POST,
        "/api/auth/feeds",
        Some(json!({"name": "phone"})),
    );
    assert_eq!(status, 201, "{feed}");
    let path = feed["path"].as_str().expect("path").to_string();
    assert!(
        path.starts_with("/feeds/todo_feed_") && path.ends_with(".ics"),
        "{path}"
    );
    let fetch = |path: &str| http().get(server.url(path)).send().expect("feed");
    let read = fetch(&path);
    assert_eq!(read.status().as_u16(), 200);
    let text = read.text().expect("text");
    assert_eq!(todos(&text).len(), 1);
    assert_eq!(
        todos(&text),
        todos(&ics(&server, &ann).1),
        "the same as with a bearer"
    );

    let listed = must(&server, &ann, Method::GET, "/api/auth/feeds", None);
    assert_eq!(listed[0]["name"], "phone");
    assert!(listed[0].get("path").is_none(), "the address is shown once");
    // A guessed or mangled address finds nothing.
    for wrong in [
        "/feeds/todo_feed_x.ics",
        "/feeds/nothing",
        &path.replace(".ics", ".txt"),
    ] {
        assert_eq!(fetch(wrong).status().as_u16(), 404, "{wrong}");
    }
    must(
        &server,
        &ann,
        Method::DELETE,
        &format!("/api/auth/feeds/{}", feed["id"].as_str().expect("id")),
        None,
    );
    assert_eq!(fetch(&path).status().as_u16(), 404, "revoked at once");

    let (_, second) = call(
        &server,
        &ann,
        Method::POST,
        "/api/auth/feeds",
        Some(json!({"name": "laptop"})),
    );
    let second_path = second["path"].as_str().expect("path").to_string();
    assert_eq!(fetch(&second_path).status().as_u16(), 200);
    let deleted = http()
        .delete(server.url("/api/auth/account"))
        .bearer_auth(&ann.access_token)
        .json(&json!({"password": ann.password}))
        .send()
        .expect("delete account");
    assert_eq!(deleted.status().as_u16(), 204);
    assert_eq!(
        fetch(&second_path).status().as_u16(),
        404,
        "gone with the account"
    );
}

#[test]
fn a_personal_token_reads_the_calendar_with_tasks_read_and_never_makes_a_feed() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "feed-scope");
    let token: Value = must(
        &server,
        &ann,
        Method::POST,
        "/api/auth/tokens",
        Some(json!({"name": "read", "scopes": ["tasks:read"], "expires_in_days": 1})),
    );
    let token = token["token"].as_str().expect("token").to_string();
    let calendar = http()
        .get(server.url(&format!("/api/{}/calendar.ics", ann.id)))
        .bearer_auth(&token)
        .send()
        .expect("calendar");
    assert_eq!(calendar.status().as_u16(), 200);
    let feed = http()
        .post(server.url("/api/auth/feeds"))
        .bearer_auth(&token)
        .json(&json!({"name": "sneaky"}))
        .send()
        .expect("feed");
    assert_eq!(feed.status().as_u16(), 403, "a session manages feeds");
}

/// `todo calendar feed create` prints the address alone (for `$(...)`), which a
/// calendar app can read without a header; `list` never shows it; `revoke` ends it.
#[test]
fn todo_calendar_feed_makes_lists_and_revokes_feeds() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = todo_e2e::CliUser::new(&server);
    ann.sign_up("cli-feeds");
    ann.run(&["add", "Dentist", "--due", "2031-05-02 09:00"]).ok();
    let address = ann.run(&["calendar", "feed", "create", "phone"]).ok().stdout;
    let address = address.trim();
    assert!(
        address.starts_with("http://") && address.ends_with(".ics"),
        "{address}"
    );
    let read = http().get(address).send().expect("feed");
    assert_eq!(read.status().as_u16(), 200);
    assert_eq!(todos(&read.text().expect("text")).len(), 1);
    let listed = ann.run(&["calendar", "feed", "list"]).ok().stdout;
    assert!(
        listed.contains("phone") && !listed.contains("todo_feed_"),
        "{listed}"
    );
    let feeds = ann.run(&["calendar", "feed", "list", "--json"]).ok().json();
    let id = feeds[0]["id"].as_str().expect("id").replace('-', "");
    ann.run(&["calendar", "feed", "revoke", &id[..8]]).ok();
    assert_eq!(http().get(address).send().expect("feed").status().as_u16(), 404);
    let unknown = ann.run(&["calendar", "feed", "revoke", "ffffffff"]);
    assert_ne!(unknown.code, 0, "{unknown:?}");
}
