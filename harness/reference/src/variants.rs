//! What mutants and freedoms share: each is a named variant of the reference DS, declared once
//! with what it does differently and the rules it concerns — for a mutant the rules it breaks,
//! for a freedom the discretion it uses or the erratum reading it takes.

use mimi_ds_model::errata::ErratumId;
use mimi_ds_model::requirements::ReqId;

pub struct Variant<K: 'static> {
    pub kind: K,
    /// Its name on the command line (`--mutant NAME`, `--freedom NAME`).
    pub name: &'static str,
    /// What it does differently from the reference: the bug, or the discretion used.
    pub does: &'static str,
    pub requirements: &'static [ReqId],
    pub errata: &'static [ErratumId],
}

/// Declares an enum of variants and its table from one list, so no variant can be declared
/// without its name and rules.
macro_rules! variants {
    ($(#[$meta:meta])* $kind:ident in $table:ident {
        $($variant:ident $name:literal: $does:literal, [$($r:ident),*], [$($e:ident),*];)+
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $kind {
            $($variant),+
        }

        pub const $table: &[$crate::variants::Variant<$kind>] = &[$(
            $crate::variants::Variant {
                kind: $kind::$variant,
                name: $name,
                does: $does,
                requirements: &[$(req::$r),*],
                errata: &[$(errata::$e),*],
            },
        )+];

        /// The variant named `name`.
        pub fn find(name: &str) -> Option<&'static $crate::variants::Variant<$kind>> {
            $table.iter().find(|v| v.name == name)
        }

        /// The table entry of `kind`.
        pub fn info(kind: $kind) -> &'static $crate::variants::Variant<$kind> {
            $table
                .iter()
                .find(|v| v.kind == kind)
                .expect("the macro lists every variant")
        }
    };
}
pub(crate) use variants;
