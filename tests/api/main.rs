#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
//! API tests: one binary, each test on its own app (port 0) and its own fresh
//! database — SQLite by default, PostgreSQL when `TESSERA_TEST_DATABASE_URL` is set.

mod helpers;

mod authorize;
mod cli;
mod directory;
mod discovery;
mod flow;
mod keys;
mod logout;
mod profile;
mod throttle;
mod tokens;
mod userinfo;
