//! Tessera's own HTTP APIs, by version.

pub(super) mod v1;
