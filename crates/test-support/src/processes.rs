//! For tests and benches that start loopql processes on loopback (a Ballista scheduler and
//! executors, `loopql serve`): the processes killed however the caller ends, a free port,
//! waiting for a listener, and two CSV answers compared to 1e-9 relative.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

/// Processes killed (and reaped) when this is dropped, however the caller ends.
#[derive(Default)]
pub struct Processes(pub Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `addr` accepts connections; fails naming `what` after `limit`.
pub fn wait_for(addr: SocketAddr, what: &str, limit: Duration) {
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(started.elapsed() < limit, "{what} did not listen");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Two CSV texts with the same cells, numbers equal to 1e-9 relative (a report does not round,
/// and a cluster adds floats in another order).
pub fn same_numbers(a: &str, b: &str, what: &str) {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    assert_eq!(la.len(), lb.len(), "{what}: {a}\n---\n{b}");
    for (x, y) in la.iter().zip(&lb) {
        let (cx, cy): (Vec<&str>, Vec<&str>) = (x.split(',').collect(), y.split(',').collect());
        assert_eq!(cx.len(), cy.len(), "{what}: {x} / {y}");
        for (p, q) in cx.iter().zip(&cy) {
            match (p.parse::<f64>(), q.parse::<f64>()) {
                (Ok(p), Ok(q)) => assert!(
                    (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0),
                    "{what}: {x} / {y}"
                ),
                _ => assert_eq!(p, q, "{what}: {x} / {y}"),
            }
        }
    }
}
