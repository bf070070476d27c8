//! hush-client: reserved in the workspace layout of DESIGN.md; its
//! implementation arrives with the client issue.
