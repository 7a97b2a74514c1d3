//! https: a server's certificate is verified against the trusted roots, the system's unless git's
//! `http.sslCAInfo` names others. The server is the smart-HTTP test server behind a TLS proxy
//! (Python's `ssl`) on 127.0.0.1, with the certificates of `fixtures/tls/`: a throwaway test CA
//! (its key was deleted once it signed `server.pem`) and a self-signed certificate.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::common::servers::*;
use crate::common::sources::*;
use crate::common::*;

/// Terminates TLS with `cert`/`key` and passes the bytes to 127.0.0.1:`backend`. Prints its port,
/// and one line to stderr for every handshake that fails.
const PROXY: &str = r#"
import socket, ssl, sys, threading
cert, key, backend = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(16)
print(server.getsockname()[1], flush=True)
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def serve(conn):
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (OSError, ssl.SSLError) as e:
        print("handshake failed:", e, file=sys.stderr, flush=True)
        return
    up = socket.create_connection(("127.0.0.1", backend))
    threading.Thread(target=pipe, args=(tls, up), daemon=True).start()
    pipe(up, tls)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"#;

struct TlsProxy {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl TlsProxy {
    fn start(py: &Path, env: &Env, cert: &str, backend: u16) -> TlsProxy {
        let tls = fixtures().join("tls");
        let log = env.path(&format!("{cert}.proxy.log"));
        let mut child = Command::new(py)
            .args(["-c", PROXY])
            .arg(tls.join(format!("{cert}.pem")))
            .arg(tls.join(format!("{cert}.key")))
            .arg(backend.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| panic!("the proxy said {line:?}"));
        TlsProxy { child, port, log }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}/tool.git", self.port)
    }

    /// The handshakes the proxy refused. The proxy logs a refusal after the client has hung up, so
    /// on a busy machine the line may come a moment after atk exited: it is waited for (up to 10 s)
    /// before counting none.
    fn refused_handshakes(&self) -> usize {
        let count = || {
            std::fs::read_to_string(&self.log).unwrap().lines().filter(|l| l.starts_with("handshake failed")).count()
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while count() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        count()
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn https_fetches_only_from_a_server_whose_certificate_is_trusted() {
    let test = "https_fetches_only_from_a_server_whose_certificate_is_trusted";
    let Some(py) = crate::common::python::python(test, &["ssl"]) else { return };
    let env = Env::new();
    let work = git_source_work(&env);
    let root = env.path("served");
    std::fs::create_dir_all(&root).unwrap();
    publish(&work, &root, "tool.git", true);
    let http = HttpServer::start(&root);
    let backend: u16 = http.base.rsplit(':').next().unwrap().trim_end_matches('/').parse().unwrap();
    let signed = TlsProxy::start(&py, &env, "server", backend);
    let self_signed = TlsProxy::start(&py, &env, "self-signed", backend);
    let before = env.snapshot();

    // The test CA is not among the system's roots.
    let (_, err) = env.fails(7, &["add", "-y", &signed.url()]);
    assert!(err.contains(&format!("cannot fetch from {}", signed.url())), "{err}");
    assert!(signed.refused_handshakes() >= 1, "the client went on with an untrusted certificate");
    assert_eq!(env.snapshot(), before);

    // Trusting the test CA does not make a self-signed certificate trusted.
    let gitconfig = env.home.join(".gitconfig");
    let mut config = std::fs::read_to_string(&gitconfig).unwrap_or_default();
    config.push_str(&format!("[http]\n\tsslCAInfo = {}\n", fixtures().join("tls/ca.pem").display()));
    write(&gitconfig, &config, false);
    env.fails(7, &["add", "-y", &self_signed.url()]);
    assert!(self_signed.refused_handshakes() >= 1, "the client went on with a self-signed certificate");
    assert_eq!(env.snapshot(), before);

    // A certificate the trusted CA signed is accepted.
    let refused = signed.refused_handshakes();
    let out = env.ok(&["add", "-y", &signed.url()]);
    assert!(out.contains("Added 'Echo Tool'"), "{out}");
    assert_eq!(signed.refused_handshakes(), refused);
    assert!(env.manifest().contains(&signed.url()));
}
