//! Mutual TLS on the command line (BINDING.md §3): `pki` writes a test CA and certificates,
//! `run --pki` / `run --tls` reach a target over HTTPS, `serve --tls` serves HTTPS.

use anyhow::{anyhow, bail, Context, Result};
use mimi_ds_binding::tls::{HttpVersions, Identity, Pki, TARGET};
use mimi_ds_check::transport::Tls;
use mimi_ds_model::codec::ServiceProviderId;
use mimi_ds_reference::server::ServerTls;
use std::path::Path;
use std::sync::Arc;

/// `--http`: the HTTP versions the runner offers over TLS.
#[derive(Clone, Copy, Default, clap::ValueEnum)]
pub enum HttpArg {
    /// Both; the target chooses (ALPN).
    #[default]
    Any,
    #[value(name = "1.1")]
    Http1,
    #[value(name = "2")]
    Http2,
}

impl From<HttpArg> for HttpVersions {
    fn from(h: HttpArg) -> HttpVersions {
        match h {
            HttpArg::Any => HttpVersions::Any,
            HttpArg::Http1 => HttpVersions::Http1,
            HttpArg::Http2 => HttpVersions::Http2,
        }
    }
}

/// `mimi-ds-check pki DIR [--name NAME …]`.
pub fn write_pki(dir: &Path, names: &[String]) -> Result<()> {
    for name in names {
        ServiceProviderId::new(name).map_err(|why| anyhow!("--name {name:?}: {why}"))?;
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let written = Pki::generate()?.write(dir, &names)?;
    for path in written {
        outln!("wrote {}", path.display());
    }
    outln!(
        "serve {TARGET}.pem with {TARGET}.key, trust ca.pem for client and server certificates, \
         and run: mimi-ds-check run --target https://HOST:PORT --pki {}",
        dir.display()
    );
    Ok(())
}

/// How `run` reaches its target: plain HTTP, or TLS with the CA of `--pki` (an `https`
/// target, or the reference in process) or a fresh one (`--tls`, the reference only).
pub fn for_run(
    target: Option<&str>,
    pki: Option<&Path>,
    fresh: bool,
    http: HttpArg,
) -> Result<Option<Tls>> {
    let https = target.is_some_and(|t| t.starts_with("https://"));
    let pki = match (target, pki, fresh) {
        (Some(_), _, true) => {
            bail!("--tls is for the reference in process; give --pki DIR with an https --target")
        }
        (Some(t), None, false) if https => {
            bail!("{t} is https: give --pki DIR, the test CA it trusts (`mimi-ds-check pki DIR` writes one)")
        }
        (Some(t), Some(_), false) if !https => {
            bail!("--pki is for https targets, and {t} is not one")
        }
        (_, Some(dir), _) => Pki::load(dir).context("--pki")?,
        (None, None, true) => Pki::generate()?,
        (_, None, false) => return Ok(None),
    };
    Ok(Some(Tls {
        pki: Arc::new(pki),
        versions: http.into(),
    }))
}

/// `serve --tls DIR`: the CA of `ca.pem` and the certificate of `target.pem`.
pub fn for_serve(dir: &Path) -> Result<ServerTls> {
    let pki = Pki::load(dir).context("--tls")?;
    let identity = Identity::load(dir, TARGET).context("--tls")?;
    Ok(ServerTls {
        pki: Arc::new(pki),
        identity,
    })
}
