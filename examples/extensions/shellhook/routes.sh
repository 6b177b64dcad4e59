# shellcheck shell=sh
# routes.sh: the routes of the contract, and what shellhook does; sourced by handler.sh.
#
# A subscription is one line in a file named by the hash of its id: the id, namespace, pipeline
# and message as JSON strings, separated by tabs. Each webhook sent to it starts a run of its
# pipeline through the Hostler API.

EVENTS="/api/v1/extensions/$NAME/events"
HINT="extension '$NAME' takes one setting, message: a text of at most 200 characters"
MESSAGE='{"type":"string","maxLength":200,"default":"","title":"Message",'
MESSAGE=$MESSAGE'"description":"The text each run gets as SHELLHOOK_MESSAGE."}'
SCHEMA='{"type":"object","title":"Settings","additionalProperties":false,'
SCHEMA=$SCHEMA'"properties":{"message":'$MESSAGE'}}'
DESCRIPTION="Start a run of the subscribing pipeline for each webhook sent to it."

route() { # METHOD PATH: answer the request
    case $2 in
        /api/info | /api/health) allowed=GET ;;
        /api/subscribe | /api/unsubscribe | /api/external-event | /api/shutdown) allowed=POST ;;
        *) problem 404 not_found "route '$1 $2': not found" "" \
            "docs/extensions/contract.json lists the routes of the contract" ;;
    esac
    if [ "$1" != "$allowed" ]; then
        extra="Allow: $allowed$CR
"
        problem 405 method_not_allowed "route '$1 $2': method not allowed"
    fi
    [ "$2" = /api/health ] || authenticate
    case $2 in
        /api/health) reply 200 application/json '{"status":"ok"}' ;;
        /api/info) reply 200 application/json "$(info)" ;;
        /api/subscribe) body && subscribe ;;
        /api/unsubscribe) body && unsubscribe ;;
        /api/external-event) body && external_event ;;
        /api/shutdown)
            reply 200 application/json '{"status":"stopping"}'
            kill -TERM "$SHELLHOOK_SERVER" ;;
    esac
}

authenticate() { # refuse the request unless it carries 'Authorization: Bearer <key>'
    case $auth in [Bb][Ee][Aa][Rr][Ee][Rr]' '*) key=${auth#* } ;; *) key='' ;; esac
    key=${key#"${key%%[! ]*}"}
    key=${key%"${key##*[! ]}"}
    if [ -z "$key" ] || [ "$key" != "$HOSTLER_EXTENSION_SYSTEM_KEY" ]; then
        extra="WWW-Authenticate: Bearer$CR
"
        problem 401 unauthenticated "request: no valid key" "" \
            "send 'Authorization: Bearer <key>', the key of HOSTLER_EXTENSION_SYSTEM_KEY"
    fi
}

info() {
    printf '{"name":"%s","version":"%s","kind":"trigger","description":"%s",' \
        "$NAME" "$SHELLHOOK_VERSION" "$DESCRIPTION"
    printf '"settings_schema":%s,"config":[],"contract":1}' "$SCHEMA"
}

body() { # flatten the body, a JSON object, into $TMP/flat; refuse anything else
    [ "$length" -ge 0 ] ||
        problem 400 bad_request "request: header 'Content-Length' is not a byte count"
    [ "$length" -le "$LIMIT" ] ||
        problem 413 too_large "request body: $length bytes, over the limit of $LIMIT" "" \
            "send a smaller body"
    if [ "$length" -eq 0 ]; then
        printf '\to\t\t\n' >"$TMP/flat" # no body: an empty object
    elif ! awk -f "$HERE/json.awk" "$TMP/body" >"$TMP/flat" 2>"$TMP/why"; then
        problem 400 bad_request "request body: not JSON ($(cat "$TMP/why"))" "" \
            "send a JSON object with 'Content-Type: application/json'"
    fi
    get ''
    [ "$type" = o ] || problem 422 invalid_argument "request body: not a JSON object"
}

subscribe() {
    text namespace 1 && ns=$value
    text pipeline 1 && pipeline=$value
    text subscription 1 200 && sub=$value && id=${sub#\"} && id=${id%\"}
    get settings
    case $type in '' | o) ;; *) invalid settings "field 'settings': not an object" ;; esac
    get settings.message
    case $type in
        '') message='""' ;;
        s) [ "$chars" -le 200 ] || invalid settings.message \
            "setting 'message' of subscription '$id': longer than 200 characters" "$HINT"
           message=$value ;;
        *) invalid settings.message \
            "setting 'message' of subscription '$id': not a string" "$HINT" ;;
    esac
    other=$(awk -F "$TAB" '$1 ~ /^settings\./ && $1 != "settings.message" { print $1; exit }' \
        "$TMP/flat")
    [ -z "$other" ] || invalid "$other" \
        "setting '${other#settings.}' of subscription '$id': not a known setting" "$HINT"
    get dry_run
    case $type in '' | b) dry=$value ;; *) invalid dry_run "field 'dry_run': not a boolean" ;; esac

    record="$sub$TAB$ns$TAB$pipeline$TAB$message"
    file=$(file "$sub")
    if [ ! -f "$file" ]; then result=created
    elif [ "$(cat "$file")" = "$record" ]; then result=unchanged
    else result=changed
    fi
    if [ "$dry" != true ] && [ "$result" != unchanged ]; then
        printf '%s\n' "$record" >"$TMP/record" && mv "$TMP/record" "$file" # a rename: atomic
    fi
    logged=",\"subscription\":$sub,\"result\":\"$result\",\"dry_run\":${dry:-false}"
    reply 200 application/json "{\"subscription\":$sub,\"result\":\"$result\",\
\"description\":\"on each webhook to $EVENTS/$id\",\"next_fires\":[]}"
}

unsubscribe() {
    text namespace 1 && text pipeline 1 && text subscription 1 && sub=$value
    if mv "$(file "$sub")" "$TMP/gone" 2>/dev/null; then result=removed; else result=unchanged; fi
    logged=",\"subscription\":$sub,\"result\":\"$result\""
    reply 200 application/json "{\"subscription\":$sub,\"result\":\"$result\"}"
}

event() { # STATUS BODY: answer an external event with what Hostler is to answer its sender
    logged="$logged,\"answer\":$1"
    reply 200 application/json "{\"status\":$1,\"body\":$2}"
    exit 0
}

external_event() {
    text method 0 && text path 0 # required by the contract; shellhook takes any
    get subscription
    case $type in
        s) sub=$value && id=${sub#\"} && id=${id%\"} && logged=",\"subscription\":$sub" ;;
        z) event 404 "$(document 404 not_found \
            "extension '$NAME': an event must name a subscription" "" \
            "send the event to a pipeline's trigger: $EVENTS/NAMESPACE/PIPELINE/TRIGGER")" ;;
        '') invalid subscription "field 'subscription': is required" ;;
        *) invalid subscription "field 'subscription': not a string" ;;
    esac
    { IFS=$TAB read -r _ ns pipeline message; } 2>/dev/null <"$(file "$sub")" ||
        event 404 "$(document 404 not_found \
            "subscription '$id': not subscribed to extension '$NAME'" "" \
            "the pipeline's trigger may have been removed")"

    # Start a run: POST /api/v1/namespaces/NS/pipelines/PIPELINE/runs {"variables": {...}},
    # with the extension's token when it has one.
    ns=${ns#\"} && ns=${ns%\"} && pipeline=${pipeline#\"} && pipeline=${pipeline%\"}
    variables="\"HOSTLER_TRIGGER\":\"$NAME\",\"HOSTLER_SUBSCRIPTION\":$sub"
    variables="$variables,\"SHELLHOOK_VERSION\":\"$SHELLHOOK_VERSION\""
    variables="$variables,\"SHELLHOOK_MESSAGE\":$message"
    set -- --header "Content-Type: application/json"
    if [ -n "${HOSTLER_EXTENSION_SYSTEM_TOKEN:-}" ]; then
        set -- "$@" --header "Authorization: Bearer $HOSTLER_EXTENSION_SYSTEM_TOKEN"
    fi
    timeout 30 wget -q -O "$TMP/run" "$@" --post-data "{\"variables\":{$variables}}" \
        "${HOSTLER_EXTENSION_SYSTEM_URL%/}/api/v1/namespaces/$ns/pipelines/$pipeline/runs" \
        2>"$TMP/why"
    failed=$?
    run=$(awk -f "$HERE/json.awk" "$TMP/run" 2>/dev/null |
        awk -F "$TAB" '$1 == "id" && $2 == "n" { print $3 }')
    if [ -z "$run" ]; then
        why=$(sed -n '$s/^wget: //p' "$TMP/why")
        if [ -z "$why" ] && [ "$failed" -ne 0 ]; then why="no answer within 30 s"; fi
        why=${why:-"no run in Hostler's answer"}
        level=warning logged="$logged,\"detail\":$(quote "$why")"
        event 502 "$(document 502 bad_gateway \
            "pipeline '$ns/$pipeline': run not started: $why" "" \
            "Hostler refused the run or could not be reached; send the event again later")"
    fi
    logged="$logged,\"run\":$run"
    event 202 "{\"run\":$run}"
}
