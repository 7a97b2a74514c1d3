//! The network side of a source: a connection and its handshake (kept between the steps of one
//! [`Repo`] where the protocol allows), connecting with the stall timeout, and fetching wanted
//! objects into the cache repository.

use gix::ObjectId;

use super::{cache, fetch_error, Repo};
use crate::error::{Error, IoContext, Result};

type Transport = Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>;

/// A connection to a remote after its handshake. Kept between the network steps of one `Repo`
/// (looking up HEAD, fetching the commit, fetching blobs) only where a step is one request of its
/// own: protocol v2 over http(s), where the handshake is a `GET info/refs` and every command after
/// it one `POST`. Reusing it saves that `GET` (a round trip) per step. A connection that persists
/// across requests (git://, ssh) is ended after each step as before.
pub(super) struct Session {
    transport: Transport,
    handshake: gix::protocol::Handshake,
    /// Whether it came from an earlier step (and may have gone stale since).
    reused: bool,
}

impl Session {
    fn reusable(&self) -> bool {
        self.handshake.server_protocol_version == gix::protocol::transport::Protocol::V2
            && !self.transport.connection_persists_across_multiple_requests()
    }

    /// Connects to `url` and shakes hands, or takes `earlier` when there is one.
    fn open(
        repo: &gix::Repository,
        url: &str,
        shown: &str,
        worker: &crate::source::net::Worker,
        earlier: Option<Session>,
    ) -> Result<Session> {
        if let Some(mut session) = earlier {
            session.reused = true;
            return Ok(session);
        }
        let (mut transport, mut auth) = connect(repo, url, shown, worker.limit)?;
        worker.activity.bump();
        let handshake = gix::protocol::handshake(
            &mut transport,
            gix::protocol::transport::Service::UploadPack,
            &mut auth,
            vec![],
            &mut worker.progress(),
        )
        .map_err(|e| fetch_error(shown, e))?;
        worker.activity.bump();
        Ok(Session { transport, handshake, reused: false })
    }

    /// Runs `step` on `earlier` (or a new session), once more on a new one when a reused session
    /// fails (its server may have dropped what it kept of it), unless the worker was told to stop.
    pub(super) fn run<T>(
        repo: &gix::Repository,
        url: &str,
        shown: &str,
        worker: &crate::source::net::Worker,
        earlier: Option<Session>,
        step: &mut dyn FnMut(&mut Session) -> Result<T>,
    ) -> Result<(T, Option<Session>)> {
        let mut session = Session::open(repo, url, shown, worker, earlier)?;
        let result = match step(&mut session) {
            Err(_) if session.reused && !worker.cancel.load(std::sync::atomic::Ordering::SeqCst) => {
                session = Session::open(repo, url, shown, worker, None)?;
                step(&mut session)
            }
            result => result,
        };
        let value = result?;
        if session.reusable() {
            return Ok((value, Some(session)));
        }
        if session.handshake.server_protocol_version == gix::protocol::transport::Protocol::V2 {
            let _ = gix::protocol::indicate_end_of_interaction(&mut session.transport, false);
        }
        Ok((value, None))
    }
}

impl Repo {
    /// What the remote at `url` says its HEAD is (one ls-refs, or the v1 handshake's list).
    pub(super) fn remote_head(&self, url: &str) -> Result<Option<ObjectId>> {
        Ok(self.remote_refs(url, &["HEAD".to_string()])?.into_iter().find(|(n, _)| n == "HEAD").map(|(_, id)| id))
    }

    /// The refs of the remote at `url` whose names start with one of `prefixes` (`HEAD`,
    /// `refs/tags/v1`), each with the commit it points at (a tag peeled).
    pub(super) fn remote_refs(&self, url: &str, prefixes: &[String]) -> Result<Vec<(String, ObjectId)>> {
        let (repo, url, shown) = (self.repo.clone(), url.to_string(), self.shown.clone());
        let earlier = self.take_session();
        let wanted = prefixes.to_vec();
        let (found, session) = crate::source::net::bounded(&self.shown, self.waits.net, move |worker| {
            Session::run(&repo, &url, &shown, worker, earlier, &mut |session| {
                let refs = match session.handshake.refs.clone() {
                    Some(refs) => refs, // protocol v1: the handshake listed them
                    None => {
                        let mut prefixes = gix::protocol::ls_refs::RefPrefixes::new();
                        prefixes.extend(wanted.iter().map(|p| gix::bstr::BString::from(p.as_str())));
                        gix::protocol::LsRefsCommand::new(
                            Some(prefixes),
                            &session.handshake.capabilities,
                            ("agent", Some(format!("atk/{}", env!("CARGO_PKG_VERSION")))),
                        )
                        .invoke_blocking(&mut session.transport, &mut worker.progress(), false)
                        .map_err(|e| fetch_error(&shown, e))?
                    }
                };
                worker.activity.bump();
                let mut found = Vec::new();
                for r in &refs {
                    let (name, target, peeled) = r.unpack();
                    let name = name.to_string();
                    if wanted.iter().any(|w| name.starts_with(w.as_str())) {
                        if let Some(id) = peeled.or(target) {
                            found.push((name, id.to_owned()));
                        }
                    }
                }
                Ok(found)
            })
        })?;
        self.keep_session(session);
        Ok(found)
    }

    /// One fetch of `wants`. With `commit_only`, at depth 1 and with `filter blob:none` when the
    /// server supports it; returns whether the filter was used. The network part runs on a worker
    /// thread bounded by the stall timeout and Ctrl-C (see `net`); it holds a clone of the cache
    /// `lock` for as long as it runs, even when given up on.
    pub(super) fn fetch(&self, lock: Option<&std::fs::File>, wants: &[ObjectId], commit_only: bool) -> Result<bool> {
        let url = self.remote.clone().expect("only remote sources fetch");
        let held = lock.map(|f| f.try_clone()).transpose().ctx(|| "cannot share the cache lock".into())?;
        let (repo, shown, wants) = (self.repo.clone(), self.shown.clone(), wants.to_vec());
        let earlier = self.take_session();
        let ((filtered, received), session) = crate::source::net::bounded(&self.shown, self.waits.net, move |worker| {
            let _held = held;
            Session::run(&repo, &url, &shown, worker, earlier, &mut |session| {
                fetch_now(&repo, session, &shown, &wants, commit_only, worker)
            })
        })
        .inspect_err(|e| {
            if let (Error::NetStalled { seconds, .. }, Some(path)) = (e, self.cache_lock.as_deref()) {
                cache::ABANDONED.lock().expect("not poisoned").push((path.to_path_buf(), *seconds));
            }
        })?;
        self.keep_session(session);
        self.received.set(self.received.get() + received);
        Ok(filtered)
    }
}

/// Connects to the remote for fetching. For ssh, unless the user configured an ssh command
/// (`core.sshCommand`, `GIT_SSH_COMMAND`, `GIT_SSH`), ssh itself gets a connect timeout and
/// keep-alives from the stall timeout, so it never hangs for ever on its own either; http(s) gets
/// the stall timeout as its connect timeout.
fn connect(
    repo: &gix::Repository,
    fetch_url: &str,
    shown: &str,
    stall: std::time::Duration,
) -> Result<(Transport, gix::remote::AuthenticateFn<'static>)> {
    use gix::protocol::transport::client::blocking_io::{connect, ssh};
    let remote = repo.remote_at(fetch_url).map_err(|e| fetch_error(shown, e))?;
    let (url, version) =
        remote.sanitized_url_and_version(gix::remote::Direction::Fetch).map_err(|e| fetch_error(shown, e))?;
    let mut ssh_options = ssh::connect::Options::default();
    if url.scheme == gix::url::Scheme::Ssh {
        ssh_options = repo.ssh_connect_options().map_err(|e| fetch_error(shown, e))?;
        if ssh_options.command.is_none() && ssh_options.kind.is_none() {
            let seconds = stall.as_secs().max(1);
            ssh_options.command = Some(
                format!(
                    "ssh -o ConnectTimeout={seconds} -o ServerAliveInterval={} -o ServerAliveCountMax=3",
                    seconds.div_ceil(3)
                )
                .into(),
            );
            ssh_options.kind = Some(ssh::ProgramKind::Ssh);
            ssh_options.disallow_shell = false; // the options need splitting: run it as git does
        }
    }
    if matches!(url.scheme, gix::url::Scheme::Http | gix::url::Scheme::Https) {
        init_curl().map_err(|e| fetch_error(shown, std::io::Error::other(e)))?;
    }
    let mut transport: Transport = connect::connect(url, connect::Options { version, ssh: ssh_options, trace: false })
        .map_err(|e| fetch_error(shown, e))?;
    let mut con = remote.to_connection_with_transport(&mut transport);
    // The transport's options from git's configuration (for http(s): proxies, `http.sslCAInfo`, …).
    if let Some(mut options) = repo.transport_options(fetch_url, None).map_err(|e| fetch_error(shown, e))? {
        // http(s): libcurl waits minutes for a connection by default; give it the stall timeout,
        // unless `gitoxide.http.connectTimeout` says otherwise.
        use gix::protocol::transport::client::blocking_io::http;
        if let Some(http) = options.downcast_mut::<http::Options>() {
            http.connect_timeout.get_or_insert(stall);
        }
        con.transport_mut().configure(&*options).map_err(|e| fetch_error(shown, e))?;
    }
    let auth = con.configured_credentials_for_current_url();
    // Dropped, the connection would end the interaction on the transport (a flush packet) before
    // it began; it owns nothing on the heap (the transport is borrowed), so forgetting leaks nothing.
    std::mem::forget(con);
    Ok((transport, auth))
}

/// libcurl's global initialization (OpenSSL's with it, which reads `openssl.cnf`), once per
/// process, before its first http(s) connection. The `atk` binary skips the one the `curl` crate
/// runs before `main` (see build.rs), so a run that connects to nothing never pays for TLS; where
/// that one ran, this only counts one more user of libcurl.
pub(crate) fn init_curl() -> std::result::Result<(), String> {
    static INIT: std::sync::OnceLock<curl_sys::CURLcode> = std::sync::OnceLock::new();
    // SAFETY: libcurl's documented entry point, called once; the binary defers it only where
    // libcurl declares it safe from any thread (CURL_VERSION_THREADSAFE).
    let code = *INIT.get_or_init(|| unsafe { curl_sys::curl_global_init(curl_sys::CURL_GLOBAL_ALL) });
    if code == curl_sys::CURLE_OK {
        return Ok(());
    }
    // SAFETY: libcurl returns a static string for any code.
    let said = unsafe { std::ffi::CStr::from_ptr(curl_sys::curl_easy_strerror(code)) };
    Err(format!("cannot initialize libcurl: {}", said.to_string_lossy()))
}

/// The network part of `Repo::fetch`, on the worker thread, over `session`: returns whether the
/// filter was used and the bytes of pack received.
pub(super) fn fetch_now(
    repo: &gix::Repository,
    session: &mut Session,
    shown: &str,
    wants: &[ObjectId],
    commit_only: bool,
    worker: &crate::source::net::Worker,
) -> Result<(bool, u64)> {
    use gix::protocol::fetch::{Arguments, Context, Negotiate, Options, Shallow, Tags};

    struct Wants<'a> {
        ids: &'a [ObjectId],
        filter: bool,
        filtered: bool,
    }
    impl Negotiate for Wants<'_> {
        fn mark_complete_and_common_ref(&mut self) -> gix::Result<gix::protocol::fetch::negotiate::Action> {
            Ok(gix::protocol::fetch::negotiate::Action::MustNegotiate {
                remote_ref_target_known: vec![false; self.ids.len()],
            })
        }
        fn add_wants(&mut self, arguments: &mut Arguments, _known: &[bool]) -> bool {
            for id in self.ids {
                arguments.want(id);
            }
            if self.filter && arguments.can_use_filter() {
                arguments.filter("blob:none");
                self.filtered = true;
            }
            !self.ids.is_empty()
        }
        fn one_round(
            &mut self,
            _state: &mut gix::protocol::fetch::negotiate::one_round::State,
            _arguments: &mut Arguments,
            _previous: Option<&gix::protocol::fetch::Response>,
        ) -> gix::Result<(gix::protocol::fetch::negotiate::Round, bool)> {
            // Nothing to negotiate: we want exact objects and say `done` at once.
            let round = gix::protocol::fetch::negotiate::Round {
                haves_sent: 0,
                in_vain: 0,
                haves_to_send: 0,
                previous_response_had_at_least_one_in_common: false,
            };
            Ok((round, true))
        }
    }

    let mut negotiate = Wants { ids: wants, filter: commit_only, filtered: false };
    let shallow =
        if commit_only { Shallow::DepthAtRemote(1.try_into().expect("1 is not 0")) } else { Shallow::NoChange };
    let shallow_file = repo.shallow_file().map_err(|e| fetch_error(shown, e))?;
    let pack_dir = repo.objects.store_ref().path().join("pack");
    let objects = repo.objects.clone();
    let hash = repo.object_hash();
    let mut received = 0;
    let activity = &worker.activity;
    let result = gix::protocol::fetch(
        &mut negotiate,
        |reader, progress, should_interrupt| {
            let mut counting = CountingRead { inner: reader, count: 0, activity };
            let mut outcome = gix::odb::pack::Bundle::write_to_directory(
                &mut counting,
                Some(&pack_dir),
                progress,
                should_interrupt,
                Some(objects),
                hash,
                Default::default(),
            )?;
            received = counting.count;
            if let Some(keep) = outcome.keep_path.take() {
                let _ = std::fs::remove_file(keep);
            }
            Ok(true)
        },
        worker.progress(),
        &worker.cancel,
        Context {
            handshake: &mut session.handshake,
            transport: &mut session.transport,
            user_agent: ("agent", Some(format!("atk/{}", env!("CARGO_PKG_VERSION")))),
            trace_packetlines: false,
        },
        Options { shallow_file, shallow: &shallow, tags: Tags::None, reject_shallow_remote: false },
    );
    result.map_err(|e| fetch_error(shown, e))?;
    Ok((negotiate.filtered, received))
}

/// Counts the bytes of a pack as it is read.
struct CountingRead<'a> {
    inner: &'a mut dyn std::io::BufRead,
    count: u64,
    activity: &'a crate::source::net::Activity,
}

impl std::io::Read for CountingRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.saw(n);
        Ok(n)
    }
}

impl std::io::BufRead for CountingRead<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.saw(amt);
        self.inner.consume(amt)
    }
}

impl CountingRead<'_> {
    fn saw(&mut self, n: usize) {
        self.count += n as u64;
        if n > 0 {
            self.activity.bump();
            // The shallow file is locked and a temporary pack is open: a kill here is the worst.
            crate::failpoint::hit("fetch");
        }
    }
}
