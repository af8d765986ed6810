#!/usr/bin/env bash
# Checks docker/haproxy.cfg: two Tessera nodes behind HAProxy on loopback ports, a
# short bounded load (curl loops on discovery and /readyz through the balancer), one
# node killed (SIGKILL) in the middle; prints the answers by status and fails if any
# request failed. Not part of the test suite; docs/deployment.md reports a run.
#
#   scripts/balancer-check.sh [SECONDS] [WORKERS]
#
# Needs haproxy and curl (apt-get install -y haproxy curl). The nodes share
# $BALANCER_DATABASE_URL (e.g. a PostgreSQL database), or an SQLite file of their own
# when it is unset. The binary is target/debug/tessera unless $TESSERA names another;
# the configuration is docker/haproxy.cfg unless $HAPROXY_CONFIG names another.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_OF_LOAD="${1:-12}"
WORKERS="${2:-4}"
TESSERA="${TESSERA:-target/debug/tessera}"
WORK="$(mktemp -d)"
PIDS=()

log() { printf '[balancer-check] %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 1
}
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v haproxy >/dev/null || die "haproxy is not installed (apt-get install -y haproxy)"
command -v curl >/dev/null || die "curl is not installed"
[[ -x "$TESSERA" ]] || cargo build --quiet
[[ -x "$TESSERA" ]] || die "no Tessera binary at $TESSERA"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
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
wait_ready() { # URL PID NAME
    for _ in $(seq 1 300); do
        curl -fs -o /dev/null --max-time 1 "$1" && return 0
        kill -0 "$2" 2>/dev/null || die "$3 exited; see its log above"
        sleep 0.2
    done
    die "$3 not ready after 60 s"
}

LB_PORT="$(free_port)"
NODE1_PORT="$(free_port)"
NODE2_PORT="$(free_port)"
ISSUER="http://127.0.0.1:$LB_PORT"
"$TESSERA" keys new-kek "$WORK/kek" >/dev/null
export TESSERA_ISSUER="$ISSUER" \
    TESSERA_DATABASE_URL="${BALANCER_DATABASE_URL:-sqlite://$WORK/tessera.db?mode=rwc}" \
    TESSERA_KEY_ENCRYPTION_KEY_FILE="$WORK/kek" \
    TESSERA_KEYS_DIR="$WORK/keys"
"$TESSERA" migrate >/dev/null

start_node() { # NAME PORT
    TESSERA_LISTEN="127.0.0.1:$2" "$TESSERA" serve >"$WORK/$1.log" 2>&1 &
    PIDS+=("$!")
    wait_ready "http://127.0.0.1:$2/readyz" "$!" "$1"
    log "$1 ready on port $2 (pid $!)"
}
start_node node1 "$NODE1_PORT"
NODE1_PID="${PIDS[-1]}"
start_node node2 "$NODE2_PORT"
NODE2_PID="${PIDS[-1]}"

TESSERA_BALANCER_BIND="127.0.0.1:$LB_PORT" \
    TESSERA_NODE1="127.0.0.1:$NODE1_PORT" TESSERA_NODE2="127.0.0.1:$NODE2_PORT" \
    haproxy -db -f "${HAPROXY_CONFIG:-docker/haproxy.cfg}" >"$WORK/haproxy.log" 2>&1 &
PIDS+=("$!")
wait_ready "$ISSUER/readyz" "$!" haproxy
log "haproxy on port $LB_PORT (pid $!); $WORKERS workers for $SECONDS_OF_LOAD s"

worker() { # N: requests until the deadline, one status code per line
    local deadline=$(($(date +%s) + SECONDS_OF_LOAD)) path
    while (($(date +%s) < deadline)); do
        for path in /.well-known/openid-configuration /readyz; do
            curl -s -o /dev/null --max-time 5 -w '%{http_code}\n' "$ISSUER$path" || true
        done
    done >"$WORK/worker-$1.codes"
}
for n in $(seq 1 "$WORKERS"); do
    worker "$n" &
done
sleep $((SECONDS_OF_LOAD / 3))
kill -9 "$NODE2_PID"
log "killed node2 (SIGKILL) under load"
wait_node1_alive() { kill -0 "$NODE1_PID" 2>/dev/null || die "node1 died too"; }
wait_node1_alive
for job in $(jobs -p); do
    case " ${PIDS[*]} " in
    *" $job "*) ;;
    *) wait "$job" ;;
    esac
done

total="$(cat "$WORK"/worker-*.codes | wc -l)"
log "answers by status (000: no answer):"
sort "$WORK"/worker-*.codes | uniq -c >&2
failed="$(cat "$WORK"/worker-*.codes | grep -vc '^200$' || true)"
down="no"
grep -q "node2 is DOWN" "$WORK/haproxy.log" && down="yes"
log "$total requests, $failed failed; haproxy's health check took node2 out: $down"
((total > 0)) || die "no request was made"
((failed == 0)) || die "$failed request(s) failed"
log "passed: no request failed while a node died"
