//! Black-box tests: each starts the real `flick` binary on port 0 with a
//! temporary data dir and talks to it over HTTP. Clips are generated with
//! ffmpeg at test time.

mod harness;

mod accounts;
mod bad_inputs;
mod for_you;
mod hardening;
mod media;
mod postgres;
mod regions;
mod rights;
mod s3;
mod safety;
mod safety_tools;
mod social;
mod synthetic;
mod trust;
