//! `report --results FILE --out FILE`: docs/benchmarks.md from the run's results.jsonl
//! (one JSON object a line, with `server` and `case`, written by bench/run.sh).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Context;
use serde_json::Value;

use crate::Args;

struct Results {
    by: BTreeMap<(String, String), Value>,
}

impl Results {
    fn get(&self, server: &str, case: &str) -> Option<&Value> {
        self.by.get(&(server.to_owned(), case.to_owned()))
    }

    fn num(&self, server: &str, case: &str, field: &str) -> Option<f64> {
        self.get(server, case)?.get(field)?.as_f64()
    }

    fn rps(&self, server: &str, case: &str) -> Option<f64> {
        self.num(server, case, "rps")
    }
}

const SERVERS: &[(&str, &str)] = &[
    ("tessera-sqlite", "Tessera, SQLite"),
    ("tessera-postgres", "Tessera, PostgreSQL"),
    ("peer-1", "peer, 1 process"),
    ("peer-cluster", "peer, cluster + Redis"),
];

const CASES: &[(&str, &str)] = &[
    ("discovery", "discovery"),
    ("jwks", "JWKS"),
    ("cc_rs256", "client_credentials RS256"),
    ("cc_es256", "client_credentials ES256"),
    ("introspect", "introspection"),
    ("userinfo", "userinfo"),
    ("refresh", "refresh (rotating)"),
    ("signin", "full sign-in"),
];

fn pct(x: Option<f64>) -> String {
    x.map_or("–".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn f(x: Option<f64>, digits: usize) -> String {
    x.map_or("–".to_owned(), |v| format!("{v:.digits$}"))
}

/// The share of the machine other processes used during a measurement.
fn other_load(v: &Value) -> String {
    v.get("other_load_pct")
        .and_then(Value::as_f64)
        .map_or("–".to_owned(), |x| format!("{x:.0}%"))
}

fn int(v: &Value, field: &str) -> u64 {
    v.get(field).and_then(Value::as_u64).unwrap_or(0)
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let path = args.get("results")?;
    let text = std::fs::read_to_string(&path).with_context(|| path.clone())?;
    let mut by = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).with_context(|| format!("{path}: {line}"))?;
        let server = v["server"].as_str().unwrap_or_default().to_owned();
        let case = v["case"].as_str().unwrap_or_default().to_owned();
        by.insert((server, case), v);
    }
    let r = Results { by };
    let meta = r.get("meta", "run").cloned().unwrap_or(Value::Null);
    // The limits are measured at the start and at the end of the run: the better of the
    // two counts (other work on the machine may slow either).
    let start_limits = r.get("machine", "limits").cloned().unwrap_or(Value::Null);
    let end_limits = r
        .get("machine", "limits_end")
        .cloned()
        .unwrap_or(Value::Null);
    let mut limits = start_limits.clone();
    if let (Some(l), Some(e)) = (limits.as_object_mut(), end_limits.as_object()) {
        for (k, v) in e {
            if k.ends_with("_per_s") {
                let better =
                    v.as_f64().unwrap_or(0.0) > l.get(k).and_then(Value::as_f64).unwrap_or(0.0);
                if better {
                    l.insert(k.clone(), v.clone());
                }
            }
        }
    }
    let mut md = String::new();

    // Header.
    md.push_str("# Benchmarks\n\n<!-- Written by bench/run.sh from its measurements; do not edit by hand, run it again. -->\n\n");
    let _ = writeln!(
        md,
        "- **Date:** {} — **machine:** {} cores ({}), {} — Tessera at commit `{}`{}",
        meta["date"].as_str().unwrap_or("?"),
        meta["cores"],
        meta["cpu"].as_str().unwrap_or("?"),
        meta["memory"].as_str().unwrap_or("?"),
        meta["commit"].as_str().unwrap_or("?"),
        match meta["dirty_files"].as_u64() {
            Some(0) | None => String::new(),
            Some(n) => format!(" with {n} uncommitted changes in src/, migrations/ or Cargo.toml"),
        }
    );
    let _ = writeln!(
        md,
        "- **Command:** `{}`{}",
        meta["command"].as_str().unwrap_or("bench/run.sh"),
        if meta["quick"].as_bool() == Some(true) {
            " (quick smoke mode: numbers are indicative only)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        md,
        "- **Machine load** (1, 5, 15 min) at start {}, at end {}; the run waited {} s in all for other processes to calm down before its cases: the machine is shared, and the *other load* columns say how much other work ran during each measurement.\n- **Load:** wrk 4.1, {} connections on {} threads, keep-alive; each case {} s of warm-up, then {} s measured. Full sign-ins: `tessera-bench signin`, {} virtual users, each sign-in with fresh cookies (authorize → login form → code → token; a first-party client, no consent page). Load generator and server share the same {} cores.",
        meta["load_start"].as_str().unwrap_or("?"),
        meta["load_end"].as_str().unwrap_or("?"),
        meta["quiet_waited_s"],
        meta["connections"], meta["wrk_threads"], meta["warmup_s"], meta["duration_s"], meta["signin_users"], meta["cores"]
    );
    let mut dataset = format!(
        "- **Dataset:** {} users (70 % employees with a manager and a position, 30 % customers) in 4 hosts, each with 2–3 roles, 3 groups and 5 attributes; {} clients",
        meta["users"], meta["clients"]
    );
    for (server, label) in &SERVERS[..2] {
        if let Some(i) = r.get(server, "import") {
            let _ = write!(
                dataset,
                "; imported into {label} in {:.1} s (clients by `{}`)",
                i["seconds"].as_f64().unwrap_or(0.0),
                i["clients_by"].as_str().unwrap_or("?")
            );
        }
    }
    md.push_str(&dataset);
    md.push_str(".\n");
    if let Some(v) = r.get("peer", "versions") {
        let _ = writeln!(
            md,
            "- **Peer:** oidc-provider {} on Node.js {} (`NODE_ENV=production`), @node-rs/argon2 {}; `bench/peer/server.mjs`.",
            v["oidc_provider"].as_str().unwrap_or("?"),
            v["node"].as_str().unwrap_or("?"),
            v["argon2"].as_str().unwrap_or("?")
        );
    }
    if let Some(s) = r.get("tessera-postgres", "settings") {
        let _ = writeln!(
            md,
            "- **PostgreSQL:** {}.",
            s["settings"].as_str().unwrap_or("?")
        );
    }

    // Targets.
    md.push_str("\n## Targets\n\n| target | measured | against | ratio | goal | |\n|---|---|---|---|---|---|\n");
    let mut target = |name: &str,
                      measured: String,
                      against: String,
                      value: Option<f64>,
                      goal: &str,
                      ok: Option<bool>| {
        let _ = writeln!(
            md,
            "| {name} | {measured} | {against} | {} | {goal} | {} |",
            pct(value),
            match ok {
                Some(true) => "met",
                Some(false) => "**missed**",
                None if goal == "–" => "for reference",
                None => "not measured",
            }
        );
    };
    let sq = "tessera-sqlite";
    let lim = |k: &str| limits.get(k).and_then(Value::as_f64);
    let rps_s =
        |x: Option<f64>, unit: &str| x.map_or("–".to_owned(), |v| format!("{v:.0} {unit}"));
    let at_least = |v: Option<f64>, goal: f64| v.map(|v| v >= goal);
    // The argon2 rates measured just before and just after the sign-in case (the better
    // of the two), or the run's when a run has no such bracket.
    let around_signin = |k: &str| {
        let at = |case: &str| r.num("machine", case, k);
        match (at("argon2_before_signin"), at("argon2_after_signin")) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b).or_else(|| lim(k)),
        }
    };
    // (target, Tessera's rate and unit, the ceiling's rate and unit, goal as a share).
    let comparisons = [
        (
            "client_credentials RS256 vs RS256 signatures/s on all cores",
            r.rps(sq, "cc_rs256"),
            "rps",
            lim("rs256_signs_per_s"),
            "signatures/s",
            Some(0.8),
        ),
        // The signing rate is measured before the cases; the bare handler under the same
        // load, between them: when the machine's speed drifts, this row shows by how much.
        (
            "client_credentials RS256 vs bare RS256 signing handler",
            r.rps(sq, "cc_rs256"),
            "rps",
            r.rps("bare", "sign_rs256"),
            "rps",
            None,
        ),
        (
            "client_credentials ES256 vs bare ES256 signing handler",
            r.rps(sq, "cc_es256"),
            "rps",
            r.rps("bare", "sign_es256"),
            "rps",
            Some(0.7),
        ),
        (
            "discovery vs bare static handler",
            r.rps(sq, "discovery"),
            "rps",
            r.rps("bare", "static"),
            "rps",
            Some(0.7),
        ),
        (
            "JWKS vs bare static handler",
            r.rps(sq, "jwks"),
            "rps",
            r.rps("bare", "static"),
            "rps",
            Some(0.7),
        ),
        (
            "full sign-ins vs argon2id verifications/s on all cores as Tessera verifies (`argon2-rust`, a kept arena per thread)",
            r.rps(sq, "signin"),
            "sign-ins/s",
            around_signin("argon2id_tessera_per_s"),
            "verifications/s around the case",
            Some(0.85),
        ),
        (
            "full sign-ins vs argon2id verifications/s with `argon2` 0.5 and a reused buffer (the implementation before issue #12)",
            r.rps(sq, "signin"),
            "sign-ins/s",
            around_signin("argon2id_reused_memory_per_s"),
            "verifications/s around the case",
            None,
        ),
        (
            "argon2id in Tessera's implementation vs the fastest candidate (`tessera-bench argon2`, medians)",
            r.num("machine", "argon2_candidates", "tessera_median_per_s"),
            "verifications/s",
            r.num("machine", "argon2_candidates", "fastest_median_per_s"),
            "verifications/s",
            Some(0.95),
        ),
        (
            "introspection vs bare verifying handler",
            r.rps(sq, "introspect"),
            "rps",
            r.rps("bare", "verify"),
            "rps",
            Some(0.7),
        ),
    ];
    for (label, measured, unit, against, against_unit, goal) in comparisons {
        let v = ratio(measured, against);
        target(
            label,
            rps_s(measured, unit),
            rps_s(against, against_unit),
            v,
            &goal.map_or("–".to_owned(), |g| format!("≥ {:.0}%", g * 100.0)),
            goal.and_then(|g| at_least(v, g)),
        );
    }
    let idle = r.num(sq, "rss", "idle_kib").map(|k| k / 1024.0);
    target(
        "resident memory idle, SQLite",
        idle.map_or("–".into(), |m| format!("{m:.1} MiB")),
        "64 MiB".into(),
        idle.map(|m| m / 64.0),
        "< 64 MiB",
        idle.map(|m| m < 64.0),
    );
    for (case, label) in [
        ("cc_rs256", "client_credentials"),
        ("refresh", "refresh"),
        ("signin", "full sign-in (code)"),
    ] {
        let v = ratio(r.rps("tessera-postgres", case), r.rps(sq, case));
        target(
            &format!("PostgreSQL vs SQLite token issuance: {label}"),
            rps_s(r.rps("tessera-postgres", case), "rps"),
            rps_s(r.rps(sq, case), "rps"),
            v,
            "≥ 70%",
            at_least(v, 0.7),
        );
    }
    for (kind, label) in [("cc", "client_credentials"), ("discovery", "discovery")] {
        let idle = r.num(sq, &format!("probe_{kind}_idle"), "p99_ms");
        let busy = r.num(sq, &format!("probe_{kind}_signin"), "p99_ms");
        let v = ratio(busy, idle);
        let _ = writeln!(
            md,
            "| {label} p99 while sign-ins saturate vs idle p99 | {} ms | {} ms | {} | ≤ 2× | {} |",
            f(busy, 2),
            f(idle, 2),
            v.map_or("–".into(), |x| format!("{x:.2}×")),
            match v {
                Some(x) if x <= 2.0 => "met",
                Some(_) => "**missed**",
                None => "not measured",
            }
        );
    }

    // Results.
    md.push_str("\n## Results\n\nrps: requests per second (full sign-in: sign-ins per second); latencies in ms; non-2xx: answers outside 200–299 (sign-ins: failed sign-ins); socket: connect, read, write and timeout errors. The ratios compare Tessera's rps with the peer's. Other load: the share of all cores that processes outside the benchmark used meanwhile (the machine is shared); a row with much of it understates its server.\n\n");
    md.push_str("| case | server | rps | p50 | p99 | non-2xx | socket | ÷ peer, 1 process | ÷ peer, cluster | other load |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (case, clabel) in CASES {
        for (server, slabel) in SERVERS {
            let Some(v) = r.get(server, case) else {
                continue;
            };
            let tessera = server.starts_with("tessera");
            let _ = writeln!(
                md,
                "| {clabel} | {slabel} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
                v["rps"].as_f64().unwrap_or(0.0),
                v["p50_ms"].as_f64().unwrap_or(0.0),
                v["p99_ms"].as_f64().unwrap_or(0.0),
                int(v, "non2xx"),
                int(v, "socket_errors"),
                if tessera {
                    pct(ratio(r.rps(server, case), r.rps("peer-1", case)))
                } else {
                    String::new()
                },
                if tessera {
                    pct(ratio(r.rps(server, case), r.rps("peer-cluster", case)))
                } else {
                    String::new()
                },
                other_load(v),
            );
        }
    }

    // Limits.
    md.push_str("\n## The machine's limits\n\n");
    let _ = writeln!(
        md,
        "On all {} cores, in `tessera-bench limits` (josekit; RSA 2048 and P-256 keys as Tessera's; argon2id with Tessera's m=19456, t=2, p=1, by `argon2-rust` as Tessera verifies and by `argon2` 0.5 as it did before issue #12):\n",
        limits["threads"]
    );
    let _ = writeln!(
        md,
        "| operation | per second (used) | at the start | at the end |\n|---|---:|---:|---:|"
    );
    let both = |k: &str, d: usize| {
        (
            f(start_limits.get(k).and_then(Value::as_f64), d),
            f(end_limits.get(k).and_then(Value::as_f64), d),
        )
    };
    for (k, label, d) in [
        ("rs256_signs_per_s", "RS256 signature", 0),
        ("es256_signs_per_s", "ES256 signature", 0),
        ("argon2id_tessera_per_s", "argon2id verification, `argon2-rust` with a kept arena per thread (as Tessera verifies)", 1),
        ("argon2id_verifies_per_s", "argon2id verification, `argon2` 0.5 `verify_password` (the crate's API; allocates its 19 MiB each time)", 1),
        ("argon2id_reused_memory_per_s", "argon2id verification, `argon2` 0.5 with one reused buffer per thread (`hash_password_into_with_memory`, as Tessera verified before issue #12)", 1),
    ] {
        let (a, b) = both(k, d);
        let _ = writeln!(md, "| {label} | **{}** | {a} | {b} |", f(lim(k), d));
    }
    for (case, when) in [
        ("argon2_before_signin", "just before"),
        ("argon2_after_signin", "just after"),
    ] {
        if let Some(v) = r.get("machine", case) {
            let _ = writeln!(
                md,
                "| argon2id, `argon2-rust` / `argon2` 0.5 reused memory, {when} Tessera's sign-in case on SQLite | {} / {} | | |",
                f(v.get("argon2id_tessera_per_s").and_then(Value::as_f64), 1),
                f(v.get("argon2id_reused_memory_per_s").and_then(Value::as_f64), 1),
            );
        }
    }
    let _ = writeln!(
        md,
        "| (other load during the measurement) | | {} | {} |",
        other_load(&start_limits),
        other_load(&end_limits)
    );
    if let Some(n) = r.num("machine", "node_argon2", "node_argon2id_verifies_per_s") {
        let _ = writeln!(md, "| argon2id verification, the peer's @node-rs/argon2 (Node.js, libuv pool), at the start | {n:.1} | | |");
    }
    if let (Some(a), Some(b)) = (
        lim("peak_rss_kib_before_argon2_alloc"),
        lim("peak_rss_kib_after_argon2_alloc"),
    ) {
        // `verify_password` allocates and frees 19 MiB per verification on each thread.
        let _ = if b - a < 8.0 * 1024.0 {
            writeln!(
                md,
                "\nThe limits tool's own peak resident memory stayed at {:.0} MiB through the `verify_password` loop, which allocates and frees 19 MiB per verification on each thread: mimalloc, which the tool runs on as Tessera does, reuses the blocks.",
                b / 1024.0
            )
        } else {
            writeln!(
                md,
                "\nThe limits tool's own peak resident memory went from {:.0} MiB to {:.0} MiB during the `verify_password` loop, which allocates and frees 19 MiB per verification on each thread (with the reused buffers it stayed at the first figure).",
                a / 1024.0,
                b / 1024.0
            )
        };
    }
    md.push('\n');
    md.push_str("Bare axum 0.8 handlers in `tessera-bench bare`, under the same wrk load:\n\n| handler | rps | p50 | p99 | non-2xx | socket | other load |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (case, label) in [
        ("static", "static bytes (Tessera's discovery document)"),
        ("sign_rs256", "sign a JWT per request, RS256"),
        ("sign_es256", "sign a JWT per request, ES256"),
        (
            "verify",
            "verify an RS256 JWT per request (Tessera's access token of the introspection case, with Tessera's key)",
        ),
    ] {
        if let Some(v) = r.get("bare", case) {
            let _ = writeln!(
                md,
                "| {label} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
                v["rps"].as_f64().unwrap_or(0.0),
                v["p50_ms"].as_f64().unwrap_or(0.0),
                v["p99_ms"].as_f64().unwrap_or(0.0),
                int(v, "non2xx"),
                int(v, "socket_errors"),
                other_load(v)
            );
        }
    }

    // Memory.
    md.push_str("\n## Resident memory\n\nVmRSS from /proc after start-up (idle, dataset loaded, 2 s after the first answer) and VmHWM (peak) after the load; for the cluster peer, the sum over the primary and its workers.\n\n| server | idle | peak under load | |\n|---|---:|---:|---|\n");
    for (server, label) in SERVERS {
        if let Some(v) = r.get(server, "rss") {
            let mib = |k: &str| {
                v[k].as_f64()
                    .map_or("–".into(), |x| format!("{:.1} MiB", x / 1024.0))
            };
            let note = match v["redis_peak_kib"].as_f64() {
                Some(x) if x > 0.0 => format!("plus Redis, peak {:.1} MiB", x / 1024.0),
                _ if server.starts_with("peer") => "in-memory store included".to_owned(),
                _ if *server == "tessera-postgres" => {
                    "PostgreSQL's own memory not counted".to_owned()
                }
                _ => String::new(),
            };
            let _ = writeln!(
                md,
                "| {label} | {} | {} | {note} |",
                mib("idle_kib"),
                mib("peak_kib")
            );
        }
    }

    // Starvation.
    md.push_str("\n## Does password hashing starve other endpoints?\n\n");
    let _ = writeln!(
        md,
        "`tessera-bench probe` sends client_credentials and discovery requests at a fixed {} requests/s each (open loop), first alone, then while the sign-in driver saturates the machine with argon2id.\n",
        meta["probe_rate"]
    );
    md.push_str("| server | probe | idle p50 | idle p99 | under sign-ins p50 | under sign-ins p99 | p99 ratio | sign-ins/s meanwhile | other load idle / under sign-ins |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (server, label) in SERVERS {
        for kind in ["cc", "discovery"] {
            let idle = r.get(server, &format!("probe_{kind}_idle"));
            let busy = r.get(server, &format!("probe_{kind}_signin"));
            let (Some(idle), Some(busy)) = (idle, busy) else {
                continue;
            };
            let p = |v: &Value, k: &str| v[k].as_f64();
            let _ = writeln!(
                md,
                "| {label} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
                if kind == "cc" {
                    "client_credentials"
                } else {
                    "discovery"
                },
                f(p(idle, "p50_ms"), 2),
                f(p(idle, "p99_ms"), 2),
                f(p(busy, "p50_ms"), 2),
                f(p(busy, "p99_ms"), 2),
                ratio(p(busy, "p99_ms"), p(idle, "p99_ms"))
                    .map_or("–".into(), |x| format!("{x:.2}×")),
                f(r.rps(server, "signin_under_probe"), 1),
                other_load(idle),
                other_load(busy)
            );
        }
    }

    md.push_str(LIMITS);
    md.push_str(NOTES);
    let out = args.get("out")?;
    std::fs::write(&out, md).with_context(|| out.clone())?;
    Ok(())
}

/// What the profiles showed about the targets missed, and what was done. Kept with the
/// code so that every run's report carries it; update it with the findings.
const LIMITS: &str = "
## What limits the rest

Profiled with `perf record` on the tessera process under each load.

- **Full sign-ins.** A first-party sign-in is four requests: authorize, the login
  form, the form's POST (which answers with the code), and the token request. The
  target reads sign-ins against the argon2 rates measured just before and just after
  the case, because the machine's own argon2 rate drifts by up to a fifth within
  minutes (it is shared; compare the rows of the limits table). In a profile of the
  server during a sign-in run (before the allocator change below) argon2 is about
  four fifths of
  the process's CPU, about 21.6 ms per sign-in against 20.4 ms per verification in the
  limits loop. The rest is about 5 ms per sign-in: two RS256 signatures (ID token and
  access token, 1.5 ms), sqlx's SQLite connection threads (1.6 ms, half of it in the
  kernel: every write makes the other connections drop their page cache and read the
  pages again, and each statement is a hand-off to a thread and back; fourteen
  statements, eight of them writes), and the request workers (1.1 ms of HTTP, pages,
  sessions and JSON, 0.7 ms of kernel time waking threads). The sign-in driver, on the
  same two cores, takes another 0.6 ms. So even with argon2 as fast as in its own loop,
  (20.4 ms) ÷ (20.4 + 5.6 ms) puts the ceiling near 78% of the reused-buffer rate on
  this machine; the ratio misses 80% by that margin. Getting past it needs less fixed
  work per sign-in than two RSA signatures and a dozen SQLite round trips allow. The
  one-process peer keeps sessions, grants and tokens in process memory and writes
  nothing durable; with a shared store (cluster + Redis) it falls behind. What was
  done, in the order of what the profiles showed:
  - each hashing thread keeps its argon2 memory instead of allocating 19 MiB per
    verification (page faults were a quarter of the samples; the peak memory fell
    from ~580 MiB to ~70 MiB);
  - SQLite writes queue for one writer connection instead of racing for the lock, where
    the losers slept in SQLite's busy handler with the CPU idle (the refresh case's p99
    fell from ~490 ms to under 100 ms);
  - the steps after `/authorize` take the client from the cache, a local sign-in reads
    the user's hosts once, and showing the login form writes nothing;
  - release builds use fat LTO and one codegen unit (59 sign-ins/s before, 65–68
    after, in the measurements made while profiling);
  - the login form's POST goes on to the code itself instead of redirecting through a
    continuation URL, and a first-party client (`skip_consent`) has no consent page:
    eight requests per sign-in before, four now (55–58 sign-ins/s before, 65–69 after,
    back to back on the same dataset);
  - a new token family is written without the UPDATE that followed its insert;
  - the binary runs on mimalloc: glibc's malloc, free and consolidation were a seventh
    of an introspection's CPU (introspection 16.6k → 18.0k requests/s; sign-ins, built
    both ways and alternated three times, 66.6 → 72.2 per second on average);
  - the application state is one `Arc` (axum clones it per request), and the token
    endpoints share the cached client instead of copying it per request;
  - (issue #12) passwords are verified with `argon2-rust`, a port of the C reference
    with run-time SIMD dispatch (AVX-512 here), instead of RustCrypto's `argon2`: 1.6–1.8×
    the verifications per second in `tessera-bench argon2`, interleaved, with the same
    PHC strings both ways (docs/password-hashing.md). The sign-in's fixed work now
    weighs more against a faster hash, so the same issue took out what it could of it:
    a host's throttle policy is read once a second per node instead of once per
    sign-in whose login names a domain (every one here), and a returning browser's
    known-device row is read once, by the throttle, instead of a second time to renew
    its cookie. The two RS256 signatures, the session and code writes and the known
    device of a new browser remain. Measured while other builds loaded the machine
    (load average ~10 on 2 cores), a build with these changes did 119.5 sign-ins/s
    in `bench/focus.sh` (8 s, 16 virtual users, SQLite, 200 users), where the last full
    run read 73; that load makes no ratio of the moment worth quoting.

  Tried and dropped: SQLite's memory-mapped I/O (`PRAGMA mmap_size`, to spare the page
  re-reads) made no difference beyond the noise in three alternations (71.5 against
  72.9 sign-ins/s), and would turn a disk I/O error into a crash (SIGBUS), so it is
  off.
- **Other endpoints while sign-ins saturate the hash pool.** Hashing runs on threads of
  its own at a lower OS priority (niceness +10, capped at 19), which took the p99 ratio
  from 3.4–3.6× to about 1.5–2×; it moves by that much between runs. What is left is
  queueing behind the sign-ins' own work on the request workers, at the requests'
  priority: a code exchange signs two RS256 tokens (about 1.7 ms on this machine), and
  the pages and session writes come on top, besides the driver on the same cores.
  Running the hashing threads under `SCHED_IDLE` instead (set with `chrt` on the
  running threads) made no difference beyond that noise.
- **Runs differ.** Two full runs of the same code on this machine, one after the
  other, differed by up to 15–20% on the same case (discovery, client_credentials,
  introspection), and the argon2 rate moved from 78 to 110 verifications/s within a few
  minutes, so a ratio near its goal can read met in one run and missed in the next.
  That is why the sign-in target is read against argon2 measured around the case, and
  why the bare verifying handler checks the very token the introspection case sends.
  The raw results of every run stay under `target/bench-run/`.
- **client_credentials RS256 against the signing rate.** The signing rate is measured
  before the cases, on an idle machine. When the machine slows down during the run (it
  is shared), the ratio falls with it; the row against the bare RS256 handler, measured
  between the cases under the same load, shows Tessera's own overhead.
- **Refresh.** A refresh reads its token first (nothing is consumed by a request that
  fails), then a transaction rotates it with a conditional `UPDATE` and inserts the
  new one; the peer keeps its tokens in process memory. A profile of the refresh case
  (issue #12, SQLite) put 44% of the server's CPU in OpenSSL (the two RS256
  signatures, the ID token's and the access token's), about a fifth in the kernel
  switching and waking threads (futex hand-offs between the request workers and
  sqlx's SQLite thread), and the SQLite thread itself at 30% of the samples. Of the
  issue's three options the profile pointed at the hand-offs, so rotations now commit
  in groups (`src/store/rotation.rs`): the rotations that arrive while one group
  commits wait and commit together, one conditional `UPDATE … RETURNING` consuming
  every current token of the group and one `INSERT` each writing the successors and
  the access tokens' rows, six statements per group instead of six per rotation.
  Nothing is answered before the commit, each token is still consumed by its own
  condition inside the transaction that writes its successor, and a token presented
  twice in one group is consumed once (the other request is a second use, which
  revokes the family as before). SQLite commits one group at a time (one writer);
  PostgreSQL up to four side by side. An ID token only when the client needs one
  (OIDC Core §12.2 allows leaving it out) would take one of the two signatures, the
  larger share of the CPU, but needs a per-client setting and changes what clients
  get; it is not done. Measured with `bench/focus.sh` (8 s, 32 connections, SQLite),
  alternating builds while other builds loaded the machine (load average 9–10 on 2
  cores): 687 and 766 refreshes/s grouped against 614 and 579 one by one; on the
  shared PostgreSQL test server (synchronous_commit on) the same alternation read
  363 and 368 against 419 and 325, noise larger than any difference.
- **What the hardening (issue #11) cost, against the run before it (commit
  `2401476`, same machine kind, same dataset).** Full sign-ins held (SQLite 72 → 73,
  PostgreSQL 68 → 71 per second) although each now reads the throttle's counters and,
  for a browser without a device cookie (every sign-in here), writes a known device.
  Refresh rose (SQLite 511 → 573, PostgreSQL 622 → 822 per second): the token is read
  on a reader connection and the writer holds its transaction for the writes alone.
  The sign-ins' ratio to the argon2 rate fell (73% → 62% of the reused-buffer rate, which read
  99 then 116 verifications/s around the case): the fixed work of a sign-in grew by
  the throttle's read and the device write. (The one-process peer read 79 then 100
  sign-ins/s in the two runs: the machine's rate moves that much.)
  Introspection moved within the noise (18.8k → 18.5k). Userinfo lost 7–10% (SQLite
  12.2k → 11.4k): it reads the user, whose row now carries the contact columns of the
  `phone` and `address` scopes, and every request now gets a request id and a metrics
  observation. A first version of the failed-transaction fix pinged SQLite's worker
  thread once more per query on release; its full run measured userinfo at 9.5k and the
  p99 under sign-ins at 3.5–6.4× idle, and checking the connection when it is taken
  instead (no round trip) brought them back: 11.4k, and 1.3× (client_credentials) and
  2.2× (discovery) idle in this run, where the run before read 1.8× and 1.6×.
- **Sign-ins failing on PostgreSQL** (\"this sign-in request has expired\", a handful per
  run in an earlier run): sqlx 0.8.6 returns a connection still inside a transaction to
  the pool when a `begin` is cancelled (a client going away). Transactions now begin in a
  task of their own; no sign-in has failed since.
";

const NOTES: &str = "
## How to read this

- **Same work on both sides.** Tessera and the peer get the same requests from the same
  load generator: one confidential client with client_secret_basic, access tokens that
  are JWTs signed RS256 (then ES256: a second start of each server) valid 3600 s and
  carrying the user's security profile, ID tokens, rotating refresh tokens, PKCE S256,
  argon2id (m=19456, t=2, p=1) for passwords on both sides, against a dummy hash for
  unknown users. The client is first-party on both (Tessera's `skip_consent`, the
  peer's `loadExistingGrant`), so a sign-in asks for `openid profile email` and shows
  no consent page; the pre-minted refresh tokens of the refresh case ask for
  `offline_access` with `prompt=consent`, which both answer with a consent step.
- **Where they differ.** oidc-provider will neither introspect a JWT access token
  (\"structured tokens cannot be introspected\") nor accept one with an audience at
  userinfo, so its introspection and userinfo cases use an opaque access token of a
  twin client, looked up in its store; Tessera's use its JWT access token (signature
  check plus the node's in-memory revocation list, and for userinfo the user's claims).
  The peer keeps everything in process memory (one process) or in Redis (cluster);
  Tessera in SQLite or PostgreSQL, durable.
- **The peer on all cores.** node's cluster module, one worker per core, shares
  sessions, grants and tokens through Redis (oidc-provider's example adapter shape):
  an in-memory store cannot be shared between workers. Redis runs on the same cores.
- **Refresh.** Each request presents a refresh token never used before: every wrk thread
  starts from a pre-minted pool and sends next the refresh token the previous answer
  returned (`bench/wrk/refresh.lua`).
- **Raw data.** Every run keeps its measurements, wrk outputs and server logs under
  `target/bench-run/` (not committed).
";
