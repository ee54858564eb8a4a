//! Who a request comes from, for limits that key on the client: the peer address, or —
//! only when the peer is a configured trusted proxy — the address that proxy reports in
//! its forwarding header. IPv6 clients are keyed by their /64 (one host usually holds a
//! whole /64, so keying on single addresses would give it 2^64 fresh identities).

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;

/// Which proxies may say who the client is, and in which header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientPolicy {
    /// Peers whose forwarding header is believed (addresses or CIDR ranges). Empty: the
    /// header is ignored and the peer address is the client.
    pub trusted_proxies: Vec<IpNet>,
    /// The header a trusted proxy sets, e.g. `x-forwarded-for` (a comma-separated list
    /// the proxy appends the client to) or `x-real-ip`. `None`: `x-forwarded-for`.
    pub header: Option<HeaderName>,
}

impl ClientPolicy {
    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer, unless the peer is a trusted proxy and its header
    /// names one. In a list, the right-most address that is not itself a trusted proxy
    /// is the client (everything left of it was written by the client and is not
    /// believed); a header that does not parse leaves the peer.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusted(peer) {
            return peer;
        }
        let name = self
            .header
            .clone()
            .unwrap_or(HeaderName::from_static("x-forwarded-for"));
        let mut hops: Vec<IpAddr> = Vec::new();
        for value in headers.get_all(&name) {
            let Ok(text) = value.to_str() else {
                return peer;
            };
            for hop in text.split(',') {
                match parse_hop(hop) {
                    Some(ip) => hops.push(canonical(ip)),
                    None => return peer,
                }
            }
        }
        hops.into_iter()
            .rev()
            .find(|ip| !self.trusted(*ip))
            .unwrap_or(peer)
    }
}

/// One entry of a forwarding header: `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]:443`
/// or `192.0.2.1:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip())
}

/// IPv4-mapped IPv6 addresses are the IPv4 client they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The key a per-client limit counts under: the address for IPv4, its /64 for IPv6.
pub fn limit_key(ip: IpAddr) -> IpNet {
    let prefix = if canonical(ip).is_ipv4() { 32 } else { 64 };
    IpNet::new(canonical(ip), prefix)
        .map(|n| n.trunc())
        .unwrap_or_else(|_| IpNet::from(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let policy = ClientPolicy {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
            header: None,
        };
        let forwarded = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.7, 10.1.1.1")]);
        // From the proxy: the right-most hop that is not a proxy.
        assert_eq!(
            policy.client_ip("10.0.0.2".parse().unwrap(), &forwarded),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // From anyone else the header is a client's claim and ignored.
        assert_eq!(
            policy.client_ip("192.0.2.5".parse().unwrap(), &forwarded),
            "192.0.2.5".parse::<IpAddr>().unwrap()
        );
        // Garbage in the header: the peer.
        let bad = headers(&[("x-forwarded-for", "not-an-address")]);
        assert_eq!(
            policy.client_ip("10.0.0.2".parse().unwrap(), &bad),
            "10.0.0.2".parse::<IpAddr>().unwrap()
        );
        // Nothing configured: never believed.
        assert_eq!(
            ClientPolicy::default().client_ip("10.0.0.2".parse().unwrap(), &forwarded),
            "10.0.0.2".parse::<IpAddr>().unwrap()
        );
        let real_ip = ClientPolicy {
            header: Some(HeaderName::from_static("x-real-ip")),
            ..policy
        };
        assert_eq!(
            real_ip.client_ip(
                "10.0.0.2".parse().unwrap(),
                &headers(&[("x-real-ip", "[2001:db8::5]:4431")])
            ),
            "2001:db8::5".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_slash_64() {
        let a = limit_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = limit_key("2001:db8:1:2:ffff::9".parse().unwrap());
        let other = limit_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        assert_eq!(
            limit_key("::ffff:192.0.2.1".parse().unwrap()).to_string(),
            "192.0.2.1/32"
        );
    }
}
