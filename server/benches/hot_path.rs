//! The cost of each part of a request: verifying an access token (cold and cached),
//! hashing and verifying a password, the indexed list query, and writing a list as JSON.
//!
//!     cargo bench -p todo-server --bench hot_path

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use todo_server::auth::passwords::PasswordHasherPool;
use todo_server::auth::tokens::TokenPolicy;
use todo_server::store::{self, NewSession, Store, UserRecord};
use todo_server::tasks::{Owner, TaskDraft, TaskQuery};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn tokens(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("dir");
    let db = open_store(&rt, &dir.path().join("bench.db"));
    let keys = rt
        .block_on(todo_server::auth::keys::KeyRing::load(
            db,
            Duration::from_secs(900),
            todo_server::auth::key_sealing::KeySealing::Clear,
            todo_server::clock::Clock::system(),
        ))
        .expect("keys");
    let policy = TokenPolicy {
        issuer: "http://bench".into(),
        audience: "http://bench".into(),
        access_ttl: Duration::from_secs(900),
    };
    let set = keys.current();
    let claims = policy.claims_for(
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        "a@b.io",
        time::OffsetDateTime::now_utc(),
    );
    let token = policy.sign(&set, &claims).expect("sign");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    c.bench_function("token: sign", |b| {
        b.iter(|| policy.sign(&set, black_box(&claims)))
    });
    c.bench_function("token: verify (Ed25519 + claims)", |b| {
        b.iter(|| policy.verify(&set, black_box(&token), now))
    });
    let cache = todo_server::auth::token_cache::TokenCache::default();
    let (verified, kid) = policy.verify_with_kid(&set, &token, now).expect("verify");
    cache.insert(&token, kid, verified, now);
    c.bench_function("token: verify cached (SHA-256 + lookup)", |b| {
        b.iter(|| cache.get(black_box(&token), &set, now).expect("hit"))
    });
    // A personal access token after first use: checksum and hash (two SHA-256) and the
    // in-memory lookup, as `authenticate_personal` does before the scope check.
    use todo_server::auth::personal_tokens;
    let (pat, hash) = personal_tokens::new_token();
    let pats = personal_tokens::PersonalTokenCache::new(std::time::Duration::from_secs(900));
    pats.insert(
        hash,
        todo_server::store::PersonalTokenRecord {
            id: uuid::Uuid::new_v4(),
            user_id: uuid::Uuid::new_v4(),
            name: "bench".into(),
            scopes: vec![todo_api::TokenScope::TasksRead],
            created_at: time::OffsetDateTime::now_utc(),
            expires_at: None,
            last_used_at: None,
            revoked: false,
        },
    );
    c.bench_function(
        "token: personal token cached (checksum + SHA-256 + lookup)",
        |b| {
            b.iter(|| {
                let hash = personal_tokens::parse(black_box(&pat)).expect("well formed");
                pats.get(&hash).expect("hit")
            })
        },
    );
}

fn passwords(c: &mut Criterion) {
    let rt = runtime();
    let pool = rt.block_on(PasswordHasherPool::new()).expect("pool");
    let hash = rt
        .block_on(pool.hash("bench-password-harbour".into()))
        .expect("hash");
    let mut group = c.benchmark_group("password");
    group.sample_size(10);
    group.bench_function("argon2id hash", |b| {
        b.iter(|| rt.block_on(pool.hash(black_box("bench-password-harbour".into()))))
    });
    group.bench_function("argon2id verify", |b| {
        b.iter(|| {
            rt.block_on(pool.verify(
                black_box("bench-password-harbour".into()),
                Some((uuid::Uuid::nil(), hash.clone())),
            ))
        })
    });
    group.finish();
}

fn open_store(rt: &tokio::runtime::Runtime, path: &std::path::Path) -> Store {
    let url = store::DatabaseUrl::Sqlite(path.to_path_buf());
    rt.block_on(store::open(&url, &store::PostgresOptions::default()))
        .expect("db")
}

fn list_query(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("dir");
    let db = open_store(&rt, &dir.path().join("bench.db"));
    // Owners come the way the server makes them: from a token's claims and the path.
    let policy = TokenPolicy {
        issuer: "http://bench".into(),
        audience: "http://bench".into(),
        access_ttl: Duration::from_secs(900),
    };
    let owners: Vec<Owner> = (0..100)
        .map(|_| {
            let id = uuid::Uuid::new_v4();
            let claims = policy.claims_for(
                id,
                uuid::Uuid::new_v4(),
                "a@b.io",
                time::OffsetDateTime::now_utc(),
            );
            Owner::of_path(claims.sub, &id.to_string()).expect("own path")
        })
        .collect();
    rt.block_on(async {
        for owner in &owners {
            let now = time::OffsetDateTime::now_utc();
            let user = UserRecord {
                user: todo_api::User {
                    id: owner.id(),
                    email: format!("{}@b.io", owner.id()),
                    name: None,
                    created_at: now,
                },
                password_hash: "x".into(),
                disabled_at: None,
            };
            let session = NewSession {
                session_id: uuid::Uuid::new_v4(),
                user_id: owner.id(),
                refresh_hash: owner.id().as_bytes().to_vec(),
                now,
                expires_at: now,
                user_agent: None,
                client_addr: None,
                verified_password_hash: None,
            };
            db.start_session(Some(user), session).await.expect("user");
            for i in 0..100 {
                let draft = TaskDraft::parse(todo_api::TaskInput {
                    title: format!("task {i}"),
                    ..Default::default()
                })
                .expect("draft");
                db.insert_task(*owner, None, None, &draft, time::OffsetDateTime::now_utc())
                    .await
                    .expect("task");
            }
        }
    });
    let query = TaskQuery::parse(todo_api::ListQuery {
        limit: Some(20),
        ..Default::default()
    })
    .expect("query");
    // Through the storage interface, as a request reaches it (a hop to a reader thread).
    c.bench_function("store: list 20 of 100 (10,000 rows)", |b| {
        b.iter(|| rt.block_on(db.list_tasks(black_box(owners[42]), &query)))
    });
    c.bench_function("store: get one", |b| {
        b.iter(|| rt.block_on(db.get_task(black_box(owners[42]), 4_201)))
    });

    // The response body of a list: serde straight to bytes (what the server sends) against
    // poem-openapi's `Json`, which builds a `serde_json::Value` tree first.
    let (page, _) = rt.block_on(db.list_tasks(owners[42], &query)).expect("list");
    c.bench_function("json: 20 tasks, serde to bytes", |b| {
        b.iter(|| serde_json::to_vec(black_box(&page)))
    });
    c.bench_function("json: 20 tasks, poem-openapi Value tree", |b| {
        use poem_openapi::types::ToJSON;
        b.iter(|| serde_json::to_vec(&black_box(&page).to_json()))
    });
}

criterion_group!(benches, tokens, passwords, list_query);
criterion_main!(benches);
