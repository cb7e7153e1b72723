//! How the runner reaches a target and who it says it is (BINDING.md §3): in test mode one
//! HTTP client and the `Mimi-Ds-Provider` header; over HTTPS one client per certificate it
//! presents, issued from the test CA — each provider's own, the runner's (naming no
//! provider) for test control, and the wrong ones of the certificate cases
//! (`errata/tls-caller`).

use mimi_ds_binding::tls::{HttpVersions, Identity, Pki, TlsError};
use mimi_ds_model::codec::ServiceProviderId;
use mimi_ds_model::vectors::cast;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the runner talks HTTPS with: the test CA (with its key, to issue certificates) and
/// the HTTP versions it offers.
#[derive(Clone)]
pub struct Tls {
    pub pki: Arc<Pki>,
    pub versions: HttpVersions,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

/// A wrong credential, presented by the certificate cases that only run over TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    /// No client certificate at all.
    NoCertificate,
    /// A certificate for a provider, issued by another CA.
    ForeignCa,
    /// A provider's own certificate, with a header claiming another provider.
    ClaimsAnother,
    /// A certificate naming two providers, with no header to choose.
    Ambiguous,
}

impl Credential {
    pub const ALL: [Credential; 4] = [
        Credential::NoCertificate,
        Credential::ForeignCa,
        Credential::ClaimsAnother,
        Credential::Ambiguous,
    ];

    /// Its name in case ids.
    pub fn name(self) -> &'static str {
        match self {
            Credential::NoCertificate => "tls-no-certificate",
            Credential::ForeignCa => "tls-foreign-ca",
            Credential::ClaimsAnother => "tls-header-claims-another-provider",
            Credential::Ambiguous => "tls-several-providers-no-header",
        }
    }

    /// What the request presents, for the case's comment.
    pub fn describe(self) -> String {
        match self {
            Credential::NoCertificate => "no client certificate".into(),
            Credential::ForeignCa => {
                format!("a certificate for {} from another CA", cast::FOLLOWER_B)
            }
            Credential::ClaimsAnother => format!(
                "a certificate for {} with the header Mimi-Ds-Provider: {}",
                cast::OUTSIDER,
                cast::HUB
            ),
            Credential::Ambiguous => format!(
                "a certificate naming {} and {}, and no header",
                cast::FOLLOWER_B,
                cast::FOLLOWER_C
            ),
        }
    }
}

/// Who a request presents itself as.
#[derive(Clone, Copy, Debug)]
pub enum Caller<'a> {
    /// Nobody in particular: test control, the OHTTP relay, KeyPackage requests, and
    /// requests the case sends with no provider identity.
    Runner,
    /// The provider a case names (the header's value; maybe not a ServiceProviderId, or
    /// not even text: the fuzzer sends any bytes).
    Provider(&'a [u8]),
    /// A certificate case's wrong credential.
    Presenting(Credential),
}

/// Which client a request goes out on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ClientKey {
    NoCertificate,
    /// The runner's own certificate, naming no provider.
    Runner,
    Provider(ServiceProviderId),
    ForeignCa,
    Ambiguous,
}

/// The clients of one run, and the header each request carries.
pub struct Clients {
    tls: Option<Tls>,
    made: Mutex<HashMap<ClientKey, reqwest::Client>>,
}

/// Why the runner could not build a client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("building the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Tls(#[from] TlsError),
}

impl Clients {
    /// Plain HTTP when `tls` is `None`.
    pub fn new(tls: Option<Tls>) -> Clients {
        mimi_ds_binding::tls::install_default_provider();
        Clients {
            tls,
            made: Mutex::new(HashMap::new()),
        }
    }

    pub fn over_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The client a request from `caller` goes out on, and the `Mimi-Ds-Provider` header
    /// it carries.
    pub fn client(
        &self,
        caller: Caller<'_>,
    ) -> Result<(reqwest::Client, Option<Vec<u8>>), ClientError> {
        let named = |p: &[u8]| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|p| ServiceProviderId::new(p).ok())
        };
        let (key, header) = match (&self.tls, caller) {
            (None, Caller::Provider(p)) => (ClientKey::Runner, Some(p.to_vec())),
            (None, _) => (ClientKey::Runner, None),
            (Some(_), Caller::Runner) => (ClientKey::Runner, None),
            (Some(_), Caller::Provider(p)) => match named(p) {
                Some(id) => (ClientKey::Provider(id), None),
                // A name no certificate can hold: the runner's certificate and the header.
                None => (ClientKey::Runner, Some(p.to_vec())),
            },
            (Some(_), Caller::Presenting(credential)) => match credential {
                Credential::NoCertificate => (ClientKey::NoCertificate, None),
                Credential::ForeignCa => (ClientKey::ForeignCa, None),
                Credential::ClaimsAnother => (
                    ClientKey::Provider(cast::provider(cast::OUTSIDER)),
                    Some(cast::HUB.as_bytes().to_vec()),
                ),
                Credential::Ambiguous => (ClientKey::Ambiguous, None),
            },
        };
        let mut made = self.made.lock().expect("clients lock");
        if let Some(client) = made.get(&key) {
            return Ok((client.clone(), header));
        }
        let client = self.build(&key)?;
        made.insert(key, client.clone());
        Ok((client, header))
    }

    fn build(&self, key: &ClientKey) -> Result<reqwest::Client, ClientError> {
        // No timeout here: each exchange has one deadline for its head and its body. A
        // redirect is an answer like any other: the binding has none.
        let builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        let Some(Tls { pki, versions }) = &self.tls else {
            return Ok(builder.build()?);
        };
        let identity: Option<Identity> = match key {
            ClientKey::NoCertificate => None,
            ClientKey::Runner => Some(pki.issue(&[])?),
            ClientKey::Provider(id) => Some(pki.issue(&[id.as_str()])?),
            ClientKey::ForeignCa => Some(Pki::generate()?.issue(&[cast::FOLLOWER_B])?),
            ClientKey::Ambiguous => Some(pki.issue(&[cast::FOLLOWER_B, cast::FOLLOWER_C])?),
        };
        let config = pki.client_config(identity.as_ref(), *versions)?;
        let builder = match versions {
            HttpVersions::Http1 => builder.http1_only(),
            _ => builder,
        };
        Ok(builder.tls_backend_preconfigured(config).build()?)
    }
}
