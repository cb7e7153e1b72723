//! A deterministic openmls provider: RustCrypto for every primitive, but every random byte
//! openmls or HPKE consumes comes from the caller's seed, so the same seed and the same calls
//! give the same messages, byte for byte, however openmls schedules its work.
//!
//! This module owns the three places randomness enters an openmls history: `OpenMlsRand`
//! (secrets, nonces, reuse guards, leaf and init key seeds) and signature key generation
//! (Ed25519 from 32 bytes), both from one ChaCha20 stream, and HPKE encapsulation, whose
//! ephemeral key hpke-rs draws from a PRNG it creates itself. For the last, [`Drawn`] is an
//! `HpkeCrypto` that delegates to hpke-rs-rust-crypto but whose PRNG hands out bytes this
//! provider derived from the seed and the encapsulation's inputs just before the seal (a
//! thread-local buffer, emptied by the seal): not from the stream, since openmls seals a
//! commit's path secrets in parallel. It supports exactly the suite the vectors use,
//! `MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519`.
//!
//! Deterministic keys are for test vectors only: anyone who knows the seed knows every secret.

use hpke_rs::hpke_types::{AeadAlgorithm, KdfAlgorithm, KemAlgorithm};
use hpke_rs::{Hpke, HpkeError, Mode};
use hpke_rs_crypto::{error::Error as HpkeCryptoError, HpkeCrypto, HpkeTestRng, Rng as _};
use hpke_rs_rust_crypto::HpkeRustCrypto;
use openmls_rust_crypto::{MemoryStorage, RandError, RustCrypto};
use openmls_traits::crypto::OpenMlsCrypto;
use openmls_traits::random::OpenMlsRand;
use openmls_traits::types::{
    AeadType, Ciphersuite, CryptoError, ExporterSecret, HashType, HpkeAeadType, HpkeCiphertext,
    HpkeConfig, HpkeKdfType, HpkeKemType, HpkeKeyPair, SignatureScheme,
};
use openmls_traits::OpenMlsProvider;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore as _, SeedableRng as _};
use sha2::{Digest as _, Sha256};
use std::cell::RefCell;
use std::convert::Infallible;
use std::sync::Mutex;
use tls_codec::SecretVLBytes;

/// The one suite the provider supports.
pub const SUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// An openmls provider whose randomness is a ChaCha20 stream from a 32-byte seed.
pub struct SeededProvider {
    crypto: SeededCrypto,
    storage: MemoryStorage,
}

impl SeededProvider {
    pub fn new(seed: [u8; 32]) -> Self {
        SeededProvider {
            crypto: SeededCrypto {
                rust: RustCrypto::default(),
                rng: Mutex::new(ChaCha20Rng::from_seed(seed)),
                ephemeral_key: Sha256::new()
                    .chain_update(b"mimi-ds-vectors HPKE ephemeral keys")
                    .chain_update(seed)
                    .finalize()
                    .into(),
            },
            storage: MemoryStorage::default(),
        }
    }
}

impl OpenMlsProvider for SeededProvider {
    type CryptoProvider = SeededCrypto;
    type RandProvider = SeededCrypto;
    type StorageProvider = MemoryStorage;

    fn storage(&self) -> &MemoryStorage {
        &self.storage
    }

    fn crypto(&self) -> &SeededCrypto {
        &self.crypto
    }

    fn rand(&self) -> &SeededCrypto {
        &self.crypto
    }
}

/// RustCrypto's deterministic primitives and a seeded stream for everything random.
/// (`rust` is never asked for randomness: its own generator is seeded by the OS.)
pub struct SeededCrypto {
    rust: RustCrypto,
    rng: Mutex<ChaCha20Rng>,
    /// What each HPKE encapsulation's ephemeral key is derived from, with its inputs.
    ephemeral_key: [u8; 32],
}

impl OpenMlsRand for SeededCrypto {
    type Error = RandError;

    fn random_array<const N: usize>(&self) -> Result<[u8; N], RandError> {
        let mut out = [0u8; N];
        self.fill(&mut out)?;
        Ok(out)
    }

    fn random_vec(&self, len: usize) -> Result<Vec<u8>, RandError> {
        let mut out = vec![0u8; len];
        self.fill(&mut out)?;
        Ok(out)
    }
}

thread_local! {
    /// The bytes the next HPKE encapsulation on this thread may draw.
    static DRAWN: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl SeededCrypto {
    fn fill(&self, out: &mut [u8]) -> Result<(), RandError> {
        self.rng
            .lock()
            .map_err(|_| RandError::LockPoisoned)?
            .fill_bytes(out);
        Ok(())
    }

    /// An HPKE sender context for `config` whose ephemeral key is derived from the seed and
    /// the encapsulation's inputs (`pk_r`, `info` and the `bound` bytes it protects), not
    /// drawn from the stream: openmls encrypts a commit's path secrets in parallel (rayon),
    /// so draws from the one stream would be handed out in scheduling order, and the same
    /// seed would give other commits from run to run.
    fn hpke_sender(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        bound: &[&[u8]],
    ) -> Result<(Vec<u8>, hpke_rs::Context<Drawn>), CryptoError> {
        let mut hpke = hpke(config)?;
        let mut derive = Sha256::new().chain_update(self.ephemeral_key);
        for part in [pk_r, info].iter().chain(bound) {
            derive.update((part.len() as u64).to_be_bytes());
            derive.update(part);
        }
        let randomness = derive.finalize().to_vec();
        assert_eq!(randomness.len(), KemAlgorithm::DhKem25519.private_key_len());
        DRAWN.with(|drawn| *drawn.borrow_mut() = randomness);
        let sender = hpke.setup_sender(&pk_r.into(), info, None, None, None);
        let left = DRAWN.with(|drawn| std::mem::take(&mut *drawn.borrow_mut()));
        assert!(left.is_empty(), "HPKE left {} drawn bytes", left.len());
        sender.map_err(|_| CryptoError::SenderSetupError)
    }
}

/// The HPKE of the supported suite, with [`Drawn`] randomness.
fn hpke(config: HpkeConfig) -> Result<Hpke<Drawn>, CryptoError> {
    match config {
        HpkeConfig(HpkeKemType::DhKem25519, HpkeKdfType::HkdfSha256, HpkeAeadType::AesGcm128) => {
            Ok(Hpke::new(
                Mode::Base,
                KemAlgorithm::DhKem25519,
                KdfAlgorithm::HkdfSha256,
                AeadAlgorithm::Aes128Gcm,
            ))
        }
        _ => Err(CryptoError::UnsupportedCiphersuite),
    }
}

impl OpenMlsCrypto for SeededCrypto {
    fn supports(&self, ciphersuite: Ciphersuite) -> Result<(), CryptoError> {
        match ciphersuite {
            SUITE => Ok(()),
            _ => Err(CryptoError::UnsupportedCiphersuite),
        }
    }

    fn supported_ciphersuites(&self) -> Vec<Ciphersuite> {
        vec![SUITE]
    }

    fn hkdf_extract(
        &self,
        hash_type: HashType,
        salt: &[u8],
        ikm: &[u8],
    ) -> Result<SecretVLBytes, CryptoError> {
        self.rust.hkdf_extract(hash_type, salt, ikm)
    }

    fn hmac(
        &self,
        hash_type: HashType,
        key: &[u8],
        message: &[u8],
    ) -> Result<SecretVLBytes, CryptoError> {
        self.rust.hmac(hash_type, key, message)
    }

    fn hkdf_expand(
        &self,
        hash_type: HashType,
        prk: &[u8],
        info: &[u8],
        okm_len: usize,
    ) -> Result<SecretVLBytes, CryptoError> {
        self.rust.hkdf_expand(hash_type, prk, info, okm_len)
    }

    fn hash(&self, hash_type: HashType, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.rust.hash(hash_type, data)
    }

    fn aead_encrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        data: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.rust.aead_encrypt(alg, key, data, nonce, aad)
    }

    fn aead_decrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        ct_tag: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.rust.aead_decrypt(alg, key, ct_tag, nonce, aad)
    }

    /// Ed25519 keys from 32 bytes of the stream (RFC 8032 private keys are any 32 bytes).
    fn signature_key_gen(&self, alg: SignatureScheme) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
        if alg != SignatureScheme::ED25519 {
            return Err(CryptoError::UnsupportedSignatureScheme);
        }
        let secret = self
            .random_array::<32>()
            .map_err(|_| CryptoError::InsufficientRandomness)?;
        let key = ed25519_dalek::SigningKey::from_bytes(&secret);
        Ok((secret.to_vec(), key.verifying_key().to_bytes().to_vec()))
    }

    fn verify_signature(
        &self,
        alg: SignatureScheme,
        data: &[u8],
        pk: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.rust.verify_signature(alg, data, pk, signature)
    }

    fn sign(&self, alg: SignatureScheme, data: &[u8], key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.rust.sign(alg, data, key)
    }

    fn hpke_seal(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        aad: &[u8],
        ptxt: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        let (kem_output, mut context) = self.hpke_sender(config, pk_r, info, &[aad, ptxt])?;
        let ciphertext = context.seal(aad, ptxt).map_err(|e| match e {
            HpkeError::InvalidInput => CryptoError::InvalidLength,
            _ => CryptoError::HpkeEncryptionError,
        })?;
        Ok(HpkeCiphertext {
            kem_output: kem_output.into(),
            ciphertext: ciphertext.into(),
        })
    }

    fn hpke_open(
        &self,
        config: HpkeConfig,
        input: &HpkeCiphertext,
        sk_r: &[u8],
        info: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.rust.hpke_open(config, input, sk_r, info, aad)
    }

    fn hpke_setup_sender_and_export(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        exporter_length: usize,
    ) -> Result<(Vec<u8>, ExporterSecret), CryptoError> {
        let exported_length = (exporter_length as u64).to_be_bytes();
        let (kem_output, context) =
            self.hpke_sender(config, pk_r, info, &[exporter_context, &exported_length])?;
        let exported = context
            .export(exporter_context, exporter_length)
            .map_err(|_| CryptoError::ExporterError)?;
        Ok((kem_output, exported.into()))
    }

    fn hpke_setup_receiver_and_export(
        &self,
        config: HpkeConfig,
        enc: &[u8],
        sk_r: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        exporter_length: usize,
    ) -> Result<ExporterSecret, CryptoError> {
        self.rust.hpke_setup_receiver_and_export(
            config,
            enc,
            sk_r,
            info,
            exporter_context,
            exporter_length,
        )
    }

    fn derive_hpke_keypair(
        &self,
        config: HpkeConfig,
        ikm: &[u8],
    ) -> Result<HpkeKeyPair, CryptoError> {
        self.rust.derive_hpke_keypair(config, ikm)
    }
}

/// hpke-rs-rust-crypto with a PRNG that hands out the bytes [`SeededCrypto`] drew for the
/// encapsulation under way.
#[derive(Debug)]
pub struct Drawn;

/// The PRNG of [`Drawn`]: it takes from this thread's drawn bytes and panics when they run
/// out, since HPKE drawing more than one encapsulation's worth is a bug of this module.
#[derive(Debug)]
pub struct DrawnPrng;

impl DrawnPrng {
    fn take(dest: &mut [u8]) {
        DRAWN.with(|drawn| {
            let mut drawn = drawn.borrow_mut();
            assert!(
                drawn.len() >= dest.len(),
                "HPKE asked for {} random bytes, {} were drawn",
                dest.len(),
                drawn.len()
            );
            dest.copy_from_slice(&drawn[..dest.len()]);
            drawn.drain(..dest.len());
        })
    }
}

impl hpke_rs_crypto::TryRng for DrawnPrng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut bytes = [0u8; 4];
        Self::take(&mut bytes);
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut bytes = [0u8; 8];
        Self::take(&mut bytes);
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Infallible> {
        Self::take(dest);
        Ok(())
    }
}

impl hpke_rs_crypto::TryCryptoRng for DrawnPrng {}

impl HpkeTestRng for DrawnPrng {
    type Error = Infallible;

    fn try_fill_test_bytes(&mut self, dest: &mut [u8]) -> Result<(), Infallible> {
        Self::take(dest);
        Ok(())
    }

    /// The bytes the next draws return.
    fn seed(&mut self, seed: &[u8]) {
        DRAWN.with(|drawn| *drawn.borrow_mut() = seed.to_vec());
    }
}

/// Holds no state of its own: the drawn bytes are consumed as they are read.
impl zeroize::Zeroize for DrawnPrng {
    fn zeroize(&mut self) {}
}

impl HpkeCrypto for Drawn {
    type HpkePrng = DrawnPrng;

    fn name() -> String {
        "RustCrypto with drawn randomness".into()
    }

    fn supports_kdf(alg: KdfAlgorithm) -> Result<(), HpkeCryptoError> {
        HpkeRustCrypto::supports_kdf(alg)
    }

    fn supports_kem(alg: KemAlgorithm) -> Result<(), HpkeCryptoError> {
        HpkeRustCrypto::supports_kem(alg)
    }

    fn supports_aead(alg: AeadAlgorithm) -> Result<(), HpkeCryptoError> {
        HpkeRustCrypto::supports_aead(alg)
    }

    fn prng() -> DrawnPrng {
        DrawnPrng
    }

    fn kdf_extract(alg: KdfAlgorithm, salt: &[u8], ikm: &[u8]) -> Result<Vec<u8>, HpkeCryptoError> {
        HpkeRustCrypto::kdf_extract(alg, salt, ikm)
    }

    fn kdf_expand(
        alg: KdfAlgorithm,
        prk: &[u8],
        info: &[u8],
        output_size: usize,
    ) -> Result<Vec<u8>, HpkeCryptoError> {
        HpkeRustCrypto::kdf_expand(alg, prk, info, output_size)
    }

    fn dh(alg: KemAlgorithm, pk: &[u8], sk: &[u8]) -> Result<Vec<u8>, HpkeCryptoError> {
        HpkeRustCrypto::dh(alg, pk, sk)
    }

    fn secret_to_public(alg: KemAlgorithm, sk: &[u8]) -> Result<Vec<u8>, HpkeCryptoError> {
        HpkeRustCrypto::secret_to_public(alg, sk)
    }

    /// A key pair from the drawn bytes, as RFC 9180 §7.1.3 derives one from random input.
    fn kem_key_gen(
        alg: KemAlgorithm,
        prng: &mut DrawnPrng,
    ) -> Result<(Vec<u8>, Vec<u8>), HpkeCryptoError> {
        let mut seed = vec![0u8; alg.private_key_len()];
        prng.fill_bytes(&mut seed);
        HpkeRustCrypto::kem_key_gen_derand(alg, &seed)
    }

    fn kem_key_gen_derand(
        alg: KemAlgorithm,
        seed: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), HpkeCryptoError> {
        HpkeRustCrypto::kem_key_gen_derand(alg, seed)
    }

    /// Only the non-DH KEMs encapsulate here (hpke-rs does DHKEM itself), and the supported
    /// suite has none.
    fn kem_encaps(
        _alg: KemAlgorithm,
        _pk_r: &[u8],
        _prng: &mut DrawnPrng,
    ) -> Result<(Vec<u8>, Vec<u8>), HpkeCryptoError> {
        Err(HpkeCryptoError::UnknownKemAlgorithm)
    }

    fn kem_decaps(alg: KemAlgorithm, ct: &[u8], sk_r: &[u8]) -> Result<Vec<u8>, HpkeCryptoError> {
        HpkeRustCrypto::kem_decaps(alg, ct, sk_r)
    }

    fn dh_validate_sk(alg: KemAlgorithm, sk: &[u8]) -> Result<Vec<u8>, HpkeCryptoError> {
        HpkeRustCrypto::dh_validate_sk(alg, sk)
    }

    fn aead_seal(
        alg: AeadAlgorithm,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        msg: &[u8],
    ) -> Result<Vec<u8>, HpkeCryptoError> {
        HpkeRustCrypto::aead_seal(alg, key, nonce, aad, msg)
    }

    fn aead_open(
        alg: AeadAlgorithm,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        msg: &[u8],
    ) -> Result<Vec<u8>, HpkeCryptoError> {
        HpkeRustCrypto::aead_open(alg, key, nonce, aad, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_fixes_signature_keys_and_hpke_ciphertexts_which_open() {
        let receiver = SeededProvider::new([9; 32]);
        let keys = receiver
            .crypto()
            .derive_hpke_keypair(SUITE.hpke_config(), &[1; 32])
            .expect("an X25519 key pair");
        let seal = |seed| {
            SeededProvider::new(seed)
                .crypto()
                .hpke_seal(
                    SUITE.hpke_config(),
                    &keys.public,
                    b"info",
                    b"aad",
                    b"secret",
                )
                .expect("HPKE seals")
        };
        let (once, again, other) = (seal([1; 32]), seal([1; 32]), seal([2; 32]));
        assert_eq!(once, again, "the same seed, the same ciphertext");
        assert_ne!(
            once.kem_output, other.kem_output,
            "another seed, another key"
        );
        let opened = receiver
            .crypto()
            .hpke_open(SUITE.hpke_config(), &once, &keys.private, b"info", b"aad")
            .expect("the receiver opens what a seeded sender sealed");
        assert_eq!(opened, b"secret");
        let signer = |seed| {
            SeededProvider::new(seed)
                .crypto()
                .signature_key_gen(SignatureScheme::ED25519)
                .expect("Ed25519")
        };
        assert_eq!(signer([3; 32]), signer([3; 32]));
        assert_ne!(signer([3; 32]).1, signer([4; 32]).1);
    }
}
