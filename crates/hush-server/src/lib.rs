//! hush-server: reserved in the workspace layout of DESIGN.md; its
//! implementation arrives with the server issue.
