//! The error body every endpoint answers with (the draft defines none; errata
//! `errata/transport`), and its codes.

use super::reader::{DecodeError, Reader, Reason, Writer};
use super::Wire;
use serde::{Deserialize, Serialize};

/// `uint16 ErrorCode`. One code per reason a DS may refuse a request.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Malformed = 1,
    UnknownGroup = 2,
    BranchTerminated = 3,
    RatchetTreeRequired = 4,
    PolicyRejected = 5,
    InvalidBearerToken = 6,
    UnknownUser = 7,
    KeyPackageExhausted = 8,
    UnsupportedParameters = 9,
    WelcomeRefused = 10,
    UnauthorizedProvider = 11,
    UnknownPartition = 12,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::Malformed,
        ErrorCode::UnknownGroup,
        ErrorCode::BranchTerminated,
        ErrorCode::RatchetTreeRequired,
        ErrorCode::PolicyRejected,
        ErrorCode::InvalidBearerToken,
        ErrorCode::UnknownUser,
        ErrorCode::KeyPackageExhausted,
        ErrorCode::UnsupportedParameters,
        ErrorCode::WelcomeRefused,
        ErrorCode::UnauthorizedProvider,
        ErrorCode::UnknownPartition,
    ];

    pub fn from_u16(v: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|c| *c as u16 == v)
    }
}

/// `struct { ErrorCode code; opaque message<V>; } DsError` — `message` is UTF-8 for people.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(deny_unknown_fields)]
pub struct DsError {
    pub code: ErrorCode,
    pub message: String,
}

impl Wire for DsError {
    const NAME: &'static str = "ds-error";

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        let raw = r.u16("DsError.code")?;
        let code = ErrorCode::from_u16(raw).ok_or_else(|| {
            r.error_at(
                start,
                Reason::UnknownValue {
                    field: "DsError.code",
                    value: raw.into(),
                },
            )
        })?;
        let at = r.offset();
        let text = r.opaque("DsError.message")?;
        let message = std::str::from_utf8(text)
            .map_err(|_| {
                r.error_at(
                    at,
                    Reason::Invalid {
                        field: "DsError.message",
                        rule: "must be UTF-8",
                    },
                )
            })?
            .to_owned();
        Ok(DsError { code, message })
    }

    fn write(&self, w: &mut Writer) {
        w.u16(self.code as u16);
        w.opaque(self.message.as_bytes());
    }
}
