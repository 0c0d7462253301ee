//! The server address as people type it: `127.0.0.1:8000` means
//! `http://127.0.0.1:8000`, and a remote host without a scheme means https.

/// The URL to use for `given`, and a note to show when a scheme was chosen for the
/// user. Loopback hosts get `http://` (the server speaks plain HTTP there); any other
/// host gets `https://`, since tokens must not cross a network in the clear.
pub fn server_url(given: &str) -> (String, Option<String>) {
    let given = given.trim().trim_end_matches('/');
    if given.contains("://") {
        return (given.to_string(), None);
    }
    let host = given
        .strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| given.split(':').next().unwrap_or(given));
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        (format!("http://{given}"), None)
    } else {
        let url = format!("https://{given}");
        let note = format!("no scheme in the server address; using {url}");
        (url, Some(note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_gets_http_and_anything_else_https_with_a_note() {
        assert_eq!(
            server_url("127.0.0.1:8000"),
            ("http://127.0.0.1:8000".into(), None)
        );
        assert_eq!(
            server_url("localhost:8000/"),
            ("http://localhost:8000".into(), None)
        );
        assert_eq!(server_url("[::1]:8000"), ("http://[::1]:8000".into(), None));
        let (url, note) = server_url("todo.example.com");
        assert_eq!(url, "https://todo.example.com");
        assert!(note.is_some_and(|n| n.contains("https://todo.example.com")));
        assert_eq!(
            server_url("http://10.0.0.2:8000"),
            ("http://10.0.0.2:8000".into(), None)
        );
    }
}
