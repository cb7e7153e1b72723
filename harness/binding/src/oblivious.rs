//! KeyPackage requests over Oblivious HTTP (RFC 9458) carrying Binary HTTP (RFC 9292), as
//! BINDING.md §5 describes: the RSP's gateway (used by the reference DS) and the requester
//! with its relay (played by the runner). The inner request is the same `key-package` or
//! `key-package-bundle` POST as in test mode, so both paths are judged alike.

use crate as binding;
use mimi_ds_model::ds::Endpoint;
use ohttp::hpke::{Aead, Kdf, Kem};
use ohttp::{ClientRequest, ClientResponse, KeyConfig, Server, ServerResponse, SymmetricSuite};
use std::io::Cursor;

/// Where the gateway takes encapsulated requests.
pub const GATEWAY_PATH: &str = "/mimi-ds/v1/ohttp";
/// Where the gateway publishes its key configuration (RFC 9540).
pub const KEYS_PATH: &str = "/.well-known/ohttp-gateway";
pub const REQUEST_TYPE: &str = "message/ohttp-req";
pub const RESPONSE_TYPE: &str = "message/ohttp-res";
pub const KEYS_TYPE: &str = "application/ohttp-keys";

/// The authority inner requests name; the gateway serves only itself.
const AUTHORITY: &[u8] = b"rsp.invalid";

/// The RSP's side: a fresh key, its published configuration, and decapsulation.
pub struct Gateway {
    server: Server,
    keys: Vec<u8>,
}

impl Gateway {
    pub fn new() -> Result<Gateway, String> {
        let suite = SymmetricSuite::new(Kdf::HkdfSha256, Aead::Aes128Gcm);
        let config = KeyConfig::new(1, Kem::X25519Sha256, vec![suite])
            .map_err(|e| format!("OHTTP key: {e}"))?;
        let keys = KeyConfig::encode_list(&[&config])
            .map_err(|e| format!("OHTTP key configuration: {e}"))?;
        let server = Server::new(config).map_err(|e| format!("OHTTP gateway: {e}"))?;
        Ok(Gateway { server, keys })
    }

    /// The `application/ohttp-keys` body.
    pub fn keys(&self) -> &[u8] {
        &self.keys
    }

    /// Opens an encapsulated request: the inner endpoint, its body, and the sealer of the answer.
    pub fn open(&self, encapsulated: &[u8]) -> Result<(Endpoint, Vec<u8>, ServerResponse), String> {
        let (inner, sealer) = self
            .server
            .decapsulate(encapsulated)
            .map_err(|e| format!("cannot decapsulate: {e}"))?;
        let message = bhttp::Message::read_bhttp::<_, Cursor<&[u8]>>(&mut Cursor::new(&inner[..]))
            .map_err(|e| format!("inner request is not binary HTTP: {e}"))?;
        let path = message
            .control()
            .path()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        let endpoint = binding::endpoint_of_path(&path)
            .filter(|e| !binding::needs_provider(*e))
            .ok_or_else(|| {
                format!("inner request to {path:?}, which is not a KeyPackage endpoint")
            })?;
        Ok((endpoint, message.content().to_vec(), sealer))
    }
}

/// A binary HTTP message (known-length form) carrying `body` as `application/mimi-ds`.
fn with_body(mut message: bhttp::Message, body: &[u8]) -> Result<Vec<u8>, String> {
    message.put_header("content-type", binding::MEDIA_TYPE);
    message.write_content(body);
    let mut encoded = Vec::new();
    message
        .write_bhttp(bhttp::Mode::KnownLength, &mut encoded)
        .map_err(|e| format!("binary HTTP: {e}"))?;
    Ok(encoded)
}

/// Seals the gateway's answer: a binary HTTP response inside the OHTTP response.
pub fn seal_response(sealer: ServerResponse, status: u16, body: &[u8]) -> Result<Vec<u8>, String> {
    let status =
        bhttp::StatusCode::try_from(status).map_err(|e| format!("status {status}: {e}"))?;
    let inner = with_body(bhttp::Message::response(status), body)?;
    sealer
        .encapsulate(&inner)
        .map_err(|e| format!("cannot encapsulate: {e}"))
}

/// Whether `keys` is a key configuration list a requester can seal to.
pub fn check_keys(keys: &[u8]) -> Result<(), String> {
    ClientRequest::from_encoded_config_list(keys)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The requester's side: a KeyPackage request sealed to the gateway's published keys.
pub fn seal_request(
    keys: &[u8],
    endpoint: Endpoint,
    body: &[u8],
) -> Result<(Vec<u8>, ClientResponse), String> {
    let client = ClientRequest::from_encoded_config_list(keys)
        .map_err(|e| format!("the gateway's key configuration: {e}"))?;
    let request = bhttp::Message::request(
        b"POST".to_vec(),
        b"https".to_vec(),
        AUTHORITY.to_vec(),
        binding::path(endpoint).into_bytes(),
    );
    let inner = with_body(request, body)?;
    client
        .encapsulate(&inner)
        .map_err(|e| format!("cannot encapsulate: {e}"))
}

/// Opens the gateway's answer: the inner status and body.
pub fn open_response(
    client: ClientResponse,
    encapsulated: &[u8],
) -> Result<(u16, Vec<u8>), String> {
    let inner = client
        .decapsulate(encapsulated)
        .map_err(|e| format!("cannot decapsulate the answer: {e}"))?;
    let message = bhttp::Message::read_bhttp::<_, Cursor<&[u8]>>(&mut Cursor::new(&inner[..]))
        .map_err(|e| format!("inner answer is not binary HTTP: {e}"))?;
    let status = message
        .control()
        .status()
        .map(|s| s.code())
        .ok_or("inner answer has no status")?;
    Ok((status, message.content().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_through_the_gateway() {
        let gateway = Gateway::new().unwrap();
        let (sealed, opener) =
            seal_request(gateway.keys(), Endpoint::KeyPackage, b"inner body").unwrap();
        let (endpoint, body, sealer) = gateway.open(&sealed).unwrap();
        assert_eq!(
            (endpoint, body.as_slice()),
            (Endpoint::KeyPackage, &b"inner body"[..])
        );
        let answer = seal_response(sealer, 404, b"error body").unwrap();
        assert_eq!(
            open_response(opener, &answer).unwrap(),
            (404, b"error body".to_vec())
        );
    }

    #[test]
    fn the_gateway_refuses_what_it_cannot_open_or_should_not_serve() {
        let gateway = Gateway::new().unwrap();
        assert!(gateway.open(b"not an encapsulated request").is_err());
        let (sealed, _) = seal_request(gateway.keys(), Endpoint::Send, b"x").unwrap();
        let err = gateway.open(&sealed).err().unwrap();
        assert!(err.contains("not a KeyPackage endpoint"), "{err}");
        let other = Gateway::new().unwrap();
        let (sealed, _) = seal_request(other.keys(), Endpoint::KeyPackage, b"x").unwrap();
        assert!(
            gateway.open(&sealed).is_err(),
            "sealed to another gateway's key"
        );
    }
}
