//! The providers every vector names: who hosts the group, who follows it, who joins from
//! outside. The generator writes these names, the runner plays the peers under them, and the
//! reference DS's mutants that hard-code a provider list use them.

use crate::codec::ServiceProviderId;

pub const HUB: &str = "a.example";
pub const FOLLOWER_B: &str = "b.example";
pub const FOLLOWER_C: &str = "c.example";
/// The provider of users who join from outside.
pub const OUTSIDER: &str = "d.example";

/// Every provider of the cast, hub first.
pub const ALL: [&str; 4] = [HUB, FOLLOWER_B, FOLLOWER_C, OUTSIDER];

/// The id of one of the cast's providers.
pub fn provider(domain: &str) -> ServiceProviderId {
    ServiceProviderId::new(domain).expect("the cast's domains are valid provider ids")
}
