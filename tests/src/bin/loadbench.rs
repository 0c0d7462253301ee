//! loadbench: starts the release `todo-server` on a temporary database, seeds users and
//! tasks, and drives HTTP load over loopback for a fixed time per scenario. Prints
//! requests/s, p50/p99/max latency, errors, the server's peak RSS and the cores each
//! side used, with every scenario's ratio to `GET /healthz` measured in the same run.
//!
//!     cargo build --release -p todo-server && cargo run --release -p todo-e2e --bin loadbench
//!     loadbench [--seconds N] [--connections N] [--json FILE] [--scale]
//!     loadbench --postgres [--replicas N]   (SQLite against PostgreSQL, 1 and N servers)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use todo_e2e::TestServer;

/// Drives HTTP load against the release todo-server over loopback.
#[derive(clap::Parser)]
#[command(about, long_about = None)]
struct Options {
    /// Seconds each scenario runs
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent connections
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Also write the figures to this JSON file
    #[arg(long)]
    json: Option<String>,
    /// Also run the 1,000,000-task scenarios
    #[arg(long)]
    scale: bool,
    /// Compare storage backends instead: SQLite, then PostgreSQL with one server and
    /// with --replicas servers (a throw-away cluster is started here)
    #[arg(long)]
    postgres: bool,
    /// Servers on the one PostgreSQL database in the --postgres comparison
    #[arg(long, default_value_t = 2)]
    replicas: usize,
    /// Event streams held open (across the 64 users) for the streams scenario; 0 skips it
    #[arg(long, default_value_t = 1000)]
    streams: usize,
}

fn options() -> Options {
    <Options as clap::Parser>::parse()
}

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[derive(Clone)]
struct User {
    id: String,
    email: String,
    token: String,
    tasks: Vec<i64>,
}

const PASSWORD: &str = "loadbench-harbour-violet-42";

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    Health,
    List,
    Get,
    Create,
    Toggle,
    Mix,
    SignIn,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Health => "healthz",
            Scenario::List => "list 20",
            Scenario::Get => "get one",
            Scenario::Create => "create",
            Scenario::Toggle => "toggle",
            Scenario::Mix => "mix 70/20/10",
            Scenario::SignIn => "sign-in",
        }
    }
}

async fn one_request(
    client: &reqwest::Client,
    base: &str,
    user: &User,
    scenario: Scenario,
    n: usize,
) -> bool {
    let scenario = match scenario {
        Scenario::Mix => match n % 10 {
            0 => Scenario::Create,
            1 | 2 => Scenario::Toggle,
            3..=6 => Scenario::List,
            _ => Scenario::Get,
        },
        s => s,
    };
    let task = user.tasks[n % user.tasks.len()];
    let request = match scenario {
        Scenario::Health => client.get(format!("{base}/healthz")),
        Scenario::List => client
            .get(format!("{base}/api/{}/tasks?limit=20", user.id))
            .bearer_auth(&user.token),
        Scenario::Get => client
            .get(format!("{base}/api/{}/tasks/{task}", user.id))
            .bearer_auth(&user.token),
        Scenario::Create => client
            .post(format!("{base}/api/{}/tasks", user.id))
            .bearer_auth(&user.token)
            .json(&json!({"title": format!("load {n}")})),
        Scenario::Toggle => client
            .patch(format!("{base}/api/{}/tasks/{task}/complete", user.id))
            .bearer_auth(&user.token),
        Scenario::SignIn => client
            .post(format!("{base}/api/auth/sign-in"))
            .json(&json!({"email": user.email, "password": PASSWORD})),
        Scenario::Mix => unreachable_mix(),
    };
    match request.send().await {
        Ok(r) => {
            let ok = r.status().is_success();
            let _ = r.bytes().await;
            ok
        }
        Err(_) => false,
    }
}

fn unreachable_mix() -> reqwest::RequestBuilder {
    // Mix is resolved to a concrete scenario above; never reached.
    reqwest::Client::new().get("http://127.0.0.1:9/")
}

struct Measured {
    name: String,
    requests: usize,
    errors: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    server_cores: f64,
    client_cores: f64,
    peak_rss_mib: f64,
    /// Requests per second the background flood completed (sign-ins).
    background_rps: f64,
}

/// The servers under load (connections spread over them) and the accounts to load them
/// with.
struct Target<'a> {
    client: &'a reqwest::Client,
    bases: &'a [String],
    pids: &'a [u32],
    users: &'a [User],
}

/// Runs `scenario` on `connections` workers for `seconds`, plus an optional background
/// flood of `flood` sign-in workers, counted apart (`background_rps`).
async fn measure(
    target: &Target<'_>,
    scenario: Scenario,
    connections: usize,
    seconds: u64,
    flood: usize,
) -> Measured {
    let Target {
        client,
        bases,
        pids,
        users,
    } = *target;
    let stop = Arc::new(AtomicBool::new(false));
    let servers_cpu = || -> f64 { pids.iter().map(|p| cpu_seconds(&p.to_string())).sum() };
    let (server_cpu, client_cpu) = (servers_cpu(), cpu_seconds("self"));
    let start = Instant::now();
    let mut workers = Vec::new();
    for w in 0..connections + flood {
        let (client, base, stop) = (client.clone(), bases[w % bases.len()].clone(), stop.clone());
        let user = users[w % users.len()].clone();
        let (kind, counted) = if w < connections {
            (scenario, true)
        } else {
            (Scenario::SignIn, false)
        };
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut n = w * 7919;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = one_request(&client, &base, &user, kind, n).await;
                latencies.push(t.elapsed().as_micros() as u64);
                errors += usize::from(!ok);
                n += 1;
            }
            if counted {
                (latencies, errors, 0)
            } else {
                (Vec::new(), 0, latencies.len() - errors)
            }
        }));
    }
    let mut peak_rss = 0;
    let deadline = start + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak_rss = peak_rss.max(pids.iter().map(|p| rss_kib(*p, "VmRSS:")).sum());
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    let mut background = 0;
    for w in workers {
        if let Ok((l, e, b)) = w.await {
            all.extend(l);
            errors += e;
            background += b;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    Measured {
        name: if flood > 0 {
            format!("{} + sign-in flood", scenario.name())
        } else {
            scenario.name().to_string()
        },
        requests: all.len(),
        errors,
        rps: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: all.last().copied().unwrap_or(0) as f64 / 1000.0,
        server_cores: (servers_cpu() - server_cpu) / elapsed,
        client_cores: (cpu_seconds("self") - client_cpu) / elapsed,
        peak_rss_mib: peak_rss as f64 / 1024.0,
        background_rps: background as f64 / elapsed,
    }
}

struct StreamsReport {
    mix: Measured,
    summary: String,
}

/// Opens `count` event streams spread over the users, measures what an idle stream
/// costs the server, then runs the mix with them open while a probe measures the time
/// from a create's 201 to its event arriving on the creator's stream.
async fn with_streams(target: &Target<'_>, count: usize, connections: usize, seconds: u64) -> StreamsReport {
    use std::collections::HashMap;
    use tokio::sync::mpsc;
    let streaming = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let pid = target.pids[0];
    let before = rss_kib(pid, "VmRSS:");
    let (arrivals, mut arrived) = mpsc::unbounded_channel::<(i64, Instant)>();
    let mut readers = Vec::new();
    for n in 0..count {
        let user = &target.users[n % target.users.len()];
        let response = streaming
            .get(format!("{}/api/{}/events", target.bases[0], user.id))
            .bearer_auth(&user.token)
            .send()
            .await
            .expect("stream");
        assert_eq!(response.status().as_u16(), 200, "stream {n} refused");
        // The first stream of each user reports arrivals.
        let report = (n < target.users.len()).then(|| arrivals.clone());
        readers.push(tokio::spawn(read_stream(response, report)));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(pid, "VmRSS:");
    let per_stream_kib = (after.saturating_sub(before)) as f64 / count as f64;

    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let (client, base, users, stop) = (
            target.client.clone(),
            target.bases[0].clone(),
            target.users.to_vec(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let mut acked: HashMap<i64, Instant> = HashMap::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let user = &users[n % users.len()];
                n += 1;
                let body = post_json(
                    &client,
                    format!("{base}/api/{}/tasks", user.id),
                    Some(&user.token),
                    json!({"title": format!("probe {n}")}),
                )
                .await;
                if let Some(id) = body["id"].as_i64() {
                    acked.insert(id, Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            acked
        })
    };
    let mut mix = measure(target, Scenario::Mix, connections, seconds, 0).await;
    mix.name = format!("mix + {count} streams");
    stop.store(true, Ordering::Relaxed);
    let acked = probe.await.unwrap_or_default();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut seen: HashMap<i64, Instant> = HashMap::new();
    while let Ok((id, at)) = arrived.try_recv() {
        seen.entry(id).or_insert(at);
    }
    let mut latencies: Vec<f64> = acked
        .iter()
        .filter_map(|(id, ack)| {
            seen.get(id)
                .map(|at| at.saturating_duration_since(*ack).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let missing = acked.len() - latencies.len();
    for reader in readers {
        reader.abort();
    }
    StreamsReport {
        mix,
        summary: format!(
            "{count} streams: {per_stream_kib:.1} KiB server RSS each when idle; event latency from 201 to arrival \
             p50 {:.1} ms, p99 {:.1} ms over {} probes ({missing} not seen)",
            pct(0.5),
            pct(0.99),
            latencies.len()
        ),
    }
}

/// Reads one stream, reporting each event's task id and arrival time.
async fn read_stream(
    mut response: reqwest::Response,
    report: Option<tokio::sync::mpsc::UnboundedSender<(i64, Instant)>>,
) {
    let mut pending = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let Some(report) = &report else { continue };
        let at = Instant::now();
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            if let Some(data) = line.strip_prefix(b"data: ")
                && let Ok(event) = serde_json::from_slice::<Value>(data)
                && let Some(id) = event["task"]["id"].as_i64()
            {
                let _ = report.send((id, at));
            }
        }
    }
}

async fn post_json(client: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut rb = client.post(url).json(&body);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    match rb.send().await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(e) => panic!("seeding failed: {e}"),
    }
}

async fn seed_users(
    client: &reqwest::Client,
    base: &str,
    count: usize,
    tasks_each: usize,
    tag: &str,
) -> Vec<User> {
    let mut users = Vec::new();
    for i in 0..count {
        let email = format!("{tag}{i}@bench.test");
        let body = post_json(
            client,
            format!("{base}/api/auth/sign-up"),
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
        let id = body["user"]["id"].as_str().unwrap_or_default().to_string();
        let token = body["access_token"].as_str().unwrap_or_default().to_string();
        let mut tasks = Vec::new();
        for t in 0..tasks_each {
            let task = post_json(
                client,
                format!("{base}/api/{id}/tasks"),
                Some(&token),
                json!({"title": format!("seed {t}"), "tags": ["bench"]}),
            )
            .await;
            tasks.push(task["id"].as_i64().unwrap_or(0));
        }
        users.push(User {
            id,
            email,
            token,
            tasks,
        });
    }
    users
}

/// Adds `users` x `tasks_each` rows straight into SQLite (a copy of one real account's
/// password hash), for the scale run.
fn bulk_seed(db: &std::path::Path, users: usize, tasks_each: usize) {
    let mut conn = rusqlite::Connection::open(db).expect("open db");
    let hash: String = conn
        .query_row("SELECT password_hash FROM users LIMIT 1", [], |r| r.get(0))
        .expect("a template user");
    let tx = conn.transaction().expect("tx");
    {
        let mut user = tx
            .prepare("INSERT INTO users (id, email, password_hash, created_at) VALUES (?1, ?2, ?3, 0)")
            .expect("prep");
        let mut task = tx
            .prepare("INSERT INTO tasks (user_id, title, tags, created_at, updated_at) VALUES (?1, ?2, '[\"bulk\"]', ?3, ?3)")
            .expect("prep");
        for u in 0..users {
            let id = format!("00000000-0000-4000-8000-{u:012}");
            user.execute(rusqlite::params![id, format!("bulk{u}@bench.test"), hash])
                .expect("user");
            for t in 0..tasks_each {
                task.execute(rusqlite::params![
                    id,
                    format!("bulk task {t}"),
                    (u * tasks_each + t) as i64
                ])
                .expect("task");
            }
        }
    }
    tx.commit().expect("commit");
}

fn print_table(results: &[Measured], ceiling: f64) {
    println!(
        "{:<28} {:>10} {:>8} {:>9} {:>9} {:>9} {:>7} {:>8} {:>8} {:>9}",
        "scenario",
        "req/s",
        "errors",
        "p50 ms",
        "p99 ms",
        "max ms",
        "/health",
        "srv cpu",
        "cli cpu",
        "peak RSS"
    );
    for m in results {
        println!(
            "{:<28} {:>10.0} {:>8} {:>9.2} {:>9.2} {:>9.1} {:>6.0}% {:>8.2} {:>8.2} {:>6.1} MiB",
            m.name,
            m.rps,
            m.errors,
            m.p50_ms,
            m.p99_ms,
            m.max_ms,
            100.0 * m.rps / ceiling,
            m.server_cores,
            m.client_cores,
            m.peak_rss_mib
        );
    }
}

fn main() {
    todo_e2e::install_tls();
    let o = options();
    // The client gets one thread: the server keeps the rest of the machine.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if o.postgres {
        runtime.block_on(compare_backends(o));
    } else {
        runtime.block_on(run(o));
    }
}

/// The same scenarios on SQLite, on PostgreSQL with one server, and on PostgreSQL with
/// `--replicas` servers, each as a ratio to SQLite's figure and to its own `/healthz`.
async fn compare_backends(o: Options) {
    let Some(bin) = todo_e2e::postgres::bindir() else {
        eprintln!("loadbench --postgres: no PostgreSQL binaries (install postgresql)");
        std::process::exit(2);
    };
    let cluster = todo_e2e::postgres::PgCluster::start(&bin);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.connections * 2)
        .build()
        .expect("client");
    let args = ["--no-rate-limit", "--issuer", "http://loadbench"];
    let configs = [
        ("sqlite".to_string(), None, 1),
        ("postgres x1".to_string(), Some(cluster.create_database()), 1),
        (
            format!("postgres x{}", o.replicas),
            Some(cluster.create_database()),
            o.replicas.max(1),
        ),
    ];
    let scenarios = [
        Scenario::Health,
        Scenario::List,
        Scenario::Get,
        Scenario::Create,
        Scenario::Mix,
    ];
    let mut table: Vec<(String, Vec<Measured>)> = Vec::new();
    for (name, url, replicas) in configs {
        let servers: Vec<TestServer> = match &url {
            None => vec![TestServer::start(&args)],
            Some(url) => (0..replicas).map(|_| TestServer::start_on(url, &args)).collect(),
        };
        let bases: Vec<String> = servers.iter().map(|s| s.base_url.clone()).collect();
        let pids: Vec<u32> = servers.iter().map(TestServer::pid).collect();
        eprintln!("{name}: seeding 64 users x 20 tasks...");
        let users = seed_users(&client, &bases[0], 64, 20, "u").await;
        let target = Target {
            client: &client,
            bases: &bases,
            pids: &pids,
            users: &users,
        };
        let mut results = Vec::new();
        for scenario in scenarios {
            eprintln!("{name}: running {} for {} s...", scenario.name(), o.seconds);
            results.push(measure(&target, scenario, o.connections, o.seconds, 0).await);
        }
        table.push((name, results));
    }
    println!(
        "todo-server loadbench --postgres: {} connections, {} s per scenario, {} cores shared by client, servers and PostgreSQL",
        o.connections,
        o.seconds,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<14} {:<14} {:>9} {:>7} {:>8} {:>8} {:>9} {:>9}",
        "backend", "scenario", "req/s", "errors", "p99 ms", "/sqlite", "/healthz", "srv cpu"
    );
    let sqlite_rps: Vec<f64> = table[0].1.iter().map(|m| m.rps).collect();
    for (name, results) in &table {
        let health = results[0].rps;
        for (i, m) in results.iter().enumerate() {
            println!(
                "{:<14} {:<14} {:>9.0} {:>7} {:>8.2} {:>7.2}x {:>8.2}x {:>9.2}",
                name,
                m.name,
                m.rps,
                m.errors,
                m.p99_ms,
                m.rps / sqlite_rps[i],
                m.rps / health,
                m.server_cores
            );
        }
    }
}

async fn run(o: Options) {
    let server = TestServer::start(&["--no-rate-limit", "--max-connections", "4096"]);
    let pid = server.pid();
    let base = server.base_url.clone();
    let idle_rss = {
        tokio::time::sleep(Duration::from_millis(300)).await;
        rss_kib(pid, "VmRSS:") as f64 / 1024.0
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.connections * 2)
        .build()
        .expect("client");
    eprintln!("seeding 64 users x 20 tasks...");
    let users = seed_users(&client, &base, 64, 20, "u").await;
    let (c, s) = (o.connections, o.seconds);
    let (bases, pids) = ([base.clone()], [pid]);
    let target = Target {
        client: &client,
        bases: &bases,
        pids: &pids,
        users: &users,
    };
    let mut results = Vec::new();
    for scenario in [Scenario::Health, Scenario::List] {
        eprintln!("running {} for {s} s...", scenario.name());
        results.push(measure(&target, scenario, c, s, 0).await);
    }
    // Right after the plain list and before anything creates tasks, so both lists read
    // the same data (creates make every user's list, and its COUNT, longer).
    eprintln!("running list under a sign-in flood, then sign-in alone...");
    results.push(measure(&target, Scenario::List, c, s, 8).await);
    results.push(measure(&target, Scenario::SignIn, 8, s, 0).await);
    for scenario in [Scenario::Get, Scenario::Create, Scenario::Toggle, Scenario::Mix] {
        eprintln!("running {} for {s} s...", scenario.name());
        results.push(measure(&target, scenario, c, s, 0).await);
    }

    let streams = if o.streams > 0 {
        eprintln!(
            "opening {} event streams, then the mix with them open...",
            o.streams
        );
        let report = with_streams(&target, o.streams, c, s).await;
        results.push(report.mix);
        Some(report.summary)
    } else {
        None
    };

    let peak_rss = rss_kib(pid, "VmHWM:") as f64 / 1024.0;
    let rss_after = {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss_kib(pid, "VmRSS:") as f64 / 1024.0
    };
    if o.scale {
        eprintln!("scale: adding 10,000 users x 100 tasks (1,000,000 tasks) straight into SQLite...");
        let dir = server.stop();
        bulk_seed(&dir.path().join("todo.db"), 10_000, 100);
        let server = TestServer::start_in(dir, &["--no-rate-limit"]);
        let base = server.base_url.clone();
        let mut big_users = Vec::new();
        for u in [0usize, 4_999, 9_999] {
            let body = post_json(
                &client,
                format!("{base}/api/auth/sign-in"),
                None,
                json!({"email": format!("bulk{u}@bench.test"), "password": PASSWORD}),
            )
            .await;
            let id = body["user"]["id"].as_str().unwrap_or_default().to_string();
            let token = body["access_token"].as_str().unwrap_or_default().to_string();
            let list: Value = client
                .get(format!("{base}/api/{id}/tasks?limit=100"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("json");
            let tasks = list
                .as_array()
                .map(|a| a.iter().filter_map(|t| t["id"].as_i64()).collect())
                .unwrap_or_default();
            big_users.push(User {
                id,
                email: String::new(),
                token,
                tasks,
            });
        }
        for scenario in [Scenario::List, Scenario::Get] {
            let (bases, pids) = ([base.clone()], [server.pid()]);
            let big = Target {
                client: &client,
                bases: &bases,
                pids: &pids,
                users: &big_users,
            };
            let mut m = measure(&big, scenario, c, s, 0).await;
            m.name = format!("{} @1M tasks", m.name);
            results.push(m);
        }
        drop(server);
    }

    let ceiling = results[0].rps;
    println!(
        "todo-server loadbench: {c} connections, {s} s per scenario, client on 1 thread, {} cores here",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    print_table(&results, ceiling);
    for m in results.iter().filter(|m| m.background_rps > 0.0) {
        println!(
            "{}: the flood completed {:.0} sign-ins/s",
            m.name, m.background_rps
        );
    }
    println!(
        "server RSS idle {idle_rss:.1} MiB at start, {rss_after:.1} MiB idle after the runs; \
         peak over the small-database scenarios (VmHWM) {peak_rss:.1} MiB"
    );
    if let Some(summary) = &streams {
        let without = results
            .iter()
            .find(|m| m.name == Scenario::Mix.name())
            .map_or(1.0, |m| m.rps);
        let with = results.last().map_or(0.0, |m| m.rps);
        println!(
            "{summary}; mix with them open {:.0} req/s = {:.2}x the mix without",
            with,
            with / without
        );
    }
    if let Some(path) = o.json {
        let rows: Vec<Value> = results
            .iter()
            .map(|m| json!({"scenario": m.name, "requests": m.requests, "errors": m.errors, "rps": m.rps, "p50_ms": m.p50_ms,
                            "p99_ms": m.p99_ms, "max_ms": m.max_ms, "ratio_to_healthz": m.rps / ceiling,
                            "server_cores": m.server_cores, "client_cores": m.client_cores, "peak_rss_mib": m.peak_rss_mib,
                            "background_rps": m.background_rps}))
            .collect();
        let report = json!({"connections": c, "seconds": s, "idle_rss_mib": idle_rss, "idle_rss_after_mib": rss_after,
                            "peak_rss_mib": peak_rss, "scenarios": rows});
        if let Err(e) = std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap_or_default()) {
            eprintln!("loadbench: cannot write {path}: {e}");
        }
    }
}
