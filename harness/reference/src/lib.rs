//! The reference DS: the model served over the HTTP binding (`server`), and the variants the
//! suite proves itself with — `mutants`, each breaking one rule, which the vectors must catch,
//! and `freedoms`, each a legal use of a discretion the draft gives, which must pass.

pub mod freedoms;
pub mod mutants;
pub mod server;
pub mod variants;

pub use server::{start, Config, Server};
