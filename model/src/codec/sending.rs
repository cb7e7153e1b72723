//! Draft §"Endpoints / Sending Messages": SendRequest, CommitData, WelcomeData and the
//! ServiceProviderId they name.

use super::bytes::PartitionKey;
use super::mls::{ContentType, MlsMessage, WireFormat};
use super::reader::{DecodeError, Reader, Reason, Writer};
use super::{read_mls_among, read_mls_of, Wire};
use serde::{Deserialize, Serialize};

/// `opaque ServiceProviderId<V>`: the provider's domain name, lowercase ASCII letters, digits,
/// `-` and `.`, whose last label is not all digits (errata `errata/service-provider-id`).
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schemars(
    with = "String",
    description = "a provider's lowercase ASCII domain name"
)]
pub struct ServiceProviderId(String);

impl ServiceProviderId {
    const RULE: &'static str = "must be a lowercase ASCII domain name: dot-separated labels of 1-63 letters, digits and inner hyphens, 253 bytes at most, no trailing dot, a last label that is not all digits (errata/service-provider-id)";

    pub fn new(domain: &str) -> Result<Self, &'static str> {
        let label = |l: &str| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        // An all-digit last label is no DNS name (RFC 3696 §2): `1.2.3.4` is an IPv4 address.
        let top_level = |l: &str| !l.bytes().all(|b| b.is_ascii_digit());
        let ok = domain.len() <= 253
            && domain.split('.').all(label)
            && domain.rsplit('.').next().is_some_and(top_level);
        if ok {
            Ok(ServiceProviderId(domain.to_owned()))
        } else {
            Err(Self::RULE)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        let raw = r.opaque("ServiceProviderId")?;
        std::str::from_utf8(raw)
            .ok()
            .and_then(|s| Self::new(s).ok())
            .ok_or_else(|| {
                r.error_at(
                    start,
                    Reason::Invalid {
                        field: "ServiceProviderId",
                        rule: Self::RULE,
                    },
                )
            })
    }
}

impl TryFrom<String> for ServiceProviderId {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(&s)
    }
}

impl From<ServiceProviderId> for String {
    fn from(id: ServiceProviderId) -> String {
        id.0
    }
}

impl std::fmt::Display for ServiceProviderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `PartitionKey<16>`: varint length prefix, exactly 16 bytes (errata
/// `errata/partition-key-encoding`).
pub(crate) fn read_partition_key(
    r: &mut Reader<'_>,
    field: &'static str,
) -> Result<PartitionKey, DecodeError> {
    let start = r.offset();
    let raw = r.opaque(field)?;
    let key: [u8; 16] = raw.try_into().map_err(|_| {
        r.error_at(
            start,
            Reason::WrongLength {
                field,
                expected: PartitionKey::LEN,
                actual: raw.len(),
            },
        )
    })?;
    Ok(PartitionKey(key))
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WelcomeData {
    /// An MLSMessage whose wire format is `welcome`.
    pub welcome: MlsMessage,
    /// One provider per entry of the Welcome's `secrets`, in order (checked by the model,
    /// requirement `send/welcome-data/providers-match-secrets`).
    pub service_providers: Vec<ServiceProviderId>,
}

impl WelcomeData {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(WelcomeData {
            welcome: read_mls_of(r, "WelcomeData.welcome", WireFormat::Welcome)?,
            service_providers: r
                .vector("WelcomeData.service_providers", ServiceProviderId::read)?,
        })
    }

    fn write(&self, w: &mut Writer) {
        self.welcome.write(w);
        w.vector(|w| {
            self.service_providers
                .iter()
                .for_each(|p| w.opaque(p.0.as_bytes()))
        });
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitData {
    pub next_partition_key: PartitionKey,
    /// An MLSMessage whose wire format is `group_info`.
    pub group_info: Option<MlsMessage>,
    pub welcome_data: Option<WelcomeData>,
}

impl Wire for CommitData {
    const NAME: &'static str = "commit-data";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(CommitData {
            next_partition_key: read_partition_key(r, "CommitData.next_partition_key")?,
            group_info: r.optional("CommitData.group_info", |r| {
                read_mls_of(r, "CommitData.group_info", WireFormat::GroupInfo)
            })?,
            welcome_data: r.optional("CommitData.welcome_data", WelcomeData::read)?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.partition_key(&self.next_partition_key.0);
        w.optional(self.group_info.as_ref(), |w, g| g.write(w));
        w.optional(self.welcome_data.as_ref(), |w, d| d.write(w));
    }
}

/// `SendRequest`. `commit_data` is present exactly when the message is a commit
/// (errata `errata/select-commit-only`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// A PublicMessage or PrivateMessage.
    pub message: MlsMessage,
    pub partition_key: PartitionKey,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub commit_data: Option<CommitData>,
}

impl Wire for SendRequest {
    const NAME: &'static str = "send-request";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let message = read_mls_among(
            r,
            "SendRequest.message",
            &[WireFormat::PublicMessage, WireFormat::PrivateMessage],
        )?;
        let partition_key = read_partition_key(r, "SendRequest.partition_key")?;
        let commit_data = if message.view.content_type == Some(ContentType::Commit) {
            Some(CommitData::read(r)?)
        } else {
            None
        };
        Ok(SendRequest {
            message,
            partition_key,
            commit_data,
        })
    }

    fn write(&self, w: &mut Writer) {
        self.message.write(w);
        w.partition_key(&self.partition_key.0);
        if let Some(data) = &self.commit_data {
            data.write(w);
        }
    }

    fn check(&self) -> Result<(), &'static str> {
        commit_data_matches(&self.message, self.commit_data.is_some())
    }
}

/// The `select` on content type: commit data iff commit (errata `errata/select-commit-only`).
pub(crate) fn commit_data_matches(
    message: &MlsMessage,
    has_commit_data: bool,
) -> Result<(), &'static str> {
    match (
        message.view.content_type == Some(ContentType::Commit),
        has_commit_data,
    ) {
        (true, false) => Err("a commit needs its commit data (errata/select-commit-only)"),
        (false, true) => Err("only a commit carries commit data (errata/select-commit-only)"),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::ServiceProviderId;

    #[test]
    fn provider_ids_whose_last_label_is_all_digits_are_refused() {
        for good in ["a1.example", "123.example"] {
            assert!(ServiceProviderId::new(good).is_ok(), "{good}");
        }
        for bad in ["1.2.3.4", "a.123"] {
            assert!(ServiceProviderId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn provider_ids_are_lowercase_host_names_without_a_trailing_dot() {
        for good in [
            "b.example",
            "hub.example",
            "x",
            "a-1.b2.example",
            "xn--bcher-kva.example",
        ] {
            assert!(ServiceProviderId::new(good).is_ok(), "{good}");
        }
        let long_label = format!("{}.example", "a".repeat(64));
        let too_long = ["a"; 128].join(".");
        for bad in [
            "",
            "b.example.",
            "a..example",
            ".example",
            "-a.example",
            "a-.example",
            "B.example",
            "b.example:8443",
            long_label.as_str(),
            too_long.as_str(),
        ] {
            assert!(ServiceProviderId::new(bad).is_err(), "{bad:?}");
        }
    }
}
