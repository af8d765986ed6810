#!/usr/bin/env bash
# Runs Tessera's whole test suite twice: on SQLite, then on PostgreSQL.
#
# Usage: scripts/test.sh [-- CARGO_TEST_ARGS...]
#   e.g. scripts/test.sh -- token -- --nocapture
#        (runs `cargo test --all-targets token -- --nocapture` on both databases)
#
# PostgreSQL: with TESSERA_TEST_POSTGRES_URL set (postgres://USER@HOST:PORT/DB, a role
# that may CREATE DATABASE), that server is used as is. Otherwise a private throwaway
# cluster is started on 127.0.0.1 (see scripts/pg.sh) and removed on exit; the server
# packages are installed with apt-get first if missing (needs root or sudo).
#
# Both passes always run; the exit status is non-zero if either failed.

set -euo pipefail

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

cargo_args=()
case "${1:-}" in
    "") ;;
    -h | --help) usage; exit 0 ;;
    --) shift; cargo_args=("$@") ;;
    *) usage >&2; echo "error: put arguments for cargo test after --" >&2; exit 2 ;;
esac

# Work from the repository root whatever the current directory.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/pg.sh
source scripts/pg.sh

banner() { printf '\n== %s ==\n\n' "$*"; }
# Hides a password in a URL before printing it.
redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

# --- What the suite needs --------------------------------------------------------

# rustup installs into ~/.cargo/bin, which non-login shells (CI) may lack in PATH.
if ! command -v cargo >/dev/null && [[ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
command -v cargo >/dev/null || { echo "error: cargo not found; install Rust (https://rustup.rs)" >&2; exit 1; }
# The build's own needs (a C compiler, pkg-config, OpenSSL headers), when missing.
scripts/install-prerequisites.sh --check 2>/dev/null || scripts/install-prerequisites.sh

# --- PostgreSQL server ----------------------------------------------------------
# Set up before the (long) SQLite pass so that environment problems show at once.

# Everything this script starts is stopped on exit, success or failure.
directories_started=""
cleanup() {
    pg_stop_private
    if [[ -n "$directories_started" ]]; then
        bash scripts/directory.sh stop >/dev/null 2>&1 || echo "warning: scripts/directory.sh stop failed" >&2
    fi
}
trap cleanup EXIT
# Turn signals into an exit so that the EXIT trap removes the cluster.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [[ -n "${TESSERA_TEST_POSTGRES_URL:-}" ]]; then
    pg_url="$TESSERA_TEST_POSTGRES_URL"
    echo "Using the PostgreSQL server at $(redact "$pg_url") (TESSERA_TEST_POSTGRES_URL)"
    # Client tools are optional here; when present, fail early and clearly on an
    # unreachable server (waiting a little, e.g. for a CI service container).
    pg_find_bin || true
    pg_isready_cmd="$(command -v pg_isready || { [[ -n "$PG_BIN" ]] && echo "$PG_BIN/pg_isready"; } || true)"
    if [[ -n "$pg_isready_cmd" ]]; then
        for i in $(seq 1 30); do
            "$pg_isready_cmd" -q -d "$pg_url" && break
            (( i < 30 )) || { echo "error: $(redact "$pg_url") does not accept connections" >&2; exit 1; }
            sleep 1
        done
    fi
else
    pg_ensure_installed
    pg_start_private
    pg_url="$PG_URL"
fi

# --- Directory servers ------------------------------------------------------------
# Samba as an Active Directory DC and OpenLDAP, on loopback, seeded for the directory
# tests (scripts/directory.sh installs their packages when missing). Servers already
# running are reused and left running; those started here are stopped on exit.

banner "directory servers"
if ! bash scripts/directory.sh status >/dev/null 2>&1; then
    directories_started=yes
fi
directory_env="$(bash scripts/directory.sh start)" || { echo "error: the directory servers did not start" >&2; exit 1; }
eval "$directory_env"
# The directory tests fail rather than skip when the servers are missing.
export TESSERA_TEST_REQUIRE_DIRECTORIES=1

# --- The two passes -------------------------------------------------------------

# The fault tests mount a small tmpfs to fill it; as root they must run, not skip.
if [[ $EUID -eq 0 ]]; then
    export TESSERA_TEST_REQUIRE_FAULTS=1
fi

failed=()

banner "tests on SQLite"
# Unset so that this pass is SQLite even if the caller exported the variable.
env -u TESSERA_TEST_DATABASE_URL cargo test --all-targets ${cargo_args[@]+"${cargo_args[@]}"} ||
    failed+=(SQLite)

banner "tests on PostgreSQL ($(redact "$pg_url"))"
TESSERA_TEST_DATABASE_URL="$pg_url" cargo test --all-targets ${cargo_args[@]+"${cargo_args[@]}"} ||
    failed+=(PostgreSQL)

# A real restart of PostgreSQL under a running node, alone (it would fail the tests
# running beside it), and only on the private cluster this script owns.
if [[ -n "${PG_DATA:-}" ]]; then
    banner "PostgreSQL restarted under a running node"
    TESSERA_TEST_DATABASE_URL="$pg_url" TESSERA_TEST_PG_DATA="$PG_DATA" cargo test --test api \
        -- --ignored --exact faults::a_postgresql_restart_under_load_costs_no_lasting_failures ||
        failed+=("PostgreSQL restart")
fi

if (( ${#failed[@]} > 0 )); then
    banner "FAILED on: ${failed[*]}"
    exit 1
fi
banner "all tests passed on SQLite and PostgreSQL"
