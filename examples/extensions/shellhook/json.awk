# json.awk: check one JSON document and flatten it, one line per value:
#
#   PATH <TAB> TYPE <TAB> TOKEN <TAB> CHARS
#
# PATH is the keys from the root joined by dots, list indexes in brackets (settings.message,
# items[0]); the root's path is empty. TYPE is o (object), a (array), s (string), n (number),
# b (boolean) or z (null). TOKEN is the value as JSON, for a string in one canonical spelling
# (escapes decoded, then only '"', '\' and control characters escaped) so that equal strings
# compare equal; objects and arrays have none. CHARS is a string's length in characters.
# A key in a path is spelled canonically too, without its quotes.
#
# Exits 1 with the reason on standard error when the input is not JSON. busybox awk counts
# bytes, not characters: a string's characters are counted by skipping UTF-8 continuation bytes.

BEGIN {
    TAB = "\t"
    HEX = "0123456789abcdef"
    CONTINUATION = "[" sprintf("%c", 128) "-" sprintf("%c", 191) "]"
    CONTROL = "[" sprintf("%c", 1) "-" sprintf("%c", 31) "]"
}

{ doc = doc $0 "\n" }

END {
    pos = 1; size = length(doc)
    value("")
    space()
    if (pos <= size) fail("text after the document")
}

function fail(why) {
    printf "%s at byte %d\n", why, pos > "/dev/stderr"
    exit 1
}

function space() {
    while (pos <= size && index(" \t\n\r", substr(doc, pos, 1))) pos++
}

function emit(path, type, token, chars) {
    print path TAB type TAB token TAB chars
}

function value(path,    c, n, key, token) {
    space()
    c = substr(doc, pos, 1)
    if (c == "{") {
        emit(path, "o")
        pos++; space()
        if (substr(doc, pos, 1) == "}") { pos++; return }
        while (1) {
            space()
            if (substr(doc, pos, 1) != "\"") fail("a key expected")
            key = string()
            key = substr(key, 2, length(key) - 2)
            space()
            if (substr(doc, pos++, 1) != ":") fail("':' expected")
            value(path == "" ? key : path "." key)
            space()
            c = substr(doc, pos++, 1)
            if (c == "}") return
            if (c != ",") fail("',' or '}' expected")
        }
    }
    if (c == "[") {
        emit(path, "a")
        pos++; space()
        if (substr(doc, pos, 1) == "]") { pos++; return }
        for (n = 0; ; n++) {
            value(path "[" n "]")
            space()
            c = substr(doc, pos++, 1)
            if (c == "]") return
            if (c != ",") fail("',' or ']' expected")
        }
    }
    if (c == "\"") {
        token = string()
        emit(path, "s", token, CHARS)
        return
    }
    if (match(substr(doc, pos, 5), /^(true|false|null)/)) {
        emit(path, substr(doc, pos, 1) == "n" ? "z" : "b", substr(doc, pos, RLENGTH))
    } else if (match(substr(doc, pos, 400), /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/)) {
        emit(path, "n", substr(doc, pos, RLENGTH))
    } else {
        fail("a value expected")
    }
    pos += RLENGTH
}

# string: read the string at pos; return it spelled canonically, its length in CHARS.
function string(    out, run, c, e, code, low) {
    out = "\""; CHARS = 0; pos++
    while (1) {
        match(substr(doc, pos), /^[^"\\]*/)
        run = substr(doc, pos, RLENGTH)
        if (run ~ CONTROL) fail("a control character in a string")
        out = out run; pos += RLENGTH
        CHARS += length(run) - gsub(CONTINUATION, "", run)
        c = substr(doc, pos++, 1)
        if (c == "\"") return out "\""
        if (c != "\\") fail("a string without its end")
        e = substr(doc, pos++, 1); CHARS++
        if (e == "/") out = out "/"
        else if (index("\"\\bfnrt", e) && e != "") out = out "\\" e
        else if (e == "u") {
            code = hex4()
            # A surrogate pair is one character, written as two escapes.
            if (code >= 55296 && code < 56320 && substr(doc, pos, 2) == "\\u") {
                pos += 2; low = hex4()
                if (low >= 56320 && low < 57344) code = 65536 + (code - 55296) * 1024 + low - 56320
                else { out = out escape(code); code = low }
            }
            out = out (code < 32 || code == 34 || code == 92 || (code >= 55296 && code < 57344) \
                ? escape(code) : utf8(code))
        }
        else fail("a bad escape in a string")
    }
}

function hex4(    i, d, code) {
    code = 0
    for (i = 0; i < 4; i++) {
        d = index(HEX, tolower(substr(doc, pos++, 1)))
        if (!d) fail("a bad \\u escape")
        code = code * 16 + d - 1
    }
    return code
}

function escape(code) {
    if (code == 34) return "\\\""
    if (code == 92) return "\\\\"
    if (code == 8) return "\\b"
    if (code == 9) return "\\t"
    if (code == 10) return "\\n"
    if (code == 12) return "\\f"
    if (code == 13) return "\\r"
    return sprintf("\\u%04x", code)
}

function utf8(code) {
    if (code < 128) return sprintf("%c", code)
    if (code < 2048) return sprintf("%c%c", 192 + int(code / 64), 128 + code % 64)
    if (code < 65536)
        return sprintf("%c%c%c", 224 + int(code / 4096), 128 + int(code / 64) % 64, 128 + code % 64)
    return sprintf("%c%c%c%c", 240 + int(code / 262144), 128 + int(code / 4096) % 64,
        128 + int(code / 64) % 64, 128 + code % 64)
}
