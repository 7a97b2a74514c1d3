//! Integration tests: the real `atk` binary against real git repositories on this machine.

mod add_local;
mod bootstrap;
mod common;
mod containment;
mod init;
mod output;
mod registry;
mod remote;
mod remove;
mod safety;
mod servers;
mod setup;
mod sources;
mod uninstall;
mod upgrade;
mod validate;
