//! The client address that per-address rate limits key on: the TCP peer, or, when the
//! peer is a trusted reverse proxy, the nearest address in `X-Forwarded-For` that is not
//! a trusted proxy itself. A header from anyone else is ignored, so a client cannot pick
//! its own rate-limit key.

use std::net::IpAddr;

use ipnet::IpNet;
use poem::Request;

use crate::auth::ClientAddr;

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        TrustedProxies(networks)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client address and `User-Agent` of a request, for limits and the logs.
    pub fn origin_of(&self, req: &Request) -> crate::auth::RequestOrigin {
        let user_agent = req
            .headers()
            .get(poem::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        crate::auth::RequestOrigin::new(self.client_of(req), user_agent)
    }

    pub fn client_of(&self, req: &Request) -> ClientAddr {
        let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
        ClientAddr(peer.map(|peer| self.forwarded_client(peer, req)))
    }

    /// Walks `X-Forwarded-For` from the nearest hop outwards while each hop is trusted;
    /// the first untrusted one is the client. A malformed entry stops the walk at the
    /// last trusted hop.
    fn forwarded_client(&self, peer: IpAddr, req: &Request) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, forwarded: Option<&str>) -> Request {
        let mut builder = poem::http::Request::builder();
        if let Some(value) = forwarded {
            builder = builder.header("x-forwarded-for", value);
        }
        let (parts, ()) = builder.body(()).expect("request").into_parts();
        let addr: std::net::SocketAddr = format!("{peer}:5000").parse().expect("addr");
        let parts = poem::RequestParts::from((
            parts,
            poem::web::LocalAddr(addr.into()),
            poem::web::RemoteAddr(addr.into()),
            poem::http::uri::Scheme::HTTP,
        ));
        Request::from_parts(parts, poem::Body::empty())
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let proxies = TrustedProxies::new(vec!["10.0.0.0/8".parse().expect("cidr")]);
        let via_proxy = request("10.0.0.2", Some("203.0.113.9"));
        assert_eq!(proxies.client_of(&via_proxy).0, ip("203.0.113.9"));
        let spoofed = request("198.51.100.4", Some("203.0.113.9"));
        assert_eq!(proxies.client_of(&spoofed).0, ip("198.51.100.4"));
        let chain = request("10.0.0.2", Some("1.2.3.4, 203.0.113.9, 10.0.0.7"));
        assert_eq!(
            proxies.client_of(&chain).0,
            ip("203.0.113.9"),
            "nearest untrusted hop"
        );
        let garbage = request("10.0.0.2", Some("not-an-ip"));
        assert_eq!(proxies.client_of(&garbage).0, ip("10.0.0.2"));
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_of(&via_proxy).0,
            ip("10.0.0.2"),
            "no proxy trusted by default"
        );
    }
}
