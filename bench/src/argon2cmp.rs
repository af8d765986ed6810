//! Argon2id implementations side by side (RFC 9106; OWASP's m=19456 KiB, t=2, p=1, as
//! Tessera): verifications per second on all cores for each candidate, interleaved in
//! rounds so that the machine's drift (it is shared) hits every candidate alike; the
//! report takes each one's median over the rounds.
//!
//! Every candidate verifies the same PHC string, made by `argon2` 0.5 (what Tessera's
//! stored hashes were made with), and must accept it on every verification: a candidate
//! that cannot read those strings is not a candidate.
//!
//! - `argon2-0.5`: RustCrypto `argon2` 0.5, one reused `Block` buffer per thread
//!   (`hash_password_into_with_memory`), as Tessera verified before this comparison;
//! - `argon2-0.6`: the same with RustCrypto `argon2` 0.6;
//! - `argon2-rust`: `argon2-rust` (a port of the C reference with runtime-dispatched
//!   SIMD, what @node-rs/argon2 is built on), one pooled `Hasher` per thread;
//! - `rust-argon2`: `rust-argon2` 3, which has no way to reuse memory (allocates per
//!   verification), for reference.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;

use crate::Args;

const PASSWORD: &[u8] = b"bench-password";

/// The candidate Tessera verifies with (src/authn/password.rs).
const TESSERA: &str = "argon2-rust";

/// A candidate: its name and a maker of one verifying closure per thread.
type Maker = Box<dyn Fn(Arc<str>) -> Box<dyn FnMut() + Send>>;

fn candidates() -> Vec<(&'static str, Maker)> {
    vec![
        ("argon2-0.5", Box::new(argon2_05)),
        ("argon2-0.6", Box::new(argon2_06)),
        ("argon2-rust", Box::new(argon2_rust)),
        ("rust-argon2", Box::new(rust_argon2)),
    ]
}

/// The salt and the hash of a PHC string, decoded (the RustCrypto candidates take raw
/// bytes; decoding is microseconds against a verification's milliseconds).
fn salt_and_hash(phc: &str) -> (Vec<u8>, Vec<u8>) {
    let mut fields = phc.rsplit('$');
    let hash = fields.next().unwrap_or_default();
    let salt = fields.next().unwrap_or_default();
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    (
        b64.decode(salt).expect("PHC salt"),
        b64.decode(hash).expect("PHC hash"),
    )
}

fn argon2_05(phc: Arc<str>) -> Box<dyn FnMut() + Send> {
    let (salt, expected) = salt_and_hash(&phc);
    let mut memory = vec![argon2::Block::default(); 19_456];
    let hasher = crate::limits::argon2();
    Box::new(move || {
        let mut out = vec![0u8; expected.len()];
        hasher
            .hash_password_into_with_memory(PASSWORD, &salt, &mut out, &mut memory)
            .expect("argon2 0.5");
        assert!(out == expected, "argon2 0.5 rejected the hash");
    })
}

fn argon2_06(phc: Arc<str>) -> Box<dyn FnMut() + Send> {
    let (salt, expected) = salt_and_hash(&phc);
    let mut memory = vec![argon2_06::Block::default(); 19_456];
    let params = argon2_06::Params::new(19_456, 2, 1, Some(expected.len())).expect("params");
    let hasher = argon2_06::Argon2::new(
        argon2_06::Algorithm::Argon2id,
        argon2_06::Version::V0x13,
        params,
    );
    Box::new(move || {
        let mut out = vec![0u8; expected.len()];
        hasher
            .hash_password_into_with_memory(PASSWORD, &salt, &mut out, &mut memory)
            .expect("argon2 0.6");
        assert!(out == expected, "argon2 0.6 rejected the hash");
    })
}

pub fn argon2_rust_hasher() -> argon2_rust::Hasher {
    let params = argon2_rust::Params::builder()
        .memory(argon2_rust::params::Memory::kib(19_456))
        .passes(2)
        .lanes(1)
        .build()
        .expect("params");
    argon2_rust::Argon2::new(
        argon2_rust::Algorithm::Argon2id,
        argon2_rust::Version::V0x13,
        params,
    )
    .hasher()
}

fn argon2_rust(phc: Arc<str>) -> Box<dyn FnMut() + Send> {
    let mut hasher = argon2_rust_hasher();
    Box::new(move || {
        hasher
            .verify_encoded(&phc, PASSWORD, argon2_rust::Algorithm::Argon2id)
            .expect("argon2-rust rejected the hash");
    })
}

fn rust_argon2(phc: Arc<str>) -> Box<dyn FnMut() + Send> {
    Box::new(move || {
        let ok = rust_argon2::verify_encoded(&phc, PASSWORD).expect("rust-argon2");
        assert!(ok, "rust-argon2 rejected the hash");
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let seconds: Duration = args.secs("seconds", 3.0)?;
    let rounds: usize = args.num("rounds", 5)?;
    let threads = args.num(
        "threads",
        std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
    )?;
    let only = args.opt("only");
    let phc: Arc<str> = crate::limits::hash_password(std::str::from_utf8(PASSWORD)?)?.into();
    let list: Vec<_> = candidates()
        .into_iter()
        .filter(|(name, _)| {
            only.as_deref()
                .is_none_or(|o| o.split(',').any(|x| x == *name))
        })
        .collect();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); list.len()];
    for round in 0..rounds {
        // Each round starts with the next candidate, so that none always runs first.
        for k in 0..list.len() {
            let i = (round + k) % list.len();
            let (name, make) = &list[i];
            let r = crate::limits::rate(threads, seconds, || make(phc.clone()));
            eprintln!("round {round}: {name:<12} {r:7.1} verifications/s");
            rates[i].push(r);
        }
    }
    let mut json = serde_json::Map::new();
    json.insert("threads".into(), threads.into());
    json.insert("rounds".into(), rounds.into());
    json.insert("seconds_each".into(), seconds.as_secs_f64().into());
    let mut fastest = 0.0f64;
    for ((name, _), mut r) in list.iter().zip(rates) {
        let all = r.iter().map(|x| crate::round(*x, 1)).collect::<Vec<_>>();
        let med = crate::round(median(&mut r), 1);
        fastest = fastest.max(med);
        if *name == TESSERA {
            json.insert("tessera_median_per_s".into(), med.into());
        }
        eprintln!("{name:<12} median {med:7.1}  rounds {all:?}");
        json.insert(
            (*name).into(),
            serde_json::json!({ "median_per_s": med, "rounds": all }),
        );
    }
    json.insert("fastest_median_per_s".into(), fastest.into());
    println!("RESULT {}", serde_json::Value::Object(json));
    Ok(())
}
