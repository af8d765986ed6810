#!/usr/bin/env bash
# Focused measurements while working on one flow, not the report: Tessera alone (no
# peer), a small dataset, one database, a few cases of a few seconds each. The full
# run (bench/run.sh) is what docs/benchmarks.md is made of; this is for comparing two
# builds of Tessera back to back on a shared machine.
#
#   bench/focus.sh [refresh] [signin] [argon2]    cases to run (default: all three)
#
# Settings: FOCUS_DB (a database URL; default a fresh SQLite file), FOCUS_SECONDS (10),
# FOCUS_USERS (200), FOCUS_CONNS (32), FOCUS_SIGNIN_USERS (16), FOCUS_PERF=1 to record
# a perf profile of the server during each case (perf-CASE.data in the run directory).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/bench-build}"
SECONDS_EACH="${FOCUS_SECONDS:-10}"
USERS="${FOCUS_USERS:-200}"
CONNS="${FOCUS_CONNS:-32}"
SIGNIN_USERS="${FOCUS_SIGNIN_USERS:-16}"
CASES=("$@")
((${#CASES[@]})) || CASES=(refresh signin argon2)
RUN_DIR="$ROOT/target/bench-run/focus-$(date -u +%Y%m%dT%H%M%SZ)-$$"
mkdir -p "$RUN_DIR"
TOOL="$CARGO_TARGET_DIR/release/tessera-bench"
TESSERA="${FOCUS_TESSERA:-$CARGO_TARGET_DIR/release/tessera}"
PASSWORD="Bench-Password-1"
CLIENT_ID="bench"
CLIENT_SECRET="bench-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
REDIRECT_URI="http://127.0.0.1:9/callback"
BASIC="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
export BENCH_WRK_DIR="$BENCH/wrk"
log() { printf 'focus: %s\n' "$*" >&2; }

[[ -n "${FOCUS_TESSERA:-}" ]] || (cd "$ROOT" && cargo build --release --quiet --bin tessera)
cargo build --release --quiet --manifest-path "$BENCH/Cargo.toml"

PHC="$("$TOOL" hash --password "$PASSWORD")"
"$TOOL" dataset --out "$RUN_DIR/data" --users "$USERS" --clients 4 \
    --password-hash "$PHC" --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" \
    --redirect-uri "$REDIRECT_URI" >/dev/null
DB="${FOCUS_DB:-sqlite://$RUN_DIR/tessera.db?mode=rwc}"
export TESSERA_DATABASE_URL="$DB" TESSERA_KEYS_DIR="$RUN_DIR/keys"
"$TESSERA" keys new-kek "$RUN_DIR/kek" >/dev/null
export TESSERA_KEY_ENCRYPTION_KEY_FILE="$RUN_DIR/kek"
"$TESSERA" import "$RUN_DIR/data/dataset.yaml" >"$RUN_DIR/import.log" 2>&1
"$TESSERA" import "$RUN_DIR/data/clients.yaml" >>"$RUN_DIR/import.log" 2>&1

PORT=$((20000 + RANDOM % 30000))
URL="http://127.0.0.1:$PORT"
TESSERA_ISSUER="$URL" TESSERA_LISTEN="127.0.0.1:$PORT" TESSERA_SIGNING_ALG=RS256 \
    TESSERA_TOKENS__ACCESS_TOKEN_TTL=3600 "$TESSERA" serve >"$RUN_DIR/tessera.log" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
    curl -sf -o /dev/null "$URL/readyz" && break
    kill -0 "$PID" || { log "tessera exited: $(tail -n 5 "$RUN_DIR/tessera.log")"; exit 1; }
    sleep 0.2
done

# profile CASE: perf on the server for the case's duration, when asked for.
profile() {
    [[ "${FOCUS_PERF:-0}" == 1 ]] || return 0
    perf record -F 499 -g -p "$PID" -o "$RUN_DIR/perf-$1.data" -- sleep "$SECONDS_EACH" \
        >/dev/null 2>&1 &
    PERF_PID=$!
}

for case in "${CASES[@]}"; do
    case "$case" in
    refresh)
        "$TOOL" mint --issuer "$URL" --out "$RUN_DIR/pool-all.txt" --count $((CONNS * 6)) \
            --field refresh_token --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" \
            --redirect-uri "$REDIRECT_URI" --scope "openid profile email offline_access" \
            --prompt consent --password "$PASSWORD" --logins "$RUN_DIR/data/logins.txt" \
            --concurrency 4 >"$RUN_DIR/mint.log" 2>&1
        head -n $((CONNS * 3)) "$RUN_DIR/pool-all.txt" >"$RUN_DIR/pool-warm.txt"
        tail -n $((CONNS * 3)) "$RUN_DIR/pool-all.txt" >"$RUN_DIR/pool.txt"
        for pool in pool-warm pool; do
            d=3
            [[ "$pool" == pool ]] && { d="$SECONDS_EACH"; profile refresh; }
            BENCH_POOL="$RUN_DIR/$pool.txt" BENCH_AUTH="$BASIC" BENCH_THREADS=2 \
                wrk -t2 -c"$CONNS" -d"${d}s" --latency -s "$BENCH_WRK_DIR/refresh.lua" \
                "$URL/token" >"$RUN_DIR/refresh-$pool.wrk" 2>&1
        done
        log "refresh: $(grep '^RESULT' "$RUN_DIR/refresh-pool.wrk")"
        ;;
    signin)
        profile signin
        "$TOOL" signin --issuer "$URL" --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" \
            --redirect-uri "$REDIRECT_URI" --scope "openid profile email" --password "$PASSWORD" \
            --logins "$RUN_DIR/data/logins.txt" --concurrency "$SIGNIN_USERS" --warmup 3 \
            --duration "$SECONDS_EACH" >"$RUN_DIR/signin.out" 2>&1
        log "signin: $(grep '^RESULT' "$RUN_DIR/signin.out")"
        ;;
    argon2)
        "$TOOL" limits --only argon2 --seconds 3 >"$RUN_DIR/argon2.out"
        log "argon2: $(grep '^RESULT' "$RUN_DIR/argon2.out")"
        ;;
    *) log "unknown case $case" ;;
    esac
done
[[ -n "${PERF_PID:-}" ]] && wait "$PERF_PID"
log "raw data in $RUN_DIR"
