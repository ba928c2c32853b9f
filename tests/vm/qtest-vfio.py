#!/usr/bin/env python3
"""Drive an unmodified QEMU's vfio-pci device as a guest would, without a
guest CPU: QEMU runs with `-accel tcg -S -qtest stdio` (Debian's QEMU has
no qtest accelerator), and this script speaks the qtest text protocol.

Usage: qtest-vfio.py edu|pcitest MAPS-NAME|- -- QEMU-COMMAND...

The device must sit at 00:03.0 (`addr=03.0`). Checks, one line each
("ok: ..." or "FAIL: ..."), exit status 1 on any failure:
  edu:     BAR0 identification and liveness, the factorial, a DMA round
           trip through guest RAM, and MSI (its message address pointed
           at guest RAM, where QEMU's MSI write lands).
  pcitest: BAR2 (RAM) written and read back by the "guest".
With MAPS-NAME, QEMU's /proc/PID/maps must hold a mapping of that name
(the BAR was mapped, not trapped)."""
import subprocess, sys, time

model, maps_name = sys.argv[1], sys.argv[2]
assert sys.argv[3] == "--"
qemu = subprocess.Popen(sys.argv[4:], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=sys.stderr, text=True, bufsize=1)
failed = False


def check(what, cond):
    global failed
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    failed |= not cond


def cmd(line):
    qemu.stdin.write(line + "\n")
    qemu.stdin.flush()
    while True:
        out = qemu.stdout.readline()
        if not out:
            sys.exit("qtest: QEMU went away after '%s'" % line)
        if out.startswith("IRQ "):
            continue
        if not out.startswith("OK"):
            sys.exit("qtest: '%s' -> '%s'" % (line, out.strip()))
        return out.split()[1] if len(out.split()) > 1 else None


CFG = 0x80000000 | (3 << 11)


def cfg_read(off):
    cmd("outl 0xcf8 0x%x" % (CFG | (off & ~3)))
    return (int(cmd("inl 0xcfc"), 16) >> (8 * (off & 3))) & 0xffffffff


def cfg_write(off, val):
    cmd("outl 0xcf8 0x%x" % (CFG | off))
    cmd("outl 0xcfc 0x%x" % val)


def readl(addr):
    return int(cmd("readl 0x%x" % addr), 16)


def writel(addr, val):
    cmd("writel 0x%x 0x%x" % (addr, val))


def wait_for(pred, seconds=20):
    end = time.time() + seconds
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


BAR = 0xfe000000
ids = cfg_read(0)
if model == "edu":
    check("config: 1234:11e8 at 00:03.0 (0x%08x)" % ids, ids == 0x11e81234)
    cfg_write(0x10, BAR)
else:
    check("config: 1234:7e57 at 00:03.0 (0x%08x)" % ids, ids == 0x7e571234)
    cfg_write(0x18, BAR)  # BAR2, 64-bit: low half, then high half
    cfg_write(0x1c, 0)
cfg_write(0x04, 0x6)  # memory decode and bus mastering

if model == "edu":
    ident = readl(BAR)
    check("BAR0 identification 0x%08x" % ident, ident == 0x010000ed)
    writel(BAR + 4, 0x12345678)
    live = readl(BAR + 4)
    check("liveness: 0x12345678 -> 0x%08x" % live, live == 0xedcba987)
    writel(BAR + 8, 5)
    wait_for(lambda: not readl(BAR + 0x20) & 1)
    fact = readl(BAR + 8)
    check("factorial of 5: %d" % fact, fact == 120)

    pattern = "a5" * 8 + "0123456789abcdef"
    cmd("write 0x100000 16 0x" + pattern)
    writel(BAR + 0x80, 0x100000)  # RAM -> device buffer
    writel(BAR + 0x88, 0x40000)
    writel(BAR + 0x90, 16)
    writel(BAR + 0x98, 1)
    to_dev = wait_for(lambda: not readl(BAR + 0x98) & 1)
    writel(BAR + 0x80, 0x40000)  # device buffer -> other RAM
    writel(BAR + 0x88, 0x200000)
    writel(BAR + 0x90, 16)
    writel(BAR + 0x98, 3)
    to_ram = wait_for(lambda: not readl(BAR + 0x98) & 1)
    back = cmd("read 0x200000 16")
    check("DMA round trip through guest RAM: %s" % back,
          to_dev and to_ram and back.lower() == "0x" + pattern)

    pos, msi = cfg_read(0x34) & 0xff, 0
    while pos and not msi:
        if cfg_read(pos) & 0xff == 0x05:
            msi = pos
        pos = (cfg_read(pos) >> 8) & 0xff
    check("an MSI capability at 0x%x" % msi, msi != 0)
    cmd("write 0x300000 4 0x00000000")
    cfg_write(msi + 4, 0x300000)  # message address: guest RAM
    cfg_write(msi + 8, 0)
    cfg_write(msi + 12, 0x4321)
    cfg_write(msi, (cfg_read(msi) & 0xffff) | 0x10000)  # enable
    writel(BAR + 0x60, 0x1)  # raise
    got = wait_for(lambda: int(cmd("read 0x300000 4"), 16) != 0)
    data = cmd("read 0x300000 4")
    check("MSI: the message landed in guest RAM (%s)" % data, got and data == "0x21430000")
    writel(BAR + 0x64, 0x1)  # ack
else:
    writel(BAR + 0x100, 0xcafef00d)
    writel(BAR + 0xfffc, 0x5a5aa5a5)
    v1, v2 = readl(BAR + 0x100), readl(BAR + 0xfffc)
    check("BAR2 RAM written and read back (0x%08x 0x%08x)" % (v1, v2),
          v1 == 0xcafef00d and v2 == 0x5a5aa5a5)

if maps_name != "-":
    maps = open("/proc/%d/maps" % qemu.pid).read()
    check("QEMU mapped the BAR (%s in its maps)" % maps_name, maps_name in maps)

qemu.stdin.close()
qemu.terminate()
qemu.wait()
sys.exit(1 if failed else 0)
