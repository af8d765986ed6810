#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
//! API tests: one binary, each test on its own app (port 0) and its own fresh
//! database — SQLite by default, PostgreSQL when `TESSERA_TEST_DATABASE_URL` is set.

mod helpers;

mod access;
mod admin_api;
mod admin_assignments;
mod admin_catalog;
mod admin_clients;
mod admin_hosts;
mod admin_status;
mod admin_users;
mod api_tokens;
mod at_rest;
mod audit;
mod authorize;
mod cli;
mod directory;
mod discovery;
mod faults;
mod flow;
mod gateway;
mod key_storage;
mod keys;
mod limits;
mod logout;
mod metrics;
mod migrations;
mod nodes;
mod operations;
mod pages;
mod password_grant;
mod profile;
mod readme;
mod rotation;
mod throttle;
mod token_exchange;
mod tokens;
mod userinfo;
