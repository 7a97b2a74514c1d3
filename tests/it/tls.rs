//! https: a server's certificate is verified against the trusted roots, the system's unless git's
//! `http.sslCAInfo` names others. The server is the smart-HTTP test server behind a TLS proxy
//! (Python's `ssl`) on 127.0.0.1, with the certificates of `fixtures/tls/`: a throwaway test CA
//! (its key was deleted once it signed `server.pem`) and a self-signed certificate.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::common::servers::*;
use crate::common::sources::*;
use crate::common::*;

/// Terminates TLS with `cert`/`key` and passes the bytes to 127.0.0.1:`backend`, once the handshake
/// succeeded. Prints its port.
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
    except (OSError, ssl.SSLError):
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
}

impl TlsProxy {
    fn start(py: &Path, env: &Env, cert: &str, backend: u16) -> TlsProxy {
        let tls = fixtures().join("tls");
        let mut child = Command::new(py)
            .args(["-c", PROXY])
            .arg(tls.join(format!("{cert}.pem")))
            .arg(tls.join(format!("{cert}.key")))
            .arg(backend.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(env.path(&format!("{cert}.proxy.log"))).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| panic!("the proxy said {line:?}"));
        TlsProxy { child, port }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}/tool.git", self.port)
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs the Python test venv (target/pyvenv or ATK_TEST_PYTHON; .ci/run makes it)"]
fn https_fetches_only_from_a_server_whose_certificate_is_trusted() {
    let test = "https_fetches_only_from_a_server_whose_certificate_is_trusted";
    let py = crate::common::python::python(test, &["ssl"]);
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

    // The test CA is not among the system's roots. What atk reports is checked, never the
    // server's log (whose wording depends on the TLS library libcurl was built with): the fetch
    // fails (exit 7, naming the URL), no request reached the git server behind the proxy (which
    // is passed bytes only after a handshake), and the home is as it was.
    let (_, err) = env.fails(7, &["add", "-y", &signed.url()]);
    assert!(err.contains(&format!("cannot fetch from {}", signed.url())), "{err}");
    assert!(http.requests().is_empty(), "the client went on with an untrusted certificate");
    assert_eq!(env.snapshot(), before);

    // Trusting the test CA does not make a self-signed certificate trusted.
    let gitconfig = env.home.join(".gitconfig");
    let mut config = std::fs::read_to_string(&gitconfig).unwrap_or_default();
    config.push_str(&format!("[http]\n\tsslCAInfo = {}\n", fixtures().join("tls/ca.pem").display()));
    write(&gitconfig, &config, false);
    let (_, err) = env.fails(7, &["add", "-y", &self_signed.url()]);
    assert!(err.contains(&format!("cannot fetch from {}", self_signed.url())), "{err}");
    assert!(http.requests().is_empty(), "the client went on with a self-signed certificate");
    assert_eq!(env.snapshot(), before);

    // A certificate the trusted CA signed is accepted: the same proxy now passes atk's requests on.
    let out = env.ok(&["add", "-y", &signed.url()]);
    assert!(out.contains("Added 'Echo Tool'"), "{out}");
    assert!(!http.requests().is_empty());
    assert!(env.manifest().contains(&signed.url()));
}
