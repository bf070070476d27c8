//! The client commands, one module per group.

pub mod auth;
pub mod devices;
pub mod e2ee;
pub mod history;
pub mod init;
pub mod org_secrets;
pub mod people;
pub mod resources;
pub mod run;
pub mod secrets;
pub mod sync;
pub mod tokens;
