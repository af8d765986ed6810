#!/usr/bin/env bash
# Installs what building Tessera needs besides a Rust toolchain: a C compiler,
# pkg-config and the OpenSSL headers. They come from `openssl-sys`, which the LDAP
# client's TLS (ldap3's `tls-native`, through native-tls) links on Linux.
#
# Usage: scripts/install-prerequisites.sh [--check]
#   --check   only report what is missing (exit status 1 if anything is)
#
# Debian/Ubuntu: apt-get installs build-essential, pkg-config and libssl-dev (as root,
# or with sudo). macOS: native-tls uses the system's Security framework, so nothing
# but Xcode's command line tools (`xcode-select --install`) is needed.

set -euo pipefail

check_only=""
case "${1:-}" in
    "") ;;
    --check) check_only=1 ;;
    -h | --help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument $1 (try --help)" >&2; exit 2 ;;
esac

if [[ "$(uname -s)" == Darwin ]]; then
    if xcode-select -p >/dev/null 2>&1; then
        exit 0
    fi
    echo "Tessera needs Xcode's command line tools on macOS: run xcode-select --install" >&2
    exit 1
fi

PACKAGES=(build-essential pkg-config libssl-dev)

missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" == installed ]] ||
            printf '%s\n' "$p"
    done
}

if ! command -v dpkg-query >/dev/null; then
    # Not Debian-like: say what to install rather than guess the package manager.
    for tool in cc pkg-config; do
        command -v "$tool" >/dev/null || {
            echo "Tessera needs a C compiler, pkg-config and the OpenSSL headers" \
                "(e.g. gcc, pkgconf and openssl-devel on Fedora); $tool is missing" >&2
            exit 1
        }
    done
    exit 0
fi

mapfile -t missing < <(missing_packages)
[[ ${#missing[@]} -gt 0 ]] || exit 0
if [[ -n "$check_only" ]]; then
    echo "missing Debian packages: ${missing[*]} (scripts/install-prerequisites.sh installs them)" >&2
    exit 1
fi

as_root=()
if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null || {
        echo "error: installing ${missing[*]} needs root; run: apt-get install ${missing[*]}" >&2
        exit 1
    }
    as_root=(sudo)
fi
echo "Installing ${missing[*]} (the build's C compiler, pkg-config and OpenSSL headers)" >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -q -y --no-install-recommends "${missing[@]}" >&2
