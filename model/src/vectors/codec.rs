//! Codec vectors, Wycheproof style: per structure, valid encodings with their decoded JSON
//! and invalid ones that each break exactly one strictness rule, flagged by that rule.
//!
//! Invalid cases are made two ways: a [`Fault`] planted in the writer while encoding a valid
//! value (so every varint, optional and partition key site of every structure is hit), and
//! hand-made byte edits for rules no writer fault can express (unknown enum values, wrong
//! embedded wire format, bad versions). `verify` recomputes every case from its hex alone.

use super::samples::Samples;
use super::{Verdict, DRAFT};
use crate::codec::reader::Fault;
use crate::codec::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const SCHEMA_FILE: &str = "codec-vectors.schema.json";

/// One file: the cases of one structure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodecVectorFile {
    /// The JSON Schema file beside this one.
    pub schema: String,
    /// The structure's kebab-case name (`mimi-ds-check decode <structure>`).
    pub structure: String,
    pub draft: String,
    #[serde(rename = "numberOfTests")]
    pub number_of_tests: usize,
    /// What every flag used in this file means.
    pub notes: BTreeMap<String, FlagNote>,
    pub tests: Vec<CodecTest>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagNote {
    /// `valid-variant` for flags on valid cases, `malformed` for flags on invalid ones.
    #[serde(rename = "bugType")]
    pub bug_type: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodecTest {
    /// Stable id: `<structure>/<valid|invalid>/<what>`.
    #[serde(rename = "tcId")]
    pub tc_id: String,
    pub comment: String,
    /// Mandatory on every non-valid case; each is explained in the file's `notes`.
    pub flags: Vec<String>,
    pub result: Verdict,
    pub hex: Bytes,
    /// The decoded structure (valid cases): what `mimi-ds-check decode` prints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<serde_json::Value>,
    /// Where our decoder stops and why (invalid cases). Other decoders must reject; the
    /// offset they report may differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ExpectedError>,
    /// Errata decisions this case depends on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errata: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    pub offset: usize,
    pub message: String,
}

/// The flag that names the strictness rule a decode error broke.
pub fn flag_of(reason: &Reason) -> &'static str {
    match reason {
        Reason::Truncated { .. } => "Truncated",
        Reason::LengthBeyondInput { .. } => "LengthBeyondInput",
        Reason::NonMinimalVarint { .. } => "NonMinimalVarint",
        Reason::ReservedVarintPrefix { .. } => "ReservedVarintPrefix",
        Reason::TrailingBytes { .. } => "TrailingBytes",
        Reason::BadOptionalTag { .. } => "BadOptionalTag",
        Reason::UnknownValue { .. } => "UnknownValue",
        Reason::UnsupportedVersion { .. } => "UnsupportedVersion",
        Reason::WrongLength { .. } => "WrongPartitionKeyLength",
        Reason::EmptyElement { .. } => "EmptyElement",
        Reason::Invalid { .. } => "InvalidValue",
    }
}

/// Every flag and what it means; a file's `notes` holds the ones it uses.
const FLAG_NOTES: &[(&str, &str, &str)] = &[
    ("Truncated", "malformed", "The input ends inside a field (RFC 9420 §2.1)."),
    ("LengthBeyondInput", "malformed", "A vector's varint length prefix exceeds the bytes that remain; a decoder must reject it before allocating (here the prefix is 2^30 - 1 on a short input)."),
    ("NonMinimalVarint", "malformed", "A varint length uses more bytes than its value needs; RFC 9420 §2.1.2 requires the minimal encoding."),
    ("ReservedVarintPrefix", "malformed", "A varint starts with the two-bit prefix 0b11, which RFC 9420 §2.1.2 leaves invalid."),
    ("TrailingBytes", "malformed", "Bytes follow the end of the structure; a body is exactly one structure."),
    ("BadOptionalTag", "malformed", "An optional<T> presence byte other than 0 or 1 (RFC 9420 §2.1.1)."),
    ("UnknownValue", "malformed", "An enumerated value the draft or RFC 9420 does not define (wire format, error code, result status, accepted flag)."),
    ("UnsupportedVersion", "malformed", "A ProtocolVersion other than mls10 (1)."),
    ("WrongPartitionKeyLength", "malformed", "A PartitionKey whose length is not 16 (errata/partition-key-encoding)."),
    ("InvalidValue", "malformed", "A value that breaks a rule of the draft or our errata: an embedded MLSMessage of the wrong wire format (the draft's `// Welcome`, `// GroupInfo` annotations), a ServiceProviderId that is not a lowercase domain, non-UTF-8 text."),
    ("EmptyInput", "malformed", "No bytes at all."),
    ("CommitDataOnNonCommit", "malformed", "Commit data after a message that is not a commit; only commits carry it (errata/select-commit-only), so the bytes are trailing."),
    ("CommitWithoutCommitData", "malformed", "A commit with no commit data after it (errata/select-commit-only)."),
    ("SelectCommitOnly", "valid-variant", "The content-type select of SendRequest/Message read as commit-only (errata/select-commit-only)."),
];

const SELECT_COMMIT_ONLY: &str = "errata/select-commit-only";
const PARTITION_KEY_ENCODING: &str = "errata/partition-key-encoding";

/// A case before its expectation is computed from its bytes.
struct Draft {
    what: String,
    comment: String,
    hex: Vec<u8>,
    extra_flags: Vec<&'static str>,
    errata: Vec<&'static str>,
}

fn draft(what: &str, comment: &str, hex: Vec<u8>) -> Draft {
    Draft {
        what: what.into(),
        comment: comment.into(),
        hex,
        extra_flags: vec![],
        errata: vec![],
    }
}

impl Draft {
    fn flag(mut self, flag: &'static str) -> Self {
        self.extra_flags.push(flag);
        self
    }

    fn erratum(mut self, id: &'static str) -> Self {
        self.errata.push(id);
        self
    }
}

/// Valid values of one structure, and the raw invalid cases only it has.
struct Spec<T> {
    valid: Vec<(&'static str, &'static str, T)>,
    special: Vec<Draft>,
}

/// Faults tried on every valid value, by kind; a kind stops at the first site it cannot reach.
fn fault_kinds() -> Vec<(&'static str, fn(usize) -> Fault)> {
    vec![
        ("non-minimal-varint", |site| Fault::NonMinimalVarint {
            site,
        }),
        ("reserved-varint-prefix", |site| {
            Fault::ReservedVarintPrefix { site }
        }),
        ("huge-length", |site| Fault::HugeLength { site }),
        ("bad-optional-tag", |site| Fault::BadOptionalTag { site }),
        ("partition-key-15-bytes", |site| Fault::PartitionKeyLength {
            site,
            length: 15,
        }),
        ("partition-key-17-bytes", |site| Fault::PartitionKeyLength {
            site,
            length: 17,
        }),
    ]
}

/// Sites per fault kind per valid value: enough to reach nested vectors without bloating files.
const MAX_SITES: usize = 4;

fn drafts_for<T: Wire>(spec: Spec<T>) -> Vec<Draft> {
    let mut out = vec![draft("empty", "no bytes at all", vec![]).flag("EmptyInput")];
    for (what, comment, value) in &spec.valid {
        let bytes = value.to_bytes();
        let errata = errata_of::<T>(value);
        let mut valid = draft(what, comment, bytes.clone());
        valid.errata = errata.clone();
        if errata.contains(&SELECT_COMMIT_ONLY) {
            valid = valid.flag("SelectCommitOnly");
        }
        out.push(valid);
        let mut trailing = bytes.clone();
        trailing.push(0);
        out.push(draft(
            &format!("{what}/trailing-byte"),
            &format!("{comment}, then one extra byte 00"),
            trailing,
        ));
        let mut cuts = vec![bytes.len() - 1, bytes.len() / 2, 1];
        cuts.dedup();
        for cut in cuts {
            if cut > 0 && cut < bytes.len() {
                out.push(draft(
                    &format!("{what}/truncated-to-{cut}"),
                    &format!("{comment}, cut after {cut} of {} bytes", bytes.len()),
                    bytes[..cut].to_vec(),
                ));
            }
        }
        for (kind, make) in fault_kinds() {
            for site in 0..MAX_SITES {
                let mut w = Writer::with_fault(make(site));
                value.write(&mut w);
                if !w.fault_planted() {
                    break;
                }
                let mut case = draft(
                    &format!("{what}/{kind}-{site}"),
                    &format!(
                        "{comment}, with {} at site {site} in write order",
                        kind.replace('-', " ")
                    ),
                    w.out,
                );
                if kind.starts_with("partition-key") {
                    case = case.erratum(PARTITION_KEY_ENCODING);
                }
                out.push(case);
            }
        }
    }
    out.extend(spec.special);
    out
}

fn errata_of<T: Wire>(value: &T) -> Vec<&'static str> {
    let json = serde_json::to_string(&value.to_json()).unwrap_or_default();
    let mut errata = vec![];
    if json.contains("partition_key") {
        errata.push(PARTITION_KEY_ENCODING);
    }
    if matches!(
        T::NAME,
        "send-request" | "message" | "epoch" | "hinted-epoch" | "receive-response"
    ) {
        errata.push(SELECT_COMMIT_ONLY);
    }
    errata
}

/// Computes a case's expectation from its bytes: the one place results come from.
fn expect(
    structure: &Structure,
    hex: &[u8],
) -> (
    Verdict,
    Option<serde_json::Value>,
    Option<ExpectedError>,
    Option<&'static str>,
) {
    match (structure.decode)(hex) {
        Ok(json) => (Verdict::Valid, Some(json), None, None),
        Err(e) => {
            let flag = if hex.is_empty() {
                "EmptyInput"
            } else {
                flag_of(&e.reason)
            };
            let error = ExpectedError {
                offset: e.offset,
                message: e.to_string(),
            };
            (Verdict::Invalid, None, Some(error), Some(flag))
        }
    }
}

fn file_for<T: Wire>(spec: Spec<T>) -> Result<CodecVectorFile, String> {
    let structure =
        find_structure(T::NAME).ok_or_else(|| format!("{} is not registered", T::NAME))?;
    let mut tests = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for d in drafts_for(spec) {
        let (result, decoded, error, flag) = expect(&structure, &d.hex);
        let tc_id = format!(
            "{}/{}/{}",
            T::NAME,
            if result == Verdict::Valid {
                "valid"
            } else {
                "invalid"
            },
            d.what
        );
        let mut flags: Vec<String> = flag
            .into_iter()
            .chain(d.extra_flags)
            .map(String::from)
            .collect();
        flags.dedup();
        if result == Verdict::Valid && d.what.contains('/') {
            return Err(format!(
                "{tc_id}: meant to be invalid but decodes; the codec is not strict here"
            ));
        }
        if !seen.insert(tc_id.clone()) {
            return Err(format!("{tc_id}: duplicate id"));
        }
        tests.push(CodecTest {
            tc_id,
            comment: d.comment,
            flags,
            result,
            hex: Bytes(d.hex),
            decoded,
            error,
            errata: d.errata.into_iter().map(String::from).collect(),
        });
    }
    let used: std::collections::BTreeSet<&str> = tests
        .iter()
        .flat_map(|t| t.flags.iter().map(String::as_str))
        .collect();
    let notes = FLAG_NOTES
        .iter()
        .filter(|(flag, _, _)| used.contains(flag))
        .map(|(flag, bug, text)| {
            (
                flag.to_string(),
                FlagNote {
                    bug_type: bug.to_string(),
                    description: text.to_string(),
                },
            )
        })
        .collect();
    Ok(CodecVectorFile {
        schema: SCHEMA_FILE.into(),
        structure: T::NAME.into(),
        draft: DRAFT.into(),
        number_of_tests: tests.len(),
        notes,
        tests,
    })
}

fn bytes_with(mut bytes: Vec<u8>, at: usize, value: &[u8]) -> Vec<u8> {
    bytes.splice(at..at + value.len(), value.iter().copied());
    bytes
}

/// Every codec vector file, in a fixed order. Deterministic: the same bytes every run.
pub fn generate() -> Result<Vec<CodecVectorFile>, String> {
    let s = Samples::load();
    let key = |b: u8| PartitionKey([b; 16]);
    let provider = |d: &str| ServiceProviderId::new(d).expect("sample domains are valid");
    let kp_request = KeyPackageRequest {
        user_id: Bytes(b"alice@b.example".to_vec()),
        bearer_token: Bytes(b"token-1".to_vec()),
        version: 1,
        cipher_suite: 1,
    };
    let error = DsError {
        code: ErrorCode::KeyPackageExhausted,
        message: "no KeyPackage left".into(),
    };
    let welcome_data = WelcomeData {
        welcome: s.welcome.clone(),
        service_providers: vec![provider("b.example")],
    };
    let full_commit_data = CommitData {
        next_partition_key: key(2),
        group_info: Some(s.group_info.clone()),
        welcome_data: Some(welcome_data),
    };
    let bare_commit_data = CommitData {
        next_partition_key: key(2),
        group_info: None,
        welcome_data: None,
    };
    let commit_message = Message {
        message: s.public_commit.clone(),
        commit: Some(MessageCommitData {
            next_partition_key: key(2).masked(),
            group_info: Some(s.group_info.clone()),
        }),
    };
    let app_message = Message {
        message: s.private_message.clone(),
        commit: None,
    };
    let epoch = Epoch {
        messages: vec![app_message.clone(), commit_message.clone()],
    };
    let hinted = HintedEpoch {
        masked_partition_key: key(3).masked(),
        epoch: Epoch {
            messages: vec![app_message.clone()],
        },
    };
    let tree = RatchetTree {
        hex: s.ratchet_tree.clone(),
    };
    let commit_send = SendRequest {
        message: s.public_commit.clone(),
        partition_key: key(1),
        commit_data: Some(full_commit_data.clone()),
    };
    let app_send = SendRequest {
        message: s.private_message.clone(),
        partition_key: key(1),
        commit_data: None,
    };

    Ok(vec![
        file_for(Spec {
            valid: vec![
                ("welcome", "a Welcome from the MLS working group's vectors", s.welcome.clone()),
                ("group-info", "a GroupInfo", s.group_info.clone()),
                ("key-package", "a KeyPackage", s.key_package.clone()),
                ("public-application", "a PublicMessage with application content (valid syntax)", s.public_application.clone()),
                ("public-proposal", "a PublicMessage proposal", s.public_proposal.clone()),
                ("public-commit", "a PublicMessage commit", s.public_commit.clone()),
                ("private-message", "a PrivateMessage", s.private_message.clone()),
            ],
            special: vec![
                draft("wire-format-6", "a PrivateMessage with wire format 6", bytes_with(s.private_message.bytes.0.clone(), 2, &[0, 6])).flag("UnknownValue"),
                draft("wire-format-0", "a PrivateMessage with wire format 0 (reserved)", bytes_with(s.private_message.bytes.0.clone(), 2, &[0, 0])).flag("UnknownValue"),
                draft("version-2", "a PrivateMessage with version 2", bytes_with(s.private_message.bytes.0.clone(), 0, &[0, 2])).flag("UnsupportedVersion"),
                draft("group-id-reserved-prefix", "a PrivateMessage whose group_id length starts with 0b11", bytes_with(s.private_message.bytes.0.clone(), 4, &[0xc0 | s.private_message.bytes.0[4]])),
                draft("group-id-huge-length", "a PrivateMessage whose group_id length is 2^30 - 1", {
                    let mut b = s.private_message.bytes.0[..4].to_vec();
                    b.extend_from_slice(&[0xbf, 0xff, 0xff, 0xff]);
                    b.extend_from_slice(&s.private_message.bytes.0[5..]);
                    b
                }),
                draft("group-id-non-minimal", "a PrivateMessage whose group_id length uses two bytes", {
                    let b = &s.private_message.bytes.0;
                    let mut out = b[..4].to_vec();
                    out.extend_from_slice(&[0x40, b[4]]);
                    out.extend_from_slice(&b[5..]);
                    out
                }),
            ],
        })?,
        file_for(Spec {
            valid: vec![
                ("suite-1", "alice@b.example, token-1, MLS 1.0, suite 1", kp_request.clone()),
                ("empty-token", "an empty bearer token still decodes (whether it is valid is the RSP's answer)", KeyPackageRequest { bearer_token: Bytes(vec![]), ..kp_request.clone() }),
                ("unknown-suite", "cipher suite 0xfafa (GREASE): any suite decodes; serving it is the RSP's answer", KeyPackageRequest { cipher_suite: 0xfafa, ..kp_request.clone() }),
            ],
            special: vec![
                draft("version-2", "protocol version 2", KeyPackageRequest { version: 2, ..kp_request.clone() }.to_bytes()),
                draft("version-0", "protocol version 0 (reserved)", KeyPackageRequest { version: 0, ..kp_request.clone() }.to_bytes()),
            ],
        })?,
        file_for(Spec {
            valid: vec![("key-package", "a KeyPackage", KeyPackageResponse { key_package: s.key_package.clone() })],
            special: vec![draft("welcome-instead", "a Welcome where a KeyPackage belongs", s.welcome.bytes.0.clone())],
        })?,
        file_for(Spec {
            valid: vec![
                ("none", "an empty bundle", KeyPackageBundleRequest { requests: vec![] }),
                ("two", "two requests", KeyPackageBundleRequest { requests: vec![kp_request.clone(), KeyPackageRequest { user_id: Bytes(b"bob@b.example".to_vec()), ..kp_request.clone() }] }),
            ],
            special: vec![],
        })?,
        file_for(Spec {
            valid: vec![
                ("key-package", "status 0 and a KeyPackage", KeyPackageResult::KeyPackage(s.key_package.clone())),
                ("error", "status 1 and an error", KeyPackageResult::Error(error.clone())),
            ],
            special: vec![draft("status-2", "status 2", {
                let mut b = vec![2];
                b.extend(error.to_bytes());
                b
            })],
        })?,
        file_for(Spec {
            valid: vec![("mixed", "a KeyPackage, then an error", KeyPackageBundleResponse { results: vec![KeyPackageResult::KeyPackage(s.key_package.clone()), KeyPackageResult::Error(error.clone())] })],
            special: vec![],
        })?,
        file_for(Spec {
            valid: vec![
                ("bare", "a next partition key only", bare_commit_data.clone()),
                ("full", "next key, GroupInfo and WelcomeData for one provider", full_commit_data.clone()),
            ],
            special: vec![
                draft("group-info-is-welcome", "a Welcome where the GroupInfo belongs", {
                    let mut b = vec![16];
                    b.extend([2u8; 16]);
                    b.push(1);
                    b.extend(&s.welcome.bytes.0);
                    b.push(0);
                    b
                }),
                draft("provider-uppercase", "a ServiceProviderId with upper case letters", {
                    let mut b = vec![16];
                    b.extend([2u8; 16]);
                    b.extend([0, 1]);
                    b.extend(&s.welcome.bytes.0);
                    b.extend([10, 9]);
                    b.extend(b"B.example");
                    b
                }),
            ],
        })?,
        file_for(Spec {
            valid: vec![
                ("private-message", "a PrivateMessage (a proposal): no commit data", app_send.clone()),
                ("proposal", "a PublicMessage proposal: no commit data", SendRequest { message: s.public_proposal.clone(), partition_key: key(1), commit_data: None }),
                ("commit", "a PublicMessage commit with full commit data", commit_send.clone()),
            ],
            special: vec![
                draft("private-message-with-commit-data", "a PrivateMessage proposal followed by commit data", {
                    let mut b = app_send.to_bytes();
                    b.extend(bare_commit_data.to_bytes());
                    b
                })
                .flag("CommitDataOnNonCommit")
                .erratum(SELECT_COMMIT_ONLY),
                draft("commit-without-commit-data", "a commit with no commit data", SendRequest { commit_data: None, ..commit_send.clone() }.to_bytes())
                    .flag("CommitWithoutCommitData")
                    .erratum(SELECT_COMMIT_ONLY),
                draft("group-info-as-message", "a GroupInfo where a Public or PrivateMessage belongs", {
                    let mut b = s.group_info.bytes.0.clone();
                    b.extend(PartitionKey([1; 16]).0.iter().copied().fold(vec![16], |mut v, x| { v.push(x); v }));
                    b
                }),
            ],
        })?,
        file_for(Spec {
            valid: vec![
                ("one-ref", "the KeyPackageRefs a Welcome names", WelcomeInitRequest { key_package_refs: s.welcome.view.new_members.clone().unwrap_or_default() }),
                ("no-refs", "an empty list", WelcomeInitRequest { key_package_refs: vec![] }),
            ],
            special: vec![],
        })?,
        file_for(Spec {
            valid: vec![("accept", "accepted", WelcomeInitResponse { accepted: true }), ("refuse", "refused", WelcomeInitResponse { accepted: false })],
            special: vec![draft("accepted-2", "accepted byte 2", vec![2])],
        })?,
        file_for(Spec {
            valid: vec![
                ("counter-0", "partition key 01…, counter 0", ReceiveRequest { partition_key: key(1), counter: 0 }),
                ("counter-max", "counter 2^32 - 1", ReceiveRequest { partition_key: key(1), counter: u32::MAX }),
            ],
            special: vec![],
        })?,
        file_for(Spec {
            valid: vec![
                ("private-message", "a PrivateMessage (a proposal): nothing follows", app_message.clone()),
                ("commit", "a PublicMessage commit, its masked next key and a GroupInfo", commit_message.clone()),
                ("commit-no-group-info", "a commit without GroupInfo", Message { commit: Some(MessageCommitData { next_partition_key: key(2).masked(), group_info: None }), ..commit_message.clone() }),
            ],
            special: vec![],
        })?,
        file_for(Spec {
            valid: vec![("empty", "no messages", Epoch::default()), ("two", "a PrivateMessage then a commit", epoch.clone())],
            special: vec![],
        })?,
        file_for(Spec { valid: vec![("one", "one hinted epoch", hinted.clone())], special: vec![] })?,
        file_for(Spec {
            valid: vec![
                ("empty", "no messages, no hints", ReceiveResponse::default()),
                ("with-hint", "two messages and one hinted epoch", ReceiveResponse { epoch: epoch.clone(), hints: vec![hinted.clone()] }),
            ],
            special: vec![],
        })?,
        file_for(Spec {
            valid: vec![("commit", "a PublicMessage commit and its commit data", ExternalJoinRequest { message: s.public_commit.clone(), commit_data: full_commit_data.clone() })],
            special: vec![draft("private-message", "a PrivateMessage where the external commit belongs", {
                let mut b = s.private_message.bytes.0.clone();
                b.extend(bare_commit_data.to_bytes());
                b
            })],
        })?,
        file_for(Spec {
            valid: vec![("group", "a group id", GroupInfoRequest { group_id: s.group_info.view.group_id.clone().unwrap_or_default() })],
            special: vec![],
        })?,
        file_for(Spec {
            valid: vec![
                ("no-tree", "a GroupInfo alone", GroupInfoResponse { group_info: s.group_info.clone(), ratchet_tree: None }),
                ("with-tree", "a GroupInfo and a ratchet tree", GroupInfoResponse { group_info: s.group_info.clone(), ratchet_tree: Some(tree) }),
            ],
            special: vec![],
        })?,
        file_for(Spec {
            valid: ErrorCode::ALL
                .iter()
                .zip(["malformed", "unknown-group", "branch-terminated", "ratchet-tree-required", "policy-rejected", "invalid-bearer-token", "unknown-user", "key-package-exhausted", "unsupported-parameters", "welcome-refused", "unauthorized-provider", "unknown-partition"])
                .map(|(code, name)| (name, "one error code with a message", DsError { code: *code, message: format!("{code:?}") }))
                .collect(),
            special: vec![
                draft("code-999", "error code 999", vec![0x03, 0xe7, 0]),
                draft("code-0", "error code 0", vec![0, 0, 0]),
                draft("message-not-utf8", "a message that is not UTF-8", vec![0, 1, 1, 0xff]),
            ],
        })?,
    ])
}

/// Checks a file against what the codec says of each case's hex: result, decoded JSON, error,
/// flags, ids and counts. Returns one line per disagreement.
pub fn verify(file: &CodecVectorFile) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(structure) = find_structure(&file.structure) else {
        return vec![format!("unknown structure {:?}", file.structure)];
    };
    if file.number_of_tests != file.tests.len() {
        problems.push(format!(
            "numberOfTests is {} but there are {} tests",
            file.number_of_tests,
            file.tests.len()
        ));
    }
    let mut ids = std::collections::BTreeSet::new();
    for t in &file.tests {
        let id = &t.tc_id;
        if !ids.insert(id) {
            problems.push(format!("{id}: duplicate tcId"));
        }
        if !id.starts_with(&format!("{}/", file.structure)) {
            problems.push(format!("{id}: tcId does not start with the structure name"));
        }
        if t.comment.trim().is_empty() {
            problems.push(format!("{id}: empty comment"));
        }
        for flag in &t.flags {
            if !file.notes.contains_key(flag) {
                problems.push(format!("{id}: flag {flag} is not explained in notes"));
            }
        }
        let (result, decoded, error, flag) = expect(&structure, t.hex.as_slice());
        if result != t.result {
            problems.push(format!(
                "{id}: result says {:?} but the bytes are {:?}",
                t.result, result
            ));
        }
        if decoded != t.decoded {
            problems.push(format!(
                "{id}: decoded JSON differs from what the bytes decode to"
            ));
        }
        if error != t.error {
            problems.push(format!(
                "{id}: error differs: recorded {:?}, computed {:?}",
                t.error, error
            ));
        }
        if let Some(flag) = flag {
            if !t.flags.iter().any(|f| f == flag) {
                problems.push(format!(
                    "{id}: flags {:?} lack {flag}, the rule the bytes break",
                    t.flags
                ));
            }
        }
        if t.result != Verdict::Valid && t.flags.is_empty() {
            problems.push(format!("{id}: a non-valid case without flags"));
        }
        // A top-level MLSMessage decodes to its DS view, which cannot be encoded back.
        if t.result == Verdict::Valid && file.structure != MlsMessage::NAME {
            match (structure.encode)(t.decoded.clone().unwrap_or_default()) {
                Ok(bytes) if bytes == t.hex.0 => {}
                Ok(_) => problems.push(format!("{id}: decoded JSON encodes to other bytes")),
                Err(e) => problems.push(format!("{id}: decoded JSON does not encode: {e}")),
            }
        }
    }
    problems
}

/// The JSON Schema of a codec vector file.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(CodecVectorFile)).expect("schemas serialize")
}
