//! Black-box tests of every API surface: a real server on an ephemeral
//! port, real HTTP, on SQLite and (with `HUSH_TEST_DATABASE_URL`)
//! PostgreSQL. One file per surface, one test binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod dashboard;
mod dotenv;
mod hardening;
mod hepgg;
mod native;
mod orgsecrets;
mod reliability;
mod surfaces;
mod team;
mod vaultenv;
mod vaultkv;
mod web;
