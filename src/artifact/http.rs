//! One bounded HTTP request to a package or image registry, through libcurl (the one gix's http
//! transport uses, so TLS and the trusted roots are the system's). Bounded like every wait of atk:
//! the connection by the stall timeout, the transfer by the stall timeout without a byte (and ten
//! of them in all), the answer by [`MAX_BODY`], and Ctrl-C ends it within a fraction of a second.

use std::time::Duration;

use crate::error::{Error, Result};

/// The largest answer read: an npm package document with every version's times can be large
/// (tens of MB for the biggest packages), nothing a launcher names needs more.
pub const MAX_BODY: usize = 96 << 20;

pub struct Response {
    pub status: u32,
    /// The headers of the last answer (after redirects), names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// What to ask.
pub struct Ask<'a> {
    pub url: &'a str,
    /// `HEAD` instead of `GET`.
    pub head: bool,
    /// Whole header lines (`Accept: …`, `Authorization: …`).
    pub headers: Vec<String>,
}

/// The host of `url` (and its port), as errors name it: never the `user:password@` before it.
pub fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

/// Sends `ask`, following redirects (five at most), and returns the last answer whatever its
/// status. Fails when no answer could be had: the host cannot be reached, it stalled for `limit`,
/// the answer is larger than [`MAX_BODY`], or the user pressed Ctrl-C.
pub fn send(ask: &Ask, limit: Duration) -> Result<Response> {
    crate::error::check_interrupt()?;
    let shown = host(ask.url).to_string();
    crate::source::git::init_curl().map_err(|e| Error::Registry { message: e, hints: vec![] })?;
    let mut easy = curl::easy::Easy::new();
    let fail = |e: curl::Error| describe(&shown, limit, e);
    easy.url(ask.url).map_err(fail)?;
    easy.follow_location(true).map_err(fail)?;
    // http(s) only, and a redirect never leaves https for plain http.
    let redirects = if ask.url.starts_with("https://") {
        curl_sys::CURLPROTO_HTTPS
    } else {
        curl_sys::CURLPROTO_HTTP | curl_sys::CURLPROTO_HTTPS
    };
    for (option, value) in [
        (curl_sys::CURLOPT_PROTOCOLS, curl_sys::CURLPROTO_HTTP | curl_sys::CURLPROTO_HTTPS),
        (curl_sys::CURLOPT_REDIR_PROTOCOLS, redirects),
    ] {
        // SAFETY: a long option of the handle `easy` owns, set before the transfer.
        let code = unsafe { curl_sys::curl_easy_setopt(easy.raw(), option, value as std::os::raw::c_long) };
        if code != curl_sys::CURLE_OK {
            return Err(fail(curl::Error::new(code)));
        }
    }
    easy.max_redirections(5).map_err(fail)?;
    easy.connect_timeout(limit).map_err(fail)?;
    easy.low_speed_limit(1).map_err(fail)?;
    easy.low_speed_time(limit).map_err(fail)?;
    easy.timeout(limit * 10).map_err(fail)?;
    easy.useragent(concat!("atk/", env!("CARGO_PKG_VERSION"))).map_err(fail)?;
    easy.accept_encoding("").map_err(fail)?;
    easy.progress(true).map_err(fail)?;
    if ask.head {
        easy.nobody(true).map_err(fail)?;
    }
    let mut list = curl::easy::List::new();
    for h in &ask.headers {
        list.append(h).map_err(fail)?;
    }
    easy.http_headers(list).map_err(fail)?;
    let mut body = Vec::new();
    let mut headers: Vec<(String, String)> = Vec::new();
    let too_big = std::cell::Cell::new(false);
    {
        let mut transfer = easy.transfer();
        transfer
            .write_function(|data| {
                if body.len() + data.len() > MAX_BODY {
                    too_big.set(true);
                    return Ok(0);
                }
                body.extend_from_slice(data);
                Ok(data.len())
            })
            .map_err(fail)?;
        transfer
            .header_function(|line| {
                let line = String::from_utf8_lossy(line);
                if line.starts_with("HTTP/") {
                    headers.clear();
                } else if let Some((n, v)) = line.split_once(':') {
                    headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
                true
            })
            .map_err(fail)?;
        transfer.progress_function(|_, _, _, _| !crate::interrupt::is_set()).map_err(fail)?;
        let done = transfer.perform();
        if too_big.get() {
            return Err(Error::Registry {
                message: format!("{shown} answered with more than {} MB", MAX_BODY >> 20),
                hints: vec!["is this the registry you meant? (see `atk help` on where atk asks)".into()],
            });
        }
        done.map_err(fail)?;
    }
    let status = easy.response_code().map_err(fail)?;
    Ok(Response { status, headers, body })
}

fn describe(shown: &str, limit: Duration, e: curl::Error) -> Error {
    if e.is_aborted_by_callback() || crate::interrupt::is_set() {
        return Error::Interrupted;
    }
    if e.is_operation_timedout() {
        return Error::NetStalled { url: shown.to_string(), seconds: limit.as_secs().max(1) };
    }
    let said = e.extra_description().map_or_else(|| e.description().to_string(), str::to_string);
    Error::Registry {
        message: format!("cannot reach {shown}: {said}"),
        hints: vec![
            "check your network connection and the registry's address (npm_config_registry, UV_DEFAULT_INDEX, …)"
                .into(),
        ],
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_host() {
        assert_eq!(super::host("https://registry.npmjs.org/@s%2fp"), "registry.npmjs.org");
        assert_eq!(super::host("http://127.0.0.1:81/x?y"), "127.0.0.1:81");
        assert_eq!(super::host("https://__token__:pypi-S3cret@pypi.example/simple/"), "pypi.example");
    }
}
