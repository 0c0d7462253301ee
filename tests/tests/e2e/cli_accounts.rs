//! Several accounts on one server through the real `todo` binary: each keeps its own
//! tokens, `todo auth switch` chooses the one in use, and signing out of one leaves the
//! other signed in (as `gh auth switch` does).

use serde_json::Value;
use todo_e2e::{CliUser, TestServer};

fn titles(user: &CliUser) -> Vec<String> {
    let listed = user.run(&["list", "--json"]).ok().json();
    listed
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["title"].as_str().expect("title").to_string())
        .collect()
}

fn accounts(user: &CliUser) -> Vec<(String, bool)> {
    let status = user.run(&["auth", "status", "--json"]).ok().json();
    status["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a: &Value| {
            (
                a["email"].as_str().expect("email").to_string(),
                a["active"].as_bool().expect("active"),
            )
        })
        .collect()
}

#[test]
fn two_accounts_keep_their_own_tokens_and_switch_chooses_the_one_in_use() {
    let server = TestServer::start(&[]);
    let cli = CliUser::new(&server);
    let (ann, _) = cli.sign_up("ann");
    cli.run(&["add", "ann's task"]).ok();
    let (bob, _) = cli.sign_up("bob");
    cli.run(&["add", "bob's task"]).ok();
    assert_eq!(titles(&cli), ["bob's task"], "the last sign-in is in use");
    let mut listed = accounts(&cli);
    listed.sort();
    let mut expected = vec![(ann.clone(), false), (bob.clone(), true)];
    expected.sort();
    assert_eq!(listed, expected);

    let switched = cli.run(&["auth", "switch"]).ok();
    assert!(switched.stderr.contains(&ann), "{switched:?}");
    assert_eq!(titles(&cli), ["ann's task"], "the other of two");
    cli.run(&["auth", "switch", &bob.to_uppercase()]).ok();
    assert_eq!(titles(&cli), ["bob's task"], "by email, in any case");

    let unknown = cli.run(&["auth", "switch", "cat@example.com"]);
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(
        unknown.stderr.contains(&ann) && unknown.stderr.contains(&bob),
        "names the accounts there are: {unknown:?}"
    );
    assert_eq!(titles(&cli), ["bob's task"], "a failed switch changes nothing");

    let status = cli.run(&["auth", "status"]).ok();
    assert!(
        status.stdout.contains("Accounts:") && status.stdout.contains(&format!("* {bob}")),
        "{status:?}"
    );

    let signed_out = cli.run(&["auth", "signout"]).ok();
    assert!(
        signed_out.stderr.contains(&format!("Now using {ann}")),
        "{signed_out:?}"
    );
    assert_eq!(titles(&cli), ["ann's task"], "ann's tokens still work");
    assert_eq!(accounts(&cli), [(ann.clone(), true)]);
    cli.run(&["auth", "signout"]).ok();
    assert_eq!(cli.run(&["list"]).code, 4, "nobody is signed in now");
}

#[test]
fn todo_token_decides_the_account_so_switch_refuses() {
    let server = TestServer::start(&[]);
    let cli = CliUser::new(&server);
    cli.sign_up("ann");
    let token = cli.run(&["auth", "token"]).ok().stdout.trim().to_string();
    let scripted = cli.with_env("TODO_TOKEN", &token);
    let refused = scripted.run(&["auth", "switch"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("TODO_TOKEN"), "{refused:?}");
}
