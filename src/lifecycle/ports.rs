//! Whether something listens on a local TCP port: a connection to 127.0.0.1 and to ::1, each
//! bounded by a timeout. No helper program (upstream ran `nc`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// The longest one connection attempt may take (a local port answers or refuses at once).
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Whether a TCP connection to `port` on 127.0.0.1 or ::1 succeeds within `timeout` (each).
pub fn listening(port: u16, timeout: Duration) -> bool {
    [IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)]
        .into_iter()
        .any(|ip| TcpStream::connect_timeout(&SocketAddr::new(ip, port), timeout).is_ok())
}

/// [`listening`] for each port, several at once on the bounded pool (however many a plugin
/// declares).
pub fn listening_all(ports: &[u16], timeout: Duration) -> Vec<bool> {
    crate::pool::map(ports, crate::pool::WIDEST, |&p| listening(p, timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_port_listens_and_a_closed_one_does_not() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(listening(port, CONNECT_TIMEOUT));
        drop(l);
        assert!(!listening(port, CONNECT_TIMEOUT));
        let v6 = std::net::TcpListener::bind("[::1]:0");
        if let Ok(v6) = v6 {
            // Something on ::1 only counts too.
            assert!(listening(v6.local_addr().unwrap().port(), CONNECT_TIMEOUT));
        }
    }
}
