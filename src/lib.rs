//! Parley: a self-hosted live-chat appliance. The binary's `main` is thin; everything, and
//! everything the tests link against, is here.
//!
//! Dependencies point one way: `web` -> `store` -> `domain`. `app` wires them together.

pub mod app;
pub mod backups;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod local_client;
pub mod mail;
pub mod realtime;
pub mod store;
pub mod web;
pub mod webhooks;
