//! What an attacker can do on the wire before any route runs: other protocols, slow
//! headers, odd framing. Raw sockets, because a well-behaved client cannot send these.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use todo_api::ProblemCode;

use todo_e2e::{TestServer, http};

fn connect(server: &TestServer) -> TcpStream {
    let stream = TcpStream::connect(server.address()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    stream
}

/// Sends `raw` and reads until the server closes or stops answering.
fn exchange(server: &TestServer, raw: &[u8]) -> Vec<u8> {
    let mut stream = connect(server);
    stream.write_all(raw).expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// HTTP/2 with prior knowledge is not spoken at all, so no body can arrive without the
/// framing the body limit reads. A server that speaks it answers the preface with its
/// own SETTINGS frame (type 0x04 in the fourth byte).
#[test]
fn http2_prior_knowledge_is_not_served() {
    let server = TestServer::start(&[]);
    let mut raw = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    raw.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // an empty SETTINGS frame
    let answer = exchange(&server, &raw);
    let is_h2_settings = answer.len() >= 9 && answer[3] == 4;
    assert!(!is_h2_settings, "the server spoke HTTP/2: {answer:?}");
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 "),
        "{}",
        text(&answer)
    );
}

#[test]
fn a_chunked_body_is_cut_at_the_limit_while_it_is_read() {
    let server = TestServer::start(&[]);
    let mut stream = connect(&server);
    let head = format!(
        "POST /api/auth/sign-in HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        server.address()
    );
    stream.write_all(head.as_bytes()).expect("head");
    // 1 MiB in 16 KiB chunks; the server answers after 64 KiB and stops reading.
    let chunk = format!("4000\r\n{}\r\n", "a".repeat(0x4000));
    let mut answer = Vec::new();
    for _ in 0..64 {
        if stream.write_all(chunk.as_bytes()).is_err() {
            break;
        }
    }
    let _ = stream.read_to_end(&mut answer);
    let answer = text(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(ProblemCode::PayloadTooLarge.as_str()), "{answer}");
}

/// One header line every 300 ms never completes a request: the connection is closed
/// after the header timeout, however long the drip would last.
#[test]
fn headers_that_drip_in_are_cut_off() {
    let server = TestServer::start(&["--header-timeout", "1s", "--idle-timeout", "30s"]);
    let mut stream = connect(&server);
    let start = Instant::now();
    stream
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n", server.address()).as_bytes())
        .expect("request line");
    let mut closed = false;
    for n in 0..40 {
        std::thread::sleep(Duration::from_millis(300));
        if stream.write_all(format!("X-Drip-{n}: 1\r\n").as_bytes()).is_err() {
            closed = true;
            break;
        }
        stream
            .set_read_timeout(Some(Duration::from_millis(1)))
            .expect("timeout");
        let mut buf = [0u8; 64];
        // Any answer (a close, or a 408) ends the drip.
        if stream.read(&mut buf).is_ok() {
            closed = true;
            break;
        }
    }
    assert!(closed, "the drip was never cut off");
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "cut off after about the header timeout: {:?}",
        start.elapsed()
    );
}

/// With every connection slot taken by header drips, a real client still gets in once
/// the header timeout frees them.
#[test]
fn header_drips_cannot_hold_every_connection() {
    let server = TestServer::start(&["--max-connections", "4", "--header-timeout", "1s"]);
    let drips: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = connect(&server);
            s.write_all(b"GET /healthz HTTP/1.1\r\n").expect("write");
            s
        })
        .collect();
    let response = http()
        .get(server.url("/healthz"))
        .send()
        .expect("served once the drips are cut off");
    assert_eq!(response.status().as_u16(), 200);
    drop(drips);
}

fn raw_request(server: &TestServer, headers: &str) -> String {
    text(&exchange(
        server,
        format!("GET /healthz HTTP/1.1\r\n{headers}Connection: close\r\n\r\n").as_bytes(),
    ))
}

#[test]
fn a_request_without_exactly_one_host_is_refused_as_problem_json() {
    let server = TestServer::start(&[]);
    let host = format!("Host: {}\r\n", server.address());
    assert!(raw_request(&server, &host).starts_with("HTTP/1.1 200"));
    for headers in [String::new(), format!("{host}{host}")] {
        let answer = raw_request(&server, &headers);
        assert!(answer.starts_with("HTTP/1.1 400"), "{headers:?}: {answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
    }
}

#[test]
fn a_transfer_coding_other_than_chunked_is_not_implemented() {
    let server = TestServer::start(&[]);
    let answer = text(&exchange(
        &server,
        format!(
            "POST /api/auth/sign-in HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n",
            server.address()
        )
        .as_bytes(),
    ));
    assert!(answer.starts_with("HTTP/1.1 501"), "{answer}");
    assert!(
        answer.contains(ProblemCode::UnsupportedTransferEncoding.as_str()),
        "{answer}"
    );
}
