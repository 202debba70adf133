// mmio_decode.c: decodes the MOV forms that reach memory-mapped registers: MOV r/m, r
// (88, 89), MOV r, r/m (8A, 8B), MOV r/m, imm (C6 /0, C7 /0), MOV with a direct address
// (A0-A3), MOVZX and MOVSX (0F B6, B7, BE, BF); with the prefixes 66, 67, REX and the
// segment overrides (which change nothing here: the exit gives the address). Anything
// else is refused by name. Pure; the exit code calls it (mmio_decode.h). SDM 2 chapter 2
// (instruction format, ModR/M and SIB, Tables 2-1 to 2-3) and the MOV, MOVZX and MOVSX
// pages of chapter 4.
#include "mmio_decode.h"

#define MAX_LEN 15 // SDM 2 2.3.11: a longer instruction raises #GP

enum mmio_mode mmio_mode_of(bool ia32e, uint32_t cs_access_rights)
{
    if (ia32e && (cs_access_rights & (1u << 13)))
        return MMIO_MODE64;
    return cs_access_rights & (1u << 14) ? MMIO_MODE32 : MMIO_MODE16;
}

static uint64_t mask(unsigned bytes) { return bytes == 8 ? ~0ull : (1ull << (8 * bytes)) - 1; }

static int refuse(char *err, size_t errsize, uint64_t gpa, const uint8_t *code, size_t n,
                  const char *why)
{
    if (!why) // the bytes ran out: the page's end, or the CPU's limit
        why = n == MAX_LEN ? "more than 15 bytes" : "cut short";
    char hex[3 * MAX_LEN] = "";
    size_t len = 0;
    for (size_t i = 0; i < n && i < MAX_LEN; i++)
        len += (size_t)snprintf(hex + len, sizeof(hex) - len, i ? " %02x" : "%02x", code[i]);
    return errorf(err, errsize, "MMIO at 0x%lx by an instruction vmxlab does not emulate: "
                  "bytes %s (%s)", (unsigned long)gpa, hex, why);
}

// The bytes of a ModR/M operand from its ModR/M byte on: the byte, a SIB byte and a
// displacement (SDM 2 Tables 2-1 to 2-3; 16-bit addressing has no SIB). 0 if the operand
// is a register, which no memory access has.
static unsigned modrm_len(uint8_t modrm, const uint8_t *sib, unsigned addr_size)
{
    unsigned mod = modrm >> 6, rm = modrm & 7;
    if (mod == 3)
        return 0;
    if (addr_size == 2)
        return 1 + (mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 6) ? 2 : 0);
    unsigned len = 1 + (rm == 4); // rm 100: a SIB byte follows
    if (mod == 1)
        len += 1;
    else if (mod == 2 || (mod == 0 && rm == 5)) // disp32; RIP-relative in 64-bit mode
        len += 4;
    else if (mod == 0 && rm == 4 && sib && (*sib & 7) == 5) // SIB base 101: disp32
        len += 4;
    return len;
}

static uint64_t le(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = bytes; i--;)
        v = v << 8 | p[i];
    return v;
}

int mmio_decode(const uint8_t *code, size_t n, enum mmio_mode mode, uint64_t gpa,
                struct mmio_insn *out, char *err, size_t errsize)
{
    bool opsize = false, addrsize = false;
    int rex = -1; // a REX prefix counts only right before the opcode (SDM 2 2.2.1)
    size_t i = 0;
    if (n > MAX_LEN)
        n = MAX_LEN;
    for (;; i++) {
        if (i >= n)
            return refuse(err, errsize, gpa, code, n, NULL);
        uint8_t b = code[i];
        if (b == 0x66) {
            opsize = true;
        } else if (b == 0x67) {
            addrsize = true;
        } else if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65) {
            // a segment override: the exit gives the address
        } else if (b == 0xf0) {
            return refuse(err, errsize, gpa, code, n, "a LOCK prefix");
        } else if (b == 0xf2 || b == 0xf3) {
            return refuse(err, errsize, gpa, code, n, "a REP prefix");
        } else if (mode == MMIO_MODE64 && (b & 0xf0) == 0x40) {
            rex = b;
            continue;
        } else {
            break;
        }
        rex = -1;
    }
    bool rex_w = rex >= 0 && (rex & 8), rex_r = rex >= 0 && (rex & 4);
    // SDM 2 2.2.1.2 and 3.6: REX.W makes the operand 64 bits whatever 66 says; 66 swaps
    // 16 and 32. 67 swaps the address size: 64 to 32, 32 to 16, 16 to 32.
    unsigned op_size = rex_w ? 8 : (mode == MMIO_MODE16) != opsize ? 2 : 4;
    unsigned addr_size = !addrsize ? (unsigned)mode : mode == MMIO_MODE32 ? 2 : 4;
    uint8_t op = code[i++];
    if (op == 0x0f) {
        if (i >= n)
            return refuse(err, errsize, gpa, code, n, NULL);
        op = code[i++];
        if (op != 0xb6 && op != 0xb7 && op != 0xbe && op != 0xbf)
            return refuse(err, errsize, gpa, code, n, "a two-byte opcode other than "
                          "MOVZX or MOVSX");
        *out = (struct mmio_insn){ .size = op & 1 ? 2 : 1, .reg_size = op_size,
                                   .sign = op >= 0xbe };
    } else if (op >= 0xa0 && op <= 0xa3) {
        // MOV AL/rAX to or from a direct address (moffs) of the address size.
        if (n - i < addr_size)
            return refuse(err, errsize, gpa, code, n, NULL);
        *out = (struct mmio_insn){ .len = (unsigned)i + addr_size, .write = op >= 0xa2,
                                   .size = op & 1 ? op_size : 1, .reg = 0 };
        out->reg_size = out->size;
        return 0;
    } else if (op == 0x88 || op == 0x89 || op == 0x8a || op == 0x8b || op == 0xc6 ||
               op == 0xc7) {
        unsigned size = op & 1 ? op_size : 1;
        *out = (struct mmio_insn){ .size = size, .reg_size = size,
                                   .write = op != 0x8a && op != 0x8b, .has_imm = op >= 0xc6 };
    } else {
        char why[40];
        snprintf(why, sizeof(why), "opcode 0x%02x", op);
        return refuse(err, errsize, gpa, code, n, why);
    }
    if (i >= n)
        return refuse(err, errsize, gpa, code, n, NULL);
    uint8_t modrm = code[i];
    unsigned len = modrm_len(modrm, i + 1 < n ? &code[i + 1] : NULL, addr_size);
    if (len == 0)
        return refuse(err, errsize, gpa, code, n, "a register operand, not memory");
    if (out->has_imm && (modrm >> 3 & 7) != 0) // C6/C7 with /r other than 0 is no MOV
        return refuse(err, errsize, gpa, code, n, "opcode 0xc6/0xc7 that is not MOV");
    if (n - i < len)
        return refuse(err, errsize, gpa, code, n, NULL);
    i += len;
    out->reg = (modrm >> 3 & 7) | (rex_r ? 8 : 0);
    if (out->size == 1 && out->reg_size == 1 && rex < 0 && out->reg >= 4) {
        out->high_byte = true; // without REX, byte registers 4-7 are AH, CH, DH, BH
        out->reg -= 4;
    }
    if (out->has_imm) {
        out->reg = 0;
        unsigned imm_size = out->size == 8 ? 4 : out->size; // imm32 for a 64-bit store
        if (n - i < imm_size)
            return refuse(err, errsize, gpa, code, n, NULL);
        out->imm = le(&code[i], imm_size);
        if (out->size == 8 && (out->imm & 0x80000000))
            out->imm |= 0xffffffff00000000ull;
        i += imm_size;
    }
    out->len = (unsigned)i;
    return 0;
}

uint64_t mmio_store_value(const struct mmio_insn *in, uint64_t reg_value)
{
    if (in->has_imm)
        return in->imm & mask(in->size);
    return (in->high_byte ? reg_value >> 8 : reg_value) & mask(in->size);
}

uint64_t mmio_load_result(const struct mmio_insn *in, uint64_t reg_value, uint64_t data)
{
    data &= mask(in->size);
    if (in->sign && (data >> (8 * in->size - 1) & 1))
        data |= ~mask(in->size);
    switch (in->reg_size) {
    case 1:
        if (in->high_byte)
            return (reg_value & ~0xff00ull) | (data & 0xff) << 8;
        return (reg_value & ~0xffull) | (data & 0xff);
    case 2:
        return (reg_value & ~0xffffull) | (data & 0xffff);
    case 4:
        return data & 0xffffffff;
    default:
        return data;
    }
}
