//! Portable data: the archive format backups (and exports) are written in, the store that keeps
//! backups, and backing up and restoring a plugin's data.

pub mod age;
pub mod archive;
pub mod backup;
pub mod container;
pub mod restore;
pub mod store;
