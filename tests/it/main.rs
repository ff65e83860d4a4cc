//! Parley's integration tests: one binary (fast to link), the real server on 127.0.0.1:0 with a
//! temporary data dir, real HTTP. Add new files as modules here rather than new test binaries.

mod audience;
mod harness;

mod admin;
mod api;
mod auth;
mod canned;
mod cli;
mod disk;
mod files;
mod limits;
mod live;
mod mail;
mod ops;
mod ops_cli;
mod proactive;
mod reports;
mod tenancy;
mod tls;
mod tokens;
mod transfer;
mod webhooks;
mod widget;
