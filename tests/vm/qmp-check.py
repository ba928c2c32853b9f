#!/usr/bin/env python3
"""Ask a QEMU started with -qmp unix:PATH,server=on,wait=off which PCI
devices it has, and check that VENDOR:DEVICE is among them.
Usage: qmp-check.py SOCKET VENDOR DEVICE  (hex, e.g. 1234 11e8)"""
import json, socket, sys, time

path, vendor, device = sys.argv[1], int(sys.argv[2], 16), int(sys.argv[3], 16)
deadline = time.time() + 60
while True:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("qmp: cannot connect to " + path)
        time.sleep(0.2)
f = s.makefile("rw")

def cmd(name):
    f.write(json.dumps({"execute": name}) + "\n")
    f.flush()
    while True:
        msg = json.loads(f.readline())
        if "return" in msg or "error" in msg:
            return msg

json.loads(f.readline())  # greeting
cmd("qmp_capabilities")
found = []
for bus in cmd("query-pci")["return"]:
    for d in bus["devices"]:
        ident = d["id"]
        found.append("%04x:%04x %s" % (ident["vendor"], ident["device"], d.get("qdev_id", "")))
        if ident["vendor"] == vendor and ident["device"] == device:
            print("qmp: found %04x:%04x at bus %d slot %d (%s)" % (vendor, device, d["bus"],
                  d["slot"], d.get("qdev_id", "")))
            cmd("quit")
            sys.exit(0)
print("qmp: %04x:%04x not found among: %s" % (vendor, device, ", ".join(found)))
cmd("quit")
sys.exit(1)
