//! Portable data: the archive format backups (and later exports) are written in, and the swap
//! that puts restored data in place.

pub mod archive;
pub mod container;
pub mod swap;

pub use archive::{
    extract_verified, pack, verify, Encryption, EntryKind, FileEntry, Manifest, PackMeta, PluginInfo, FORMAT,
    MANIFEST_NAME,
};
pub use swap::{recover_swap, swap_in, Recovered};
