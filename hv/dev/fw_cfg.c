// fw_cfg.c: QEMU's firmware configuration device, port interface only (QEMU
// docs/specs/fw_cfg.rst; hw/nvram/fw_cfg.c, its "comb" I/O region): a 16-bit OUT to
// 0x510 selects an item and rewinds it, each 1-byte IN from 0x510 or 0x511 returns its
// next byte, 0 past its end or for a key without an item. Items: the signature, the ID
// (1: no DMA), the RAM size, the CPU counts, an empty file directory. dev.c calls it
// through dev_fw_cfg; reset() fills the items from the machine and selects the signature.
#include "dev.h"

// Keys (fw_cfg.rst "Selector (Control) Register"): bit 15 selects the architecture's
// own items (x86 has some in QEMU: none here), bit 14 once asked for a write; the rest
// is the item's index.
#define KEY_ARCH 0x8000
#define KEY_INDEX 0x3fff

static uint8_t id[4], ram[8], cpus[2], dir[4];

// The items, as QEMU's pc machine gives them to a guest with one CPU; every other key
// reads 0, as an unknown key does in QEMU. Multi-byte numbers are little-endian, the
// file directory's count big-endian (0 files: its 4 bytes are 0).
static const struct item {
    uint16_t key;
    const uint8_t *data;
    uint32_t len;
} items[] = {
    { 0x00, (const uint8_t *)"QEMU", 4 }, // FW_CFG_SIGNATURE, no NUL
    { 0x01, id, sizeof(id) },             // FW_CFG_ID: bit 0 port interface, bit 1 DMA
    { 0x03, ram, sizeof(ram) },           // FW_CFG_RAM_SIZE: all of guest RAM
    { 0x05, cpus, sizeof(cpus) },         // FW_CFG_NB_CPUS
    { 0x0f, cpus, sizeof(cpus) },         // FW_CFG_MAX_CPUS
    { 0x19, dir, sizeof(dir) },           // FW_CFG_FILE_DIR
};

static const struct item *cur; // NULL: a key without an item
static uint32_t offset;

static void le(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void select_key(uint16_t key)
{
    cur = NULL;
    offset = 0;
    if (key & KEY_ARCH)
        return;
    for (size_t i = 0; i < ARRAY_SIZE(items); i++)
        if (items[i].key == (key & KEY_INDEX))
            cur = &items[i];
}

static void fw_cfg_reset(const struct dev_machine *m)
{
    le(id, 1, sizeof(id));
    le(ram, m->ram_size, sizeof(ram));
    le(cpus, m->cpus, sizeof(cpus));
    memset(dir, 0, sizeof(dir));
    select_key(0x00); // QEMU's fw_cfg_reset() selects the signature
}

// QEMU takes 1-byte reads at either port as data reads; a wider read is not a valid
// access there and reads 0 without moving the offset (measured under QEMU 7.2).
static uint64_t fw_cfg_read(uint64_t off, unsigned size)
{
    (void)off;
    if (size != 1 || !cur || offset >= cur->len)
        return 0;
    return cur->data[offset++];
}

// Only a 16-bit write at 0x510 selects. A 1-byte write is a write to the data port,
// which QEMU ignores since 2.4; a 16-bit write at 0x511 (unaligned) and a 32-bit write
// are invalid accesses there and change nothing (measured).
static void fw_cfg_write(uint64_t off, unsigned size, uint64_t value)
{
    if (size == 2 && off == 0)
        select_key((uint16_t)value);
}

const struct dev dev_fw_cfg = {
    .name = "fw_cfg",
    .space = DEV_PIO,
    .base = 0x510,
    .len = 2,
    .sizes = 1 | 2 | 4,
    .read = fw_cfg_read,
    .write = fw_cfg_write,
    .reset = fw_cfg_reset,
};
