//! Draft §"Endpoints / Welcome": the hub lists a provider's KeyPackageRefs before pushing the
//! Welcome. The answer struct is ours (errata `errata/welcome-init-response`); the Welcome
//! push itself is a bare MLSMessage.

use super::bytes::Bytes;
use super::reader::{DecodeError, Reader, Reason, Writer};
use super::Wire;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct WelcomeInitRequest {
    /// `KeyPackageRef key_package_refs<V>`, each `opaque<V>`.
    pub key_package_refs: Vec<Bytes>,
}

impl Wire for WelcomeInitRequest {
    const NAME: &'static str = "welcome-init-request";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(WelcomeInitRequest {
            key_package_refs: r.vector("WelcomeInitRequest.key_package_refs", |r| {
                r.opaque("KeyPackageRef").map(Bytes::from)
            })?,
        })
    }

    fn write(&self, w: &mut Writer) {
        w.vector(|w| {
            self.key_package_refs
                .iter()
                .for_each(|k| w.opaque(k.as_slice()))
        });
    }
}

/// `struct { uint8 accepted; } WelcomeInitResponse` — 1 accepts, 0 refuses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WelcomeInitResponse {
    pub accepted: bool,
}

impl Wire for WelcomeInitResponse {
    const NAME: &'static str = "welcome-init-response";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        let accepted = match r.u8("WelcomeInitResponse.accepted")? {
            0 => false,
            1 => true,
            other => {
                return Err(r.error_at(
                    start,
                    Reason::UnknownValue {
                        field: "WelcomeInitResponse.accepted",
                        value: other.into(),
                    },
                ))
            }
        };
        Ok(WelcomeInitResponse { accepted })
    }

    fn write(&self, w: &mut Writer) {
        w.u8(u8::from(self.accepted));
    }
}
