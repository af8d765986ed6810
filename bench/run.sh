#!/usr/bin/env bash
# Tessera's benchmark: one command, not part of the test suite.
#
#   bench/run.sh            full run (16 to 25 minutes on 2 cores once built), writes
#                           docs/benchmarks.md
#   bench/run.sh --quick    smoke run: every case for 2 s; writes its report into the
#                           run directory only (target/bench-run/…/benchmarks.md)
#
# It builds Tessera (release) and the tools in bench/ (CARGO_TARGET_DIR
# target/bench-build), installs the peer (panva's oidc-provider, bench/peer/) into
# target/bench-peer, generates the dataset (10,000 users with roles, groups, positions
# and attributes in 4 hosts, 100 clients) and imports it with `tessera import`, then
# measures with wrk (and bench/'s own driver for multi-step sign-ins):
#   - the machine's limits (RS256/ES256 signatures and argon2id verifications per
#     second on all cores; bare axum handlers: static bytes, sign a JWT, verify a JWT)
#   - Tessera on SQLite, then on PostgreSQL (a private throwaway cluster started with
#     scripts/pg.sh, or TESSERA_BENCH_POSTGRES_URL), RS256 then ES256
#   - the peer, one process (in-memory store) and on every core (node's cluster with
#     a Redis store), RS256 then ES256
#   - resident memory, and the latency of client_credentials and discovery while
#     sign-ins saturate the CPU
#
# Environment:
#   BENCH_DURATION=S         seconds measured per case (15; --quick: 2)
#   BENCH_WARMUP=S           seconds of warm-up before each (3; --quick: 1)
#   BENCH_CONNECTIONS=N      wrk connections (32), BENCH_THREADS=N wrk threads (2)
#   BENCH_SIGNIN_USERS=N     concurrent virtual users of the sign-in driver (16)
#   BENCH_USERS=N            users in the dataset (10000)
#   BENCH_PEER=0             skip the peer; BENCH_PEER_CLUSTER=0 skips its cluster run
#   BENCH_QUIET_BUDGET=S     seconds the run may wait in all for other processes to
#                            calm down before a case (300; 0: never wait)
#   BENCH_POSTGRES=0         skip PostgreSQL
#   TESSERA_BENCH_POSTGRES_URL=postgres://USER@HOST:PORT/DB
#                            use this server (the role must be allowed to create
#                            databases) instead of a private cluster
#   BENCH_OUTPUT=FILE        where the report goes (default: docs/benchmarks.md, or
#                            the run directory with --quick)
#
# Everything it starts is stopped on exit; ports are chosen free; a broken setup
# (build, install, import, a server that does not answer, a case whose first request
# fails) stops the run with a non-zero status.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="$ROOT/bench"
# The exact command, with the BENCH_* settings it was given.
COMMAND_LINE="$({ env | grep -E '^BENCH_[A-Z_]+=' || true; } | sort | tr '\n' ' ')${TESSERA_BENCH_POSTGRES_URL:+TESSERA_BENCH_POSTGRES_URL=… }bench/run.sh${*:+ $*}"

QUICK=0
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        -h | --help)
            sed -n '2,40p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "bench: unknown argument $arg (see --help)" >&2
            exit 2
            ;;
    esac
done

if ((QUICK)); then
    DURATION="${BENCH_DURATION:-2}"
    WARMUP="${BENCH_WARMUP:-1}"
else
    DURATION="${BENCH_DURATION:-15}"
    WARMUP="${BENCH_WARMUP:-3}"
fi
CONNS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
SIGNIN_USERS="${BENCH_SIGNIN_USERS:-16}"
USERS="${BENCH_USERS:-10000}"
CLIENTS=100
PROBE_RATE=50
CORES="$(nproc)"

# A shared machine: the whole run (builds, servers, load generators) at niceness 10,
# so that everything measured runs at the same priority.
if (($(nice) < 10)); then
    renice -n 10 -p $$ >/dev/null
fi
LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"

export CARGO_TARGET_DIR="$ROOT/target/bench-build"
RUN_DIR="$ROOT/target/bench-run/$(date -u +%Y%m%dT%H%M%SZ)-$$"
RESULTS="$RUN_DIR/results.jsonl"
if [[ -n "${BENCH_OUTPUT:-}" ]]; then
    OUTPUT="$BENCH_OUTPUT"
elif ((QUICK)); then
    OUTPUT="$RUN_DIR/benchmarks.md"
else
    OUTPUT="$ROOT/docs/benchmarks.md"
fi

PASSWORD="Bench-Password-1"
CLIENT_ID="bench"
CLIENT_SECRET="bench-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
REDIRECT_URI="http://127.0.0.1:9/callback"
BASIC="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
TOOL="$CARGO_TARGET_DIR/release/tessera-bench"
TESSERA="$CARGO_TARGET_DIR/release/tessera"
PEER_DIR="$ROOT/target/bench-peer"
export BENCH_WRK_DIR="$BENCH/wrk"

log() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }
die() {
    printf 'bench: error: %s\n' "$*" >&2
    exit 1
}

# ---- cleanup -----------------------------------------------------------------------

PIDS=()           # every background process we started
PG_STARTED=""     # a private PostgreSQL cluster is ours to stop
PG_DROP_DB=""     # database to drop on exit (on TESSERA_BENCH_POSTGRES_URL)
PG_ADMIN_URL=""

# stop_pid PID: TERM, then KILL after 5 s; its children too (the peer's workers).
stop_pid() {
    local pid="$1" i children
    [[ "${SERVER_PIDS:-}" == "$pid" ]] && SERVER_PIDS=""
    kill -0 "$pid" 2>/dev/null || return 0
    children="$(pgrep -P "$pid" 2>/dev/null || true)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for i in $children; do
        kill -KILL "$i" 2>/dev/null || true
    done
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    local pid
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid"
    done
    if [[ -n "$PG_DROP_DB" && -n "$PG_ADMIN_URL" ]]; then
        psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $PG_DROP_DB" >/dev/null 2>&1 || true
    fi
    if [[ -n "$PG_STARTED" ]]; then
        pg_stop_private || true
    fi
    if ((status != 0)); then
        log "failed (status $status); logs are in $RUN_DIR"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- helpers -----------------------------------------------------------------------

port_in_use() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 30000))
        port_in_use "$p" || {
            echo "$p"
            return 0
        }
    done
    die "no free port found"
}

# wait_http URL PID NAME: until URL answers 2xx, or the process died, or 60 s passed.
wait_http() {
    local url="$1" pid="$2" name="$3" i
    for i in $(seq 1 300); do
        if curl -sf -o /dev/null "$url"; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die "$name exited while starting (see $RUN_DIR)"
        sleep 0.2
    done
    die "$name does not answer at $url after 60 s"
}

# record SERVER CASE JSON [OTHER_LOAD_PCT]: one line in results.jsonl (with the
# server's resident memory when one is running: SERVER_PIDS).
record() {
    local rss=0
    [[ -n "${SERVER_PIDS:-}" ]] && rss="$(mem_kib VmRSS $SERVER_PIDS)"
    jq -c --arg s "$1" --arg c "$2" --argjson r "$rss" --arg o "${4:-}" \
        '. + {server: $s, case: $c} + (if $r > 0 then {rss_after_kib: $r} else {} end)
           + (if $o != "" then {other_load_pct: ($o | tonumber)} else {} end)' <<<"$3" >>"$RESULTS"
}

result_of() { grep '^RESULT ' "$1" | tail -n 1 | cut -d' ' -f2-; }

# Other work on the machine: CPU time (jiffies) of every process outside this run's
# session (and outside our PostgreSQL cluster's), from /proc/*/stat.
OUR_SID="$(ps -o sid= -p $$ | tr -d ' ')"
PG_SID=""
CLK_TCK="$(getconf CLK_TCK)"
foreign_jiffies() {
    # cat, not awk on the files: a process may exit between the glob and the read.
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v s1="$OUR_SID" -v s2="${PG_SID:-none}" '
        { i = index($0, ") "); n = split(substr($0, i + 2), f, " ")
          if (f[4] != s1 && f[4] != s2 && f[4] != 0) total += f[12] + f[13] }
        END { printf "%d\n", total }'
}
FOREIGN_J0=0
FOREIGN_T0=0
foreign_start() {
    FOREIGN_J0="$(foreign_jiffies)"
    FOREIGN_T0="$(date +%s.%N)"
}
# wait_quiet: when other processes use more than 15% of the machine, wait for them
# (at most 30 s per case, BENCH_QUIET_BUDGET seconds in all, default 300).
QUIET_BUDGET="${BENCH_QUIET_BUDGET:-300}"
QUIET_SPENT=0
wait_quiet() {
    local waited=0 load
    while ((QUIET_SPENT < QUIET_BUDGET && waited < 30)); do
        foreign_start
        sleep 1
        load="$(foreign_pct)"
        awk -v l="$load" 'BEGIN { exit !(l < 15) }' && return 0
        ((waited > 0)) || log "other processes use ${load}% of the machine; waiting up to 30 s for quiet ($((QUIET_BUDGET - QUIET_SPENT)) s of waiting left)"
        sleep 2
        waited=$((waited + 3))
        QUIET_SPENT=$((QUIET_SPENT + 3))
    done
    return 0
}

# The share of the machine (percent of all cores) other processes used since foreign_start.
foreign_pct() {
    local j1 t1
    j1="$(foreign_jiffies)"
    t1="$(date +%s.%N)"
    awk -v j="$((j1 - FOREIGN_J0))" -v t0="$FOREIGN_T0" -v t1="$t1" -v hz="$CLK_TCK" -v c="$CORES" \
        'BEGIN { v = j / hz / (t1 - t0) / c * 100; if (v < 0) v = 0; printf "%.1f", v }'
}

# The resident memory of PIDs and their children, in KiB: field VmRSS or VmHWM.
mem_kib() {
    local field="$1" total=0 pid child v
    shift
    for pid in "$@"; do
        for child in "$pid" $(pgrep -P "$pid" 2>/dev/null || true); do
            v="$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$child/status" 2>/dev/null || true)"
            total=$((total + ${v:-0}))
        done
    done
    echo "$total"
}

# check_first NAME CURL-ARGS…: one request must answer 2xx before a case runs.
check_first() {
    local name="$1" code
    shift
    code="$(curl -s -o "$RUN_DIR/check.out" -w '%{http_code}' "$@" || true)"
    [[ "$code" == 2* ]] || die "$name: the first request answered ${code:-nothing}: $(head -c 300 "$RUN_DIR/check.out" 2>/dev/null)"
}

# wrk_case SERVER CASE URL [VAR=VALUE…]: warm-up, then the measured run.
wrk_case() {
    local server="$1" case="$2" url="$3" script="request.lua"
    shift 3
    local -a envs=("$@")
    local e
    for e in "${envs[@]}"; do [[ "$e" == BENCH_POOL=* ]] && script="refresh.lua"; done
    local out="$RUN_DIR/$server-$case.wrk"
    wait_quiet
    if ((WARMUP > 0)); then
        local warm=("${envs[@]}")
        if [[ "$script" == refresh.lua ]]; then
            warm=("${envs[@]/BENCH_POOL=*/BENCH_POOL=$POOL_WARM}")
        fi
        env "${warm[@]}" BENCH_THREADS="$THREADS" wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" \
            -s "$BENCH_WRK_DIR/$script" "$url" >"$out.warmup" 2>&1 || die "wrk failed: $(cat "$out.warmup")"
    fi
    foreign_start
    env "${envs[@]}" BENCH_THREADS="$THREADS" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
        --latency -s "$BENCH_WRK_DIR/$script" "$url" >"$out" 2>&1 || die "wrk failed: $(cat "$out")"
    local json other
    other="$(foreign_pct)"
    json="$(result_of "$out")"
    [[ -n "$json" ]] || die "wrk printed no result for $server $case: $(cat "$out")"
    record "$server" "$case" "$json" "$other"
    log "$(printf '%-18s %-16s %s' "$server" "$case" "$(jq -r '"\(.rps) rps  p50 \(.p50_ms) ms  p99 \(.p99_ms) ms  non-2xx \(.non2xx)  socket errors \(.socket_errors)"' <<<"$json")")  other load $other%"
}

# ---- tools -------------------------------------------------------------------------

need() { command -v "$1" >/dev/null 2>&1; }

apt_install() {
    [[ $EUID -eq 0 ]] || die "$* missing: install the Debian package(s) $* (needs root)"
    log "installing $* (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends "$@" >/dev/null
}

mkdir -p "$RUN_DIR"
: >"$RESULTS"
log "run directory $RUN_DIR; $DURATION s per case after $WARMUP s of warm-up; $CORES cores"

need cargo || die "cargo not found"
need wrk || apt_install wrk
need jq || apt_install jq
need curl || apt_install curl
need node || die "node not found (needed to install the peer)"
need npm || die "npm not found"
if [[ "${BENCH_PEER:-1}" != 0 && "${BENCH_PEER_CLUSTER:-1}" != 0 ]] && ! need redis-server; then
    apt_install redis-server
fi

log "building Tessera and bench/ (release, $CARGO_TARGET_DIR)"
# What is built is what is measured: the commit and any uncommitted change are taken now,
# not when the report is written (an edit made during the run is not in the binary).
BUILT_COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
BUILT_DIRTY="$(git -C "$ROOT" status --porcelain -- src Cargo.toml migrations 2>/dev/null | wc -l)"
(cd "$ROOT" && cargo build --release --quiet --bin tessera) || die "Tessera does not build"
cargo build --release --quiet --manifest-path "$BENCH/Cargo.toml" || die "bench/ does not build"

NODE=node
if [[ "${BENCH_PEER:-1}" != 0 ]]; then
    mkdir -p "$PEER_DIR"
    if ! cmp -s "$BENCH/peer/package-lock.json" "$PEER_DIR/package-lock.json" || [[ ! -d "$PEER_DIR/node_modules/oidc-provider" ]]; then
        log "installing the peer (npm ci in $PEER_DIR)"
        cp "$BENCH/peer/package.json" "$BENCH/peer/package-lock.json" "$PEER_DIR/"
        (cd "$PEER_DIR" && npm ci --no-audit --no-fund --loglevel=error >"$RUN_DIR/npm.log" 2>&1) ||
            die "npm ci failed: $(tail -n 20 "$RUN_DIR/npm.log")"
    fi
    cp "$BENCH/peer/server.mjs" "$PEER_DIR/server.mjs"
    if "$PEER_DIR/node_modules/.bin/node" --version >/dev/null 2>&1; then
        NODE="$PEER_DIR/node_modules/.bin/node"
    else
        log "warning: the pinned Node.js 22 did not install; the peer runs on $(node --version)"
    fi
fi

# ---- dataset -----------------------------------------------------------------------

log "generating the dataset ($USERS users, $CLIENTS clients)"
PHC="$("$TOOL" hash --password "$PASSWORD")"
"$TOOL" dataset --out "$RUN_DIR/data" --users "$USERS" --clients "$CLIENTS" \
    --password-hash "$PHC" --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" \
    --redirect-uri "$REDIRECT_URI"
DATA="$RUN_DIR/data"

# ---- the machine's limits ----------------------------------------------------------

LIMIT_SECONDS=5
((QUICK)) && LIMIT_SECONDS=2
# measure_limits CASE: the machine's limits; measured at the start and at the end of
# the run, the report takes the better of the two (other work may slow either).
measure_limits() {
    log "measuring the machine's limits (${LIMIT_SECONDS} s each)"
    local other
    wait_quiet
    foreign_start
    "$TOOL" limits --seconds "$LIMIT_SECONDS" >"$RUN_DIR/$1.out" || die "tessera-bench limits failed"
    other="$(foreign_pct)"
    record machine "$1" "$(result_of "$RUN_DIR/$1.out")" "$other"
    log "$(result_of "$RUN_DIR/$1.out")  other load $other%"
}
measure_limits limits

# The argon2id implementations side by side (docs/password-hashing.md), interleaved.
log "comparing argon2id implementations (tessera-bench argon2)"
foreign_start
"$TOOL" argon2 --rounds 3 --seconds "$LIMIT_SECONDS" >"$RUN_DIR/argon2-candidates.out" 2>"$RUN_DIR/argon2-candidates.log" ||
    die "tessera-bench argon2 failed: $(tail -n 3 "$RUN_DIR/argon2-candidates.log")"
record machine argon2_candidates "$(result_of "$RUN_DIR/argon2-candidates.out")" "$(foreign_pct)"
log "$(result_of "$RUN_DIR/argon2-candidates.out" | jq -c '{tessera_median_per_s, fastest_median_per_s}')"

# measure_argon2 CASE: the argon2 rates alone, just before and just after Tessera's
# sign-in case on SQLite. The machine's speed drifts by a fifth over minutes (it is
# shared), so the sign-in target is read against the rates of that moment.
measure_argon2() {
    local other
    foreign_start
    "$TOOL" limits --only argon2 --seconds "$LIMIT_SECONDS" >"$RUN_DIR/$1.out" || die "tessera-bench limits failed"
    other="$(foreign_pct)"
    record machine "$1" "$(result_of "$RUN_DIR/$1.out")" "$other"
    log "$1: $(result_of "$RUN_DIR/$1.out" | jq -c '{argon2id_tessera_per_s, argon2id_verifies_per_s, argon2id_reused_memory_per_s}')  other load $other%"
}

if [[ "${BENCH_PEER:-1}" != 0 ]]; then
    cp "$BENCH/peer/argon2-rate.mjs" "$PEER_DIR/argon2-rate.mjs"
    foreign_start
    "$NODE" "$PEER_DIR/argon2-rate.mjs" "$PHC" "$CORES" "$LIMIT_SECONDS" "$PASSWORD" >"$RUN_DIR/node-argon2.out" 2>&1 ||
        die "the peer's argon2 does not verify: $(tail -n 3 "$RUN_DIR/node-argon2.out")"
    record machine node_argon2 "$(result_of "$RUN_DIR/node-argon2.out")" "$(foreign_pct)"
    log "$(result_of "$RUN_DIR/node-argon2.out")"
fi

# ---- Tessera -----------------------------------------------------------------------

TESSERA_PID=""

start_tessera() { # NAME DBURL ALG
    local name="$1" db="$2" alg="$3"
    local port
    port="$(free_port)"
    TESSERA_URL="http://127.0.0.1:$port"
    # The key-encryption key that seals the signing keys in the database.
    [[ -f "$RUN_DIR/kek" ]] || "$TESSERA" keys new-kek "$RUN_DIR/kek" >/dev/null
    env TESSERA_ISSUER="$TESSERA_URL" TESSERA_LISTEN="127.0.0.1:$port" \
        TESSERA_DATABASE_URL="$db" TESSERA_KEYS_DIR="$RUN_DIR/keys-$name" \
        TESSERA_KEY_ENCRYPTION_KEY_FILE="$RUN_DIR/kek" \
        TESSERA_SIGNING_ALG="$alg" TESSERA_TOKENS__ACCESS_TOKEN_TTL=3600 \
        "$TESSERA" serve >>"$RUN_DIR/$name.log" 2>&1 &
    TESSERA_PID=$!
    PIDS+=("$TESSERA_PID")
    SERVER_PIDS="$TESSERA_PID"
    wait_http "$TESSERA_URL/readyz" "$TESSERA_PID" "Tessera ($name, $alg)"
}

import_dataset() { # NAME DBURL
    local name="$1" db="$2" t0 t1
    export TESSERA_DATABASE_URL="$db" TESSERA_KEYS_DIR="$RUN_DIR/keys-$name"
    t0="$(date +%s.%N)"
    "$TESSERA" import "$DATA/dataset.yaml" >>"$RUN_DIR/$name-import.log" 2>&1 ||
        die "tessera import failed: $(tail -n 5 "$RUN_DIR/$name-import.log")"
    t1="$(date +%s.%N)"
    # Clients: the import's `clients:` list where Tessera knows it, else the CLI.
    if "$TESSERA" import "$DATA/clients.yaml" >>"$RUN_DIR/$name-import.log" 2>&1; then
        CLIENTS_BY="tessera import"
    elif grep -q 'unknown field `clients`' "$RUN_DIR/$name-import.log"; then
        CLIENTS_BY="tessera client add"
        local id cname type host grants redirect
        while IFS=$'\t' read -r id cname type host grants redirect; do
            local -a a=(client add --id "$id" --name "$cname" --redirect-uri "$redirect")
            [[ "$type" == public ]] && a+=(--public)
            [[ "$host" != - ]] && a+=(--host "$host")
            local g
            for g in ${grants//,/ }; do a+=(--grant "$g"); done
            "$TESSERA" "${a[@]}" >"$RUN_DIR/client-add.out" 2>>"$RUN_DIR/$name-import.log" ||
                die "tessera client add $id failed: $(tail -n 3 "$RUN_DIR/$name-import.log")"
            if [[ "$id" == "$CLIENT_ID" ]]; then
                CLIENT_SECRET="$(awk '/^client_secret:/ { print $2 }' "$RUN_DIR/client-add.out")"
                BASIC="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
            fi
        done <"$DATA/clients.tsv"
    else
        die "importing the clients failed: $(tail -n 5 "$RUN_DIR/$name-import.log")"
    fi
    unset TESSERA_DATABASE_URL TESSERA_KEYS_DIR
    local secs
    secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
    record "$name" import "$(jq -n --argjson s "$secs" --arg by "$CLIENTS_BY" \
        --argjson users "$USERS" '{seconds: $s, users: $users, clients_by: $by}')"
    log "imported $USERS users in $secs s; clients by $CLIENTS_BY"
}

# mint ISSUER OUT COUNT FIELD CLIENT SCOPE
mint() {
    "$TOOL" mint --issuer "$1" --out "$2" --count "$3" --field "$4" --client-id "$5" \
        --client-secret "$CLIENT_SECRET" --redirect-uri "$REDIRECT_URI" --scope "$6" \
        --prompt consent --password "$PASSWORD" --logins "$DATA/logins.txt" --concurrency 4 \
        >>"$RUN_DIR/mint.log" 2>&1 || die "minting tokens at $1 failed: $(tail -n 3 "$RUN_DIR/mint.log")"
}

# signin_case SERVER CASE ISSUER SCOPE [DURATION]: the client is first-party on both
# servers, so a sign-in is authorize → login form → code → token, with no consent page.
signin_case() {
    local out="$RUN_DIR/$1-$2.out" other
    [[ "$2" == signin_under_probe ]] || wait_quiet
    foreign_start
    "$TOOL" signin --issuer "$3" --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" \
        --redirect-uri "$REDIRECT_URI" --scope "$4" --password "$PASSWORD" \
        --logins "$DATA/logins.txt" --concurrency "$SIGNIN_USERS" --warmup "$WARMUP" \
        --duration "${5:-$DURATION}" >"$out" 2>&1 || die "sign-in driver failed: $(tail -n 3 "$out")"
    other="$(foreign_pct)"
    local json
    json="$(result_of "$out")"
    record "$1" "$2" "$json" "$other"
    log "$(printf '%-18s %-16s %s' "$1" "$2" "$(jq -r '"\(.rps) sign-ins/s  p50 \(.p50_ms) ms  p99 \(.p99_ms) ms  errors \(.non2xx)"' <<<"$json")")  other load $other%"
    grep -q 'first error' "$out" && log "  $(grep 'first error' "$out" | head -c 300)"
    return 0
}

# probe_pair SERVER SUFFIX TOKEN_URL DISCOVERY_URL: cc and discovery at a fixed rate.
probe_pair() {
    local server="$1" suffix="$2" other
    [[ "$suffix" == idle ]] && wait_quiet
    foreign_start
    "$TOOL" probe --url "$3" --body grant_type=client_credentials \
        --basic "$CLIENT_ID:$CLIENT_SECRET" --rate "$PROBE_RATE" --warmup "$WARMUP" \
        --duration "$DURATION" >"$RUN_DIR/$server-probe-cc-$suffix.out" 2>&1 &
    local p1=$!
    "$TOOL" probe --url "$4" --rate "$PROBE_RATE" --warmup "$WARMUP" \
        --duration "$DURATION" >"$RUN_DIR/$server-probe-discovery-$suffix.out" 2>&1 &
    local p2=$!
    wait "$p1" || die "probe failed: $(tail -n 3 "$RUN_DIR/$server-probe-cc-$suffix.out")"
    wait "$p2" || die "probe failed: $(tail -n 3 "$RUN_DIR/$server-probe-discovery-$suffix.out")"
    other="$(foreign_pct)"
    local kind json
    for kind in cc discovery; do
        json="$(result_of "$RUN_DIR/$server-probe-$kind-$suffix.out")"
        record "$server" "probe_${kind}_$suffix" "$json" "$other"
        log "$(printf '%-18s %-16s %s' "$server" "probe $kind $suffix" "$(jq -r '"p50 \(.p50_ms) ms  p99 \(.p99_ms) ms  errors \(.non2xx + .socket_errors)"' <<<"$json")")"
    done
}

# starvation SERVER ISSUER SIGNIN_SCOPE TOKEN_URL DISCOVERY_URL
starvation() {
    local server="$1"
    probe_pair "$server" idle "$4" "$5"
    # The sign-in driver saturates the CPU with argon2 while the probes run.
    signin_case "$server" signin_under_probe "$2" "$3" "$((DURATION + WARMUP + 2))" &
    local s=$!
    sleep 1
    probe_pair "$server" signin "$4" "$5"
    wait "$s" || die "sign-in driver failed during the starvation test"
}

# endpoint cases shared by Tessera and the peer: SERVER ISSUER SCOPE UI_CLIENT SIGNIN_SCOPE
# (SCOPE, with offline_access, for the pre-minted refresh tokens; SIGNIN_SCOPE, without
# it, for the sign-in case, which needs no consent).
endpoint_cases() {
    local server="$1" issuer="$2" scope="$3" ui_client="$4" signin_scope="$5" disco
    disco="$(curl -sf "$issuer/.well-known/openid-configuration")" || die "$server: no discovery document"
    local token_url jwks_url userinfo_url introspect_url
    token_url="$(jq -r .token_endpoint <<<"$disco")"
    jwks_url="$(jq -r .jwks_uri <<<"$disco")"
    userinfo_url="$(jq -r .userinfo_endpoint <<<"$disco")"
    introspect_url="$(jq -r .introspection_endpoint <<<"$disco")"
    printf '%s' "$disco" >"$RUN_DIR/$server-discovery.json"
    curl -sf "$jwks_url" >"$RUN_DIR/$server-jwks.json" || die "$server: no JWKS"

    # Tokens: a pool of refresh tokens (warm-up and measured runs each take their
    # share) and an access token for userinfo and introspection.
    POOL_WARM="$RUN_DIR/$server-pool-warm.txt"
    local pool="$RUN_DIR/$server-pool.txt" at_file="$RUN_DIR/$server-at.txt"
    local per_run=$((CONNS * 3))
    mint "$issuer" "$RUN_DIR/$server-pool-all.txt" $((per_run * 2)) refresh_token "$CLIENT_ID" "$scope"
    head -n "$per_run" "$RUN_DIR/$server-pool-all.txt" >"$POOL_WARM"
    tail -n "$per_run" "$RUN_DIR/$server-pool-all.txt" >"$pool"
    mint "$issuer" "$at_file" 1 access_token "$ui_client" "openid profile email offline_access"
    local at
    at="$(head -n 1 "$at_file")"

    check_first "$server discovery" "$issuer/.well-known/openid-configuration"
    wrk_case "$server" discovery "$issuer/.well-known/openid-configuration"
    check_first "$server jwks" "$jwks_url"
    wrk_case "$server" jwks "$jwks_url"
    check_first "$server client_credentials" -H "Authorization: $BASIC" -d grant_type=client_credentials "$token_url"
    wrk_case "$server" cc_rs256 "$token_url" BENCH_METHOD=POST BENCH_BODY=grant_type=client_credentials "BENCH_AUTH=$BASIC"
    check_first "$server introspection" -H "Authorization: $BASIC" -d "token=$at" "$introspect_url"
    jq -e '.active == true' "$RUN_DIR/check.out" >/dev/null || die "$server: the access token is not active at introspection"
    wrk_case "$server" introspect "$introspect_url" BENCH_METHOD=POST "BENCH_BODY=token=$at" "BENCH_AUTH=$BASIC"
    check_first "$server userinfo" -H "Authorization: Bearer $at" "$userinfo_url"
    wrk_case "$server" userinfo "$userinfo_url" "BENCH_AUTH=Bearer $at"
    wrk_case "$server" refresh "$token_url" "BENCH_POOL=$pool" "BENCH_AUTH=$BASIC"
    if [[ "$server" == tessera-sqlite ]]; then
        measure_argon2 argon2_before_signin
        signin_case "$server" signin "$issuer" "$signin_scope"
        measure_argon2 argon2_after_signin
    else
        signin_case "$server" signin "$issuer" "$signin_scope"
    fi
    TOKEN_URL="$token_url"
}

# tessera_pass NAME DBURL: import, RS256 cases, ES256 client_credentials.
tessera_pass() {
    local name="$1" db="$2"
    import_dataset "$name" "$db"
    start_tessera "$name" "$db" RS256
    sleep 2
    local idle
    idle="$(mem_kib VmRSS "$TESSERA_PID")"
    [[ -f "$RUN_DIR/discovery.json" ]] || curl -sf "$TESSERA_URL/.well-known/openid-configuration" >"$RUN_DIR/discovery.json"
    endpoint_cases "$name" "$TESSERA_URL" "openid profile email offline_access" "$CLIENT_ID" \
        "openid profile email"
    if [[ "$name" == tessera-sqlite ]]; then
        starvation "$name" "$TESSERA_URL" "openid profile email" "$TOKEN_URL" \
            "$TESSERA_URL/.well-known/openid-configuration"
    fi
    local hwm now
    hwm="$(mem_kib VmHWM "$TESSERA_PID")"
    now="$(mem_kib VmRSS "$TESSERA_PID")"
    record "$name" rss "$(jq -n --argjson i "$idle" --argjson h "$hwm" --argjson n "$now" '{idle_kib: $i, peak_kib: $h, after_kib: $n}')"
    log "$name RSS: idle $((idle / 1024)) MiB, peak under load $((hwm / 1024)) MiB"
    stop_pid "$TESSERA_PID"
    start_tessera "$name" "$db" ES256
    check_first "$name client_credentials ES256" -H "Authorization: $BASIC" -d grant_type=client_credentials "$TESSERA_URL/token"
    wrk_case "$name" cc_es256 "$TESSERA_URL/token" BENCH_METHOD=POST BENCH_BODY=grant_type=client_credentials "BENCH_AUTH=$BASIC"
    stop_pid "$TESSERA_PID"
}

tessera_pass tessera-sqlite "sqlite://$RUN_DIR/tessera.db?mode=rwc"

# ---- bare handlers (the ceilings) --------------------------------------------------

BARE_PORT="$(free_port)"
# /verify checks the very access token Tessera's introspection case sends, with
# Tessera's public key: the same signature and the same claims to read and answer.
"$TOOL" bare --listen "127.0.0.1:$BARE_PORT" --static-file "$RUN_DIR/discovery.json" \
    --verify-token "$RUN_DIR/tessera-sqlite-at.txt" --verify-jwks "$RUN_DIR/tessera-sqlite-jwks.json" \
    >"$RUN_DIR/bare.log" 2>&1 &
BARE_PID=$!
PIDS+=("$BARE_PID")
SERVER_PIDS="$BARE_PID"
BARE="http://127.0.0.1:$BARE_PORT"
wait_http "$BARE/static" "$BARE_PID" "the bare handlers"
wrk_case bare static "$BARE/static"
wrk_case bare sign_rs256 "$BARE/sign/rs256" BENCH_METHOD=POST BENCH_BODY=grant_type=client_credentials "BENCH_AUTH=$BASIC"
wrk_case bare sign_es256 "$BARE/sign/es256" BENCH_METHOD=POST BENCH_BODY=grant_type=client_credentials "BENCH_AUTH=$BASIC"
BARE_TOKEN="$(head -n 1 "$RUN_DIR/tessera-sqlite-at.txt")"
check_first "bare verify" -d "token=$BARE_TOKEN" "$BARE/verify"
jq -e '.active == true' "$RUN_DIR/check.out" >/dev/null || die "the bare handler does not accept Tessera's access token"
wrk_case bare verify "$BARE/verify" BENCH_METHOD=POST "BENCH_BODY=token=$BARE_TOKEN" "BENCH_AUTH=$BASIC"
stop_pid "$BARE_PID"

# ---- PostgreSQL --------------------------------------------------------------------

# with_database URL DB: the URL with its database replaced (query kept).
with_database() {
    local url="$1" db="$2" base query rest
    base="${url%%\?*}"
    query="${url#"$base"}"
    rest="${base#*://}"
    if [[ "$rest" == */* ]]; then
        base="${base%/*}"
    fi
    echo "$base/$db$query"
}

if [[ "${BENCH_POSTGRES:-1}" != 0 ]]; then
    if [[ -n "${TESSERA_BENCH_POSTGRES_URL:-}" ]]; then
        PG_ADMIN_URL="$TESSERA_BENCH_POSTGRES_URL"
        PG_SETTINGS="as configured (TESSERA_BENCH_POSTGRES_URL)"
    else
        # shellcheck source=../scripts/pg.sh
        source "$ROOT/scripts/pg.sh"
        set -euo pipefail
        log "starting a private PostgreSQL cluster (scripts/pg.sh)"
        pg_start_private 2>>"$RUN_DIR/postgres.log"
        PG_STARTED=1
        PG_ADMIN_URL="$PG_URL"
        PG_SID="$(ps -o sid= -p "$(head -n 1 "$PG_DATA/postmaster.pid")" | tr -d ' ')"
        # scripts/pg.sh makes a throwaway cluster without fsync; measure with durable
        # writes and asynchronous commit instead, the counterpart of SQLite's WAL with
        # synchronous=NORMAL that Tessera uses.
        psql -q "$PG_ADMIN_URL" -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET full_page_writes = on" \
            -c "ALTER SYSTEM SET synchronous_commit = off" -c "SELECT pg_reload_conf()" >/dev/null ||
            die "could not configure PostgreSQL"
        PG_SETTINGS="private cluster ($("$PG_BIN/postgres" --version | awk '{print $3}')): fsync on, full_page_writes on, synchronous_commit off"
    fi
    PG_DROP_DB="tessera_bench_$$"
    psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE $PG_DROP_DB" >/dev/null || die "cannot create a database on $PG_ADMIN_URL"
    PG_DB_URL="$(with_database "$PG_ADMIN_URL" "$PG_DROP_DB")"
    record tessera-postgres settings "$(jq -n --arg s "$PG_SETTINGS" '{settings: $s}')"
    tessera_pass tessera-postgres "$PG_DB_URL"
fi

# ---- the peer ----------------------------------------------------------------------

PEER_PID=""
REDIS_PID=""

start_peer() { # NAME WORKERS ALG
    local name="$1" workers="$2" alg="$3" port
    port="$(free_port)"
    PEER_URL="http://127.0.0.1:$port"
    env NODE_ENV=production PEER_PORT="$port" PEER_ISSUER="$PEER_URL" PEER_ALG="$alg" \
        PEER_ACCOUNTS="$DATA/accounts.json" PEER_CLIENT_ID="$CLIENT_ID" \
        PEER_CLIENT_SECRET="$CLIENT_SECRET" PEER_REDIRECT_URI="$REDIRECT_URI" \
        PEER_WORKERS="$workers" PEER_REDIS_URL="${REDIS_URL:-}" \
        "$NODE" "$PEER_DIR/server.mjs" >>"$RUN_DIR/$name.log" 2>&1 &
    PEER_PID=$!
    PIDS+=("$PEER_PID")
    SERVER_PIDS="$PEER_PID"
    wait_http "$PEER_URL/.well-known/openid-configuration" "$PEER_PID" "the peer ($name, $alg)"
}

peer_pass() { # NAME WORKERS
    local name="$1" workers="$2" idle hwm now redis_hwm=0
    start_peer "$name" "$workers" RS256
    sleep 2
    idle="$(mem_kib VmRSS "$PEER_PID")"
    endpoint_cases "$name" "$PEER_URL" "openid profile email offline_access api" "$CLIENT_ID-opaque" \
        "openid profile email api"
    if [[ "$name" == peer-1 ]]; then
        starvation "$name" "$PEER_URL" "openid profile email api" "$TOKEN_URL" \
            "$PEER_URL/.well-known/openid-configuration"
    fi
    hwm="$(mem_kib VmHWM "$PEER_PID")"
    now="$(mem_kib VmRSS "$PEER_PID")"
    [[ -n "$REDIS_PID" ]] && redis_hwm="$(mem_kib VmHWM "$REDIS_PID")"
    record "$name" rss "$(jq -n --argjson i "$idle" --argjson h "$hwm" --argjson n "$now" --argjson r "$redis_hwm" \
        '{idle_kib: $i, peak_kib: $h, after_kib: $n, redis_peak_kib: $r}')"
    log "$name RSS: idle $((idle / 1024)) MiB, peak under load $((hwm / 1024)) MiB"
    stop_pid "$PEER_PID"
    start_peer "$name" "$workers" ES256
    check_first "$name client_credentials ES256" -H "Authorization: $BASIC" -d grant_type=client_credentials "$PEER_URL/token"
    wrk_case "$name" cc_es256 "$PEER_URL/token" BENCH_METHOD=POST BENCH_BODY=grant_type=client_credentials "BENCH_AUTH=$BASIC"
    stop_pid "$PEER_PID"
}

if [[ "${BENCH_PEER:-1}" != 0 ]]; then
    record peer versions "$(jq -n --arg node "$("$NODE" --version)" \
        --arg op "$(jq -r .version "$PEER_DIR/node_modules/oidc-provider/package.json")" \
        --arg argon "$(jq -r .version "$PEER_DIR/node_modules/@node-rs/argon2/package.json")" \
        '{node: $node, oidc_provider: $op, argon2: $argon}')"
    peer_pass peer-1 1
    if [[ "${BENCH_PEER_CLUSTER:-1}" != 0 ]]; then
        REDIS_PORT="$(free_port)"
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize no >"$RUN_DIR/redis.log" 2>&1 &
        REDIS_PID=$!
        PIDS+=("$REDIS_PID")
        REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
        for _ in $(seq 1 50); do
            redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
            sleep 0.1
        done
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || die "redis-server did not start"
        peer_pass peer-cluster "$CORES"
        stop_pid "$REDIS_PID"
    fi
fi

# ---- report ------------------------------------------------------------------------

measure_limits limits_end

record meta run "$(jq -n --arg date "$(date -u +%Y-%m-%d)" --argjson cores "$CORES" \
    --arg cpu "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
    --arg mem "$(free -g | awk '/Mem:/ { print $2 }') GiB" --arg command "$COMMAND_LINE" \
    --argjson duration "$DURATION" --argjson warmup "$WARMUP" --argjson conns "$CONNS" \
    --argjson threads "$THREADS" --argjson signin "$SIGNIN_USERS" --argjson users "$USERS" \
    --argjson clients "$CLIENTS" --argjson rate "$PROBE_RATE" --argjson quick "$QUICK" \
    --argjson quiet_waited "$QUIET_SPENT" \
    --arg load_start "$LOAD_AT_START" --arg load_end "$(cut -d' ' -f1-3 /proc/loadavg)" \
    --arg commit "$BUILT_COMMIT" --arg dirty "$BUILT_DIRTY" \
    '{date: $date, cores: $cores, cpu: $cpu, memory: $mem, command: $command, duration_s: $duration,
      warmup_s: $warmup, connections: $conns, wrk_threads: $threads, signin_users: $signin,
      users: $users, clients: $clients, probe_rate: $rate, quick: ($quick == 1), commit: $commit,
      load_start: $load_start, load_end: $load_end, quiet_waited_s: $quiet_waited,
      dirty_files: ($dirty | tonumber)}')"
mkdir -p "$(dirname "$OUTPUT")"
"$TOOL" report --results "$RESULTS" --out "$OUTPUT"
cp "$OUTPUT" "$RUN_DIR/benchmarks.md" 2>/dev/null || true
log "report written to $OUTPUT (raw results: $RESULTS)"
