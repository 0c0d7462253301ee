//! Hostile input: arbitrary bytes, wrong types, deep nesting, invalid UTF-8, huge
//! headers and long query strings. Never a 5xx, never a dropped connection, always the
//! documented problem JSON.

use proptest::prelude::*;
use reqwest::blocking::{RequestBuilder, Response};
use std::sync::OnceLock;
use todo_e2e::{Account, TestServer, http, sign_up};

struct Target {
    server: TestServer,
    user: Account,
    /// Signs out on every sign-out case, so it never touches `user`'s session.
    sacrificial: Account,
    task_id: i64,
}

impl Target {
    /// The token a body route is called with: sign-out gets a fresh session of its own.
    fn token_for(&self, path: &str) -> String {
        if !path.ends_with("/sign-out") {
            return self.user.access_token.clone();
        }
        let body: serde_json::Value = http()
            .post(self.server.url("/api/auth/sign-in"))
            .json(
                &serde_json::json!({"email": self.sacrificial.email, "password": self.sacrificial.password}),
            )
            .send()
            .expect("sign-in")
            .json()
            .expect("json");
        body["access_token"].as_str().expect("token").to_string()
    }
}

/// One server for the whole file: proptest runs many cases.
fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        let server = TestServer::start(&["--no-rate-limit"]);
        let user = sign_up(&server, "hostile");
        let sacrificial = sign_up(&server, "sacrificial");
        let task: serde_json::Value = http()
            .post(server.url(&format!("/api/{}/tasks", user.id)))
            .bearer_auth(&user.access_token)
            .json(&serde_json::json!({"title": "target"}))
            .send()
            .expect("create")
            .json()
            .expect("json");
        let task_id = task["id"].as_i64().expect("id");
        Target {
            server,
            user,
            sacrificial,
            task_id,
        }
    })
}

/// Every route that takes a body, as (method, path, authenticated), read from the
/// server's own `/openapi.json`, so a route added later is attacked too. Path
/// parameters are filled with the user's id and the target task's id.
fn body_routes(t: &Target) -> &'static [(reqwest::Method, String, bool)] {
    static ROUTES: OnceLock<Vec<(reqwest::Method, String, bool)>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let spec: serde_json::Value = http()
            .get(t.server.url("/openapi.json"))
            .send()
            .expect("spec")
            .json()
            .expect("json");
        let mut routes = Vec::new();
        for (path, operations) in spec["paths"].as_object().expect("paths") {
            for (method, operation) in operations.as_object().expect("operations") {
                if operation.get("requestBody").is_none() {
                    continue;
                }
                let method: reqwest::Method = method.to_uppercase().parse().expect("method");
                let path = path
                    .replace("{user_id}", &t.user.id)
                    .replace("{id}", &t.task_id.to_string());
                let authenticated = operation.get("security").is_some();
                routes.push((method, path, authenticated));
            }
        }
        assert!(routes.len() >= 16, "every body route: {routes:?}");
        routes
    })
}

/// Every GET route with its query parameters' names, read from `/openapi.json` (so a
/// parameter added later is attacked too); `{user_id}` is the user's id and any other
/// path parameter is left for the case to fill.
fn get_routes(t: &Target) -> &'static [(String, Vec<String>)] {
    static ROUTES: OnceLock<Vec<(String, Vec<String>)>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let spec: serde_json::Value = http()
            .get(t.server.url("/openapi.json"))
            .send()
            .expect("spec")
            .json()
            .expect("json");
        let mut routes = Vec::new();
        for (path, operations) in spec["paths"].as_object().expect("paths") {
            let Some(get) = operations.get("get") else {
                continue;
            };
            let query: Vec<String> = get["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str().map(String::from))
                .collect();
            routes.push((path.replace("{user_id}", &t.user.id), query));
        }
        let parameters: usize = routes.iter().map(|(_, q)| q.len()).sum();
        assert!(parameters >= 10, "every query parameter: {routes:?}");
        routes
    })
}

/// Cases per property: 48 by default, more in CI (`TODO_HOSTILE_CASES`).
fn cases() -> u32 {
    std::env::var("TODO_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

fn send(rb: RequestBuilder) -> Response {
    rb.send().expect("the server answers (no dropped connection)")
}

/// Never 5xx; every error is problem JSON with a code.
fn assert_well_behaved(response: Response, what: &str) -> u16 {
    let status = response.status().as_u16();
    assert!(status < 500, "{what}: {status}");
    if status >= 400 {
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert_eq!(content_type, "application/problem+json", "{what}: {status}");
        let body: serde_json::Value = response.json().expect("problem body");
        assert!(
            body["code"].is_string() && body["status"] == status,
            "{what}: {body}"
        );
    }
    status
}

/// Any text, with controls (NUL among them) in every other case rather than rarely.
fn text_with_controls() -> impl Strategy<Value = String> {
    prop_oneof![".{1,40}", "(.|[\\x00-\\x1f\\x7f-\\x9f]){1,12}"]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("title".to_string()),
                    Just("email".to_string()),
                    Just("password".to_string()),
                    Just("tags".to_string()),
                    Just("due_at".to_string()),
                    Just("refresh_token".to_string()),
                    Just("priority".to_string()),
                    Just("all".to_string()),
                    "[a-z_]{1,8}".prop_map(String::from)
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_on_every_body_route(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let t = target();
        for (method, path, auth) in body_routes(t) {
            let mut rb = http().request(method.clone(), t.server.url(path)).header("content-type", "application/json").body(body.clone());
            if *auth { rb = rb.bearer_auth(t.token_for(path)); }
            assert_well_behaved(send(rb), &format!("{method} {path}"));
        }
    }

    #[test]
    fn arbitrary_json_of_wrong_shapes_and_types(value in json_value()) {
        let t = target();
        for (method, path, auth) in body_routes(t) {
            let mut rb = http().request(method.clone(), t.server.url(path)).json(&value);
            if *auth { rb = rb.bearer_auth(t.token_for(path)); }
            assert_well_behaved(send(rb), &format!("{method} {path} {value}"));
        }
    }

    #[test]
    fn arbitrary_query_strings_and_path_ids(query in "[ -~]{0,300}", id in "[ -~]{1,40}") {
        let t = target();
        let list = format!("{}/api/{}/tasks", t.server.base_url, t.user.id);
        let mut url = reqwest::Url::parse(&list).expect("url");
        url.set_query(Some(&query));
        assert_well_behaved(send(http().get(url).bearer_auth(&t.user.access_token)), &format!("list ?{query}"));
        let mut url = reqwest::Url::parse(&list).expect("url");
        url.path_segments_mut().expect("segments").push(&id);
        assert_well_behaved(send(http().get(url).bearer_auth(&t.user.access_token)), &format!("get {id}"));
    }

    /// Any text at all (controls, NUL, any plane) in every query parameter and path
    /// parameter of every GET route: a value no database can hold is refused, not a 500.
    #[test]
    fn arbitrary_text_in_every_query_and_path_parameter(value in text_with_controls(), id in text_with_controls()) {
        let t = target();
        for (path, query) in get_routes(t) {
            let mut url = reqwest::Url::parse(&t.server.url("/")).expect("url");
            let segments = path.split('/').skip(1).map(|s| s.replace("{id}", &id));
            url.path_segments_mut().expect("segments").pop_if_empty().extend(segments);
            // One parameter at a time: a value refused by the first parameter parsed
            // would otherwise shield every later one.
            for name in std::iter::once(None).chain(query.iter().map(Some)) {
                let mut url = url.clone();
                if let Some(name) = name {
                    url.query_pairs_mut().append_pair(name, &value);
                }
                let what = format!("GET {url}");
                assert_well_behaved(send(http().get(url).bearer_auth(&t.user.access_token)), &what);
            }
        }
    }

    #[test]
    fn arbitrary_bearer_tokens(token in "[!-~]{0,600}") {
        let t = target();
        let rb = http().get(t.server.url(&format!("/api/{}/tasks", t.user.id))).header("authorization", format!("Bearer {token}"));
        prop_assert_eq!(assert_well_behaved(send(rb), "token"), 401);
    }
}

#[test]
fn deep_nesting_invalid_utf8_long_queries_and_huge_headers() {
    let t = target();
    let tasks = t.server.url(&format!("/api/{}/tasks", t.user.id));
    let post = |body: Vec<u8>| {
        send(
            http()
                .post(&tasks)
                .bearer_auth(&t.user.access_token)
                .header("content-type", "application/json")
                .body(body),
        )
    };
    let nested = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    assert_eq!(assert_well_behaved(post(nested.into_bytes()), "30k nesting"), 400);
    let nested_object = format!("{}1{}", "{\"title\":".repeat(5_000), "}".repeat(5_000));
    assert_eq!(
        assert_well_behaved(post(nested_object.into_bytes()), "nested objects"),
        400
    );
    let mut invalid_utf8 = br#"{"title": ""#.to_vec();
    invalid_utf8.extend([0xff, 0xfe, 0xc3, 0x28]);
    invalid_utf8.extend(br#""}"#);
    assert_eq!(assert_well_behaved(post(invalid_utf8), "invalid UTF-8"), 400);
    assert_eq!(
        assert_well_behaved(post(vec![b'x'; 65 * 1024]), "over 64 KiB"),
        413
    );

    let long_query = format!("{tasks}?q={}", "a".repeat(8_000));
    assert_eq!(
        assert_well_behaved(
            send(http().get(long_query).bearer_auth(&t.user.access_token)),
            "long q"
        ),
        422
    );
    let huge_number = format!("{tasks}?limit=99999999999999999999");
    assert_eq!(
        assert_well_behaved(
            send(http().get(huge_number).bearer_auth(&t.user.access_token)),
            "huge limit"
        ),
        400
    );

    let big_token = "a".repeat(32 * 1024);
    let r = send(
        http()
            .get(&tasks)
            .header("authorization", format!("Bearer {big_token}")),
    );
    assert_eq!(assert_well_behaved(r, "32 KiB token"), 401);
    let r = send(
        http()
            .get(&tasks)
            .bearer_auth(&t.user.access_token)
            .header("x-filler", "b".repeat(32 * 1024)),
    );
    assert_eq!(assert_well_behaved(r, "32 KiB header"), 200);

    // Past hyper's own header buffer the connection gets a bare 431 from hyper itself;
    // what matters is that the server shrugs it off.
    let r = http()
        .get(&tasks)
        .header("x-filler", "c".repeat(1024 * 1024))
        .send();
    if let Ok(r) = r {
        assert!(r.status().as_u16() < 500, "{}", r.status());
    }
    assert_eq!(
        send(http().get(t.server.url("/healthz"))).status().as_u16(),
        200,
        "still up"
    );
}
