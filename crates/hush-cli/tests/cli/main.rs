//! The `hush` binary, driven as users drive it: `serve` in serve.rs, the
//! client commands against an in-process server in client.rs.

mod client;
mod serve;
