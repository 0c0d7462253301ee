//! The `todo project` and `todo invitations` commands, and `--project` on add and list,
//! over a real server.

use todo_e2e::{CliUser, TestServer};

#[test]
fn two_people_share_a_project_through_the_cli() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = CliUser::new(&server);
    let (_, _) = ann.sign_up("ann");
    let sam = CliUser::new(&server);
    let (sam_email, _) = sam.sign_up("sam");

    ann.run(&["project", "add", "Household"]).ok();
    let projects = ann.run(&["project", "list", "--json"]).ok().json();
    assert_eq!(projects[0]["name"], "Household");
    assert_eq!(projects[0]["role"], "owner");

    ann.run(&["project", "share", "household", &sam_email, "--role", "editor"])
        .ok();
    let invitations = sam.run(&["invitations", "--json"]).ok().json();
    let id = invitations[0]["id"].as_str().expect("id").replace('-', "");
    sam.run(&["invitations", "accept", &id[..8]]).ok();

    // Taskwarrior's project:NAME and --project both put the task in the project.
    ann.run(&["add", "Buy", "milk", "project:Household"]).ok();
    sam.run(&["add", "Fix the tap", "--project", "household"]).ok();
    ann.run(&["add", "Personal errand"]).ok();

    let shared = sam.run(&["list", "--project", "Household", "--json"]).ok().json();
    let titles: Vec<&str> = shared
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["title"].as_str())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(titles.contains(&"Buy milk") && titles.contains(&"Fix the tap"));
    let table = ann.run(&["list"]).ok().stdout;
    assert!(
        table.contains("[Household]"),
        "the project shows in the table: {table}"
    );
    let personal = ann.run(&["list", "--project", "none", "--json"]).ok().json();
    assert_eq!(personal.as_array().map(Vec::len), Some(1));

    // A viewer cannot write: a clear message and exit 1, not "not signed in".
    ann.run(&["project", "role", "Household", &sam_email, "viewer"])
        .ok();
    let refused = sam.run(&["add", "Not allowed", "--project", "Household"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("role"), "{}", refused.stderr);

    let members = ann
        .run(&["project", "members", "Household", "--json"])
        .ok()
        .json();
    assert_eq!(members.as_array().map(Vec::len), Some(2));
    sam.run(&["project", "leave", "Household"]).ok();
    let gone = sam.run(&["list", "--project", "Household"]);
    assert_eq!(gone.code, 3, "no such project any more: {gone:?}");

    let unsure = ann.run(&["project", "rm", "Household"]);
    assert_eq!(unsure.code, 2, "deleting asks for --yes: {unsure:?}");
    ann.run(&["project", "rm", "Household", "--yes"]).ok();
    let left = ann.run(&["list", "--json"]).ok().json();
    assert_eq!(
        left.as_array().map(Vec::len),
        Some(1),
        "only the personal task is left"
    );
}

#[test]
fn todo_add_recur_repeats_in_the_local_zone_and_done_adds_the_next() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = CliUser::new(&server).with_env("TZ", "Europe/Berlin");
    ann.sign_up("recur");
    let added = ann
        .run(&[
            "add",
            "Water plants",
            "--due",
            "2031-03-24 09:00",
            "--recur",
            "weekly",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(added["recurrence"]["rule"], "FREQ=WEEKLY");
    assert_eq!(added["due_at"], "2031-03-24T08:00:00Z");
    let id = added["id"].as_i64().expect("id").to_string();
    ann.run(&["done", &id]).ok();
    let pending = ann.run(&["list", "--json"]).ok().json();
    assert_eq!(
        pending[0]["due_at"], "2031-03-31T07:00:00Z",
        "09:00 in Berlin after the clocks change"
    );
    assert_eq!(pending[0]["occurrence"], 2);
    let shown = ann
        .run(&["show", pending[0]["id"].to_string().as_str()])
        .ok()
        .stdout;
    assert!(shown.contains("repeats:   FREQ=WEEKLY"), "{shown}");
    let refused = ann.run(&["add", "No date", "--recur", "daily"]);
    assert_eq!(refused.code, 2, "--recur needs --due: {refused:?}");
}
