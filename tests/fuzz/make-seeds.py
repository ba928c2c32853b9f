#!/usr/bin/env python3
# The committed seed corpora of the libFuzzer harnesses (corpus/<harness>/),
# written as programs in each harness's input language. Rerun after changing
# a harness's op encoding: tests/fuzz/make-seeds.py
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

def u8(v): return struct.pack('<B', v & 0xff)
def u16(v): return struct.pack('<H', v & 0xffff)
def u32(v): return struct.pack('<I', v & 0xffffffff)
def u64(v): return struct.pack('<Q', v & 0xffffffffffffffff)

def write(harness, name, data):
    d = os.path.join(HERE, 'corpus', harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)

# --- fuzz-core: byte 0 picks the core, then ops (fuzz-core.c). Slots fill
# in order: container 0, group 1, device 2.
OPEN_C, OPEN_G, CLOSE, DUP, SET_CONT, SET_IOMMU, GET_DEV, MAP, IOCTL = range(9)
IOCTL_INT, PREAD, PWRITE, SET_IRQS, FILL, YIELD = 10, 11, 12, 13, 14, 15

def rw(op, slot, region, off, data_or_len):
    b = region | (0x80 if off > 0xffff else 0)
    s = u8(op) + u8(slot) + u8(b) + (u32(off) if off > 0xffff else u16(off))
    if op == PWRITE:
        return s + u16(len(data_or_len)) + u8(0xff) + data_or_len
    return s + u16(data_or_len) + u8(0xff)

def ioctl(slot, n, arg, argsz_auto=True):
    return u8(IOCTL) + u8(slot) + u8(n) + u16(len(arg)) + u8(1 if argsz_auto else 0) + arg

def flow(core, group_pick, dev_pick):
    return (u8(core) + u8(OPEN_C) + u8(OPEN_G) + u8(group_pick) +
            u8(SET_CONT) + u8(1) + u8(0) + u8(SET_IOMMU) + u8(0) + u8(3 + (core & 0)) +
            u8(MAP) + u8(0) + u8(1) + u8(0x10) + u8(0x10) + u8(15) +
            u8(GET_DEV) + u8(1) + u8(dev_pick))

CFG = 7
# command: memory + bus master
master = rw(PWRITE, 2, CFG, 4, u16(0x0006))
for core in (0, 1):
    for i in range(3):
        base = flow(core, i, i)
        p = base + master
        p += ioctl(2, 7, bytes(16))                              # DEVICE_GET_INFO
        p += ioctl(2, 8, u32(0) + u32(0) + u32(0) + u32(0) + u64(0) + u64(0))  # REGION_INFO 0
        p += ioctl(2, 9, u32(0) + u32(0) + u32(2) + u32(0))      # IRQ_INFO msix
        p += rw(PREAD, 2, CFG, 0, 256)
        p += rw(PREAD, 2, 0, 0, 64)
        p += u8(SET_IRQS) + u8(2) + u8(0 | (1 << 3)) + u8(1) + u8(0) + u8(0)  # MSI eventfd
        p += ioctl(0, 12, bytes(24))                             # IOMMU_GET_INFO
        p += u8(YIELD)
        write('fuzz-core', 'flow-%d-%d' % (core, i), p)

# edu: DMA from IOVA 0x10000 into the device buffer, then back, with a fill.
edu = flow(1, 0, 0) + master + u8(FILL) + u16(0x10000 // 16) + u16(64) + bytes(range(64))
for off, v in ((0x80, 0x10000), (0x88, 0x40000), (0x90, 64), (0x98, 1 | 4),
               (0x80, 0x40000), (0x88, 0x10100), (0x90, 64), (0x98, 1 | 2 | 4)):
    edu += rw(PWRITE, 2, 0, off, u32(v)) + u8(YIELD)
edu += rw(PWRITE, 2, 0, 0x8, u32(5)) + rw(PREAD, 2, 0, 0x8, 4)   # factorial
write('fuzz-core', 'edu-dma', edu)

# nvme: enable the controller with admin queues in mapped memory and ring
# the admin doorbell on an IDENTIFY command laid out in the fill.
ident = bytearray(64)
ident[0] = 0x06                       # IDENTIFY
ident[1:4] = b'\0\0\0'
struct.pack_into('<H', ident, 2, 1)   # cid
struct.pack_into('<Q', ident, 24, 0x12000)  # prp1
struct.pack_into('<I', ident, 40, 1)  # cns: controller
nv = flow(1, 2, 2) + master
nv += u8(FILL) + u16(0x10000 // 16) + u16(64) + bytes(ident)
nv += rw(PWRITE, 2, 0, 0x24, u32((15 << 16) | 15))      # AQA
nv += rw(PWRITE, 2, 0, 0x28, u32(0x10000)) + rw(PWRITE, 2, 0, 0x2c, u32(0))  # ASQ
nv += rw(PWRITE, 2, 0, 0x30, u32(0x11000)) + rw(PWRITE, 2, 0, 0x34, u32(0))  # ACQ
nv += rw(PWRITE, 2, 0, 0x14, u32((4 << 20) | (6 << 16) | 1))  # CC.EN
nv += u8(YIELD) + rw(PREAD, 2, 0, 0x1c, 4)
nv += rw(PWRITE, 2, 0, 0x1000, u32(1)) + u8(YIELD) + u8(YIELD)  # SQ0 tail doorbell
nv += rw(PREAD, 2, 0, 0, 0x40)
write('fuzz-core', 'nvme-identify', nv)

# pcitest: its registers and a doorbell.
pt = flow(1, 1, 1) + master
for off in range(0, 0x40, 4):
    pt += rw(PREAD, 2, 0, off, 4)
pt += rw(PWRITE, 2, 0, 0x4, u32(1)) + u8(YIELD)
write('fuzz-core', 'pcitest-regs', pt)

# Every ioctl number on every kind of file, with an empty argument.
allk = u8(1) + u8(OPEN_C) + u8(OPEN_G) + u8(0) + u8(SET_CONT) + u8(1) + u8(0) + \
    u8(SET_IOMMU) + u8(0) + u8(1) + u8(GET_DEV) + u8(1) + u8(0)
for slot in range(3):
    for n in range(26):
        allk += ioctl(slot, n, u32(16) + bytes(12), argsz_auto=False)
write('fuzz-core', 'every-ioctl', allk)

# --- fuzz-iommu: byte 0 is the configuration, then ops (fuzz-iommu.c).
def imap(iova_base, pages, size_b):
    return u8(0) + u8(0) + u8(pages) + u8(iova_base) + u8(pages) + u8(size_b)
io = u8(1)
io += imap(1, 0, 3) + imap(1, 8, 3) + imap(1, 16, 0x83)
io += u8(5) + u8(0)                                   # dirty start
io += u8(7 | 0x80) + u8(1) + u8(0) + u16(64)          # dma write
io += u8(5) + u8(2) + u8(1) + u8(0) + u8(3) + u8(0) + u16(64) + u16(0)  # get bitmap
io += u8(2) + u8(4) + u8(1) + u8(0) + u8(3) + u8(0) + u16(64) + u16(0)  # unmap + bitmap
io += u8(4) + u8(0x40) + u8(0x10)                     # get info, short argsz
io += u8(4) + u8(0x40) + u8(0xff)                     # get info
io += u8(2) + u8(0x60 | 2)                            # unmap all
write('fuzz-iommu', 'map-dirty-unmap', io)
io = u8(0)
for i in range(40):
    io += imap(1, i % 256, i % 5)
io += u8(2) + u8(2) + u8(1) + u8(4) + u8(3)            # v1 unmap splitting
io += u8(2) + u8(4 | 0x80) + u32(4) + u8(1) + u8(0) + u8(0xff)  # vaddr unmap
io += u8(6) + u8(1) + u8(2) + u16(32)
write('fuzz-iommu', 'many-maps', io)

# --- fuzz-config: text.
write('fuzz-config', 'daemon-md', b'''prefix vfio
rundir /run/vfio-cuse
dma-entry-limit 65535
device 0000:06:0d.0 group=26 model=edu
device 0000:06:0e.0 group=26 model=pcitest options=reset=off
group 26 owner=root mode=0600
''')
write('fuzz-config', 'all-keys', b'''prefix vfio-cuse/sub.dir_x
device 0000:06:0d.0 group=26 model=edu   # trailing comment
device 0000:06:0e.0 group=26 model=pcitest backend=emu options=x=1:y=2
device 0000:07:00.0 group=27 model=fake backend=fake
device 0000:00:10.0,group=5,model=nvme,options=size=1M:file=/tmp/x
device 0000:01:00.0 backend=kernel
group 26 owner=0 gid=0 mode=0660
group 27 owner=nobody mode=0666
user nobody
''')
write('fuzz-config', 'bad', b'device 0000:06:0D.0 group=99999999999 model=edu colour=red loose\n'
      b'group 1 mode=0999\nprefix a/../b\nrundir relative\nbogus 1\n')

# --- fuzz-pci: byte 0 picks edu, pcitest, nvme; then ops (fuzz-pci.c).
def prw(write, region_sel, off, size_log2=None, data=b'', length=None):
    b = region_sel | (0x80 if off > 0xffff else 0) | (0x40 if length is not None else 0)
    s = u8(0x80 if write else 0) + u8(b) + (u32(off) if off > 0xffff else u16(off))
    s += u16(length) if length is not None else u8(size_log2)
    return s + (data if write else b'')

P_CFG, P_BAR0 = 0, 1
pmaster = prw(True, P_CFG, 4, 1, u16(6))
def pw32(off, v): return prw(True, P_BAR0, off, 2, u32(v))
def pfill(off, data): return u8(4) + u16(off // 16) + u16(len(data)) + data
msi = u8(3) + u8(2 | (1 << 2)) + u8(4) + u8(0) + u8(1) + u8(0)   # MSI eventfd trigger
intx = u8(3) + u8(0) + u8(4) + u8(0) + u8(1) + u8(1)             # INTx bool trigger
wait = u8(7) + u8(3)

p = u8(0) + pmaster + msi + pfill(0x1000, bytes(range(128)))
for off, v in ((0x80, 0x1000), (0x88, 0x40000), (0x90, 128), (0x98, 1 | 4)):
    p += pw32(off, v)
p += wait + prw(False, P_BAR0, 0x98, 2) + pw32(0x8, 7) + wait + prw(False, P_BAR0, 0x8, 2)
p += pw32(0x20, 10000) + pw32(0x60, 1) + wait + intx
write('fuzz-pci', 'edu', p)

p = u8(1) + pmaster + msi + prw(False, P_CFG, 0, None, length=256)
for off in range(0, 0x40, 4):
    p += prw(False, P_BAR0, off, 2)
p += pfill(0x2000, bytes(range(256))) + pw32(0x10, 0x2000) + pw32(0x1c, 256) + pw32(0x4, 1) + wait
write('fuzz-pci', 'pcitest', p)

sq = bytearray(64 * 4)
struct.pack_into('<BBH', sq, 0, 0x06, 0, 1)          # IDENTIFY controller
struct.pack_into('<Q', sq, 24, 0x20000)
struct.pack_into('<I', sq, 40, 1)
struct.pack_into('<BBH', sq, 64, 0x06, 0, 2)         # IDENTIFY namespace 1
struct.pack_into('<I', sq, 64 + 4, 1)
struct.pack_into('<Q', sq, 64 + 24, 0x21000)
struct.pack_into('<BBH', sq, 128, 0x05, 0, 3)        # CREATE IO CQ 1
struct.pack_into('<Q', sq, 128 + 24, 0x30000)
struct.pack_into('<I', sq, 128 + 40, (15 << 16) | 1)
struct.pack_into('<I', sq, 128 + 44, 1)
struct.pack_into('<BBH', sq, 192, 0x01, 0, 4)        # CREATE IO SQ 1 on CQ 1
struct.pack_into('<Q', sq, 192 + 24, 0x31000)
struct.pack_into('<I', sq, 192 + 40, (15 << 16) | 1)
struct.pack_into('<I', sq, 192 + 44, (1 << 16) | 1)
io = bytearray(64 * 2)
struct.pack_into('<BBH', io, 0, 0x01, 0, 1)          # WRITE lba 0, 1 block
struct.pack_into('<I', io, 4, 1)
struct.pack_into('<Q', io, 24, 0x40000)
struct.pack_into('<BBH', io, 64, 0x02, 0, 2)         # READ lba 0
struct.pack_into('<I', io, 64 + 4, 1)
struct.pack_into('<Q', io, 64 + 24, 0x41000)
p = u8(2) + pmaster + pfill(0x10000, bytes(sq)) + pfill(0x31000, bytes(io))
p += pfill(0x40000, b'nvme-fuzz-seed' * 8)
p += pw32(0x24, (15 << 16) | 15) + pw32(0x28, 0x10000) + pw32(0x2c, 0) + pw32(0x30, 0x11000)
p += pw32(0x34, 0) + pw32(0x14, (4 << 20) | (6 << 16) | 1) + wait + prw(False, P_BAR0, 0x1c, 2)
p += pw32(0x1000, 4) + wait + wait + pw32(0x1004, 4)
p += pw32(0x1008, 2) + wait + wait + pw32(0x100c, 2) + prw(False, P_BAR0, 0, None, length=64)
write('fuzz-pci', 'nvme-queues', p)

# --- fuzz-helper: messages (fuzz-helper.c): b, length, bytes. With b's top
# bit, op b % 6 gets its exact size, header and fd count.
def hb(op, two_fds=False):
    for b in range(0x80, 0x100):
        if b % 6 == op and bool(b & 0x40) == two_fds:
            return b
def hmsg(op, body, two_fds=False):
    full = u32(op) + u32(0) + body
    return u8(hb(op, two_fds)) + u8(len(full)) + full
def hraw(b, data):
    return u8(b) + u8(len(data)) + data
name = b'0000:00:04.0'.ljust(64, b'\0')
write('fuzz-helper', 'every-op', hmsg(1, b'') + hmsg(3, name) + hmsg(5, u32(1) + u32(1) + u32(0) + u32(1))
      + hmsg(5, u32(1) + u32(1) + u32(2) + u32(0)))
write('fuzz-helper', 'violation-size', hmsg(1, b'') + hraw(0x00, u32(1) + u32(0) + u32(0)))
write('fuzz-helper', 'violation-name', hmsg(3, b'x' * 64))
write('fuzz-helper', 'violation-fds', hmsg(3, name, two_fds=True))
write('fuzz-helper', 'violation-group', hmsg(2, u32(26) + u32(0)))
write('fuzz-helper', 'retired-op', hraw(0x10, u32(4) + u32(0) + bytes(16)))

# --- fuzz-channel: messages (fuzz-channel.c): selector (bits 0-1: the
# container's, the device's or the unbound file's token, 3: the input's;
# bits 2-4: 7 MSG_TRUNC, 6 MSG_CTRUNC), length, bytes.
def cmsg(which, op, body, reserved=0, flags=0, length=None):
    full = u32(op) + u32(reserved) + bytes(16) + body
    if length is not None:
        full = full[:length]
    return u8(which | flags << 2) + u8(len(full)) + full
MAP_SHARED = 1
def cmap(which, index, off, length):
    return cmsg(which, 1, u64((index << 40) + off) + u64(length) + u32(3) + u32(MAP_SHARED))
write('fuzz-channel', 'mmap-bar', cmap(1, 2, 0, 4096) + cmap(1, 0, 0, 4096) + cmap(1, 2, 4096, 1 << 20))
write('fuzz-channel', 'iommu-fd', cmsg(0, 2, b'') + cmsg(1, 2, b'') + cmsg(2, 2, b''))
write('fuzz-channel', 'wrong-files', cmap(0, 2, 0, 4096) + cmap(2, 2, 0, 4096) + cmap(3, 2, 0, 4096))
write('fuzz-channel', 'malformed', cmsg(1, 3, b'') + cmsg(1, 0, b'') + cmsg(0, 2, b'', reserved=1)
      + cmsg(0, 2, b'', length=23) + cmsg(0, 2, b'', flags=7) + cmsg(0, 2, b'', flags=6)
      + cmsg(1, 1, bytes(24) + b'x') + u8(3) + u8(3) + b'abc')

# --- fuzz-cuse-rw: accesses (fuzz-cuse-rw.c): selector (bit 0: edu or
# pcitest; (bits 1-6) % 6: fast, bounce, stash, device-rw, any of the magic,
# any number; bit 7: a small offset in the region of the next byte), the
# number's bits (u32), the argument (u64), then the header and data.
IOC_W, IOC_RW = 1, 3
def fast(dev, write, index, length, off, value=0):
    nr = (0x40 if write else 0) | {1: 0, 2: 1, 4: 2}[length] << 4 | index
    return u8(dev) + u32(nr) + u64(value << 32 | off)
def bounce(dev, write, index, off, data_or_len):
    n = len(data_or_len) if write else data_or_len
    hdr = u64((index << 40) + off) + u32(n) + u32(1 if write else 0)
    return (u8(2 | dev) + u32((IOC_W if write else IOC_RW) << 30 | (16 + n)) + u64(0) + hdr
            + (data_or_len if write else b''))
def devrw(dev, write, index, off, data_or_len):
    n = len(data_or_len) if write else data_or_len
    hdr = u64((index << 40) + off) + u64(0x1000) + u32(n) + u32(1 if write else 0)
    return u8(6 | dev) + u32(0) + u64(0) + hdr + (data_or_len if write else b'')
write('fuzz-cuse-rw', 'fast', fast(0, False, 0, 4, 0) + fast(0, True, 0, 4, 4, 0x12345678)
      + fast(0, False, 0, 4, 4) + fast(1, False, 7, 2, 0) + fast(1, True, 7, 2, 4, 6)
      + fast(1, False, 0, 1, 0) + fast(0, False, 7, 4, 0x100) + u8(4) + u32(0) + u64(0))
write('fuzz-cuse-rw', 'bounce', bounce(1, False, 7, 0, 64) + bounce(0, True, 0, 8, u32(7))
      + bounce(0, False, 0, 0, 16) + bounce(1, False, 2, 0, 4096))
write('fuzz-cuse-rw', 'device-rw', devrw(0, False, 7, 0, 256) + devrw(1, True, 0, 0, bytes(range(32)))
      + devrw(1, False, 2, 0, 65536) + devrw(0, False, 9, 0, 0))
write('fuzz-cuse-rw', 'other-numbers', u8(8) + u32(0xea07 | 2 << 30 | 8 << 16) + u64(0)
      + u8(10) + u32(0x3b64) + u64(0) + u8(0x80) + u32(0x20) + u64(0x10) + u8(7))

# --- fuzz-control: one request line of the control socket (fuzz-control.c),
# each command once, with the fault rules' syntax through `fault add`.
for name, line in [
        ('status', b'status'), ('json-status', b'json status'),
        ('groups', b'groups'), ('devices', b'json devices'),
        ('containers', b'containers'), ('mappings', b'mappings 1'),
        ('mappings-json', b'json mappings'), ('clients', b'clients'),
        ('trace', b'trace on --format json'), ('trace-off', b'trace off'),
        ('trace-file', b'trace on /tmp/x'),
        ('fault-ioctl', b'fault add ioctl MAP_DMA nth=3 errno=ENOMEM'),
        ('fault-share', b'fault add ioctl SET_IRQS device=0000:06:0d.0 share=12.5% seed=7 errno=22'),
        ('fault-dma', b'fault add dma device=0000:06:0d.0 dir=read iova=0x1000-0x2000 every=2'),
        ('fault-irq', b'fault add irq delay=5 index=msix vector=1'),
        ('fault-misc', b'fault add nonviable group=27'),
        ('fault-raise', b'fault add raise req device=0000:06:0d.0'),
        ('fault-list', b'fault list'), ('fault-rm', b'fault rm 1'), ('fault-clear', b'fault clear'),
        ('bad', b'no such command \x01\xff')]:
    write('fuzz-control', name, line)
