//! Who is at the other end of a request: the client's address, taken from
//! the TCP peer, or — only when the peer is a trusted reverse proxy — from
//! the one forwarding header that proxy is configured to set
//! (`X-Forwarded-For` by default, or `Forwarded`). Only one: a proxy that
//! appends to one header passes the other through as the client wrote it.
//!
//! The address is used in memory only (rate limits, count de-duplication,
//! a country lookup at signup) and never logged or stored.

use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The client's address, as far as this node can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        // No peer only when the router is driven without a listener
        // (in-process tests); such a caller is local.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip());
        let config = &state.0.config;
        Ok(ClientAddr(client_ip(
            peer,
            &parts.headers,
            &config.trusted_proxies,
            config.forwarded_header,
        )))
    }
}

/// The client address of a request that arrived from `peer`.
///
/// Headers are believed only as far as a chain of trusted proxies vouches
/// for them: walking the forwarding list from the right (the hop nearest
/// this node), each trusted address hands over to the one before it; the
/// first untrusted address is the client. Anything unparseable ends the
/// walk at the last address a trusted proxy gave.
pub fn client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ForwardedHeader,
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    let peer = canonical(peer);
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_for(headers, header);
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop {
            Some(ip) => {
                client = canonical(*ip);
                if !is_trusted(&client) {
                    return client;
                }
            }
            None => return client,
        }
    }
    client
}

/// An IPv4 address mapped into IPv6 is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The forwarding header the trusted proxies set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    /// RFC 7239.
    Forwarded,
}

/// The addresses of the configured header, in order; `None` for one that
/// is not an address (`unknown`, an obfuscated name, garbage).
fn forwarded_for(headers: &HeaderMap, which: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let values = |name| {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or("\u{0}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    if which == ForwardedHeader::Forwarded {
        let forwarded = values(header::FORWARDED);
        if forwarded.is_empty() {
            return Vec::new();
        }
        return forwarded
            .split(',')
            .map(|element| {
                element.split(';').find_map(|pair| {
                    let (k, v) = pair.trim().split_once('=')?;
                    k.eq_ignore_ascii_case("for").then(|| parse_node(v))
                })?
            })
            .collect();
    }
    let xff = values(header::HeaderName::from_static("x-forwarded-for"));
    if xff.is_empty() {
        return Vec::new();
    }
    xff.split(',').map(parse_node).collect()
}

/// `1.2.3.4`, `1.2.3.4:80`, `"[2001:db8::1]:443"`, `2001:db8::1`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    s.parse::<SocketAddr>().ok().map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let h = headers(&[("x-forwarded-for", "9.9.9.9")]);
        assert_eq!(client_ip(ip("1.2.3.4"), &h, &[], XFF), ip("1.2.3.4"));
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        assert_eq!(client_ip(ip("1.2.3.4"), &h, &trusted, XFF), ip("1.2.3.4"));
    }

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;

    #[test]
    fn only_the_configured_header_is_read() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        // The proxy appends to X-Forwarded-For; the client wrote Forwarded.
        let h = headers(&[("forwarded", "for=6.6.6.6"), ("x-forwarded-for", "5.5.5.5")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted, XFF), ip("5.5.5.5"));
        let h = headers(&[("x-forwarded-for", "6.6.6.6"), ("forwarded", "for=5.5.5.5")]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &h, &trusted, ForwardedHeader::Forwarded),
            ip("5.5.5.5")
        );
    }

    #[test]
    fn a_trusted_chain_hands_over_to_the_first_untrusted_hop() {
        let trusted = [
            "10.0.0.0/8".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ];
        // The client forged the first entry; the proxies appended the rest.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 5.5.5.5, 10.0.0.7")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted, XFF), ip("5.5.5.5"));
        let fwd = ForwardedHeader::Forwarded;
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https, for=5.5.5.5:80;by=x",
        )]);
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), &h, &trusted, fwd),
            ip("5.5.5.5")
        );
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted, fwd), ip("10.0.0.1"));
        let h = headers(&[
            ("x-forwarded-for", "7.7.7.7"),
            ("x-forwarded-for", "10.2.2.2"),
        ]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted, XFF), ip("7.7.7.7"));
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted, XFF),
            ip("10.0.0.1")
        );
    }
}
