//! Plans and their application, and the checks of a home: doctor's checks and repairs, and the
//! home's history read from git.

pub mod doctor;
pub mod history;
