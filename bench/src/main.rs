//! Tessera's benchmark tools, one binary with subcommands (bench/run.sh drives them):
//!
//!   hash      --password P                       an argon2id PHC hash with Tessera's parameters
//!   dataset   --out DIR --users N --clients N …  the YAML to import, the peer's accounts
//!   limits    --seconds S [--only argon2]        RS256/ES256 signatures and argon2id
//!                                                verifications per second on all cores
//!   argon2    --rounds N --seconds S         argon2id implementations compared, interleaved:
//!                                                verifications per second on all cores
//!   bare      --listen ADDR …                    bare axum 0.8 handlers: static bytes, sign
//!                                                a JWT, verify a JWT
//!   signin    --issuer URL …                     N virtual users doing full sign-ins
//!                                                (authorize → login form → code → token)
//!   mint      --issuer URL …                     sign in once per virtual user, then
//!                                                collect token responses (refresh tokens)
//!   probe     --url URL …                        a fixed request rate, its latencies
//!   report    --results FILE --out FILE          docs/benchmarks.md from a run's results
//!
//! Every measuring command prints one line `RESULT {json}` with the same fields as the
//! wrk scripts (`bench/wrk/report.lua`): requests, duration_s, rps, p50_ms, p99_ms,
//! non2xx, socket_errors.

mod argon2cmp;
mod bare;
mod dataset;
mod limits;
mod report;
mod signin;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context};

/// The allocator Tessera's binary uses, so that the bare handlers and the limits run on
/// the same footing as the server they are compared with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `--key value` arguments.
pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    fn parse(list: &[String]) -> anyhow::Result<Self> {
        let mut values = HashMap::new();
        let mut it = list.iter();
        while let Some(key) = it.next() {
            let Some(name) = key.strip_prefix("--") else {
                bail!("unexpected argument {key:?}");
            };
            let value = it
                .next()
                .with_context(|| format!("--{name} needs a value"))?;
            values.insert(name.to_owned(), value.clone());
        }
        Ok(Self { values })
    }

    pub fn get(&self, name: &str) -> anyhow::Result<String> {
        self.values
            .get(name)
            .cloned()
            .with_context(|| format!("--{name} is required"))
    }

    pub fn opt(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    pub fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T> {
        match self.values.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| anyhow::anyhow!("--{name}: not a number: {v:?}")),
        }
    }

    pub fn secs(&self, name: &str, default: f64) -> anyhow::Result<Duration> {
        Ok(Duration::from_secs_f64(self.num(name, default)?))
    }
}

/// The result line every measuring command prints.
pub struct Summary {
    pub latencies_us: Vec<u64>,
    pub duration: Duration,
    pub non2xx: u64,
    pub socket_errors: u64,
}

impl Summary {
    pub fn print(mut self, extra: &[(&str, serde_json::Value)]) {
        self.latencies_us.sort_unstable();
        let pct = |p: f64| -> f64 {
            if self.latencies_us.is_empty() {
                return 0.0;
            }
            let rank = ((p / 100.0) * self.latencies_us.len() as f64).ceil() as usize;
            let i = rank.clamp(1, self.latencies_us.len()) - 1;
            self.latencies_us[i] as f64 / 1000.0
        };
        let secs = self.duration.as_secs_f64();
        let mut json = serde_json::json!({
            "requests": self.latencies_us.len(),
            "duration_s": round(secs, 3),
            "rps": round(self.latencies_us.len() as f64 / secs, 1),
            "p50_ms": round(pct(50.0), 3),
            "p99_ms": round(pct(99.0), 3),
            "non2xx": self.non2xx,
            "socket_errors": self.socket_errors,
        });
        if let Some(obj) = json.as_object_mut() {
            for (k, v) in extra {
                obj.insert((*k).to_owned(), v.clone());
            }
        }
        println!("RESULT {json}");
    }
}

pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn main() -> std::process::ExitCode {
    match real_main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera-bench: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn real_main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = argv.split_first() else {
        bail!(
            "usage: tessera-bench hash|dataset|limits|argon2|bare|signin|mint|probe --key value …"
        );
    };
    let args = Args::parse(rest)?;
    match command.as_str() {
        "hash" => {
            println!("{}", limits::hash_password(&args.get("password")?)?);
            Ok(())
        }
        "dataset" => dataset::run(&args),
        "limits" => limits::run(&args),
        "argon2" => argon2cmp::run(&args),
        "bare" => runtime()?.block_on(bare::run(&args)),
        "signin" => runtime()?.block_on(signin::run_signin(&args)),
        "mint" => runtime()?.block_on(signin::run_mint(&args)),
        "probe" => runtime()?.block_on(signin::run_probe(&args)),
        "report" => report::run(&args),
        other => bail!("unknown command {other:?}"),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
