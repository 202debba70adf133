// mmio_decode.h: the few x86 MOV forms kernels use on memory-mapped registers (the
// local APIC's page), decoded from the bytes at the guest's RIP when an access to such a
// page exits without the CPU saying what it moves (an EPT violation, a shadow #PF, an
// APIC-access exit). mmio_decode.c is pure: the exit code fetches the bytes, reads or
// writes the device with what this says, writes a loaded register back with
// mmio_load_result() and moves RIP on by the length.
#pragma once
#include "../../lib/lib.h"

// The code's default widths: the value is the default address size in bytes.
enum mmio_mode {
    MMIO_MODE16 = 2, // 16-bit code: operands and addresses of 16 bits by default
    MMIO_MODE32 = 4, // 32-bit code (CS.D = 1): both 32 bits
    MMIO_MODE64 = 8, // 64-bit mode (IA-32e, CS.L = 1): operands 32, addresses 64 bits
};

// The mode of the guest's code: IA-32e mode active and CS's access rights as the VMCS
// holds them (SDM 3C 25.4.1: L is bit 13, D/B bit 14).
enum mmio_mode mmio_mode_of(bool ia32e, uint32_t cs_access_rights);

struct mmio_insn {
    unsigned len;      // its bytes, prefixes included: RIP moves on by this much
    unsigned size;     // the bytes it moves to or from memory: 1, 2, 4 or 8
    bool write;        // a store into the page; else a load from it
    bool has_imm;      // a store of imm (MOV r/m, imm), not of a register
    uint64_t imm;      // sign-extended to 64 bits when a 64-bit store takes an imm32
    unsigned reg;      // the register, numbered 0 RAX ... 15 R15 (SDM 2 Table 2-2)
    bool high_byte;    // AH, CH, DH, BH: bits 15:8 of register 0-3 (no REX prefix)
    unsigned reg_size; // the bytes of the register a load writes (MOVZX/MOVSX: > size)
    bool sign;         // MOVSX: the loaded value is sign-extended
};

// mmio_decode.c
// Decodes the instruction in code[0..n) (n up to 15; fewer if the page ends) that
// accessed gpa. 0 and *out on success; -1 and a message naming the address, the bytes
// and what is not emulated in err otherwise.
int mmio_decode(const uint8_t *code, size_t n, enum mmio_mode mode, uint64_t gpa,
                struct mmio_insn *out, char *err, size_t errsize);
// What a store writes, given the value of its register (unused for an immediate).
uint64_t mmio_store_value(const struct mmio_insn *in, uint64_t reg_value);
// The register's new value after a load of data, given its old value: a 32-bit
// destination clears bits 63:32, 8- and 16-bit ones keep the rest (SDM 1 3.4.1.1).
uint64_t mmio_load_result(const struct mmio_insn *in, uint64_t reg_value, uint64_t data);
