//! Draft §"Endpoints / Key Packages": KeyPackageRequest and KeyPackageResponse, plus the
//! bundle the "Privacy" subsection allows (errata `errata/key-package-bundle`).

use super::bytes::Bytes;
use super::errors::DsError;
use super::mls::{MlsMessage, WireFormat};
use super::reader::{DecodeError, Reader, Reason, Writer};
use super::{read_mls_of, read_version, Wire};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct KeyPackageRequest {
    pub user_id: Bytes,
    pub bearer_token: Bytes,
    /// `ProtocolVersion`; only MLS 1.0 (1) decodes.
    pub version: u16,
    /// `CipherSuite`: any registry value; whether it is served is the RSP's answer.
    pub cipher_suite: u16,
}

impl Wire for KeyPackageRequest {
    const NAME: &'static str = "key-package-request";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(KeyPackageRequest {
            user_id: r.opaque("KeyPackageRequest.user_id")?.into(),
            bearer_token: r.opaque("KeyPackageRequest.bearer_token")?.into(),
            version: read_version(r, "KeyPackageRequest.version")?,
            cipher_suite: r.u16("KeyPackageRequest.cipher_suite")?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.opaque(self.user_id.as_slice());
        w.opaque(self.bearer_token.as_slice());
        w.u16(self.version);
        w.u16(self.cipher_suite);
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPackageResponse {
    /// An MLSMessage whose wire format is `key_package`.
    pub key_package: MlsMessage,
}

impl Wire for KeyPackageResponse {
    const NAME: &'static str = "key-package-response";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(KeyPackageResponse {
            key_package: read_mls_of(r, "KeyPackageResponse.key_package", WireFormat::KeyPackage)?,
        })
    }

    fn write(&self, w: &mut Writer) {
        self.key_package.write(w);
    }
}

/// Several KeyPackageRequests in one OHTTP transaction (errata `errata/key-package-bundle`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPackageBundleRequest {
    pub requests: Vec<KeyPackageRequest>,
}

impl Wire for KeyPackageBundleRequest {
    const NAME: &'static str = "key-package-bundle-request";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(KeyPackageBundleRequest {
            requests: r.vector("KeyPackageBundleRequest.requests", KeyPackageRequest::read)?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.vector(|w| self.requests.iter().for_each(|q| q.write(w)));
    }
}

/// One answer of a bundle, in request order: `uint8 status` (0 key package, 1 error).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyPackageResult {
    KeyPackage(MlsMessage),
    Error(DsError),
}

impl Wire for KeyPackageResult {
    const NAME: &'static str = "key-package-result";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        match r.u8("KeyPackageResult.status")? {
            0 => Ok(KeyPackageResult::KeyPackage(read_mls_of(
                r,
                "KeyPackageResult.key_package",
                WireFormat::KeyPackage,
            )?)),
            1 => Ok(KeyPackageResult::Error(DsError::read(r)?)),
            other => Err(r.error_at(
                start,
                Reason::UnknownValue {
                    field: "KeyPackageResult.status",
                    value: other.into(),
                },
            )),
        }
    }

    fn write(&self, w: &mut Writer) {
        match self {
            KeyPackageResult::KeyPackage(kp) => {
                w.u8(0);
                kp.write(w);
            }
            KeyPackageResult::Error(e) => {
                w.u8(1);
                e.write(w);
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPackageBundleResponse {
    pub results: Vec<KeyPackageResult>,
}

impl Wire for KeyPackageBundleResponse {
    const NAME: &'static str = "key-package-bundle-response";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(KeyPackageBundleResponse {
            results: r.vector("KeyPackageBundleResponse.results", KeyPackageResult::read)?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.vector(|w| self.results.iter().for_each(|x| x.write(w)));
    }
}
