//! Linker arguments of the `atk` binary.
//!
//! The `curl` crate initializes libcurl (and with it OpenSSL, which reads `openssl.cnf`) from a
//! constructor in `.init_array`, before `main`, in every process that links it; it has no feature
//! to turn that off (alexcrichton/curl-rust#601). That is 0.5 to 1 ms of every start (4 to 5 ms in
//! all), `atk --version` and `atk exec` included, for a connection most runs never make. On the
//! targets where that constructor is an `.init_array` entry, the binary's calls to
//! `curl_global_init` go through `__wrap_curl_global_init` (src/main.rs), which lets the
//! constructor's call do nothing when libcurl can be initialized later, from any thread;
//! `source::git::transport` initializes it before the first http(s) connection.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(os.as_str(), "linux" | "android" | "freebsd") {
        println!("cargo:rustc-link-arg-bins=-Wl,--wrap=curl_global_init");
    }
}
