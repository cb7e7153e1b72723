//! The fuzz targets' bodies, shared by the cargo-fuzz crate in `fuzz/` (libFuzzer, nightly)
//! and by `tests/fuzz_targets_on_stable.rs` (stable `cargo test`), so both exercise exactly
//! the same assertions.
//!
//! One decode target per codec structure takes arbitrary bytes and panics only when the codec
//! breaks a promise:
//! - decoding never panics (in debug and release builds);
//! - a successful decode re-encodes to exactly the input (the codec is strict and canonical,
//!   so decode → encode is byte-identical);
//! - the re-encoding decodes again to an equal value.
//!
//! One more target, [`json_round_trip`], checks every structure's JSON: its first byte picks
//! the structure (an index into [`crate::codec::structures`]), and if the rest decodes as that
//! structure, the value's JSON form goes back through the structure's `encode` to the same
//! bytes. That is the serde form, which is what `mimi-ds-check decode` prints for every
//! structure except a top-level `mls-message`: there the CLI prints only the DS view, which
//! cannot be encoded back (a PrivateMessage's ciphertext is not in it), so the serde form with
//! its `hex` key is used. It is a target of its own because JSON costs several times the
//! byte-level checks: inside every decode target it held the slowest ones to 16–31 k exec/s.
//!
//! [`TARGETS`] lists the decode targets under their structure's kebab name; a test checks that
//! it covers [`crate::codec::structures`] exactly, and [`by_name`] dispatches on that name.

use crate::codec::{self, Wire};
use std::fmt::Debug;

/// Decode, re-encode and decode again, asserting each step agrees.
fn byte_round_trip<T: Wire + PartialEq + Debug>(data: &[u8]) {
    let Ok(value) = T::from_bytes(data) else {
        return;
    };
    let encoded = value.to_bytes();
    assert!(
        encoded == data,
        "{}: decode then encode changed the bytes\n input   {}\n encoded {}",
        T::NAME,
        hex::encode(data),
        hex::encode(&encoded)
    );
    let decoded_again = T::from_bytes(&encoded)
        .unwrap_or_else(|e| panic!("{}: the re-encoding does not decode: {e}", T::NAME));
    assert_eq!(
        decoded_again,
        value,
        "{}: decoding the re-encoding gave another value",
        T::NAME
    );
}

/// Decode, then the value's JSON through the structure's `encode` must give the input back.
fn json_round_trip_of<T: Wire>(data: &[u8]) {
    let Ok(value) = T::from_bytes(data) else {
        return;
    };
    let structure = codec::find_structure(T::NAME)
        .unwrap_or_else(|| panic!("{} is missing from codec::structures()", T::NAME));
    let json = serde_json::to_value(&value)
        .unwrap_or_else(|e| panic!("{}: the value does not serialize to JSON: {e}", T::NAME));
    let from_json = (structure.encode)(json.clone())
        .unwrap_or_else(|e| panic!("{}: its own JSON does not encode: {e}\n{json}", T::NAME));
    assert!(
        from_json == data,
        "{}: JSON → encode changed the bytes\n input     {}\n from JSON {}",
        T::NAME,
        hex::encode(data),
        hex::encode(&from_json)
    );
}

/// Declares one public decode target per structure, the [`TARGETS`] table, and the JSON round
/// trip of each structure for [`json_round_trip`].
macro_rules! fuzz_targets {
    ($($function:ident => $structure:ty),+ $(,)?) => {
        $(
            #[doc = concat!("Fuzz target for `", stringify!($structure), "`: see the module docs.")]
            pub fn $function(data: &[u8]) {
                byte_round_trip::<$structure>(data)
            }
        )+

        /// Every decode target: (structure kebab name, target function name, target).
        pub const TARGETS: &[(&str, &str, fn(&[u8]))] = &[
            $((<$structure as Wire>::NAME, stringify!($function), $function),)+
        ];

        /// The JSON round trip of every structure, in the order of `codec::structures()` (a
        /// test checks it), so [`json_round_trip`]'s first byte indexes both.
        pub const JSON_ROUND_TRIPS: &[(&str, fn(&[u8]))] = &[
            $((<$structure as Wire>::NAME, json_round_trip_of::<$structure>),)+
        ];
    };
}

fuzz_targets! {
    mls_message => codec::MlsMessage,
    key_package_request => codec::KeyPackageRequest,
    key_package_response => codec::KeyPackageResponse,
    key_package_bundle_request => codec::KeyPackageBundleRequest,
    key_package_result => codec::KeyPackageResult,
    key_package_bundle_response => codec::KeyPackageBundleResponse,
    commit_data => codec::CommitData,
    send_request => codec::SendRequest,
    welcome_init_request => codec::WelcomeInitRequest,
    welcome_init_response => codec::WelcomeInitResponse,
    receive_request => codec::ReceiveRequest,
    message => codec::Message,
    epoch => codec::Epoch,
    hinted_epoch => codec::HintedEpoch,
    receive_response => codec::ReceiveResponse,
    external_join_request => codec::ExternalJoinRequest,
    group_info_request => codec::GroupInfoRequest,
    group_info_response => codec::GroupInfoResponse,
    ds_error => codec::DsError,
}

/// Fuzz target for the JSON round trip of every structure: the first byte, modulo the number
/// of structures (so no selector byte is wasted), picks the structure of `codec::structures()`;
/// the rest is its input. See the module docs.
pub fn json_round_trip(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let (_, check) = JSON_ROUND_TRIPS[usize::from(selector) % JSON_ROUND_TRIPS.len()];
    check(bytes)
}

/// The [`json_round_trip`] input that checks `encoding` as the structure named `name`.
pub fn json_round_trip_input(name: &str, encoding: &[u8]) -> Result<Vec<u8>, UnknownStructure> {
    let index = JSON_ROUND_TRIPS
        .iter()
        .position(|(structure, _)| *structure == name)
        .ok_or_else(|| UnknownStructure(name.to_owned()))?;
    let selector = u8::try_from(index).expect("fewer than 256 structures");
    Ok([&[selector], encoding].concat())
}

/// A structure name no target answers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownStructure(pub String);

impl std::fmt::Display for UnknownStructure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no fuzz target for structure {:?}", self.0)
    }
}

impl std::error::Error for UnknownStructure {}

/// Runs the decode target of the structure with this kebab name (`send-request`,
/// `mls-message`, …).
pub fn by_name(name: &str, data: &[u8]) -> Result<(), UnknownStructure> {
    let (_, _, target) = TARGETS
        .iter()
        .find(|(structure, _, _)| *structure == name)
        .ok_or_else(|| UnknownStructure(name.to_owned()))?;
    target(data);
    Ok(())
}

/// SplitMix64: the mutation fuzzers' one source of choices (the HTTP fuzzer's and the stable
/// test's), so a seed fixes every input they make.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True `p` times in 100.
    pub fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
