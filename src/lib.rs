//! atk: a git-native plugin manager for AI coding tools.
//!
//! Layers, top to bottom: `cli` → `commands` → {`ui`, `home`, `source`, `lifecycle`} → `plugin` →
//! `error`. Only `commands` talks to a person; the domain modules return values and errors, and
//! say what they are doing through a `reporter::Reporter` they are given.

pub mod agents;
pub mod artifact;
pub mod cli;
pub mod commands;
pub mod data;
pub mod environment;
pub mod error;
pub mod failpoint;
pub mod fs;
pub mod home;
pub mod interrupt;
pub mod lifecycle;
pub mod plugin;
pub mod pool;
pub mod process;
pub mod reporter;
pub mod settings;
pub mod source;
pub mod sync;
pub mod text;
pub mod ui;
pub mod yaml;

pub use error::{Error, Result};
