//! Integration tests: the real `atk` binary against real git repositories on this machine.

mod add_local;
mod bootstrap;
mod common;
mod compat;
mod containment;
mod crash;
mod credentials;
mod dotenv;
mod gitignore;
mod init;
mod json_reports;
mod network;
mod output;
mod python;
mod registry;
mod remote;
mod remove;
mod safety;
mod servers;
mod setup;
mod sources;
mod tls;
mod trust;
mod uninstall;
mod upgrade;
mod validate;
