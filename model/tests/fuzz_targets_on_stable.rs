//! The fuzz targets of `mimi_ds_model::fuzzing`, run on stable `cargo test`.
//!
//! - Every target is registered: `fuzzing::TARGETS` and `fuzzing::JSON_ROUND_TRIPS` cover
//!   `codec::structures()` exactly, and each decode target and `json_round_trip` has a
//!   cargo-fuzz binary and a seed corpus in `fuzz/`.
//! - Every target runs over every committed seed (`fuzz/seeds/<target>/`), every codec vector
//!   (`vectors/codec/`), and many deterministic mutations of the seeds (bit flips,
//!   truncations, splices, interesting bytes) and random byte strings: no panic allowed.
//!   `json_round_trip` gets each of them both as is and behind its structure's selector byte.
//! - Round-trip properties per structure (proptest): values built from parts — random byte
//!   strings, partition keys, counters, provider ids, and real MLSMessages from
//!   `tests/data/mls-messages.json` of the wire format each field requires — satisfy
//!   `from_bytes(to_bytes(v)) == v`, and their JSON encodes back to the same bytes through
//!   `codec::structures()`.
//! - `Reader::varint` / `Reader::opaque` against tls_codec 0.5 (feature `mls`) as an
//!   independent oracle, and the MLS working group's varint header vectors.
//!
//! The seed corpus is written by the ignored test `write_seed_corpus` from the same strategies
//! as the properties (see `fuzz/README.md`).

use mimi_ds_model::codec::{
    self, Bytes, CommitData, ContentType, DsError, Epoch, ErrorCode, ExternalJoinRequest,
    GroupInfoRequest, GroupInfoResponse, HintedEpoch, KeyPackageBundleRequest,
    KeyPackageBundleResponse, KeyPackageRequest, KeyPackageResponse, KeyPackageResult, Message,
    MessageCommitData, MlsMessage, PartitionKey, RatchetTree, Reader, Reason, ReceiveRequest,
    ReceiveResponse, SendRequest, ServiceProviderId, WelcomeData, WelcomeInitRequest,
    WelcomeInitResponse, Wire, WireFormat, Writer,
};
use mimi_ds_model::fuzzing::{self, SplitMix64};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseResult, TestRunner};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn seed_dir(target: &str) -> PathBuf {
    fuzz_dir().join("seeds").join(target)
}

/// Real MLSMessages and ratchet trees from the MLS working group's interop vectors.
mod pool {
    use super::*;

    pub struct Pool {
        pub messages: Vec<MlsMessage>,
        /// `RatchetTree` encodings (length prefix included).
        pub ratchet_trees: Vec<RatchetTree>,
    }

    const MESSAGE_KEYS: [&str; 7] = [
        "mls_welcome",
        "mls_group_info",
        "mls_key_package",
        "public_message_application",
        "public_message_proposal",
        "public_message_commit",
        "private_message",
    ];

    pub fn get() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mls-messages.json");
            let text = std::fs::read_to_string(&path).expect("tests/data/mls-messages.json");
            let entries: Vec<serde_json::Map<String, serde_json::Value>> =
                serde_json::from_str(&text).expect("mls-messages.json is a JSON array of objects");
            let field = |entry: &serde_json::Map<String, serde_json::Value>, key: &str| {
                hex::decode(entry[key].as_str().expect("hex string")).expect("valid hex")
            };
            let messages = entries
                .iter()
                .flat_map(|entry| MESSAGE_KEYS.map(|key| field(entry, key)))
                .map(|bytes| {
                    MlsMessage::from_bytes(&bytes).expect("every vector MLSMessage decodes")
                })
                .collect();
            let ratchet_trees = entries
                .iter()
                .map(|entry| RatchetTree {
                    hex: field(entry, "ratchet_tree").into(),
                })
                .collect();
            Pool {
                messages,
                ratchet_trees,
            }
        })
    }

    /// The pool's messages whose wire format is one of `formats`.
    pub fn messages_of(formats: &[WireFormat]) -> Vec<MlsMessage> {
        let chosen: Vec<_> = get()
            .messages
            .iter()
            .filter(|m| formats.contains(&m.view.wire_format))
            .cloned()
            .collect();
        assert!(
            !chosen.is_empty(),
            "no pool message of wire format {formats:?}"
        );
        chosen
    }
}

/// proptest strategies that build every structure from parts.
mod strategies {
    use super::*;
    use proptest::collection::vec;
    use proptest::option;
    use proptest::sample::select;

    pub fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
        vec(any::<u8>(), 0..=max).prop_map(Bytes)
    }

    pub fn partition_key() -> impl Strategy<Value = PartitionKey> {
        any::<[u8; 16]>().prop_map(PartitionKey)
    }

    pub fn service_provider_id() -> impl Strategy<Value = ServiceProviderId> {
        // The last label has a letter: an all-digit one is refused.
        "([a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?\\.){0,3}([a-z0-9][a-z0-9-]{0,6})?[a-z]([a-z0-9-]{0,6}[a-z0-9])?"
            .prop_map(|domain| ServiceProviderId::new(&domain).expect("matches the rule"))
    }

    pub fn mls_message_of(formats: &[WireFormat]) -> impl Strategy<Value = MlsMessage> {
        select(pool::messages_of(formats))
    }

    /// The messages SendRequest and Message carry.
    fn handshake_or_application() -> impl Strategy<Value = MlsMessage> {
        mls_message_of(&[WireFormat::PublicMessage, WireFormat::PrivateMessage])
    }

    /// `Some(data)` exactly when `message` is a commit (errata `errata/select-commit-only`).
    fn only_for_commits<T: Clone + std::fmt::Debug + 'static>(
        message: &MlsMessage,
        data: impl Strategy<Value = T> + 'static,
    ) -> BoxedStrategy<Option<T>> {
        if message.view.content_type == Some(ContentType::Commit) {
            data.prop_map(Some).boxed()
        } else {
            Just(None).boxed()
        }
    }

    pub fn mls_message() -> impl Strategy<Value = MlsMessage> {
        select(pool::get().messages.clone())
    }

    pub fn key_package_request() -> impl Strategy<Value = KeyPackageRequest> {
        (bytes(40), bytes(40), any::<u16>()).prop_map(|(user_id, bearer_token, cipher_suite)| {
            KeyPackageRequest {
                user_id,
                bearer_token,
                version: 1,
                cipher_suite,
            }
        })
    }

    pub fn key_package_response() -> impl Strategy<Value = KeyPackageResponse> {
        mls_message_of(&[WireFormat::KeyPackage])
            .prop_map(|key_package| KeyPackageResponse { key_package })
    }

    pub fn key_package_bundle_request() -> impl Strategy<Value = KeyPackageBundleRequest> {
        vec(key_package_request(), 0..4).prop_map(|requests| KeyPackageBundleRequest { requests })
    }

    pub fn ds_error() -> impl Strategy<Value = DsError> {
        (select(ErrorCode::ALL.to_vec()), any::<String>())
            .prop_map(|(code, message)| DsError { code, message })
    }

    pub fn key_package_result() -> impl Strategy<Value = KeyPackageResult> {
        prop_oneof![
            mls_message_of(&[WireFormat::KeyPackage]).prop_map(KeyPackageResult::KeyPackage),
            ds_error().prop_map(KeyPackageResult::Error),
        ]
    }

    pub fn key_package_bundle_response() -> impl Strategy<Value = KeyPackageBundleResponse> {
        vec(key_package_result(), 0..4).prop_map(|results| KeyPackageBundleResponse { results })
    }

    fn welcome_data() -> impl Strategy<Value = WelcomeData> {
        (
            mls_message_of(&[WireFormat::Welcome]),
            vec(service_provider_id(), 0..4),
        )
            .prop_map(|(welcome, service_providers)| WelcomeData {
                welcome,
                service_providers,
            })
    }

    pub fn commit_data() -> impl Strategy<Value = CommitData> {
        (
            partition_key(),
            option::of(mls_message_of(&[WireFormat::GroupInfo])),
            option::of(welcome_data()),
        )
            .prop_map(
                |(next_partition_key, group_info, welcome_data)| CommitData {
                    next_partition_key,
                    group_info,
                    welcome_data,
                },
            )
    }

    pub fn send_request() -> impl Strategy<Value = SendRequest> {
        (handshake_or_application(), partition_key()).prop_flat_map(|(message, partition_key)| {
            only_for_commits(&message, commit_data()).prop_map(move |commit_data| SendRequest {
                message: message.clone(),
                partition_key,
                commit_data,
            })
        })
    }

    pub fn welcome_init_request() -> impl Strategy<Value = WelcomeInitRequest> {
        vec(bytes(64), 0..5).prop_map(|key_package_refs| WelcomeInitRequest { key_package_refs })
    }

    pub fn welcome_init_response() -> impl Strategy<Value = WelcomeInitResponse> {
        any::<bool>().prop_map(|accepted| WelcomeInitResponse { accepted })
    }

    pub fn receive_request() -> impl Strategy<Value = ReceiveRequest> {
        (partition_key(), any::<u32>()).prop_map(|(partition_key, counter)| ReceiveRequest {
            partition_key,
            counter,
        })
    }

    fn message_commit_data() -> impl Strategy<Value = MessageCommitData> {
        (
            bytes(48),
            option::of(mls_message_of(&[WireFormat::GroupInfo])),
        )
            .prop_map(|(next_partition_key, group_info)| MessageCommitData {
                next_partition_key,
                group_info,
            })
    }

    pub fn message() -> impl Strategy<Value = Message> {
        handshake_or_application().prop_flat_map(|message| {
            only_for_commits(&message, message_commit_data()).prop_map(move |commit| Message {
                message: message.clone(),
                commit,
            })
        })
    }

    pub fn epoch() -> impl Strategy<Value = Epoch> {
        vec(message(), 0..4).prop_map(|messages| Epoch { messages })
    }

    pub fn hinted_epoch() -> impl Strategy<Value = HintedEpoch> {
        (bytes(40), epoch()).prop_map(|(masked_partition_key, epoch)| HintedEpoch {
            masked_partition_key,
            epoch,
        })
    }

    pub fn receive_response() -> impl Strategy<Value = ReceiveResponse> {
        (epoch(), vec(hinted_epoch(), 0..3))
            .prop_map(|(epoch, hints)| ReceiveResponse { epoch, hints })
    }

    pub fn external_join_request() -> impl Strategy<Value = ExternalJoinRequest> {
        (mls_message_of(&[WireFormat::PublicMessage]), commit_data()).prop_map(
            |(message, commit_data)| ExternalJoinRequest {
                message,
                commit_data,
            },
        )
    }

    pub fn group_info_request() -> impl Strategy<Value = GroupInfoRequest> {
        bytes(40).prop_map(|group_id| GroupInfoRequest { group_id })
    }

    pub fn group_info_response() -> impl Strategy<Value = GroupInfoResponse> {
        let empty_tree = RatchetTree {
            hex: Bytes(vec![0]),
        };
        let trees = pool::get()
            .ratchet_trees
            .iter()
            .cloned()
            .chain([empty_tree])
            .collect::<Vec<_>>();
        (
            mls_message_of(&[WireFormat::GroupInfo]),
            option::of(select(trees)),
        )
            .prop_map(|(group_info, ratchet_tree)| GroupInfoResponse {
                group_info,
                ratchet_tree,
            })
    }
}

/// The round-trip property every structure must satisfy, and that its fuzz target accepts it.
fn assert_round_trip<T: Wire + PartialEq + std::fmt::Debug>(value: &T) -> TestCaseResult {
    let bytes = value.to_bytes();
    let decoded =
        T::from_bytes(&bytes).map_err(|e| TestCaseError::fail(format!("{}: {e}", T::NAME)))?;
    prop_assert_eq!(&decoded, value);
    let structure = codec::find_structure(T::NAME).expect("every Wire type is in structures()");
    let json = (structure.decode)(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        &json,
        &value.to_json(),
        "structures() decode disagrees with to_json"
    );
    let from_json = (structure.encode)(serde_json::to_value(value).expect("serializes"))
        .map_err(TestCaseError::fail)?;
    prop_assert_eq!(hex::encode(from_json), hex::encode(&bytes));
    fuzzing::by_name(T::NAME, &bytes).expect("every structure has a fuzz target");
    fuzzing::json_round_trip(&fuzzing::json_round_trip_input(T::NAME, &bytes).expect("listed"));
    Ok(())
}

/// One line per structure: the round-trip property test, and the seed encodings it contributes
/// to the fuzz corpus (`write_seed_corpus`).
macro_rules! round_trip_properties {
    ($($test:ident: $structure:ty = $strategy:expr;)+) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            $(
                #[test]
                fn $test(value in $strategy) {
                    assert_round_trip::<$structure>(&value)?;
                }
            )+
        }

        /// (structure name, strategy of valid encodings) for every structure.
        fn encodings() -> Vec<(&'static str, BoxedStrategy<Vec<u8>>)> {
            vec![$((<$structure as Wire>::NAME, $strategy.prop_map(|v: $structure| v.to_bytes()).boxed()),)+]
        }
    };
}

round_trip_properties! {
    mls_message_round_trips: MlsMessage = strategies::mls_message();
    key_package_request_round_trips: KeyPackageRequest = strategies::key_package_request();
    key_package_response_round_trips: KeyPackageResponse = strategies::key_package_response();
    key_package_bundle_request_round_trips: KeyPackageBundleRequest = strategies::key_package_bundle_request();
    key_package_result_round_trips: KeyPackageResult = strategies::key_package_result();
    key_package_bundle_response_round_trips: KeyPackageBundleResponse = strategies::key_package_bundle_response();
    commit_data_round_trips: CommitData = strategies::commit_data();
    send_request_round_trips: SendRequest = strategies::send_request();
    welcome_init_request_round_trips: WelcomeInitRequest = strategies::welcome_init_request();
    welcome_init_response_round_trips: WelcomeInitResponse = strategies::welcome_init_response();
    receive_request_round_trips: ReceiveRequest = strategies::receive_request();
    message_round_trips: Message = strategies::message();
    epoch_round_trips: Epoch = strategies::epoch();
    hinted_epoch_round_trips: HintedEpoch = strategies::hinted_epoch();
    receive_response_round_trips: ReceiveResponse = strategies::receive_response();
    external_join_request_round_trips: ExternalJoinRequest = strategies::external_join_request();
    group_info_request_round_trips: GroupInfoRequest = strategies::group_info_request();
    group_info_response_round_trips: GroupInfoResponse = strategies::group_info_response();
    ds_error_round_trips: DsError = strategies::ds_error();
}

#[test]
fn every_structure_has_a_target_a_binary_and_seeds() {
    let structures: Vec<_> = codec::structures().iter().map(|s| s.name).collect();
    let targets: Vec<_> = fuzzing::TARGETS.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(
        targets, structures,
        "fuzzing::TARGETS must list codec::structures() in order"
    );
    let json_round_trips: Vec<_> = fuzzing::JSON_ROUND_TRIPS
        .iter()
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(
        json_round_trips, structures,
        "json_round_trip's selector byte indexes codec::structures()"
    );
    let with_properties: Vec<_> = encodings().iter().map(|(name, _)| *name).collect();
    assert_eq!(
        with_properties, structures,
        "every structure needs a round-trip property"
    );

    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let has_binary = |function: &str| {
        assert!(
            manifest.contains(&format!("name = \"{function}\"")),
            "fuzz/Cargo.toml lacks [[bin]] {function}"
        );
        let source = fuzz_dir()
            .join("fuzz_targets")
            .join(format!("{function}.rs"));
        let source = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(
            source.contains(&format!("fuzzing::{function}(data)")),
            "{function}.rs calls another target"
        );
    };
    for (structure, function, _) in fuzzing::TARGETS {
        assert_eq!(
            function.replace('_', "-"),
            *structure,
            "target function named after its structure"
        );
        has_binary(function);
        let seeds = seed_files(function);
        assert!(!seeds.is_empty(), "fuzz/seeds/{function} is empty");
        for (path, bytes) in seeds {
            let decoded = (codec::find_structure(structure).expect("listed").decode)(&bytes);
            assert!(
                decoded.is_ok(),
                "{} is not a valid {structure}: {:?}",
                path.display(),
                decoded.err()
            );
        }
    }
    has_binary("json_round_trip");
    let json_seeds = seed_files("json_round_trip");
    let structures = codec::structures();
    for structure in &structures {
        let selected = json_seeds
            .iter()
            .filter(|(_, bytes)| {
                structures[usize::from(bytes[0]) % structures.len()].name == structure.name
            })
            .count();
        assert!(
            selected > 0,
            "fuzz/seeds/json_round_trip has no {} seed",
            structure.name
        );
    }
    for (path, bytes) in json_seeds {
        let structure = &structures[usize::from(bytes[0]) % structures.len()];
        assert!(
            (structure.decode)(&bytes[1..]).is_ok(),
            "{} is not a selector byte and a valid {}",
            path.display(),
            structure.name
        );
        fuzzing::json_round_trip(&bytes);
    }
    assert_eq!(
        fuzzing::by_name("no-such-structure", b""),
        Err(fuzzing::UnknownStructure("no-such-structure".into()))
    );
    assert_eq!(
        fuzzing::json_round_trip_input("no-such-structure", b""),
        Err(fuzzing::UnknownStructure("no-such-structure".into()))
    );
}

/// Runs every target on `input`, taken as an encoding of `structure`: each decode target, and
/// `json_round_trip` both on the raw bytes and behind `structure`'s selector byte, so the JSON
/// assertion sees the input whenever it decodes as `structure`.
fn run_every_target(structure: &str, input: &[u8]) {
    for (_, _, target) in fuzzing::TARGETS {
        target(input);
    }
    fuzzing::json_round_trip(input);
    fuzzing::json_round_trip(&fuzzing::json_round_trip_input(structure, input).expect("listed"));
}

fn seed_files(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(dir) = std::fs::read_dir(seed_dir(target)) else {
        return Vec::new();
    };
    let mut files: Vec<_> = dir
        .map(|entry| entry.expect("readable seed directory").path())
        .map(|path| {
            let bytes = std::fs::read(&path).expect("readable seed");
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Every committed seed, with the structure it encodes.
fn all_seeds() -> Vec<(&'static str, Vec<u8>)> {
    fuzzing::TARGETS
        .iter()
        .flat_map(|(structure, function, _)| {
            seed_files(function)
                .into_iter()
                .map(|(_, bytes)| (*structure, bytes))
        })
        .collect()
}

/// Every target over every codec vector of `vectors/codec/` (valid ones reach the round-trip
/// assertions of their own target), and the vector's own target must agree on validity.
#[test]
fn targets_survive_the_codec_vectors() {
    #[derive(serde::Deserialize)]
    struct VectorFile {
        structure: String,
        tests: Vec<Vector>,
    }
    #[derive(serde::Deserialize)]
    struct Vector {
        #[serde(rename = "tcId")]
        id: String,
        result: String,
        hex: String,
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/codec");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("readable vector directory").path())
        .filter(|path| !path.to_string_lossy().ends_with(".schema.json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no codec vectors in {}", dir.display());
    for path in files {
        let file: VectorFile =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("readable"))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let decode = codec::find_structure(&file.structure)
            .expect("vector of a listed structure")
            .decode;
        for vector in file.tests {
            let bytes = hex::decode(&vector.hex).unwrap_or_else(|e| panic!("{}: {e}", vector.id));
            fuzzing::by_name(&file.structure, &bytes).expect("every structure has a target");
            run_every_target(&file.structure, &bytes);
            if vector.result == "valid" {
                assert!(
                    decode(&bytes).is_ok(),
                    "{} is valid but does not decode",
                    vector.id
                );
            } else if vector.result == "invalid" {
                assert!(
                    decode(&bytes).is_err(),
                    "{} is invalid but decodes",
                    vector.id
                );
            }
        }
    }
}

/// Bytes that sit on the codec's boundaries: varint prefixes and limits, optional tags, enums.
const INTERESTING_BYTES: [u8; 10] = [0x00, 0x01, 0x02, 0x05, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff];

/// One mutation of `seed`; `donors` supply spliced material.
fn mutate(rng: &mut SplitMix64, seed: &[u8], donors: &[Vec<u8>]) -> Vec<u8> {
    let mut out = seed.to_vec();
    let at = |rng: &mut SplitMix64, len: usize| rng.below(len + 1);
    match rng.below(7) {
        0 if !out.is_empty() => {
            let i = rng.below(out.len());
            out[i] ^= 1 << rng.below(8);
        }
        1 => out.truncate(at(rng, seed.len())),
        2 if !out.is_empty() => {
            let i = rng.below(out.len());
            out[i] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
        }
        3 => {
            let donor = &donors[rng.below(donors.len())];
            let start = at(rng, donor.len());
            let end = start + at(rng, donor.len() - start);
            let position = at(rng, out.len());
            out.splice(position..position, donor[start..end].iter().copied());
        }
        4 => {
            let start = at(rng, out.len());
            let end = start + at(rng, out.len() - start);
            out.drain(start..end);
        }
        5 => out.push(rng.next() as u8),
        _ => {
            let len = rng.below(64);
            out = (0..len).map(|_| rng.next() as u8).collect();
        }
    }
    out
}

#[test]
fn targets_survive_seeds_and_their_mutations() {
    const MUTANTS_PER_SEED: usize = 200;
    let seeds = all_seeds();
    assert!(!seeds.is_empty(), "no seed corpus under fuzz/seeds");
    let donors: Vec<Vec<u8>> = seeds.iter().map(|(_, bytes)| bytes.clone()).collect();
    let mut rng = SplitMix64(0x6d69_6d69_2d64_7321);
    let mut still_valid = 0;
    for (structure, seed) in &seeds {
        let decode = codec::find_structure(structure)
            .expect("seed of a listed structure")
            .decode;
        run_every_target(structure, seed);
        for _ in 0..MUTANTS_PER_SEED {
            let mut input = mutate(&mut rng, seed, &donors);
            // Stack a few mutations so some inputs drift far from any valid encoding.
            for _ in 0..rng.below(3) {
                input = mutate(&mut rng, &input, &donors);
            }
            run_every_target(structure, &input);
            still_valid += usize::from(decode(&input).is_ok());
        }
    }
    // Mutants the seed's own decoder accepts reach the encode and JSON assertions too.
    assert!(
        still_valid > 0,
        "no mutant stayed valid: the mutations only exercise rejection"
    );
}

/// Minimal varint encodings (RFC 9420 §2.1.2) of `value` in `width` bytes, or `None` when
/// `value` does not fit.
fn varint_in_width(value: usize, width: usize) -> Option<Vec<u8>> {
    let (prefix, limit) = match width {
        1 => (0x00, 1 << 6),
        2 => (0x40, 1 << 14),
        4 => (0x80, 1 << 30),
        _ => unreachable!("MLS varints are 1, 2 or 4 bytes"),
    };
    (value < limit).then(|| {
        let mut bytes = value.to_be_bytes()[8 - width..].to_vec();
        bytes[0] |= prefix;
        bytes
    })
}

fn minimal_width(value: usize) -> usize {
    [1, 2, 4]
        .into_iter()
        .find(|w| varint_in_width(value, *w).is_some())
        .expect("value below 2^30")
}

fn our_opaque(input: &[u8]) -> Result<Vec<u8>, codec::DecodeError> {
    let mut r = Reader::new(input);
    let body = r.opaque("opaque")?.to_vec();
    r.finish()?;
    Ok(body)
}

fn tls_codec_opaque(input: &[u8]) -> Result<Vec<u8>, tls_codec::Error> {
    use tls_codec::Deserialize;
    tls_codec::VLBytes::tls_deserialize_exact(input).map(|v| v.as_slice().to_vec())
}

/// A vector header of `value` in at least its minimal width (so sometimes non-minimal), then a
/// body whose length is near `value` (so both accepted and rejected inputs come up).
fn vector_input() -> impl Strategy<Value = (usize, usize, Vec<u8>)> {
    let value = prop_oneof![0usize..64, 64usize..16_384, 16_384usize..(1 << 30)];
    (
        value,
        prop::sample::select(vec![1usize, 2, 4]),
        -2isize..=2,
        any::<u8>(),
    )
        .prop_map(|(value, width, slack, fill)| {
            let width = width.max(minimal_width(value));
            let header = varint_in_width(value, width).expect("value fits its width");
            let body_len = value.saturating_add_signed(slack).min(20_000);
            (value, width, [header, vec![fill; body_len]].concat())
        })
}

proptest! {
    #[test]
    fn reader_agrees_with_tls_codec_on_minimal_vectors((value, width, input) in vector_input()) {
        let ours = our_opaque(&input);
        if width == minimal_width(value) {
            prop_assert_eq!(ours.ok(), tls_codec_opaque(&input).ok());
        } else {
            prop_assert!(
                matches!(&ours, Err(e) if matches!(e.reason, Reason::NonMinimalVarint { .. }) && e.offset == 0),
                "non-minimal header of {} in {} bytes: {:?}", value, width, ours
            );
        }
    }

    #[test]
    fn reader_agrees_with_tls_codec_on_random_bytes(input in prop::collection::vec(any::<u8>(), 0..80)) {
        prop_assert_eq!(our_opaque(&input).ok(), tls_codec_opaque(&input).ok());
    }
}

#[test]
fn reader_decodes_the_mls_working_group_varint_headers() {
    #[derive(serde::Deserialize)]
    struct Case {
        vlbytes_header: String,
        length: usize,
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/deserialization.json");
    let cases: Vec<Case> =
        serde_json::from_str(&std::fs::read_to_string(path).expect("deserialization.json"))
            .expect("an array of {vlbytes_header, length}");
    assert!(!cases.is_empty());
    for case in cases {
        let header = hex::decode(&case.vlbytes_header).expect("hex");
        let mut r = Reader::new(&header);
        assert_eq!(
            r.varint("header"),
            Ok(case.length),
            "header {}",
            case.vlbytes_header
        );
        r.finish().expect("the header is all varint");
        let mut w = Writer::default();
        w.varint(case.length);
        assert_eq!(
            hex::encode(w.out),
            case.vlbytes_header,
            "our encoding of {}",
            case.length
        );
    }
}

mod quickcheck_properties {
    use super::*;
    use quickcheck::quickcheck;

    quickcheck! {
        fn varint_round_trips_in_minimal_width(raw: u32) -> bool {
            let value = raw as usize & codec::reader::MAX_VARINT;
            let mut w = Writer::default();
            w.varint(value);
            let mut r = Reader::new(&w.out);
            w.out.len() == minimal_width(value) && r.varint("v") == Ok(value) && r.is_empty()
        }

        fn opaque_encodes_like_tls_codec(body: Vec<u8>) -> bool {
            use tls_codec::Serialize;
            let mut w = Writer::default();
            w.opaque(&body);
            Some(w.out) == tls_codec::VLBytes::new(body).tls_serialize_detached().ok()
        }
    }
}

/// Rewrites `fuzz/seeds/<target>/` from the round-trip strategies (deterministic):
/// `cargo test -p mimi-ds-model --test fuzz_targets_on_stable -- --ignored write_seed_corpus`.
#[test]
#[ignore = "writes fuzz/seeds; run on purpose when the codec or the strategies change"]
fn write_seed_corpus() {
    const SEEDS_PER_TARGET: usize = 4;
    // json_round_trip's seeds are the decode targets' seeds behind their selector byte.
    let json_dir = seed_dir("json_round_trip");
    if json_dir.exists() {
        std::fs::remove_dir_all(&json_dir).expect("clear old seeds");
    }
    std::fs::create_dir_all(&json_dir).expect("create seed directory");
    // Named by content, as libFuzzer names corpus files: equal draws collapse into one.
    let write = |dir: &Path, bytes: &[u8]| {
        let name = hex::encode(&Sha256::digest(bytes)[..8]);
        std::fs::write(dir.join(name), bytes).expect("write seed");
    };
    for (structure, strategy) in encodings() {
        let dir = seed_dir(&structure.replace('-', "_"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("clear old seeds");
        }
        std::fs::create_dir_all(&dir).expect("create seed directory");
        let mut runner = TestRunner::deterministic();
        for _ in 0..SEEDS_PER_TARGET {
            let bytes = strategy
                .new_tree(&mut runner)
                .expect("strategy yields values")
                .current();
            write(&dir, &bytes);
            let json_input = fuzzing::json_round_trip_input(structure, &bytes).expect("listed");
            write(&json_dir, &json_input);
        }
    }
}
