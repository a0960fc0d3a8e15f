"""Asks this Python which characters its str.strip() and int() treat specially.

Written for beckon's tests (test/protocol/plain.test.ts). The original client parses a reply
with str.strip() and int(); rather than list the characters those treat specially (a list
missed \\x1c-\\x1f once), this probes every code point by behaviour and prints one JSON object:

  {"python": sys.version, "unicode": unicodedata.unidata_version,
   "special": [[code point, strip, lead, trail, inner, alone], ...],
   "unassigned": [[first, last], ...]}

For a character c: strip is whether (c + "x" + c).strip() == "x"; lead, trail, inner and alone
are int(c + "1"), int("1" + c), int("1" + c + "1") and int(c), or null where int() raises
ValueError. A character is special when strip is true or any of the int() probes succeeds.
"unassigned" lists the ranges of code points this Python's Unicode database does not know
(category Cn), so that a test can tell a newer Unicode version from a real difference.
Surrogates (U+D800-U+DFFF) are left out: UTF-8 cannot carry them.
"""
import json
import sys
import unicodedata


def to_int(text):
    try:
        return int(text)
    except ValueError:
        return None


def main():
    special = []
    unassigned = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if unicodedata.category(c) == "Cn":
            if unassigned and unassigned[-1][1] == cp - 1:
                unassigned[-1][1] = cp
            else:
                unassigned.append([cp, cp])
        strip = (c + "x" + c).strip() == "x"
        probes = [to_int(c + "1"), to_int("1" + c), to_int("1" + c + "1")]
        if strip or any(p is not None for p in probes):
            special.append([cp, strip, *probes, to_int(c)])
    json.dump(
        {
            "python": sys.version,
            "unicode": unicodedata.unidata_version,
            "special": special,
            "unassigned": unassigned,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
