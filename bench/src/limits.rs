//! The machine's limits: how many RS256 and ES256 signatures (josekit; RSA 2048 and
//! P-256, as Tessera) and argon2id verifications (m=19456, t=2, p=1, as Tessera: with
//! `argon2-rust` as Tessera verifies, and with `argon2` 0.5 as it did before issue #12)
//! all cores do per second.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use josekit::jws::{JwsHeader, JwsSigner, ES256, RS256};
use josekit::jwt::{self, JwtPayload};

use crate::Args;

pub fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// A payload shaped like one of Tessera's access tokens.
pub fn sample_payload() -> JwtPayload {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut p = JwtPayload::new();
    p.set_issuer("http://127.0.0.1:8080");
    p.set_subject("bench-client");
    p.set_audience(vec!["http://127.0.0.1:8080"]);
    p.set_jwt_id(format!("{:032x}", rand::random::<u128>()));
    p.set_issued_at(
        &std::time::UNIX_EPOCH
            .checked_add(Duration::from_secs(now))
            .unwrap_or(std::time::UNIX_EPOCH),
    );
    p.set_expires_at(
        &std::time::UNIX_EPOCH
            .checked_add(Duration::from_secs(now + 3600))
            .unwrap_or(std::time::UNIX_EPOCH),
    );
    let _ = p.set_claim("client_id", Some("bench-client".into()));
    let _ = p.set_claim("scope", Some("api".into()));
    let _ = p.set_claim("host", Some("bench-host".into()));
    let _ = p.set_claim("uty", Some("E".into()));
    p
}

pub fn sign(signer: &dyn JwsSigner, kid: &str) -> anyhow::Result<String> {
    let mut header = JwsHeader::new();
    header.set_token_type("at+jwt");
    header.set_key_id(kid);
    Ok(jwt::encode_with_signer(&sample_payload(), &header, signer)?)
}

pub fn rs256_signer() -> anyhow::Result<(
    josekit::jws::alg::rsassa::RsassaJwsSigner,
    josekit::jws::alg::rsassa::RsassaJwsVerifier,
)> {
    let pair = RS256.generate_key_pair(2048)?;
    let signer = RS256.signer_from_der(pair.to_der_private_key())?;
    let verifier = RS256.verifier_from_der(pair.to_der_public_key())?;
    Ok((signer, verifier))
}

pub fn es256_signer() -> anyhow::Result<josekit::jws::alg::ecdsa::EcdsaJwsSigner> {
    let pair = ES256.generate_key_pair()?;
    Ok(ES256.signer_from_der(pair.to_der_private_key())?)
}

/// Runs `op` on `threads` threads for `seconds`; operations per second.
pub fn rate<F>(threads: usize, duration: Duration, make: impl Fn() -> F) -> f64
where
    F: FnMut() + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let mut op = make();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    op();
                    n += 1;
                }
                n
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    total as f64 / start.elapsed().as_secs_f64()
}

/// The process's peak resident memory (VmHWM), in KiB.
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let seconds = args.secs("seconds", 5.0)?;
    let threads = args.num(
        "threads",
        std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
    )?;
    // `--only argon2`: the two argon2 rates alone, to bracket the sign-in case with the
    // machine's speed of the moment.
    let argon2_only = match args.opt("only").as_deref() {
        None => false,
        Some("argon2") => true,
        Some(other) => anyhow::bail!("--only takes argon2, not {other:?}"),
    };
    let (mut rs256, mut es256) = (None, None);
    if !argon2_only {
        let (rs, _) = rs256_signer()?;
        let rs = Arc::new(rs);
        rs256 = Some(rate(threads, seconds, || {
            let s = rs.clone();
            move || {
                let _ = sign(&*s, "k1");
            }
        }));
        let es = Arc::new(es256_signer()?);
        es256 = Some(rate(threads, seconds, || {
            let s = es.clone();
            move || {
                let _ = sign(&*s, "k1");
            }
        }));
    }
    let phc = Arc::new(hash_password("bench-password")?);
    // The same verification with one buffer per thread, reused
    // (`hash_password_into_with_memory`), as Tessera verifies: the crate's ceiling on
    // this machine.
    let reuse = rate(threads, seconds, || {
        let phc = phc.clone();
        let mut memory = vec![argon2::Block::default(); 19_456];
        move || {
            let parsed = PasswordHash::new(&phc).expect("valid PHC");
            let mut salt = [0u8; 64];
            let salt = parsed
                .salt
                .expect("salt")
                .decode_b64(&mut salt)
                .expect("salt bytes");
            let expected = parsed.hash.expect("hash");
            let mut out = vec![0u8; expected.len()];
            argon2()
                .hash_password_into_with_memory(b"bench-password", salt, &mut out, &mut memory)
                .expect("argon2");
            assert!(out == expected.as_bytes());
        }
    });
    // As Tessera verifies since issue #12: argon2-rust, one kept arena per thread.
    let tessera = rate(threads, seconds, || {
        let phc = phc.clone();
        let mut hasher = crate::argon2cmp::argon2_rust_hasher();
        move || {
            hasher
                .verify_encoded(&phc, b"bench-password", argon2_rust::Algorithm::Argon2id)
                .expect("argon2-rust verifies the hash");
        }
    });
    let hwm_before = vm_hwm_kib();
    // The crate's own API, `verify_password`, which allocates its 19 MiB each time.
    let argon = rate(threads, seconds, || {
        let phc = phc.clone();
        move || {
            let parsed = PasswordHash::new(&phc).expect("valid PHC");
            let ok = argon2().verify_password(b"bench-password", &parsed).is_ok();
            assert!(ok);
        }
    });
    println!(
        "RESULT {}",
        serde_json::json!({
            "threads": threads,
            "rs256_signs_per_s": rs256.map(|r| crate::round(r, 1)),
            "es256_signs_per_s": es256.map(|r| crate::round(r, 1)),
            "argon2id_verifies_per_s": crate::round(argon, 1),
            "argon2id_reused_memory_per_s": crate::round(reuse, 1),
            "argon2id_tessera_per_s": crate::round(tessera, 1),
            "peak_rss_kib_before_argon2_alloc": hwm_before,
            "peak_rss_kib_after_argon2_alloc": vm_hwm_kib(),
        })
    );
    Ok(())
}
