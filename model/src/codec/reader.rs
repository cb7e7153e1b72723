//! Strict reading and plain writing of the TLS presentation language as MLS uses it
//! (RFC 9420 §2.1): fixed-width integers, varint-prefixed vectors, optionals.
//!
//! Why not `tls_codec` for decoding: it reports no byte offsets, copies every opaque before
//! checking the rest, and its slice path debug-asserts on an over-long length prefix. Here every
//! error carries the absolute offset where it was found, a length prefix is checked against the
//! remaining input before anything is taken, and nothing is allocated from a declared length.
//! `tls_codec` stays the independent oracle in the tests.

use std::fmt;

/// Largest length an MLS varint can carry (30 bits, RFC 9420 §2.1.2).
pub const MAX_VARINT: usize = (1 << 30) - 1;

/// Why a decode failed, and where (absolute byte offset into the whole input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub offset: usize,
    pub reason: Reason,
}

/// The strictness rule an input broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Fewer bytes remain than the field needs.
    Truncated {
        field: &'static str,
        needed: usize,
        remaining: usize,
    },
    /// A vector's length prefix exceeds the bytes that remain.
    LengthBeyondInput {
        field: &'static str,
        length: usize,
        remaining: usize,
    },
    /// A varint used more bytes than its value needs (RFC 9420 §2.1.2).
    NonMinimalVarint { field: &'static str },
    /// A varint started with the reserved prefix 0b11.
    ReservedVarintPrefix { field: &'static str },
    /// Bytes left after the outermost structure ended.
    TrailingBytes { count: usize },
    /// An `optional<T>` presence byte other than 0 or 1.
    BadOptionalTag { field: &'static str, tag: u8 },
    /// An enum value (wire format, content type, error code, …) this codec does not know.
    UnknownValue { field: &'static str, value: u64 },
    /// A protocol version other than MLS 1.0.
    UnsupportedVersion { field: &'static str, version: u16 },
    /// A fixed-length field (a partition key) of another length.
    WrongLength {
        field: &'static str,
        expected: usize,
        actual: usize,
    },
    /// A vector element that consumed no input (would loop forever).
    EmptyElement { field: &'static str },
    /// A value that breaks a rule of the draft or of our errata (named in the text).
    Invalid {
        field: &'static str,
        rule: &'static str,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Truncated {
                field,
                needed,
                remaining,
            } => {
                write!(
                    f,
                    "{field}: truncated, needs {needed} bytes but {remaining} remain"
                )
            }
            Reason::LengthBeyondInput {
                field,
                length,
                remaining,
            } => write!(
                f,
                "{field}: length prefix {length} exceeds the {remaining} bytes that remain"
            ),
            Reason::NonMinimalVarint { field } => {
                write!(f, "{field}: non-minimal varint encoding (RFC 9420 §2.1.2)")
            }
            Reason::ReservedVarintPrefix { field } => {
                write!(f, "{field}: varint uses the reserved prefix 0b11")
            }
            Reason::TrailingBytes { count } => {
                write!(f, "{count} trailing bytes after the structure")
            }
            Reason::BadOptionalTag { field, tag } => {
                write!(f, "{field}: optional presence byte {tag}, expected 0 or 1")
            }
            Reason::UnknownValue { field, value } => write!(f, "{field}: unknown value {value}"),
            Reason::UnsupportedVersion { field, version } => {
                write!(
                    f,
                    "{field}: protocol version {version}, only MLS 1.0 (1) is supported"
                )
            }
            Reason::WrongLength {
                field,
                expected,
                actual,
            } => {
                write!(f, "{field}: length {actual}, expected exactly {expected}")
            }
            Reason::EmptyElement { field } => {
                write!(f, "{field}: vector element consumed no bytes")
            }
            Reason::Invalid { field, rule } => write!(f, "{field}: {rule}"),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for DecodeError {}

/// A cursor over one input. Sub-readers for vector bodies share the input, so offsets in
/// errors are always absolute.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Reader {
            input,
            pos: 0,
            end: input.len(),
        }
    }

    /// Absolute offset of the next byte.
    pub fn offset(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.end - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.pos == self.end
    }

    /// The input between two absolute offsets this reader has passed (for keeping the exact
    /// bytes of an embedded structure).
    pub fn consumed_since(&self, start: usize) -> &'a [u8] {
        &self.input[start..self.pos]
    }

    pub fn error(&self, reason: Reason) -> DecodeError {
        DecodeError {
            offset: self.pos,
            reason,
        }
    }

    /// An error located at an earlier offset (the start of the offending field).
    pub fn error_at(&self, offset: usize, reason: Reason) -> DecodeError {
        DecodeError { offset, reason }
    }

    pub fn bytes(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.error(Reason::Truncated {
                field,
                needed: n,
                remaining: self.remaining(),
            }));
        }
        let out = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(field, N)?);
        Ok(out)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// An MLS variable-length integer (RFC 9420 §2.1.2): minimal encoding, no 0b11 prefix.
    pub fn varint(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let start = self.pos;
        let first = self.u8(field)?;
        let (len, min) = match first >> 6 {
            0 => return Ok(usize::from(first & 0x3f)),
            1 => (2, 64),
            2 => (4, 16384),
            _ => return Err(self.error_at(start, Reason::ReservedVarintPrefix { field })),
        };
        let rest = self.bytes(field, len - 1)?;
        let value = rest.iter().fold(usize::from(first & 0x3f), |acc, b| {
            (acc << 8) | usize::from(*b)
        });
        if value < min {
            return Err(self.error_at(start, Reason::NonMinimalVarint { field }));
        }
        Ok(value)
    }

    /// `opaque field<V>`, borrowed from the input.
    pub fn opaque(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.varint(field)?;
        if len > self.remaining() {
            return Err(self.error(Reason::LengthBeyondInput {
                field,
                length: len,
                remaining: self.remaining(),
            }));
        }
        self.bytes(field, len)
    }

    /// A reader over the body of a varint-prefixed vector; `self` moves past it.
    pub fn sub(&mut self, field: &'static str) -> Result<Reader<'a>, DecodeError> {
        let body_start = {
            let len = self.varint(field)?;
            if len > self.remaining() {
                return Err(self.error(Reason::LengthBeyondInput {
                    field,
                    length: len,
                    remaining: self.remaining(),
                }));
            }
            let start = self.pos;
            self.pos += len;
            start
        };
        Ok(Reader {
            input: self.input,
            pos: body_start,
            end: self.pos,
        })
    }

    /// `T field<V>`: elements decoded by `item` until the vector's body is used up. Nothing is
    /// allocated from the declared length; every element must consume at least one byte.
    pub fn vector<T>(
        &mut self,
        field: &'static str,
        mut item: impl FnMut(&mut Reader<'a>) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let mut out = Vec::new();
        self.each(field, |r| item(r).map(|value| out.push(value)))?;
        Ok(out)
    }

    /// `T field<V>` walked without keeping the elements: `item` reads each one (and keeps
    /// what it needs) until the vector's body is used up; the same rules as [`Self::vector`].
    /// For the many vectors a DS only has to step over, so stepping costs no allocation.
    pub fn each(
        &mut self,
        field: &'static str,
        mut item: impl FnMut(&mut Reader<'a>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let mut body = self.sub(field)?;
        while !body.is_empty() {
            let before = body.pos;
            item(&mut body)?;
            if body.pos == before {
                return Err(body.error(Reason::EmptyElement { field }));
            }
        }
        Ok(())
    }

    /// `optional<T> field`: a presence byte 0 or 1, then `T` when 1.
    pub fn optional<T>(
        &mut self,
        field: &'static str,
        item: impl FnOnce(&mut Reader<'a>) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        let start = self.pos;
        match self.u8(field)? {
            0 => Ok(None),
            1 => item(self).map(Some),
            tag => Err(self.error_at(start, Reason::BadOptionalTag { field, tag })),
        }
    }

    /// Fails unless the whole input was used.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.error(Reason::TrailingBytes {
                count: self.remaining(),
            }))
        }
    }
}

/// The encoder: canonical output, unless a [`Fault`] is planted (only the codec-vector
/// generator plants one, to make exactly one strictness rule fail in an otherwise valid
/// encoding).
#[derive(Default, Debug)]
pub struct Writer {
    pub out: Vec<u8>,
    fault: Option<Fault>,
    /// How many sites of the fault's kind were written so far, in write order.
    sites: usize,
}

/// One deliberate defect: at the `site`-th varint (or optional, or partition key) written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A varint written with one more byte than needed.
    NonMinimalVarint { site: usize },
    /// A varint whose first byte carries the reserved prefix 0b11.
    ReservedVarintPrefix { site: usize },
    /// A length prefix replaced by 2^30 - 1, far beyond the input.
    HugeLength { site: usize },
    /// An optional's presence byte set to 2.
    BadOptionalTag { site: usize },
    /// A partition key of another length than 16.
    PartitionKeyLength { site: usize, length: usize },
}

impl Writer {
    pub fn with_fault(fault: Fault) -> Self {
        Writer {
            fault: Some(fault),
            ..Writer::default()
        }
    }

    /// Whether the planted fault found its site (an encoding has fewer sites than asked).
    pub fn fault_planted(&self) -> bool {
        match self.fault {
            None => true,
            Some(
                Fault::NonMinimalVarint { site }
                | Fault::ReservedVarintPrefix { site }
                | Fault::HugeLength { site }
                | Fault::BadOptionalTag { site }
                | Fault::PartitionKeyLength { site, .. },
            ) => self.sites > site,
        }
    }

    /// Counts a site of `kind`; true when the fault is planted here.
    fn at_fault_site(&mut self, is_kind: impl Fn(Fault) -> Option<usize>) -> bool {
        match self.fault.and_then(is_kind) {
            Some(site) => {
                self.sites += 1;
                self.sites - 1 == site
            }
            None => false,
        }
    }

    pub fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    pub fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    pub fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// Minimal MLS varint. A length above 2^30 - 1 cannot be expressed in MLS at all; the
    /// structures here never hold one (decoded inputs are bounded by their prefix).
    pub fn varint(&mut self, v: usize) {
        assert!(
            v <= MAX_VARINT,
            "MLS vectors are limited to 2^30 - 1 bytes, got {v}"
        );
        let fault = self.fault;
        let varint_site = |f| match f {
            Fault::NonMinimalVarint { site }
            | Fault::ReservedVarintPrefix { site }
            | Fault::HugeLength { site } => Some(site),
            _ => None,
        };
        if self.at_fault_site(varint_site) {
            match fault {
                // MLS has no form above four bytes: a 16 KiB+ vector cannot be non-minimal, and
                // the generator's own check then sees the case decode and drops it.
                Some(Fault::NonMinimalVarint { .. }) if v < 64 => {
                    return self.u16(0x4000 | v as u16)
                }
                Some(Fault::NonMinimalVarint { .. }) if v < 16384 => {
                    return self.u32(0x8000_0000 | v as u32)
                }
                Some(Fault::NonMinimalVarint { .. }) => {}
                Some(Fault::ReservedVarintPrefix { .. }) => {
                    return self.u8(0xc0 | (v as u8 & 0x3f))
                }
                _ => return self.u32(0x8000_0000 | MAX_VARINT as u32),
            }
        }
        if v < 64 {
            self.u8(v as u8);
        } else if v < 16384 {
            self.u16(0x4000 | v as u16);
        } else {
            self.u32(0x8000_0000 | v as u32);
        }
    }

    pub fn opaque(&mut self, bytes: &[u8]) {
        self.varint(bytes.len());
        self.raw(bytes);
    }

    /// A varint-prefixed vector whose body `body` writes. The body goes straight into `out`
    /// and its length prefix is written after it, then rotated in front: no buffer per vector,
    /// and a planted fault still counts the body's sites before the prefix's, as it did when
    /// each body had a buffer of its own (so the codec vectors keep their faults' places).
    pub fn vector(&mut self, body: impl FnOnce(&mut Writer)) {
        let start = self.out.len();
        body(self);
        let body_len = self.out.len() - start;
        self.varint(body_len);
        let prefix_len = self.out.len() - start - body_len;
        self.out[start..].rotate_right(prefix_len);
    }

    pub fn optional<T>(&mut self, value: Option<&T>, item: impl FnOnce(&mut Writer, &T)) {
        let bad_tag = self.at_fault_site(|f| match f {
            Fault::BadOptionalTag { site } => Some(site),
            _ => None,
        });
        match value {
            None => self.u8(if bad_tag { 2 } else { 0 }),
            Some(v) => {
                self.u8(if bad_tag { 2 } else { 1 });
                item(self, v);
            }
        }
    }

    /// `PartitionKey<16>` (errata `errata/partition-key-encoding`).
    pub fn partition_key(&mut self, key: &[u8; 16]) {
        let mut length = key.len();
        if let Some(Fault::PartitionKeyLength { length: l, .. }) = self.fault {
            if self.at_fault_site(|f| match f {
                Fault::PartitionKeyLength { site, .. } => Some(site),
                _ => None,
            }) {
                length = l;
            }
        }
        // The key cut or padded with 0xa5 to `length`, written in place.
        let kept = length.min(key.len());
        self.varint(length);
        self.raw(&key[..kept]);
        self.out.resize(self.out.len() + (length - kept), 0xa5);
    }
}
