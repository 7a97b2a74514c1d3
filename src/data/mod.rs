//! Portable data: the archive format backups (and exports) are written in, the store that keeps
//! backups, and backing up and restoring a plugin's data.

pub mod archive;
pub mod backup;
pub mod container;
pub mod restore;
pub mod store;

/// The variable a backup's passphrase may be given in. It is atk's, for the archive: no command
/// atk starts for a plugin (its lifecycle, its scripts, docker) gets it in its environment.
pub const PASSPHRASE_VAR: &str = "ATK_BACKUP_PASSPHRASE";

pub use archive::{
    extract_verified, pack, verify, Encryption, EntryKind, FileEntry, Manifest, PackMeta, PluginInfo, FORMAT,
    MANIFEST_NAME,
};
