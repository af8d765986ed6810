#!/usr/bin/env bash
# Two real directory servers on loopback for Tessera's LDAP tests.
#
# Usage: scripts/directory.sh start|stop|status|env|verify
#
#   start   install the Debian packages if missing, make a test CA and server
#           certificate, then provision, seed and start Samba (an Active Directory
#           domain controller on 127.0.0.1:389/636) and a private OpenLDAP slapd
#           (127.0.0.1:3389/3636); waits until both answer, then prints
#           `export TESSERA_TEST_...=...` lines (also written to
#           target/directory/env.sh). A server already running and healthy is left
#           as it is; a stopped one starts again on pristine seed data (Samba from a
#           snapshot of its provisioned directory, OpenLDAP seeded anew).
#           e.g.  eval "$(scripts/directory.sh start)"
#   stop    stop both servers (only the ones this script started)
#   status  say what runs (exit status 0 only if both run and answer)
#   env     print the export lines
#   verify  bind as every special account on both servers and print what each
#           bind returns (AD sub-codes, ppolicy errors), plus group searches
#
# Needs root (Samba's provisioning chowns files; the AD ports are below 1024); when
# not root, re-runs itself with `sudo -n`. State lives in target/directory/. The
# seeded data and the observed bind results are described in docs/directory-testing.md.

set -euo pipefail

usage() { sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
# Work from the repository root whatever the current directory.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT="$PWD"

STATE="$REPO_ROOT/target/directory"
TLS_DIR="$STATE/tls"
CA_PEM="$TLS_DIR/ca.pem"
SAMBA_DIR="$STATE/samba"
SNAP_DIR="$STATE/snapshots"
OL_DIR="$STATE/openldap"
SEED_DIR="$STATE/seed"
ENV_FILE="$STATE/env.sh"

PACKAGES=(samba samba-ad-dc samba-ad-provision winbind python3-samba ldb-tools
    ldap-utils krb5-user slapd openssl)

# --- The directories' names and passwords -------------------------------------------

AD_REALM=CORP.EXAMPLE.COM
AD_DOMAIN=CORP
AD_DNS_DOMAIN=corp.example.com
AD_ROOT="DC=corp,DC=example,DC=com"
AD_OU="OU=Tessera,$AD_ROOT"
AD_ADMIN_PASSWORD='Tessera-Admin-1!'
AD_PORTS=(389 636 88 3268 3269)
AD_URL="ldaps://127.0.0.1:636"
AD_STARTTLS_URL="ldap://127.0.0.1:389"

LDAP_BASE="dc=example,dc=org"
LDAP_ADMIN_DN="cn=admin,$LDAP_BASE"
LDAP_ADMIN_PASSWORD='Tessera-Admin-1!'
LDAP_SVC_DN="cn=svc-tessera,ou=services,$LDAP_BASE"
LDAP_PORTS=(3389 3636)
LDAP_URL="ldap://127.0.0.1:3389"
LDAPS_URL="ldaps://127.0.0.1:3636"

SVC_LOGIN=svc-tessera
SVC_PASSWORD='Tessera-Svc-1!'
USER_PASSWORD='Tessera-Test-1!'

# --- Seed data (shared by both servers) ---------------------------------------------
# login|cn|givenName|sn|title|employee id|mail local part|manager login
# AD: employeeID; OpenLDAP (inetOrgPerson has no employeeID): employeeNumber.
PEOPLE=(
    "bob|Bob Builder|Bob|Builder|Engineering Manager|E1000|bob|"
    "alice|Alice Anderson|Alice|Anderson|Software Engineer|E1001|alice|bob"
    "jsmith|Smith, John|John|Smith|Backend Developer|E1002|john.smith|bob"
    "zoe|Zoë Ångström|Zoë|Ångström|Data Scientist|E1003|zoe|alice"
)
# Accounts whose binds fail in a known way.
# login|employee id|AD sub-code expected on bind|what
AD_SPECIAL=(
    "user-disabled|E2001|533|account disabled (userAccountControl 514)"
    "user-mustchange|E2002|773|must change password at next logon (pwdLastSet 0)"
    "user-expired|E2003|701|account expired (accountExpires 2020-01-01)"
    "user-nohours|E2004|530|logon hours all zero"
    "user-locked|E2005|775|locked out (PSO threshold 3, three bad binds)"
    "user-pwexpired|E2006|532|password expired (pwdLastSet 2020-01-01, PSO max age 42 days)"
)
# login|employee id|what
LDAP_SPECIAL=(
    "user-locked|E2005|locked (pwdAccountLockedTime 000001010000Z, permanent)"
    "user-mustchange|E2002|must change password (pwdReset TRUE)"
)
# 2020-01-01T00:00:00Z as an NT time (100 ns since 1601).
NT_2020=132223104000000000
# Samba control that skips the password_hash module: lets pwdLastSet be backdated.
BYPASS_PASSWORD_HASH_OID=1.3.6.1.4.1.7165.4.3.12

# --- Helpers ------------------------------------------------------------------------

log() { printf 'directory: %s\n' "$*" >&2; }
die() { printf 'directory: error: %s\n' "$*" >&2; exit 1; }

now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'; }

# Is the process with id $1 alive (and not a zombie)?
pid_alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z ]]
}

# Prints the name of process $1 (from /proc/PID/stat, readable by anyone).
proc_comm() {
    local line
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
    line="${line#*(}"
    printf '%s\n' "${line%)*}"
}

# Prints "PID COMM SESSION" for every process (from /proc, without procps).
procs_table() {
    local f line comm sid
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        comm="${line#*(}"
        comm="${comm%)*}"
        read -r _ _ _ sid _ <<<"${line##*) }"
        printf '%s %s %s\n' "${line%% *}" "${comm// /_}" "$sid"
    done
}

# Prints the pid from pid file $1 if that process runs the program named $2.
pid_from_file() {
    local pid
    [[ -f "$1" ]] || return 1
    pid="$(head -n 1 "$1" 2>/dev/null | tr -dc '0-9')"
    [[ -n "$pid" ]] && pid_alive "$pid" || return 1
    # The process name, not /proc/PID/exe: that is unreadable to non-root users.
    [[ "$(proc_comm "$pid")" == "$2" ]] || return 1
    printf '%s\n' "$pid"
}

# Who listens on port $1 (TCP or UDP, any address)? Prints nothing if nobody.
port_holders() {
    if command -v ss >/dev/null; then
        ss -Hlntup "( sport = :$1 )" 2>/dev/null || true
    elif (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
        echo "something accepts connections on 127.0.0.1:$1"
    fi
}

# Runs a daemon (in a child process: `detached_exec LOG CMD... &`, or
# `(detached_exec LOG CMD...)`) with stdin from /dev/null, output appended to LOG, and
# none of our other file descriptors: an inherited one would hold our lock for ever,
# or keep a caller's pipe open (and the caller waiting for its end).
detached_exec() {
    local log="$1" fd
    shift
    for fd in /proc/"$BASHPID"/fd/*; do
        fd="${fd##*/}"
        if [[ "$fd" =~ ^[0-9]+$ ]] && (( fd > 2 )); then
            eval "exec $fd>&-"
        fi
    done
    exec "$@" </dev/null >>"$log" 2>&1
}

require_ports_free() {
    local what="$1" port holders busy=""
    shift
    for port in "$@"; do
        holders="$(port_holders "$port")"
        if [[ -n "$holders" ]]; then
            busy=1
            log "port $port is already in use:"
            printf '    %s\n' "$holders" >&2
        fi
    done
    [[ -z "$busy" ]] ||
        die "cannot start $what: its ports ($*) must be free; stop whatever holds them (a system slapd/samba, or one started from a deleted target/directory) and retry"
}

# Quotes $1 for a POSIX shell.
shell_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# Escapes $1 as an RDN value (RFC 4514).
dn_escape() {
    local v="$1"
    v="${v//\\/\\\\}"
    v="${v//,/\\,}"
    v="${v//+/\\+}"
    v="${v//\"/\\\"}"
    v="${v//</\\<}"
    v="${v//>/\\>}"
    v="${v//;/\\;}"
    v="${v//=/\\=}"
    [[ "$v" == " "* || "$v" == "#"* ]] && v="\\$v"
    [[ "$v" == *" " ]] && v="${v%?}\\ "
    printf '%s' "$v"
}

# Prints one LDIF line "attr: value", base64 ("attr:: ...") when the value is not
# plain ASCII or starts with a character LDIF reserves.
ldif_line() {
    local attr="$1" value="$2"
    if LC_ALL=C grep -q '[^ -~]' <<<"$value" || [[ "$value" == [:\<\ ]* || "$value" == *" " ]]; then
        printf '%s:: %s\n' "$attr" "$(printf '%s' "$value" | base64 -w 0)"
    else
        printf '%s: %s\n' "$attr" "$value"
    fi
}

# AD's unicodePwd value: the quoted password in UTF-16LE, base64.
ad_unicode_pwd() { printf '"%s"' "$1" | iconv -f UTF-8 -t UTF-16LE | base64 -w 0; }

person_field() { # person_field LOGIN FIELD-NUMBER (1-based, see PEOPLE)
    local p
    for p in "${PEOPLE[@]}"; do
        [[ "${p%%|*}" == "$1" ]] && { cut -d '|' -f "$2" <<<"$p"; return 0; }
    done
    return 1
}
ad_dn() { # DN of a person or special account in AD
    local cn
    cn="$(person_field "$1" 2 2>/dev/null || printf '%s' "$1")"
    printf 'CN=%s,%s' "$(dn_escape "$cn")" "$AD_OU"
}
ldap_dn() {
    local cn
    cn="$(person_field "$1" 2 2>/dev/null || printf '%s' "$1")"
    printf 'cn=%s,ou=people,%s' "$(dn_escape "$cn")" "$LDAP_BASE"
}

# Runs an LDAP client quietly; LDAPTLS_CACERT trusts our test CA.
ldapc() {
    LDAPTLS_CACERT="$CA_PEM" LDAPTLS_REQCERT=demand "$1" -o nettimeout=5 "${@:2}"
}

# Joins its input's lines into one, without their leading blanks.
one_line() { sed 's/^[[:space:]]*//' | paste -sd ' ' -; }

# Tries a simple bind plus a base search of the root DSE. Prints one line:
# "rc=N <diagnostics>" (rc 0: bound).
try_bind() { # try_bind URL DN PASSWORD [extra ldapsearch args]
    local url="$1" dn="$2" pw="$3" out rc=0
    shift 3
    out="$(ldapc ldapsearch -x -LLL -H "$url" -D "$dn" -w "$pw" "$@" -b '' -s base '(objectClass=*)' 1.1 2>&1)" || rc=$?
    out="$({ grep -vE '^(dn:|$)' <<<"$out" || true; } | one_line)"
    printf 'rc=%s %s\n' "$rc" "$out"
}

# Searches as the service account (prints LDIF, no line wrapping).
ad_search() { # ad_search BASE FILTER [ATTRS...]
    ldapc ldapsearch -x -LLL -o ldif-wrap=no -H "$AD_URL" -D "$(ad_dn "$SVC_LOGIN")" \
        -w "$SVC_PASSWORD" -b "$1" "${@:2}"
}
ol_search() {
    ldapc ldapsearch -x -LLL -o ldif-wrap=no -H "$LDAP_URL" -D "$LDAP_SVC_DN" \
        -w "$SVC_PASSWORD" -b "$1" "${@:2}"
}

# --- Packages -----------------------------------------------------------------------

missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" == installed ]] ||
            printf '%s\n' "$p"
    done
}

ensure_packages() {
    local missing t
    command -v dpkg-query >/dev/null || die "this script needs a Debian-like system (dpkg/apt-get)"
    mapfile -t missing < <(missing_packages)
    [[ ${#missing[@]} -gt 0 ]] || return 0
    t="$(now)"
    log "installing Debian packages: ${missing[*]}"
    # In a subshell so that its EXIT trap removes our policy-rc.d even if apt fails.
    (
        # Without a policy-rc.d that exits 101, the packages' post-install scripts
        # would start the system smbd/samba/slapd (and slapd would take port 389).
        created_policy=""
        trap '[[ -z "$created_policy" ]] || rm -f /usr/sbin/policy-rc.d' EXIT
        if [[ ! -e /usr/sbin/policy-rc.d ]]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod 0755 /usr/sbin/policy-rc.d
            created_policy=1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >&2
        # samba-ad-provision is only a Recommends of samba-ad-dc, but provisioning
        # needs it: it is named in PACKAGES.
        apt-get install -q -y --no-install-recommends "${missing[@]}" >&2
    )
    mapfile -t missing < <(missing_packages)
    [[ ${#missing[@]} -eq 0 ]] || die "packages still missing after apt-get install: ${missing[*]}"
    log "packages installed in $(since "$t")"
}

# --- TLS ----------------------------------------------------------------------------

ensure_tls() {
    local t
    if [[ -f "$CA_PEM" && -f "$TLS_DIR/server.pem" && -f "$TLS_DIR/server.key" ]] &&
        openssl x509 -noout -checkend 86400 -in "$TLS_DIR/server.pem" >/dev/null 2>&1 &&
        openssl verify -CAfile "$CA_PEM" "$TLS_DIR/server.pem" >/dev/null 2>&1; then
        return 0
    fi
    t="$(now)"
    log "creating a test CA and a server certificate (SAN IP:127.0.0.1, DNS:localhost) in $TLS_DIR"
    rm -rf "$TLS_DIR"
    mkdir -p "$TLS_DIR"
    (
        umask 077
        cd "$TLS_DIR"
        openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
            -keyout ca.key -out ca.pem -subj "/CN=Tessera Test Directory CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
        openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.key -out server.csr \
            -subj "/CN=localhost" >/dev/null 2>&1
        printf '%s\n' \
            "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature,keyEncipherment" \
            "extendedKeyUsage=serverAuth" \
            "subjectKeyIdentifier=hash" \
            "authorityKeyIdentifier=keyid,issuer" \
            "subjectAltName=IP:127.0.0.1,DNS:localhost" >server.ext
        openssl x509 -req -sha256 -days 3650 -in server.csr -CA ca.pem -CAkey ca.key \
            -CAcreateserial -extfile server.ext -out server.pem >/dev/null 2>&1
        rm -f server.csr ca.srl
        chmod 0644 ca.pem server.pem
        # Samba refuses a key file that is not 0600 and owned by the server's user.
        chmod 0600 server.key ca.key
    ) || die "could not create the test certificates with openssl"
    openssl verify -CAfile "$CA_PEM" "$TLS_DIR/server.pem" >/dev/null ||
        die "the new server certificate does not verify against the test CA"
    log "certificates ready in $(since "$t")"
}

# --- Samba (Active Directory) -------------------------------------------------------

# The pid of our Samba's root process: from its pid file or, if that is gone (say
# target/directory was deleted under a running server), the samba session leader
# that holds files under our directory open. Never another Samba.
samba_pid() {
    local pid fd
    pid_from_file "$SAMBA_DIR/run/samba.pid" samba && return 0
    # Candidates by name only; each is checked before being reported.
    # Candidates: processes named samba leading their session (as the root process
    # of `samba -D` does); each is checked before being reported.
    for pid in $(procs_table | awk '$2 == "samba" && $1 == $3 { print $1 }'); do
        for fd in /proc/"$pid"/fd/*; do
            if [[ "$(readlink "$fd" 2>/dev/null || true)" == "$SAMBA_DIR/"* ]]; then
                printf '%s\n' "$pid"
                return 0
            fi
        done
    done
    return 1
}

samba_write_conf() {
    mkdir -p "$SAMBA_DIR/etc" "$SAMBA_DIR/run" "$SAMBA_DIR/log"
    # Written whole (the provision's own smb.conf has shares, /var/log paths and a
    # unix password sync we do not want). `ldap server require strong auth` is left
    # at its default on purpose: plain simple binds on 389 get strongerAuthRequired.
    cat >"$SAMBA_DIR/etc/smb.conf" <<EOF
# Written by scripts/directory.sh: a test AD DC on loopback only.
[global]
	netbios name = DC1
	realm = $AD_REALM
	workgroup = $AD_DOMAIN
	server role = active directory domain controller
	server services = ldap cldap kdc
	interfaces = lo
	bind interfaces only = yes
	private dir = $SAMBA_DIR/private
	state directory = $SAMBA_DIR/state
	cache directory = $SAMBA_DIR/cache
	lock directory = $SAMBA_DIR
	pid directory = $SAMBA_DIR/run
	ncalrpc dir = $SAMBA_DIR/run/ncalrpc
	binddns dir = $SAMBA_DIR/bind-dns
	logging = file
	log file = $SAMBA_DIR/log/samba.log
	max log size = 0
	log level = 1
	tls enabled = yes
	tls keyfile = $TLS_DIR/server.key
	tls certfile = $TLS_DIR/server.pem
	tls cafile = $CA_PEM
EOF
}

# The LDIF added to the freshly provisioned sam.ldb.
samba_seed_ldif() {
    local p login cn given sn title empid mail manager pw special code what
    pw="$(ad_unicode_pwd "$USER_PASSWORD")"

    printf 'dn: %s\nobjectClass: organizationalUnit\nou: Tessera\n' "$AD_OU"
    printf 'description: Test data for Tessera (scripts/directory.sh)\n\n'

    printf 'dn: %s\nobjectClass: user\n' "$(ad_dn "$SVC_LOGIN")"
    printf 'sAMAccountName: %s\nuserPrincipalName: %s@%s\n' "$SVC_LOGIN" "$SVC_LOGIN" "$AD_DNS_DOMAIN"
    printf 'displayName: Tessera service account\ndescription: Searches the directory for Tessera\n'
    # 66048 = NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD, as service accounts usually are.
    printf 'userAccountControl: 66048\nunicodePwd:: %s\n\n' "$(ad_unicode_pwd "$SVC_PASSWORD")"

    for p in "${PEOPLE[@]}"; do
        IFS='|' read -r login cn given sn title empid mail manager <<<"$p"
        ldif_line dn "$(ad_dn "$login")"
        printf 'objectClass: user\nsAMAccountName: %s\nuserPrincipalName: %s@%s\n' \
            "$login" "$login" "$AD_DNS_DOMAIN"
        ldif_line givenName "$given"
        ldif_line sn "$sn"
        ldif_line displayName "$cn"
        ldif_line title "$title"
        printf 'employeeID: %s\nmail: %s@%s\n' "$empid" "$mail" "$AD_DNS_DOMAIN"
        [[ -z "$manager" ]] || ldif_line manager "$(ad_dn "$manager")"
        printf 'userAccountControl: 512\nunicodePwd:: %s\n\n' "$pw"
    done

    for special in "${AD_SPECIAL[@]}"; do
        IFS='|' read -r login empid code what <<<"$special"
        printf 'dn: %s\nobjectClass: user\n' "$(ad_dn "$login")"
        printf 'sAMAccountName: %s\nuserPrincipalName: %s@%s\n' "$login" "$login" "$AD_DNS_DOMAIN"
        printf 'givenName: Test\nsn: %s\ndisplayName: Test %s\n' "$login" "$login"
        printf 'title: Test account\nemployeeID: %s\nmail: %s@%s\n' "$empid" "$login" "$AD_DNS_DOMAIN"
        printf 'description: %s; a bind gets data %s\n' "$what" "$code"
        printf 'manager: %s\n' "$(ad_dn bob)"
        printf 'userAccountControl: 512\nunicodePwd:: %s\n\n' "$pw"
    done

    # Groups: global security groups (groupType 0x80000002), nested
    # Tessera Admins > Platform Team > alice; a universal distribution group (8).
    printf 'dn: CN=Platform Team,%s\nobjectClass: group\nsAMAccountName: Platform Team\n' "$AD_OU"
    printf 'groupType: -2147483646\ndescription: Nested in Tessera Admins\n'
    printf 'member: %s\n\n' "$(ad_dn alice)"

    printf 'dn: CN=Tessera Admins,%s\nobjectClass: group\nsAMAccountName: Tessera Admins\n' "$AD_OU"
    printf 'groupType: -2147483646\ndescription: Administrators of Tessera (through Platform Team)\n'
    printf 'member: CN=Platform Team,%s\n\n' "$AD_OU"

    printf 'dn: CN=Backend,%s\nobjectClass: group\nsAMAccountName: Backend\n' "$AD_OU"
    printf 'groupType: -2147483646\ndescription: Backend developers\n'
    printf 'member: %s\nmember: %s\n\n' "$(ad_dn alice)" "$(ad_dn jsmith)"

    printf 'dn: CN=All Staff,%s\nobjectClass: group\nsAMAccountName: All Staff\n' "$AD_OU"
    printf 'groupType: 8\nmail: all-staff@%s\ndescription: Distribution list (not a security group)\n' "$AD_DNS_DOMAIN"
    printf 'member: %s\n\n' "$(ad_dn bob)"

    # Password settings objects: one that locks user-locked after 3 bad passwords,
    # for ever (-2^63 = until an administrator unlocks); one that gives
    # user-pwexpired a maximum password age (the domain's is "never", below).
    printf 'dn: CN=tessera-lockout,CN=Password Settings Container,CN=System,%s\n' "$AD_ROOT"
    printf 'objectClass: msDS-PasswordSettings\nmsDS-PasswordSettingsPrecedence: 10\n'
    printf 'msDS-PasswordReversibleEncryptionEnabled: FALSE\nmsDS-PasswordHistoryLength: 0\n'
    printf 'msDS-PasswordComplexityEnabled: TRUE\nmsDS-MinimumPasswordLength: 7\n'
    printf 'msDS-MinimumPasswordAge: 0\nmsDS-MaximumPasswordAge: -9223372036854775808\n'
    printf 'msDS-LockoutThreshold: 3\nmsDS-LockoutObservationWindow: -18000000000\n'
    printf 'msDS-LockoutDuration: -9223372036854775808\n'
    printf 'msDS-PSOAppliesTo: %s\n\n' "$(ad_dn user-locked)"

    printf 'dn: CN=tessera-pwexpiry,CN=Password Settings Container,CN=System,%s\n' "$AD_ROOT"
    printf 'objectClass: msDS-PasswordSettings\nmsDS-PasswordSettingsPrecedence: 20\n'
    printf 'msDS-PasswordReversibleEncryptionEnabled: FALSE\nmsDS-PasswordHistoryLength: 0\n'
    printf 'msDS-PasswordComplexityEnabled: TRUE\nmsDS-MinimumPasswordLength: 7\n'
    # 42 days, in 100 ns units, negative as AD stores intervals.
    printf 'msDS-MinimumPasswordAge: 0\nmsDS-MaximumPasswordAge: -36288000000000\n'
    printf 'msDS-LockoutThreshold: 0\nmsDS-LockoutObservationWindow: -18000000000\n'
    printf 'msDS-LockoutDuration: -18000000000\n'
    printf 'msDS-PSOAppliesTo: %s\n\n' "$(ad_dn user-pwexpired)"
}

# Modifications that put the special accounts into their states.
samba_state_ldif() {
    # Passwords never expire domain-wide, so that the snapshot's users stay usable
    # whatever its age (the default is 42 days after seeding).
    printf 'dn: %s\nchangetype: modify\nreplace: maxPwdAge\nmaxPwdAge: -9223372036854775808\n\n' "$AD_ROOT"
    printf 'dn: %s\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n\n' \
        "$(ad_dn user-disabled)"
    printf 'dn: %s\nchangetype: modify\nreplace: pwdLastSet\npwdLastSet: 0\n\n' "$(ad_dn user-mustchange)"
    printf 'dn: %s\nchangetype: modify\nreplace: accountExpires\naccountExpires: %s\n\n' \
        "$(ad_dn user-expired)" "$NT_2020"
    # 21 zero bytes: no hour of the week allowed.
    printf 'dn: %s\nchangetype: modify\nreplace: logonHours\nlogonHours:: %s\n\n' \
        "$(ad_dn user-nohours)" "$(head -c 21 /dev/zero | base64 -w 0)"
}

# Backdating pwdLastSet: over LDAP (and through sam.ldb's modules) only 0 and -1 are
# accepted; the BYPASS_PASSWORD_HASH control skips the module that checks it.
samba_backdate_ldif() {
    printf 'dn: %s\nchangetype: modify\nreplace: pwdLastSet\npwdLastSet: %s\n\n' \
        "$(ad_dn user-pwexpired)" "$NT_2020"
}

samba_ldb() { # samba_ldb TOOL ARGS...: an ldb tool on the provision's sam.ldb
    local tool="$1"
    shift
    SMB_CONF_PATH="$SAMBA_DIR/etc/smb.conf" "$tool" -H "$SAMBA_DIR/private/sam.ldb" "$@"
}

samba_provision() {
    rm -rf "$SAMBA_DIR"
    mkdir -p "$SAMBA_DIR" "$SEED_DIR"
    samba-tool domain provision --realm="$AD_REALM" --domain="$AD_DOMAIN" \
        --host-name=DC1 --server-role=dc --dns-backend=SAMBA_INTERNAL \
        --adminpass="$AD_ADMIN_PASSWORD" --targetdir="$SAMBA_DIR" \
        >"$STATE/samba-provision.log" 2>&1 ||
        { tail -n 30 "$STATE/samba-provision.log" >&2; die "samba-tool domain provision failed (log: $STATE/samba-provision.log)"; }
    samba_write_conf
    samba_seed_ldif >"$SEED_DIR/ad-add.ldif"
    samba_state_ldif >"$SEED_DIR/ad-states.ldif"
    samba_backdate_ldif >"$SEED_DIR/ad-backdate.ldif"
    samba_ldb ldbadd "$SEED_DIR/ad-add.ldif" >/dev/null || die "seeding Samba failed (ldbadd $SEED_DIR/ad-add.ldif)"
    samba_ldb ldbmodify "$SEED_DIR/ad-states.ldif" >/dev/null || die "seeding Samba failed (ldbmodify $SEED_DIR/ad-states.ldif)"
    samba_ldb ldbmodify --controls="local_oid:$BYPASS_PASSWORD_HASH_OID:0" \
        "$SEED_DIR/ad-backdate.ldif" >/dev/null || die "backdating pwdLastSet failed"
}

# Locks user-locked the way a real DC gets there: wrong passwords until the PSO's
# threshold (3). Needs the server running.
samba_lock_accounts() {
    local i
    for i in 1 2 3; do
        try_bind "$AD_URL" "$(ad_dn user-locked)" "wrong-password-$i" >/dev/null
    done
}

# Everything that makes up the Samba snapshot: a change to any of it re-provisions.
samba_seed_key() {
    {
        declare -f samba_provision samba_seed_ldif samba_state_ldif samba_backdate_ldif \
            samba_lock_accounts ldif_line dn_escape ad_dn ad_unicode_pwd person_field
        declare -p PEOPLE AD_SPECIAL AD_REALM AD_DOMAIN AD_ROOT AD_OU AD_ADMIN_PASSWORD \
            SVC_LOGIN SVC_PASSWORD USER_PASSWORD NT_2020
        samba --version
        printf '%s\n' "$SAMBA_DIR"
    } | sha256sum | cut -c 1-16
}

samba_start_daemon() {
    local t pid i
    t="$(now)"
    require_ports_free "Samba" "${AD_PORTS[@]}"
    samba_write_conf
    rm -f "$SAMBA_DIR/run/samba.pid"
    (detached_exec "$SAMBA_DIR/log/samba.stdout" samba -s "$SAMBA_DIR/etc/smb.conf" -D) ||
        die "samba failed to start (log: $SAMBA_DIR/log/samba.log)"
    for i in $(seq 1 300); do
        if [[ "$(try_bind "$AD_URL" "$(ad_dn "$SVC_LOGIN")" "$SVC_PASSWORD")" == "rc=0 "* ]]; then
            break
        fi
        if (( i == 300 )); then
            tail -n 30 "$SAMBA_DIR/log/samba.log" >&2 || true
            die "Samba does not answer on $AD_URL after 60 s (log: $SAMBA_DIR/log/samba.log)"
        fi
        # The root process writes its pid file soon after forking; gone means dead.
        if (( i > 25 )) && ! pid="$(samba_pid)"; then
            tail -n 30 "$SAMBA_DIR/log/samba.log" >&2 || true
            die "Samba exited during startup (log: $SAMBA_DIR/log/samba.log)"
        fi
        sleep 0.2
    done
    [[ "$(try_bind "$AD_STARTTLS_URL" "$(ad_dn "$SVC_LOGIN")" "$SVC_PASSWORD" -ZZ)" == "rc=0 "* ]] ||
        die "Samba answers LDAPS but StartTLS on $AD_STARTTLS_URL fails"
    log "Samba AD DC up (pid $(samba_pid || echo '?')) in $(since "$t")"
}

samba_stop() {
    local pid i left
    pid="$(samba_pid)" || { rm -f "$SAMBA_DIR/run/samba.pid"; return 0; }
    # `samba -D` made its root process a session leader: every Samba process of this
    # instance is in that session, and nothing else is.
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        left="$(procs_table | awk -v sid="$pid" '$3 == sid { printf "%s ", $1 }')"
        [[ -n "${left// /}" ]] || break
        if (( i == 100 )); then
            log "Samba did not stop within 20 s; killing its processes: $left"
            # shellcheck disable=SC2086 # a list of pids
            kill -KILL $left 2>/dev/null || true
            sleep 0.5
        fi
        sleep 0.2
    done
    rm -f "$SAMBA_DIR/run/samba.pid"
}

samba_healthy() {
    samba_pid >/dev/null &&
        [[ "$(try_bind "$AD_URL" "$(ad_dn "$SVC_LOGIN")" "$SVC_PASSWORD")" == "rc=0 "* ]]
}

# Binds as each special account and checks the sub-code. Prints the results; with
# "strict", fails on a mismatch.
samba_check_accounts() {
    local mode="${1:-}" special login empid code what result bad=""
    for special in "${AD_SPECIAL[@]}"; do
        IFS='|' read -r login empid code what <<<"$special"
        result="$(try_bind "$AD_URL" "$login@$AD_DNS_DOMAIN" "$USER_PASSWORD")"
        printf '  AD %-16s expect data %s: %s\n' "$login" "$code" "$result"
        [[ "$result" == *"data $code,"* ]] || bad+=" $login"
    done
    [[ -z "$bad" || "$mode" != strict ]] || die "unexpected bind results for:$bad"
}

samba_snapshot_file() { printf '%s/samba-%s.tar.gz' "$SNAP_DIR" "$(samba_seed_key)"; }

samba_make_snapshot() {
    local snap="$1" tmp
    mkdir -p "$SNAP_DIR"
    rm -f "$SNAP_DIR"/samba-*.tar.gz
    tmp="$snap.tmp.$$"
    # Sockets, pids and logs are the running server's, not the directory's.
    tar -C "$STATE" --exclude=samba/run --exclude=samba/log --exclude=samba/msg.sock \
        --exclude=samba/msg.lock --exclude=samba/private/ldapi \
        --exclude=samba/private/ldap_priv/ldapi -cf - samba | gzip -1 >"$tmp"
    mv "$tmp" "$snap"
}

samba_ensure_running() {
    local key snap t
    key="$(samba_seed_key)"
    snap="$(samba_snapshot_file)"
    if samba_healthy && [[ "$(cat "$SAMBA_DIR/seed-key" 2>/dev/null || true)" == "$key" ]]; then
        log "Samba AD DC already running (pid $(samba_pid))"
        return 0
    fi
    samba_stop
    require_ports_free "Samba" "${AD_PORTS[@]}"
    t="$(now)"
    if [[ -f "$snap" ]]; then
        log "restoring Samba from its pristine snapshot $(basename "$snap")"
        rm -rf "$SAMBA_DIR"
        tar -C "$STATE" -xzf "$snap" ||
            { rm -rf "$snap" "$SAMBA_DIR"; die "could not unpack $snap (removed it: run start again to re-provision)"; }
        samba_start_daemon
        log "Samba restored and started in $(since "$t")"
        return 0
    fi
    log "provisioning Samba AD (realm $AD_REALM) into $SAMBA_DIR"
    samba_provision
    printf '%s\n' "$key" >"$SAMBA_DIR/seed-key"
    log "provisioned and seeded in $(since "$t")"
    samba_start_daemon
    samba_lock_accounts
    log "checking the special accounts' bind results"
    samba_check_accounts strict >&2
    samba_check_transport strict >&2
    [[ "$(ad_search "$AD_OU" "(member:1.2.840.113556.1.4.1941:=$(ad_dn alice))" 1.1 | grep -c '^dn:')" == 3 ]] ||
        die "the in-chain search for alice's groups does not find her 3 groups"
    samba_stop
    samba_make_snapshot "$snap"
    log "snapshot $(basename "$snap") saved"
    samba_start_daemon
    log "Samba provisioned, seeded, snapshotted and started in $(since "$t")"
}

# Plain simple binds must be refused (strong auth), LDAPS and StartTLS accepted.
samba_check_transport() {
    local mode="${1:-}" dn result bad=""
    dn="$(ad_dn "$SVC_LOGIN")"
    result="$(try_bind "$AD_STARTTLS_URL" "$dn" "$SVC_PASSWORD")"
    printf '  AD plain ldap:// simple bind: %s\n' "$result"
    [[ "$result" == "rc=8 "* ]] || bad+=" plain"
    result="$(try_bind "$AD_STARTTLS_URL" "$dn" "$SVC_PASSWORD" -ZZ)"
    printf '  AD StartTLS simple bind: %s\n' "$result"
    [[ "$result" == "rc=0 "* ]] || bad+=" starttls"
    result="$(try_bind "$AD_URL" "$dn" "$SVC_PASSWORD")"
    printf '  AD LDAPS simple bind: %s\n' "$result"
    [[ "$result" == "rc=0 "* ]] || bad+=" ldaps"
    [[ -z "$bad" || "$mode" != strict ]] || die "unexpected transport results:$bad"
}

# --- OpenLDAP -----------------------------------------------------------------------

# The pid of our slapd: from its pid file or, if that is gone, the slapd whose command
# line names our configuration directory. Never another slapd.
ol_pid() {
    local pid
    for pid in "$(head -n 1 "$OL_DIR/slapd.pid" 2>/dev/null | tr -dc '0-9')" \
        $(procs_table | awk '$2 == "slapd" { print $1 }'); do
        [[ -n "$pid" ]] || continue
        pid_alive "$pid" || continue
        [[ "$(proc_comm "$pid")" == slapd ]] || continue
        if tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$OL_DIR/slapd.d"; then
            printf '%s\n' "$pid"
            return 0
        fi
    done
    return 1
}

ol_config_ldif() {
    cat <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $OL_DIR/slapd.pid
olcArgsFile: $OL_DIR/slapd.args
olcTLSCACertificateFile: $CA_PEM
olcTLSCertificateFile: $TLS_DIR/server.pem
olcTLSCertificateKeyFile: $TLS_DIR/server.key
olcLogLevel: stats

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 1000

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $LDAP_BASE
olcDbDirectory: $OL_DIR/data
olcRootDN: $LDAP_ADMIN_DN
olcRootPW: $(slappasswd -s "$LDAP_ADMIN_PASSWORD")
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: cn,uid,mail,employeeNumber eq,sub
olcDbIndex: member,memberOf eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to dn.subtree="$LDAP_BASE" by dn.exact="$LDAP_SVC_DN" read by self read by * none

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={1}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {1}ppolicy
olcPPolicyDefault: cn=default,ou=policies,$LDAP_BASE
olcPPolicyHashCleartext: TRUE
olcPPolicyUseLockout: TRUE
EOF
}

ol_seed_ldif() {
    local p login cn given sn title empid mail manager special what
    cat <<EOF
dn: $LDAP_BASE
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,$LDAP_BASE
objectClass: organizationalUnit
ou: people

dn: ou=groups,$LDAP_BASE
objectClass: organizationalUnit
ou: groups

dn: ou=services,$LDAP_BASE
objectClass: organizationalUnit
ou: services

dn: ou=policies,$LDAP_BASE
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,$LDAP_BASE
objectClass: device
objectClass: pwdPolicy
cn: default
description: Default password policy (olcPPolicyDefault)
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 0
pwdLockoutDuration: 0
pwdMustChange: TRUE
pwdAllowUserChange: TRUE
pwdMaxAge: 0
pwdInHistory: 0
pwdCheckQuality: 0

dn: $LDAP_SVC_DN
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: $SVC_LOGIN
description: Tessera service account (reads ou=people and ou=groups)
userPassword: $SVC_PASSWORD

EOF
    for p in "${PEOPLE[@]}"; do
        IFS='|' read -r login cn given sn title empid mail manager <<<"$p"
        ldif_line dn "$(ldap_dn "$login")"
        printf 'objectClass: inetOrgPerson\nuid: %s\n' "$login"
        ldif_line cn "$cn"
        ldif_line givenName "$given"
        ldif_line sn "$sn"
        ldif_line displayName "$cn"
        ldif_line title "$title"
        printf 'employeeNumber: %s\nmail: %s@example.org\n' "$empid" "$mail"
        [[ -z "$manager" ]] || ldif_line manager "$(ldap_dn "$manager")"
        printf 'userPassword: %s\n\n' "$USER_PASSWORD"
    done
    for special in "${LDAP_SPECIAL[@]}"; do
        IFS='|' read -r login empid what <<<"$special"
        printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\n' "$(ldap_dn "$login")" "$login" "$login"
        printf 'givenName: Test\nsn: %s\ndisplayName: Test %s\ntitle: Test account\n' "$login" "$login"
        printf 'employeeNumber: %s\nmail: %s@example.org\ndescription: %s\n' "$empid" "$login" "$what"
        printf 'manager: %s\nuserPassword: %s\n\n' "$(ldap_dn bob)" "$USER_PASSWORD"
    done
    # memberOf is maintained when a group is added: members first (Platform Team
    # before Tessera Admins).
    printf 'dn: cn=Platform Team,ou=groups,%s\nobjectClass: groupOfNames\ncn: Platform Team\n' "$LDAP_BASE"
    printf 'description: Nested in Tessera Admins\nmember: %s\n\n' "$(ldap_dn alice)"
    printf 'dn: cn=Tessera Admins,ou=groups,%s\nobjectClass: groupOfNames\ncn: Tessera Admins\n' "$LDAP_BASE"
    printf 'description: Administrators of Tessera (through Platform Team)\n'
    printf 'member: cn=Platform Team,ou=groups,%s\n\n' "$LDAP_BASE"
    printf 'dn: cn=Backend,ou=groups,%s\nobjectClass: groupOfNames\ncn: Backend\n' "$LDAP_BASE"
    printf 'description: Backend developers\nmember: %s\nmember: %s\n\n' "$(ldap_dn alice)" "$(ldap_dn jsmith)"
}

# Operational ppolicy attributes: only with the Relax control, by the rootdn.
ol_state_ldif() {
    printf 'dn: %s\nchangetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n\n' \
        "$(ldap_dn user-locked)"
    printf 'dn: %s\nchangetype: modify\nreplace: pwdReset\npwdReset: TRUE\n\n' "$(ldap_dn user-mustchange)"
}

ol_seed_key() {
    {
        declare -f ol_config_ldif ol_seed_ldif ol_state_ldif ldif_line dn_escape ldap_dn person_field
        declare -p PEOPLE LDAP_SPECIAL LDAP_BASE LDAP_ADMIN_DN LDAP_SVC_DN SVC_PASSWORD USER_PASSWORD
        slapd -VV 2>&1 | head -n 1
        printf '%s\n' "$OL_DIR"
    } | sha256sum | cut -c 1-16
}

ol_start_daemon() {
    local t i pid
    t="$(now)"
    require_ports_free "OpenLDAP" "${LDAP_PORTS[@]}"
    rm -f "$OL_DIR/slapd.pid"
    # Its own session, so that it outlives this script and its terminal; -d keeps it
    # in the foreground, logging to stderr (slapd otherwise logs only to syslog).
    detached_exec "$OL_DIR/slapd.log" \
        setsid slapd -h "$LDAP_URL/ $LDAPS_URL/" -F "$OL_DIR/slapd.d" -d stats &
    for i in $(seq 1 150); do
        if ldapc ldapwhoami -x -H "$LDAPS_URL" >/dev/null 2>&1 &&
            ldapc ldapwhoami -x -H "$LDAP_URL" >/dev/null 2>&1; then
            break
        fi
        if (( i == 150 )); then
            tail -n 30 "$OL_DIR/slapd.log" >&2 || true
            die "slapd does not answer on $LDAP_URL and $LDAPS_URL after 30 s (log: $OL_DIR/slapd.log)"
        fi
        if (( i > 10 )) && ! pid="$(ol_pid)"; then
            tail -n 30 "$OL_DIR/slapd.log" >&2 || true
            die "slapd exited during startup (log: $OL_DIR/slapd.log)"
        fi
        sleep 0.1
    done
    log "OpenLDAP slapd up (pid $(ol_pid || echo '?')) in $(since "$t")"
}

ol_stop() {
    local pid i
    pid="$(ol_pid)" || { rm -f "$OL_DIR/slapd.pid"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        pid_alive "$pid" || break
        if (( i == 100 )); then
            log "slapd did not stop within 10 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.1
    done
    rm -f "$OL_DIR/slapd.pid"
}

ol_healthy() {
    ol_pid >/dev/null &&
        ldapc ldapwhoami -x -H "$LDAPS_URL" -D "$LDAP_SVC_DN" -w "$SVC_PASSWORD" >/dev/null 2>&1
}

ol_create() {
    rm -rf "$OL_DIR"
    mkdir -p "$OL_DIR/slapd.d" "$OL_DIR/data" "$SEED_DIR"
    ol_config_ldif >"$SEED_DIR/openldap-config.ldif"
    slapadd -n 0 -F "$OL_DIR/slapd.d" -l "$SEED_DIR/openldap-config.ldif" >"$OL_DIR/slapadd.log" 2>&1 ||
        { cat "$OL_DIR/slapadd.log" >&2; die "could not create slapd's cn=config"; }
    ol_start_daemon
    ol_seed_ldif >"$SEED_DIR/openldap-add.ldif"
    ol_state_ldif >"$SEED_DIR/openldap-states.ldif"
    ldapc ldapadd -x -H "$LDAP_URL" -D "$LDAP_ADMIN_DN" -w "$LDAP_ADMIN_PASSWORD" \
        -f "$SEED_DIR/openldap-add.ldif" >/dev/null || die "seeding OpenLDAP failed (ldapadd)"
    ldapc ldapmodify -x -H "$LDAP_URL" -D "$LDAP_ADMIN_DN" -w "$LDAP_ADMIN_PASSWORD" -e relax \
        -f "$SEED_DIR/openldap-states.ldif" >/dev/null || die "seeding OpenLDAP failed (ldapmodify -e relax)"
}

# Binds as the special accounts, with and without the ppolicy request control.
ol_check_accounts() {
    local mode="${1:-}" who ctl label out rc bad=""
    for who in user-locked user-mustchange alice; do
        for ctl in "" ppolicy; do
            rc=0
            label="${ctl:+-e ppolicy}"
            out="$(ldapc ldapwhoami -x -H "$LDAP_URL" -D "$(ldap_dn "$who")" -w "$USER_PASSWORD" \
                ${ctl:+-e "$ctl"} 2>&1)" || rc=$?
            printf '  LDAP %-16s %-12s rc=%s %s\n' "$who" "${label:-no control}" "$rc" \
                "$(one_line <<<"$out")"
            case "$who/$ctl/$rc" in
                user-locked//49 | user-mustchange//0 | alice//0 | alice/ppolicy/0) ;;
                user-locked/ppolicy/49) [[ "$out" == *"Account locked"* ]] || bad+=" $who(ppolicy)" ;;
                user-mustchange/ppolicy/0) [[ "$out" == *"Password must be changed"* ]] || bad+=" $who(ppolicy)" ;;
                *) bad+=" $who(${ctl:-plain})" ;;
            esac
        done
    done
    [[ -z "$bad" || "$mode" != strict ]] || die "unexpected OpenLDAP bind results for:$bad"
}

ol_ensure_running() {
    local key t
    key="$(ol_seed_key)"
    if ol_healthy && [[ "$(cat "$OL_DIR/seed-key" 2>/dev/null || true)" == "$key" ]]; then
        log "OpenLDAP slapd already running (pid $(ol_pid))"
        return 0
    fi
    ol_stop
    require_ports_free "OpenLDAP" "${LDAP_PORTS[@]}"
    t="$(now)"
    log "creating and seeding a private OpenLDAP in $OL_DIR"
    ol_create
    printf '%s\n' "$key" >"$OL_DIR/seed-key"
    ol_check_accounts strict >/dev/null
    [[ "$(ol_search "ou=people,$LDAP_BASE" "(uid=alice)" memberOf | grep -c '^memberOf:')" == 2 ]] ||
        die "OpenLDAP's memberof overlay did not give alice her 2 groups"
    log "OpenLDAP created, seeded and started in $(since "$t")"
}

# --- Environment --------------------------------------------------------------------

print_env() {
    local name value
    while IFS='=' read -r name value; do
        printf 'export %s=%s\n' "$name" "$(shell_quote "$value")"
    done <<EOF
TESSERA_TEST_AD_URL=$AD_URL
TESSERA_TEST_AD_STARTTLS_URL=$AD_STARTTLS_URL
TESSERA_TEST_AD_BASE=$AD_OU
TESSERA_TEST_AD_BIND_DN=$(ad_dn "$SVC_LOGIN")
TESSERA_TEST_AD_BIND_PASSWORD=$SVC_PASSWORD
TESSERA_TEST_LDAP_URL=$LDAP_URL
TESSERA_TEST_LDAPS_URL=$LDAPS_URL
TESSERA_TEST_LDAP_BASE=$LDAP_BASE
TESSERA_TEST_LDAP_BIND_DN=$LDAP_SVC_DN
TESSERA_TEST_LDAP_BIND_PASSWORD=$SVC_PASSWORD
TESSERA_TEST_DIRECTORY_CA=$CA_PEM
TESSERA_TEST_USER_PASSWORD=$USER_PASSWORD
EOF
}

write_env_file() {
    local tmp="$ENV_FILE.tmp.$$"
    {
        echo "# Written by scripts/directory.sh start: source it for Tessera's LDAP tests."
        print_env
    } >"$tmp"
    mv "$tmp" "$ENV_FILE"
}

# --- Commands -----------------------------------------------------------------------

need_root() {
    [[ $EUID -eq 0 ]] && return 0
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        exec sudo -n "$SCRIPT_PATH" "$@"
    fi
    die "this needs root (Samba's provisioning and the AD ports below 1024); run it as root or with passwordless sudo"
}

with_lock() {
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    flock -w 600 9 || die "another scripts/directory.sh holds $STATE/.lock"
}

cmd_start() {
    local t
    t="$(now)"
    with_lock
    ensure_packages
    ensure_tls
    samba_ensure_running
    ol_ensure_running
    write_env_file
    log "both directories ready in $(since "$t"); environment in $ENV_FILE"
    print_env
}

cmd_stop() {
    with_lock
    local stopped=""
    samba_pid >/dev/null && { samba_stop; stopped+=" Samba"; }
    ol_pid >/dev/null && { ol_stop; stopped+=" OpenLDAP"; }
    log "stopped:${stopped:- nothing was running}"
}

cmd_status() {
    local pid ok=0
    if pid="$(samba_pid)"; then
        if samba_healthy; then
            echo "Samba AD DC: running (pid $pid), answering on $AD_URL and $AD_STARTTLS_URL (StartTLS)"
        else
            echo "Samba AD DC: running (pid $pid) but NOT answering a service-account bind on $AD_URL"
            ok=1
        fi
    else
        echo "Samba AD DC: stopped"
        ok=1
    fi
    if pid="$(ol_pid)"; then
        if ol_healthy; then
            echo "OpenLDAP slapd: running (pid $pid), answering on $LDAP_URL and $LDAPS_URL"
        else
            echo "OpenLDAP slapd: running (pid $pid) but NOT answering a service-account bind on $LDAPS_URL"
            ok=1
        fi
    else
        echo "OpenLDAP slapd: stopped"
        ok=1
    fi
    return "$ok"
}

cmd_verify() {
    local alice_dn jsmith_filter_dn out rc
    samba_healthy || die "Samba is not running: run scripts/directory.sh start"
    ol_healthy || die "OpenLDAP is not running: run scripts/directory.sh start"
    echo "Samba AD (binds over $AD_URL unless said otherwise):"
    samba_check_transport
    samba_check_accounts
    printf '  AD %-16s wrong password: %s\n' alice "$(try_bind "$AD_URL" "alice@$AD_DNS_DOMAIN" wrong)"
    printf '  AD %-16s bare login: %s\n' alice "$(try_bind "$AD_URL" alice "$USER_PASSWORD")"
    printf '  AD %-16s UPN: %s\n' alice "$(try_bind "$AD_URL" "alice@$AD_DNS_DOMAIN" "$USER_PASSWORD")"
    printf '  AD %-16s DOMAIN\\login: %s\n' alice "$(try_bind "$AD_URL" "$AD_DOMAIN\\alice" "$USER_PASSWORD")"
    printf '  AD %-16s DN: %s\n' jsmith "$(try_bind "$AD_URL" "$(ad_dn jsmith)" "$USER_PASSWORD")"
    printf '  AD %-16s wrong password: %s\n' user-locked \
        "$(try_bind "$AD_URL" "user-locked@$AD_DNS_DOMAIN" Wrong-1 | grep -o 'rc=[0-9]*\|data [0-9a-f]*' | paste -sd ' ' -)"
    printf '  AD %-16s wrong password: %s\n' user-disabled \
        "$(try_bind "$AD_URL" "user-disabled@$AD_DNS_DOMAIN" Wrong-1 | grep -o 'rc=[0-9]*\|data [0-9a-f]*' | paste -sd ' ' -)"
    printf '  AD %-16s UPN: %s\n' zoe "$(try_bind "$AD_URL" "zoe@$AD_DNS_DOMAIN" "$USER_PASSWORD")"
    alice_dn="$(ad_dn alice)"
    echo "  AD groups of alice, in chain (member:1.2.840.113556.1.4.1941:=$alice_dn):"
    ad_search "$AD_OU" "(member:1.2.840.113556.1.4.1941:=$alice_dn)" 1.1 | sed -n 's/^dn: /    /p'
    # In a filter, the DN's backslash must itself be escaped (\5c).
    jsmith_filter_dn="$(ad_dn jsmith)"
    jsmith_filter_dn="${jsmith_filter_dn//\\/\\5c}"
    echo "  AD groups of jsmith, in chain (filter value $jsmith_filter_dn):"
    ad_search "$AD_OU" "(member:1.2.840.113556.1.4.1941:=$jsmith_filter_dn)" 1.1 | sed -n 's/^dn: /    /p'
    echo "  AD memberOf of alice, bob and jsmith (direct groups only):"
    ad_search "$AD_OU" "(|(sAMAccountName=alice)(sAMAccountName=bob)(sAMAccountName=jsmith))" memberOf | sed -n '/./s/^/    /p'
    echo "OpenLDAP (binds over $LDAP_URL unless said otherwise):"
    printf '  LDAP svc plain: %s\n' "$(ldapc ldapwhoami -x -H "$LDAP_URL" -D "$LDAP_SVC_DN" -w "$SVC_PASSWORD" 2>&1)"
    printf '  LDAP svc StartTLS: %s\n' "$(ldapc ldapwhoami -x -ZZ -H "$LDAP_URL" -D "$LDAP_SVC_DN" -w "$SVC_PASSWORD" 2>&1)"
    printf '  LDAP svc LDAPS: %s\n' "$(ldapc ldapwhoami -x -H "$LDAPS_URL" -D "$LDAP_SVC_DN" -w "$SVC_PASSWORD" 2>&1)"
    ol_check_accounts
    echo "  LDAP memberOf of alice and jsmith (direct groups only):"
    ol_search "ou=people,$LDAP_BASE" "(|(uid=alice)(uid=jsmith))" memberOf | sed -n '/./s/^/    /p'
    rc=0
    out="$(ol_search "ou=groups,$LDAP_BASE" "(member:1.2.840.113556.1.4.1941:=$(ldap_dn alice))" 1.1 2>&1)" || rc=$?
    printf '  LDAP in-chain rule for alice: rc=%s, %s entries\n' "$rc" "$(grep -c '^dn:' <<<"$out" || true)"
    rc=0
    out="$(ldapc ldapsearch -x -LLL -H "$LDAP_URL" -D "$(ldap_dn user-mustchange)" -w "$USER_PASSWORD" \
        -b "$(ldap_dn user-mustchange)" -s base cn 2>&1)" || rc=$?
    printf '  LDAP user-mustchange search after bind: rc=%s %s\n' "$rc" "$(one_line <<<"$out")"
}

main() {
    case "${1:-}" in
        start) need_root "$@"; cmd_start ;;
        stop) need_root "$@"; cmd_stop ;;
        status) cmd_status ;;
        env) print_env ;;
        verify) cmd_verify ;;
        -h | --help | help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
