#!/bin/sh
# handler.sh: answer one request of the Hostler extension contract (docs/extensions.md), read
# on standard input and answered on standard output: busybox nc runs one per connection.
# HTTP/1.0, as the Python SDK speaks it: one request per connection, answered with
# Content-Length and Connection: close. The routes are in routes.sh; json.awk reads bodies.
set -u

HERE=$(dirname "$0")
NAME=$SHELLHOOK_NAME
STATE=$SHELLHOOK_STATE
LIMIT=4194304 # bytes; Hostler sends webhooks of up to 1 MiB, base64-encoded
TAB=$(printf '\t')
CR=$(printf '\r')
# A directory of the request's own; serve.sh, stopping, waits for those of requests in flight.
TMP=$(mktemp -d "$STATE/inflight/XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
method='' path='' level=info logged='' extra=''

quote() { # TEXT: TEXT as a JSON string of printable ASCII; null when empty
    [ -n "$1" ] || { printf null && return; }
    printf '"%s"' "$(printf %s "$1" | tr -cd ' -~' | sed 's/[\\"]/\\&/g')"
}

log() { # EVENT: one JSON line at $level, with the fields in $logged, on fd 3 (see serve.sh)
    printf '{"timestamp":"%s","level":"%s","logger":"%s","event":"%s","method":%s,"path":%s%s}\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$level" "$NAME" "$1" "$(quote "$method")" \
        "$(quote "$path")" "$logged" >&3
}

reply() { # STATUS MEDIA-TYPE BODY: answer the request, with the headers in $extra; log it
    case $1 in
        200) phrase=OK ;; 400) phrase="Bad Request" ;; 401) phrase=Unauthorized ;;
        404) phrase="Not Found" ;; 405) phrase="Method Not Allowed" ;;
        413) phrase="Content Too Large" ;; *) phrase="Unprocessable Content" ;;
    esac
    printf 'HTTP/1.0 %s %s\r\nContent-Type: %s\r\n' "$1" "$phrase" "$2"
    printf 'Content-Length: %s\r\nConnection: close\r\n%s\r\n%s' "${#3}" "$extra" "$3"
    logged="$logged,\"status\":$1"
    log "request answered"
}

document() { # STATUS CODE DETAIL [FIELD] [HINT]: a problem document, as the Hostler API's
    case $2 in
        bad_request) title="Bad request" ;; unauthenticated) title=Unauthenticated ;;
        not_found) title="Not found" ;; method_not_allowed) title="Method not allowed" ;;
        too_large) title="Too large" ;; invalid_argument) title="Invalid argument" ;;
        *) title="Bad gateway" ;;
    esac
    printf '{"type":"https://hostler.dev/problems/%s","title":"%s","status":%s,' "$2" "$title" "$1"
    printf '"detail":%s,"code":"%s","field":%s,"hint":%s}' \
        "$(quote "$3")" "$2" "$(quote "${4:-}")" "$(quote "${5:-}")"
}

problem() { # STATUS CODE DETAIL [FIELD] [HINT]: answer a problem document, and end
    reply "$1" application/problem+json "$(document "$@")"
    exit 0
}

invalid() { # FIELD DETAIL [HINT]: refuse the request with 422, naming FIELD
    problem 422 invalid_argument "$2" "$1" "${3:-}"
}

get() { # PATH: set $type (empty when absent), $value and $chars of PATH in the body
    IFS=$TAB read -r type value chars <<EOF
$(awk -F "$TAB" -v p="$1" '$1 == p { line = $2 FS $3 FS $4 } END { print line }' "$TMP/flat")
EOF
}

text() { # FIELD MIN [MAX]: set $value to the string FIELD of the body, of MIN to MAX characters
    get "$1"
    case $type in
        s) ;;
        '') invalid "$1" "field '$1': is required" ;;
        *) invalid "$1" "field '$1': not a string" ;;
    esac
    [ "$chars" -ge "$2" ] || invalid "$1" "field '$1': shorter than $2 characters"
    [ "$chars" -le "${3:-$chars}" ] || invalid "$1" "field '$1': longer than $3 characters"
}

file() { # TOKEN: the file of the subscription whose id is TOKEN, a JSON string
    echo "$STATE/subscriptions/$(printf %s "$1" | sha256sum | cut -c1-64)"
}

# shellcheck source=routes.sh
. "$HERE/routes.sh"

# The request line and the headers, each line ended by CRLF. Give up on a silent client (read -t
# is busybox ash's, as nc -e, timeout and sha256sum are busybox's: the scripts need busybox).
# shellcheck disable=SC3045
read -t 30 -r method target _ || exit 0
path=${target%%\?*}
length=0 auth=''
# shellcheck disable=SC3045
while IFS= read -t 30 -r line && line=${line%"$CR"} && [ -n "$line" ]; do
    value=${line#*:}
    value=${value#"${value%%[! ]*}"}
    case $(printf %s "${line%%:*}" | tr '[:upper:]' '[:lower:]') in
        content-length) length=$value ;;
        authorization) auth=$value ;;
    esac
done

# Read the whole body before answering: a connection closed on unread bytes is reset, and the
# client would not see the answer.
case $length in '' | *[!0-9]*) length=-1 ;; esac
if [ "$length" -gt "$LIMIT" ]; then
    timeout 30 head -c $((LIMIT + 1048576)) >/dev/null
elif [ "$length" -gt 0 ]; then
    timeout 30 head -c "$length" >"$TMP/body"
fi

route "$method" "$path"
