use std::process::ExitCode;

fn main() -> ExitCode {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    curl_deferred::MAIN_RUNS.store(true, std::sync::atomic::Ordering::SeqCst);
    atk::pool::limit_memory_reservations();
    atk::interrupt::install();
    ExitCode::from(atk::cli::main(std::env::args_os()))
}

/// The `curl` crate calls `curl_global_init` from a constructor, before `main`, in every process:
/// that initializes OpenSSL, which reads `openssl.cnf`: 0.5 to 1 ms of every start, for a
/// connection most runs never make. build.rs links this binary's calls to `curl_global_init` to
/// [`__wrap_curl_global_init`] (`ld --wrap`): the constructor's call does nothing when libcurl
/// says it can be initialized later from any thread (`CURL_VERSION_THREADSAFE`, libcurl 7.84 and
/// later); `atk::source` initializes it before its first http(s) connection. With an older
/// libcurl the constructor initializes it as before.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
mod curl_deferred {
    use std::sync::atomic::{AtomicBool, Ordering};

    use curl_sys::{CURLcode, CURLE_OK};

    /// Set first thing in `main`: a call before it is the constructor's.
    pub static MAIN_RUNS: AtomicBool = AtomicBool::new(false);

    /// curl.h's `CURL_VERSION_THREADSAFE` (since 7.84.0): `curl_global_init` may be called at any
    /// time, from any thread.
    const CURL_VERSION_THREADSAFE: std::ffi::c_int = 1 << 30;

    extern "C" {
        /// libcurl's own `curl_global_init` (`ld --wrap` names it so).
        fn __real_curl_global_init(flags: std::ffi::c_long) -> CURLcode;
    }

    #[no_mangle]
    extern "C" fn __wrap_curl_global_init(flags: std::ffi::c_long) -> CURLcode {
        if !MAIN_RUNS.load(Ordering::SeqCst) && later_is_safe() {
            return CURLE_OK;
        }
        // SAFETY: the real function, with the caller's arguments.
        unsafe { __real_curl_global_init(flags) }
    }

    /// Whether this libcurl allows `curl_global_init` later, from any thread.
    fn later_is_safe() -> bool {
        // SAFETY: `curl_version_info` may be called before `curl_global_init`; it returns a
        // pointer to static data, or null.
        let info = unsafe { curl_sys::curl_version_info(curl_sys::CURLVERSION_NOW) };
        // SAFETY: non-null, it points to libcurl's static version data.
        !info.is_null() && unsafe { (*info).features } & CURL_VERSION_THREADSAFE != 0
    }
}
