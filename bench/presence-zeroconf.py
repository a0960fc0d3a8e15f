"""python-zeroconf beside beckon for bench/presence.ts (Debian's python3-zeroconf).

  presence-zeroconf.py register NAME IP PORT [TTL]  registers NAME._beckonbench._tcp.local.
      (records' TTL: python-zeroconf's default 4500 s for PTR/SRV/TXT, or TTL), prints
      "registered", then runs until killed (SIGTERM unregisters it: its goodbye).
  presence-zeroconf.py browse                       a ServiceBrowser for _beckonbench._tcp,
      printing one JSON line per event: {"event": "up"|"down"|"update", "name", "at"} (epoch ms).
"""

import json
import signal
import sys
import time

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

TYPE = "_beckonbench._tcp.local."
EVENTS = {
    ServiceStateChange.Added: "up",
    ServiceStateChange.Removed: "down",
    ServiceStateChange.Updated: "update",
}


def line(value):
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def register(name, ip, port, ttl):
    zc = Zeroconf(ip_version=IPVersion.V4Only)
    ttls = {} if ttl is None else {"host_ttl": ttl, "other_ttl": ttl}
    info = ServiceInfo(
        TYPE,
        f"{name}.{TYPE}",
        port=port,
        parsed_addresses=[ip],
        server=f"{name}.local.",
        **ttls,
    )
    zc.register_service(info)
    line({"event": "registered", "at": time.time() * 1000})

    def stop(*_):
        zc.unregister_service(info)
        zc.close()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    while True:
        time.sleep(3600)


def browse():
    zc = Zeroconf(ip_version=IPVersion.V4Only)

    def handler(zeroconf, service_type, name, state_change):
        line({"event": EVENTS[state_change], "name": name, "at": time.time() * 1000})

    ServiceBrowser(zc, TYPE, handlers=[handler])
    line({"event": "ready", "at": time.time() * 1000})
    signal.signal(signal.SIGTERM, lambda *_: (zc.close(), sys.exit(0)))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1] == "register":
        register(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else None)
    else:
        browse()
