#!/bin/sh
# serve.sh: the shellhook extension's server, started by Hostler with HOSTLER_EXTENSION_SYSTEM_*
# set. busybox nc accepts the connections and runs handler.sh for each, in a process of its own.
# It runs as PID 1 in its container, which ignores the signals it has no handler for: SIGTERM and
# SIGINT are trapped to stop nc, let the requests in flight end, and exit 0.
set -eu

log() { # LEVEL EVENT [FIELDS]: one JSON line on standard output
    printf '{"timestamp":"%s","level":"%s","logger":"%s","event":"%s"%s}\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$SHELLHOOK_NAME" "$2" "${3:-}"
}

misconfigured() { # VARIABLE WHAT: refuse to start, with 2 as the SDK: restarting won't help
    log error "extension cannot start" ",\"detail\":\"environment variable '$1': $2\""
    exit 2
}

# shellcheck disable=SC2317 # run by the trap below
stop() {
    kill "$nc" 2>/dev/null || :
    # Wait up to 4 s for the requests in flight (each holds a directory in inflight/): Hostler
    # kills an extension 5 s after asking it to stop.
    i=0
    while [ -n "$(ls -A "$SHELLHOOK_STATE/inflight")" ] && [ "$i" -lt 40 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    log info "extension stopped"
    exit 0
}

nc=''
trap stop TERM INT

export SHELLHOOK_NAME=shellhook # the logger until the name given is checked
export SHELLHOOK_VERSION="${SHELLHOOK_VERSION:-0.0.0}" # set by the image
export SHELLHOOK_STATE="${SHELLHOOK_STATE:-/tmp/shellhook}"
export SHELLHOOK_SERVER=$$ # handler.sh signals it on POST /api/shutdown

name=${HOSTLER_EXTENSION_SYSTEM_NAME:-shellhook}
awk -v name="$name" 'BEGIN { exit !(name ~ /^[a-z][a-z0-9-]*$/ && length(name) < 64) }' ||
    misconfigured HOSTLER_EXTENSION_SYSTEM_NAME "not lower-case letters, digits and dashes"
SHELLHOOK_NAME=$name
port=${HOSTLER_EXTENSION_SYSTEM_PORT:-}
case $port in '' | *[!0-9]*) misconfigured HOSTLER_EXTENSION_SYSTEM_PORT "not a number" ;; esac
# Not 0 (any free port): nc would not tell which one it took.
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    misconfigured HOSTLER_EXTENSION_SYSTEM_PORT "not 1 to 65535"
fi
[ -n "${HOSTLER_EXTENSION_SYSTEM_KEY:-}" ] ||
    misconfigured HOSTLER_EXTENSION_SYSTEM_KEY "is required"
[ -n "${HOSTLER_EXTENSION_SYSTEM_URL:-}" ] ||
    misconfigured HOSTLER_EXTENSION_SYSTEM_URL "is required"

# Subscriptions live as long as the process: Hostler sends them all again after a restart.
rm -rf "$SHELLHOOK_STATE/subscriptions" "$SHELLHOOK_STATE/inflight"
mkdir -p "$SHELLHOOK_STATE/subscriptions" "$SHELLHOOK_STATE/inflight"

# busybox nc listens on every address (it has no option to bind one), so
# HOSTLER_EXTENSION_SYSTEM_HOST is ignored: the key guards every route but health. -ll keeps
# listening after a connection. The handlers log on fd 3: this script's standard output.
exec 3>&1
nc -ll -p "$port" -e "$(cd "$(dirname "$0")" && pwd)/handler.sh" &
nc=$!
log info "extension started" ",\"port\":$port,\"version\":\"$SHELLHOOK_VERSION\""
status=0
wait "$nc" || status=$?
log error "extension cannot listen" ",\"status\":$status" # nc said why on standard error
exit 1
