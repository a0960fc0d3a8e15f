"""Stand-in for the original django-udp-discovery server, for bench/responder.ts.

Same shape as the original: one blocking socket, a 1 s timeout and a single
recvfrom/sendto loop. Usage: python3 python_listener.py <port>  (0 picks one).
"""

import signal
import socket
import sys

running = True


def stop(_signum, _frame):
    global running
    running = False


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    signal.signal(signal.SIGTERM, stop)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(1.0)
    print(f"ready {sock.getsockname()[1]}", flush=True)
    try:
        while running:
            try:
                data, addr = sock.recvfrom(1024)
            except socket.timeout:
                continue
            except InterruptedError:
                continue
            if data == b"DISCOVER_SERVER":
                sock.sendto(b"SERVER_IP:127.0.0.1", addr)
    finally:
        sock.close()


if __name__ == "__main__":
    main()
