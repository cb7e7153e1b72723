//! mimi-ds-model: the strict wire codec and the pure reference model of the IETF draft
//! "Robust and Privacy-Preserving Delivery Service" (draft-mcmillion-mimi-delivery-service).
//!
//! No I/O, clock, randomness or global state lives here: time and choices are inputs, so
//! every verdict the harness gives can be recomputed from recorded inputs.

pub mod codec;
pub mod ds;
pub mod errata;
pub mod fuzzing;
pub mod requirements;
pub mod vectors;
