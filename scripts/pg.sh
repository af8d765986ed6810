#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for Tessera's tests.
#
# Sourced by scripts/test.sh for its functions, or run directly:
#
#   scripts/pg.sh install          install the PostgreSQL server packages if missing
#   scripts/pg.sh run [CMD...]     start a private cluster, run CMD (default: your shell)
#                                  with TESSERA_TEST_DATABASE_URL and PGHOST/PGPORT/...
#                                  pointing at it, then stop and delete the cluster;
#                                  e.g. `scripts/pg.sh run cargo test --test token`
#   scripts/pg.sh restart DATA     restart the private cluster of data directory DATA
#                                  (fast shutdown, same port), for the fault test
#
# A private cluster is a fresh initdb in its own directory, listening only on
# 127.0.0.1 on a free high port, with its Unix socket inside its data directory. It
# never touches the system cluster (the one Debian runs on 127.0.0.1:5432, if any),
# so the two coexist. Nothing in it is meant to survive: fsync is off and
# authentication is "trust", which is why it must stay private to this machine.

set -euo pipefail

PG_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# State of the private cluster started by pg_start_private (empty: none).
PG_BIN=""      # directory holding initdb, pg_ctl, postgres, pg_isready
PG_OS_USER=""  # OS user running the cluster when we are root (initdb refuses root)
PG_RUN_DIR=""  # per-run directory: data/, logs, owner file; deleted by pg_stop_private
PG_DATA=""
PG_PORT=""
PG_URL=""      # postgres://postgres@127.0.0.1:PORT/postgres once the cluster is up

pg_log() { printf 'pg: %s\n' "$*" >&2; }
pg_die() { printf 'pg: error: %s\n' "$*" >&2; exit 1; }

# Can we act as root: be root, or have sudo without a password prompt (CI has no
# stdin to answer one)?
pg__can_root() {
    [[ $EUID -eq 0 ]] || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }
}

# Runs a command as root (check pg__can_root first).
pg__as_root() {
    if [[ $EUID -eq 0 ]]; then "$@"; else sudo -n "$@"; fi
}

# Sets PG_BIN to the server binaries, preferring Debian's layout and its highest
# major version (/usr/lib/postgresql/<major>/bin). Returns 1 if there are none.
pg_find_bin() {
    local dir best=""
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]] || continue
        # sort -V orders 9.6 < 10 < 16 correctly; keep the last (highest).
        best="$(printf '%s\n%s\n' "$best" "$dir" | sed '/^$/d' | sort -V | tail -n 1)"
    done
    # Other layouts (a source build, Homebrew, ...): trust pg_config, then PATH.
    if [[ -z "$best" ]] && command -v pg_config >/dev/null; then
        dir="$(pg_config --bindir 2>/dev/null || true)"
        [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && best="$dir"
    fi
    if [[ -z "$best" ]] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        best="$(dirname "$(command -v initdb)")"
    fi
    [[ -n "$best" ]] || return 1
    PG_BIN="$best"
}

# Installs Debian's `postgresql` package when no server binaries are found.
pg_ensure_installed() {
    if pg_find_bin; then
        return 0
    fi
    command -v apt-get >/dev/null ||
        pg_die "PostgreSQL server binaries not found and apt-get is unavailable; install PostgreSQL (initdb, pg_ctl) or set TESSERA_TEST_POSTGRES_URL"
    pg__can_root ||
        pg_die "PostgreSQL server binaries not found, and installing them needs root or passwordless sudo: run 'apt-get install postgresql' as root, or set TESSERA_TEST_POSTGRES_URL"
    pg_log "PostgreSQL server binaries not found: installing the Debian package 'postgresql'"
    # In a subshell so that its EXIT trap removes our policy-rc.d even if apt fails.
    (
        # Without a policy-rc.d that exits 101, the package's postinst would start
        # the system cluster: we neither need nor want it running. Only create one
        # (and later remove it) if there is none already, e.g. Docker images ship one.
        created_policy=""
        trap '[[ -z "$created_policy" ]] || pg__as_root rm -f /usr/sbin/policy-rc.d' EXIT
        if [[ ! -e /usr/sbin/policy-rc.d ]]; then
            pg__as_root sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d'
            created_policy=1
        fi
        pg__as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        pg__as_root env DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends postgresql
    )
    pg_find_bin || pg_die "installed 'postgresql' but still found no server binaries under /usr/lib/postgresql/*/bin"
}

# Is something accepting TCP connections on 127.0.0.1:$1?
pg__port_in_use() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Is the process with id $1 alive? /proc avoids kill's EPERM on other users'
# processes, and tells a zombie (dead, not yet reaped: state Z) from a live one.
pg__pid_alive() {
    local stat
    if [[ -d /proc/self ]]; then
        stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
        stat="${stat##*) }"  # the fields after "(command name)", starting with the state
        [[ "${stat:0:1}" != Z ]]
    else
        kill -0 "$1" 2>/dev/null
    fi
}

# Runs a command as the cluster's OS user, from / (that user may not be allowed into
# the current directory, e.g. /root).
pg__run_as() {
    if [[ -n "$PG_OS_USER" ]]; then
        (cd / && runuser -u "$PG_OS_USER" -- "$@")
    else
        "$@"
    fi
}

# Stops the postmaster of data directory $1, whoever started it. Never fails.
pg__stop_data_dir() {
    local data="$1" pid
    [[ -f "$data/postmaster.pid" ]] || return 0
    # -m immediate: the data is thrown away, no need for a clean checkpoint.
    pg__run_as "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 && return 0
    # pg_ctl failed (it should not): kill the postmaster so that it does not outlive
    # its deleted data directory.
    pid="$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && pg__pid_alive "$pid"; then
        pg_log "pg_ctl stop failed; killing postmaster $pid"
        kill -QUIT "$pid" 2>/dev/null || true
    fi
}

# Removes the leftovers of runs that died without their cleanup (kill -9, power
# loss): every run directory records the PID of the script that owns it, and one
# whose owner is gone is stopped and deleted. Live runs, even concurrent ones, stay.
pg__sweep_stale() {
    local dir owner
    for dir in "$PG_REPO_ROOT/target/pg-test"/run.* "${TMPDIR:-/tmp}"/tessera-pg.*; do
        [[ -d "$dir" && -f "$dir/owner" ]] || continue
        owner="$(cat "$dir/owner" 2>/dev/null || true)"
        [[ "$owner" =~ ^[0-9]+$ ]] && pg__pid_alive "$owner" && continue
        pg_log "removing stale test cluster $dir"
        pg__stop_data_dir "$dir/data"
        rm -rf "$dir" 2>/dev/null || pg_log "warning: could not remove $dir"
    done
}

# Can the cluster's OS user use directory $1, and is the socket path short enough?
pg__usable_run_dir() {
    local dir="$1"
    # A Unix socket path is limited to 107 bytes; the socket lives in the data dir.
    local socket="$dir/data/.s.PGSQL.55432"
    (( ${#socket} < 100 )) || return 1
    if [[ -n "$PG_OS_USER" ]]; then
        chown "$PG_OS_USER:" "$dir" || return 1
        # Every parent must be searchable by that user (a repository under /root isn't).
        pg__run_as test -w "$dir" -a -x "$dir" || return 1
    fi
}

# Creates the per-run directory: under target/pg-test where possible (visible, cleaned
# by `cargo clean`), else a mktemp directory under $TMPDIR or /tmp.
pg__make_run_dir() {
    local base="$PG_REPO_ROOT/target/pg-test" dir
    if mkdir -p "$base" 2>/dev/null && dir="$(mktemp -d "$base/run.XXXXXX" 2>/dev/null)"; then
        if pg__usable_run_dir "$dir"; then
            PG_RUN_DIR="$dir"
            return 0
        fi
        rmdir "$dir"
    fi
    dir="$(mktemp -d "${TMPDIR:-/tmp}/tessera-pg.XXXXXX")"
    pg__usable_run_dir "$dir" || {
        rmdir "$dir"
        pg_die "no directory usable by user '${PG_OS_USER:-$(id -un)}' for the test cluster (tried $base and ${TMPDIR:-/tmp})"
    }
    PG_RUN_DIR="$dir"
}

# Starts a private cluster and sets PG_URL. Call pg_stop_private on exit (a trap).
pg_start_private() {
    [[ -n "$PG_BIN" ]] || pg_ensure_installed

    # initdb and postgres refuse to run as root: use an unprivileged account, the
    # `postgres` one that Debian's package creates, or a dedicated one otherwise.
    if [[ $EUID -eq 0 ]]; then
        if id -u postgres >/dev/null 2>&1; then
            PG_OS_USER=postgres
        else
            PG_OS_USER=tessera-pg
            id -u "$PG_OS_USER" >/dev/null 2>&1 ||
                useradd --system --user-group --no-create-home --home-dir / \
                    --shell /usr/sbin/nologin "$PG_OS_USER"
        fi
    fi

    pg__sweep_stale
    pg__make_run_dir
    echo "$$" >"$PG_RUN_DIR/owner"
    PG_DATA="$PG_RUN_DIR/data"

    pg_log "initializing a private cluster in $PG_DATA (${PG_BIN})"
    # -A trust: no passwords (the server only listens on 127.0.0.1 and a private
    # socket). -U postgres: the superuser is `postgres` whatever the OS user is.
    # --locale=C: works without any locale installed. -N: no fsync, it is throwaway.
    if ! pg__run_as "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 \
        --locale=C -N >"$PG_RUN_DIR/initdb.log" 2>&1; then
        cat "$PG_RUN_DIR/initdb.log" >&2
        pg_die "initdb failed"
    fi

    # Speed over durability; a socket path of our own so that we never collide with
    # the system cluster's /var/run/postgresql/.s.PGSQL.5432 (and its lock file).
    # Tests run in parallel (one per CPU), each with its own pool: allow plenty of
    # connections even on a many-core CI machine.
    {
        echo "# Added by scripts/pg.sh for a throwaway test cluster."
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = '${PG_DATA//\'/\'\'}'"
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
        echo "max_connections = 500"
    } >>"$PG_DATA/postgresql.conf"

    # The first free port from 55432 up. Another process may grab it between the
    # check and the start: then the start fails with "could not bind" and we move on.
    local port started=""
    for port in $(seq 55432 55531); do
        pg__port_in_use "$port" && continue
        if pg__run_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_RUN_DIR/postgres.log" \
            -o "-p $port" -w -t 60 start >"$PG_RUN_DIR/pg_ctl.log" 2>&1; then
            started=1
            break
        fi
        if grep -qiE 'could not (bind|create listen)|already in use' "$PG_RUN_DIR/postgres.log" 2>/dev/null; then
            pg_log "port $port taken meanwhile, trying the next one"
            : >"$PG_RUN_DIR/postgres.log"
            continue
        fi
        cat "$PG_RUN_DIR/pg_ctl.log" "$PG_RUN_DIR/postgres.log" >&2 2>/dev/null || true
        pg_die "could not start the test cluster on port $port (logs above)"
    done
    [[ -n "$started" ]] || pg_die "no free port in 55432-55531 for the test cluster"
    PG_PORT="$port"

    # pg_ctl -w already waited for startup; make sure the TCP listener answers too.
    local i
    for i in $(seq 1 60); do
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres && break
        (( i < 60 )) || pg_die "test cluster on 127.0.0.1:$PG_PORT does not accept connections"
        sleep 0.5
    done

    PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    pg_log "private cluster ready at $PG_URL"
}

# Stops and deletes the private cluster, if any. Safe to call more than once, and
# never fails (it runs from EXIT traps).
pg_stop_private() {
    [[ -n "$PG_RUN_DIR" ]] || return 0
    pg_log "stopping and removing the private cluster in $PG_RUN_DIR"
    pg__stop_data_dir "$PG_DATA"
    rm -rf "$PG_RUN_DIR" 2>/dev/null || pg_log "warning: could not remove $PG_RUN_DIR"
    rmdir "$PG_REPO_ROOT/target/pg-test" 2>/dev/null || true
    PG_RUN_DIR="" PG_DATA="" PG_PORT="" PG_URL=""
}

pg_main() {
    case "${1:-}" in
        install)
            pg_ensure_installed
            pg_log "server binaries: $PG_BIN"
            ;;
        run)
            shift
            trap pg_stop_private EXIT
            trap 'exit 130' INT
            trap 'exit 143' TERM
            trap 'exit 129' HUP
            pg_start_private
            export TESSERA_TEST_DATABASE_URL="$PG_URL"
            export PGHOST=127.0.0.1 PGPORT="$PG_PORT" PGUSER=postgres PGDATABASE=postgres
            if [[ $# -eq 0 ]]; then
                set -- "${SHELL:-bash}"
            fi
            # Not exec: the EXIT trap must still remove the cluster afterwards.
            "$@"
            ;;
        restart)
            # The fault test restarts the cluster under a running node: a real
            # shutdown (fast: sessions are cut, as in a server restart) and start.
            local data="${2:?usage: scripts/pg.sh restart DATA_DIR}"
            [[ -f "$data/postmaster.pid" ]] || pg_die "no cluster runs in $data"
            pg_find_bin || pg_die "PostgreSQL server binaries not found"
            if [[ $EUID -eq 0 ]]; then
                PG_OS_USER="$(stat -c %U "$data")"
                [[ "$PG_OS_USER" == root ]] && PG_OS_USER=""
            fi
            pg__run_as "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 restart >/dev/null ||
                pg_die "pg_ctl restart failed for $data"
            ;;
        *)
            sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            [[ "${1:-}" == -h || "${1:-}" == --help ]] || exit 2
            ;;
    esac
}

# Only act when executed, not when sourced by scripts/test.sh.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    pg_main "$@"
fi
