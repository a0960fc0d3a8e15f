"""A peer that behaves like the original django-udp-discovery-client (seed-system.md section 4).

Written for beckon's tests from the documented behaviour. Standard library only.

  original_client.py parse PREFIX_HEX      reads hex datagrams on stdin, prints one JSON result a line
  original_client.py discover [--port N] [--timeout S] [--message M] [--prefix P] [--broadcast ADDR]...
"""
import argparse
import json
import socket
import sys
import time


def parse_reply(data, prefix):
    """The original client's parser: returns (ip, port) or None."""
    if not data.startswith(prefix):
        return None
    text = data[len(prefix):].decode("utf-8", errors="ignore").strip()
    if ":" in text:
        head, tail = text.split(":", 1)
        ip = head.strip()
        try:
            port = int(tail.strip())
        except ValueError:
            return None
        if port < 1 or port > 65535:
            return None
    else:
        ip = text.strip()
        port = 8000
    if not ip:
        return None
    pieces = ip.split(".")
    if len(pieces) != 4:
        return None
    try:
        for piece in pieces:
            if not 0 <= int(piece) <= 255:
                return None
    except ValueError:
        return None
    return ip, port


def cmd_parse(prefix_hex):
    prefix = bytes.fromhex(prefix_hex)
    for line in sys.stdin:
        data = bytes.fromhex(line.strip())[:4096]
        result = parse_reply(data, prefix)
        print(json.dumps(None if result is None else [result[0], result[1]]))


def cmd_discover(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.settimeout(args.timeout)
    for address in args.broadcast:
        sock.sendto(args.message.encode(), (address, args.port))
    found, seen = [], set()
    while True:
        try:
            data, addr = sock.recvfrom(4096)
        except socket.timeout:
            break
        parsed = parse_reply(data, args.prefix.encode())
        if parsed is None or parsed in seen:
            continue
        seen.add(parsed)
        found.append({"ip": parsed[0], "port": parsed[1], "source": addr[0]})
    print(json.dumps(found))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "parse":
        cmd_parse(sys.argv[2])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["discover"])
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--message", default="DISCOVER_SERVER")
    parser.add_argument("--prefix", default="SERVER_IP:")
    parser.add_argument("--broadcast", action="append", default=[])
    cmd_discover(parser.parse_args())


if __name__ == "__main__":
    main()
