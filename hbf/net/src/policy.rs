//! Which addresses a pod may reach (`--allow-net`): deny by default.
//!
//! A rule names a host (`api.example.com`), every subdomain of one
//! (`*.example.com`, not the domain itself), an address or network by IP or
//! CIDR (`203.0.113.7`, `10.1.0.0/16`, `[fd00::1]`), or everything public
//! (`*`); each may end in `:port` (otherwise any port). A connection is
//! allowed when its host name (or IP literal) matches a rule **and** the
//! address it resolved to is public, or is named by an IP/CIDR rule: the
//! address is checked after DNS resolution, and the connection goes to that
//! very address, so a name cannot be re-pointed at a private address between
//! the check and the connect (DNS rebinding).
//!
//! Not public: loopback, unspecified, private (RFC 1918), link-local (with
//! the cloud metadata address 169.254.169.254), CGNAT (100.64/10, with
//! Alibaba's 100.100.100.200), multicast, broadcast and reserved, the
//! documentation and benchmarking ranges, IPv6 unique-local (with AWS's
//! fd00:ec2::254), link-local and multicast, and every IPv6 form that embeds
//! an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) when that
//! address is not public.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::Error;

/// The parsed `--allow-net` list.
#[derive(Debug, Clone, Default)]
pub struct NetPolicy {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Rule {
    target: Target,
    port: Option<u16>,
}

#[derive(Debug, Clone)]
enum Target {
    /// `*`: every host, public addresses only.
    Any,
    /// A host name, lower-case, without a trailing dot.
    Host(String),
    /// `*.suffix`: the subdomains of `suffix` (with a leading dot).
    Subdomains(String),
    /// An address or network named by IP: private ones included.
    Net(IpNet),
}

impl NetPolicy {
    /// Parses `--allow-net` values: each a comma-separated list of rules.
    pub fn parse<S: AsRef<str>>(lists: &[S]) -> Result<NetPolicy, Error> {
        let mut rules = Vec::new();
        for list in lists {
            for entry in list.as_ref().split(',') {
                let entry = entry.trim();
                if entry.is_empty() {
                    continue;
                }
                rules.push(Rule::parse(entry)?);
            }
        }
        Ok(NetPolicy { rules })
    }

    /// Whether no rule allows anything (fetch then says how to allow).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `host` (a name or an IP literal, as in the URL) on `port`
    /// may be looked up at all: a name no rule names is refused before any
    /// DNS query (a lookup of `secret.attacker.example` would already carry
    /// data out). An IP literal waits for [`NetPolicy::check`].
    pub fn check_name(&self, host: &str, port: u16) -> Result<(), Error> {
        let name = normalize_host(host);
        if name.parse::<IpAddr>().is_ok() || self.names(&name, port) {
            return Ok(());
        }
        Err(Error::Denied {
            target: format!("{name}:{port}"),
            why: "not in --allow-net (name the host, or '*' for every public address)".into(),
        })
    }

    /// Whether a connection to `host` on `port` may go to `addr`, the
    /// address it resolved to (or the IP literal itself).
    pub fn check(&self, host: &str, port: u16, addr: IpAddr) -> Result<(), Error> {
        let host = normalize_host(host);
        let addr = canonical(addr);
        let denied = |why: String| Error::Denied {
            target: format!("{host}:{port} ({addr})"),
            why,
        };
        let by_ip = |rule: &Rule| {
            rule.port.is_none_or(|p| p == port)
                && matches!(&rule.target, Target::Net(net) if net.contains(&addr))
        };
        // A name is allowed by a name rule (or `*`); an IP literal by an IP
        // rule that contains it (or `*`).
        let named = if host.parse::<IpAddr>().is_ok() {
            self.rules.iter().any(|rule| {
                by_ip(rule)
                    || (matches!(rule.target, Target::Any) && rule.port.is_none_or(|p| p == port))
            })
        } else {
            self.names(&host, port)
        };
        if !named {
            return Err(denied(
                "not in --allow-net (name the host, or '*' for every public address)".into(),
            ));
        }
        if is_public(addr) || self.rules.iter().any(by_ip) {
            Ok(())
        } else {
            Err(denied(format!(
                "{addr} is not a public address; only an IP or CIDR rule in --allow-net can allow it"
            )))
        }
    }

    /// Whether a name rule (or `*`) allows the host name `name` on `port`.
    fn names(&self, name: &str, port: u16) -> bool {
        self.rules.iter().any(|rule| {
            rule.port.is_none_or(|p| p == port)
                && match &rule.target {
                    Target::Any => true,
                    Target::Host(host) => host == name,
                    Target::Subdomains(suffix) => name.ends_with(suffix.as_str()),
                    Target::Net(_) => false,
                }
        })
    }
}

impl Rule {
    fn parse(entry: &str) -> Result<Rule, Error> {
        let bad = |why: &str| Error::BadRule {
            rule: entry.to_owned(),
            why: why.to_owned(),
        };
        // An IPv6 literal in brackets, with or without a port.
        if let Some(rest) = entry.strip_prefix('[') {
            let (inside, after) = rest.split_once(']').ok_or_else(|| bad("no closing ']'"))?;
            let port = match after {
                "" => None,
                _ => Some(
                    parse_port(
                        after
                            .strip_prefix(':')
                            .ok_or_else(|| bad("expected ':port' after ']'"))?,
                    )
                    .ok_or_else(|| bad("not a port"))?,
                ),
            };
            let net = parse_net(inside).ok_or_else(|| bad("not an IPv6 address or network"))?;
            return Ok(Rule {
                target: Target::Net(net),
                port,
            });
        }
        // A bare IPv6 address or network (no port possible).
        if entry.matches(':').count() > 1 {
            let net = parse_net(entry).ok_or_else(|| {
                bad("not an IPv6 address or network (write [addr]:port for a port)")
            })?;
            return Ok(Rule {
                target: Target::Net(net),
                port: None,
            });
        }
        let (name, port) = match entry.rsplit_once(':') {
            Some((name, port)) => (
                name,
                Some(parse_port(port).ok_or_else(|| bad("not a port"))?),
            ),
            None => (entry, None),
        };
        if name == "*" {
            return Ok(Rule {
                target: Target::Any,
                port,
            });
        }
        if let Some(net) = parse_net(name) {
            return Ok(Rule {
                target: Target::Net(net),
                port,
            });
        }
        if let Some(suffix) = name.strip_prefix("*.") {
            check_name(suffix).map_err(|why| bad(&why))?;
            return Ok(Rule {
                target: Target::Subdomains(format!(".{}", normalize_host(suffix))),
                port,
            });
        }
        check_name(name).map_err(|why| bad(&why))?;
        Ok(Rule {
            target: Target::Host(normalize_host(name)),
            port,
        })
    }
}

fn parse_port(text: &str) -> Option<u16> {
    text.parse::<u16>().ok().filter(|p| *p != 0)
}

/// An address (a /32 or /128) or a CIDR network.
fn parse_net(text: &str) -> Option<IpNet> {
    if let Ok(addr) = text.parse::<IpAddr>() {
        return Some(IpNet::from(canonical(addr)));
    }
    text.parse::<IpNet>().ok().map(|net| net.trunc())
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if ok {
        Ok(())
    } else {
        Err("not a host name (letters, digits, '-' and '.'; '*.' only at the start)".into())
    }
}

fn normalize_host(host: &str) -> String {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// An IPv4-mapped IPv6 address is its IPv4 address.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Whether `addr` is a public unicast address (see the module's list).
pub fn is_public(addr: IpAddr) -> bool {
    match canonical(addr) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [o0, o1, o2, _] = a.octets();
    let reserved = a.is_unspecified()
        || o0 == 0 // "this network"
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local() // with 169.254.169.254, the cloud metadata service
        || (o0 == 100 && (o1 & 0xc0) == 64) // CGNAT 100.64.0.0/10
        || (o0 == 192 && o1 == 0 && o2 == 0) // IETF protocol assignments
        || a.is_documentation()
        || (o0 == 198 && (o1 & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || a.is_multicast()
        || o0 >= 240 // reserved, and broadcast
        || (o0 == 192 && o1 == 88 && o2 == 99); // 6to4 relay anycast
    !reserved
}

fn is_public_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    if a.is_unspecified() || a.is_loopback() || a.is_multicast() {
        return false;
    }
    // Unique-local fc00::/7 (AWS metadata fd00:ec2::254), link-local fe80::/10,
    // site-local fec0::/10 (deprecated), documentation 2001:db8::/32.
    if (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] == 0x2001 && s[1] == 0x0db8)
    {
        return false;
    }
    let v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // IPv4-compatible ::a.b.c.d (deprecated) and NAT64 64:ff9b::/96: the
    // embedded address decides.
    if s[..6] == [0; 6] || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4]) {
        return is_public_v4(v4(s[6], s[7]));
    }
    // NAT64 local-use 64:ff9b:1::/48.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        return false;
    }
    // 6to4 2002::/16 embeds an IPv4 address in bits 16..48.
    if s[0] == 0x2002 {
        return is_public_v4(v4(s[1], s[2]));
    }
    // Teredo 2001:0::/32: the client's address, inverted, in the last 32 bits.
    if s[0] == 0x2001 && s[1] == 0 {
        return is_public_v4(v4(!s[6], !s[7]));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(list: &str) -> NetPolicy {
        NetPolicy::parse(&[list]).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        let p = NetPolicy::default();
        assert!(p.is_empty());
        assert!(p.check("example.com", 443, ip("93.184.215.14")).is_err());
    }

    #[test]
    fn hosts_patterns_and_ports() {
        let p = policy("api.example.com, *.cdn.example.org:443");
        assert!(p.check("api.example.com", 443, ip("93.184.215.14")).is_ok());
        assert!(p.check("API.Example.com.", 80, ip("93.184.215.14")).is_ok());
        assert!(p
            .check("other.example.com", 443, ip("93.184.215.14"))
            .is_err());
        assert!(p
            .check("a.cdn.example.org", 443, ip("93.184.215.14"))
            .is_ok());
        assert!(p
            .check("a.b.cdn.example.org", 443, ip("93.184.215.14"))
            .is_ok());
        assert!(p
            .check("a.cdn.example.org", 8443, ip("93.184.215.14"))
            .is_err());
        // The pattern is for subdomains, not the domain itself, nor a look-alike.
        assert!(p
            .check("cdn.example.org", 443, ip("93.184.215.14"))
            .is_err());
        assert!(p
            .check("evilcdn.example.org", 443, ip("93.184.215.14"))
            .is_err());
    }

    #[test]
    fn star_allows_public_addresses_only() {
        let p = policy("*");
        assert!(p.check("example.com", 443, ip("93.184.215.14")).is_ok());
        assert!(p
            .check(
                "example.com",
                443,
                ip("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
            )
            .is_ok());
        for private in [
            "127.0.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.1",
            "203.0.113.9",
            "::1",
            "::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::",
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "2001:db8::1",
        ] {
            assert!(
                p.check("rebound.example", 80, ip(private)).is_err(),
                "{private}"
            );
        }
        // Public addresses in the embedding forms stay public.
        for public in [
            "::ffff:93.184.215.14",
            "64:ff9b::5db8:d70e",
            "2002:5db8:d70e::",
        ] {
            assert!(p.check("x.example", 80, ip(public)).is_ok(), "{public}");
        }
    }

    #[test]
    fn private_addresses_need_an_ip_rule() {
        let p = policy("localhost, 127.0.0.1:8080, 10.0.0.0/8, [::1]:9000");
        // A name is not enough for a private address.
        assert!(p.check("localhost", 8080, ip("127.0.0.1")).is_ok()); // the IP rule names it
        assert!(p.check("localhost", 8081, ip("127.0.0.1")).is_err());
        assert!(p.check("127.0.0.1", 8080, ip("127.0.0.1")).is_ok());
        assert!(p.check("127.0.0.1", 8080, ip("::ffff:127.0.0.1")).is_ok());
        assert!(p.check("10.9.8.7", 443, ip("10.9.8.7")).is_ok());
        assert!(p.check("11.0.0.1", 443, ip("11.0.0.1")).is_err());
        assert!(p.check("[::1]", 9000, ip("::1")).is_ok());
        assert!(p.check("[::1]", 9001, ip("::1")).is_err());
        let named = policy("internal.example");
        assert!(named.check("internal.example", 80, ip("10.0.0.5")).is_err());
        // A name resolving into an allowed network still needs a name rule.
        let both = policy("internal.example, 10.0.0.0/8");
        assert!(both.check("internal.example", 80, ip("10.0.0.5")).is_ok());
        assert!(both.check("other.example", 80, ip("10.0.0.5")).is_err());
    }

    #[test]
    fn names_no_rule_allows_are_refused_before_dns() {
        let p = policy("api.example.com, *.cdn.example, 10.0.0.0/8");
        assert!(p.check_name("api.example.com", 443).is_ok());
        assert!(p.check_name("x.cdn.example", 443).is_ok());
        assert!(p.check_name("10.1.2.3", 80).is_ok()); // an IP: checked after
        assert!(p.check_name("[::1]", 80).is_ok());
        let err = p
            .check_name("secret-data.attacker.example", 443)
            .unwrap_err();
        assert!(err.to_string().contains("not in --allow-net"), "{err}");
        assert!(policy("*").check_name("anything.example", 80).is_ok());
        assert!(policy("*:443").check_name("anything.example", 80).is_err());
    }

    #[test]
    fn bad_rules_are_refused_with_the_rule() {
        for bad in [
            "exa mple.com",
            "*.",
            "host:99999",
            "host:0",
            "[::1",
            "[::1]x",
            "a..b",
            "*.*.x",
            "1.2.3.4/33",
        ] {
            let err = NetPolicy::parse(&[bad]).unwrap_err().to_string();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }
}
