//! The `hush` binary, driven as users drive it: `serve` in serve.rs, the
//! client commands against an in-process server in client.rs, and the
//! published vault-env Python client against hush in vaultenv.rs.

mod backup;
mod client;
mod clients;
mod crash;
mod e2ee;
mod export;
mod hepgg;
mod readme;
mod serve;
mod terminal;
mod vaultenv;
mod web_e2ee;
