// test_mmio_decode.c: hv/exit/mmio_decode.c against the bytes compilers emit for APIC
// register accesses: gcc 12 -O2 -m64 and -m32 on `*(volatile uint32_t *)0xfee000b0 = 0;`
// and its kin (each source line beside its bytes), the startup kernel's own instructions
// (guest/multiboot/startup.c, from build/guest/multiboot/startup.elf64), and GNU as for
// the forms gcc did not emit here (REX.B/R/X, SIB, RIP-relative, 16-bit addressing).
// Then what must be refused, by name, and how a load or store meets the register.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../hv/exit/mmio_decode.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

#define GPA 0xfee00300ull
static char err[200];

// One decoded instruction: its bytes, the mode, and what it must decode to.
struct want {
    const char *bytes; // hex, space-separated
    enum mmio_mode mode;
    unsigned len, size;
    bool write, has_imm;
    uint64_t imm;
    unsigned reg;
    bool high_byte;
    unsigned reg_size; // 0: the same as size
    bool sign;
    const char *source; // what produced it
};

static unsigned nibble(char c) { return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10); }

static size_t parse(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (const char *p = hex; *p; p += p[2] ? 3 : 2)
        out[n++] = (uint8_t)(nibble(p[0]) << 4 | nibble(p[1]));
    return n;
}

#define M64 MMIO_MODE64
#define M32 MMIO_MODE32
#define M16 MMIO_MODE16

static const struct want good[] = {
    // gcc -O2 -m64 (an absolute address above 2 GiB does not fit a disp32: gcc loads it
    // into a register first, or uses the moffs form with a 64-bit address)
    { "c7 00 00 00 00 00", M64, 6, 4, true, true, 0, 0, false, 0, false,
      "*(volatile uint32_t *)0xfee000b0 = 0 (after mov $0xfee000b0,%eax)" },
    { "a3 f0 00 e0 fe 00 00 00 00", M64, 9, 4, true, false, 0, 0, false, 0, false,
      "*(volatile uint32_t *)0xfee000f0 = v: movabs %eax,0xfee000f0" },
    { "a1 20 00 e0 fe 00 00 00 00", M64, 9, 4, false, false, 0, 0, false, 0, false,
      "return *(volatile uint32_t *)0xfee00020: movabs 0xfee00020,%eax" },
    { "8b 02", M64, 2, 4, false, false, 0, 0, false, 0, false,
      "while (R(0x300) & (1u << 12)): mov (%rdx),%eax" },
    { "89 02", M64, 2, 4, true, false, 0, 0, false, 0, false,
      "R(0xf0) |= 0x100, the store: mov %eax,(%rdx)" },
    { "c7 80 b0 00 00 00 00 00 00 00", M64, 10, 4, true, true, 0, 0, false, 0, false,
      "apic_base[0xb0 / 4] = 0: movl $0x0,0xb0(%rax)" },
    { "89 30", M64, 2, 4, true, false, 0, 6, false, 0, false,
      "apic_base[i] = v: mov %esi,(%rax)" },
    { "a0 20 00 e0 fe 00 00 00 00", M64, 9, 1, false, false, 0, 0, false, 0, false,
      "*(volatile uint8_t *)0xfee00020: movabs 0xfee00020,%al" },
    { "66 a1 20 00 e0 fe 00 00 00 00", M64, 10, 2, false, false, 0, 0, false, 0, false,
      "*(volatile uint16_t *)0xfee00020: movabs 0xfee00020,%ax" },
    { "a2 80 00 e0 fe 00 00 00 00", M64, 9, 1, true, false, 0, 0, false, 0, false,
      "*(volatile uint8_t *)0xfee00080 = v: movabs %al,0xfee00080" },
    { "66 a3 80 00 e0 fe 00 00 00 00", M64, 10, 2, true, false, 0, 0, false, 0, false,
      "*(volatile uint16_t *)0xfee00080 = v: movabs %ax,0xfee00080" },
    { "c6 00 10", M64, 3, 1, true, true, 0x10, 0, false, 0, false,
      "*(volatile uint8_t *)0xfee00080 = 0x10: movb $0x10,(%rax)" },
    { "66 89 10", M64, 3, 2, true, false, 0, 2, false, 0, false,
      "*(volatile uint16_t *)0xfee00080 = 0x1234: mov %dx,(%rax)" },
    { "48 a1 00 03 e0 fe 00 00 00 00", M64, 10, 8, false, false, 0, 0, false, 0, false,
      "*(volatile uint64_t *)0xfee00300: movabs 0xfee00300,%rax" },
    { "48 a3 00 03 e0 fe 00 00 00 00", M64, 10, 8, true, false, 0, 0, false, 0, false,
      "*(volatile uint64_t *)0xfee00300 = v: movabs %rax,0xfee00300" },
    // startup.elf64 (gcc -O2, the kernel's apic())
    { "c7 03 ff 01 00 00", M64, 6, 4, true, true, 0x1ff, 0, false, 0, false,
      "*apic_reg(APIC_SVR) = 0x1ff: movl $0x1ff,(%rbx)" },
    { "c7 40 f0 00 45 0c 00", M64, 7, 4, true, true, 0xc4500, 0, false, 0, false,
      "*apic_reg(APIC_ICR_LO) = ICR_INIT: movl $0xc4500,-0x10(%rax)" },
    { "8b 50 30", M64, 3, 4, false, false, 0, 2, false, 0, false,
      "*apic_reg(APIC_VERSION): mov 0x30(%rax),%edx" },
    { "44 8b 00", M64, 3, 4, false, false, 0, 8, false, 0, false,
      "apic[0x300 / 4]: mov (%rax),%r8d" },
    { "c7 40 80 00 00 00 00", M64, 7, 4, true, true, 0, 0, false, 0, false,
      "*apic_reg(APIC_ESR) = 0: movl $0x0,-0x80(%rax)" },
    // GNU as --64
    { "41 8b 44 24 20", M64, 5, 4, false, false, 0, 0, false, 0, false,
      "mov 0x20(%r12),%eax (REX.B, SIB, disp8)" },
    { "45 89 8d 00 03 00 00", M64, 7, 4, true, false, 0, 9, false, 0, false,
      "mov %r9d,0x300(%r13) (REX.R and .B, disp32)" },
    { "8b 05 00 00 00 00", M64, 6, 4, false, false, 0, 0, false, 0, false,
      "mov 0x0(%rip),%eax (RIP-relative)" },
    { "c7 05 00 00 00 00 00 00 00 00", M64, 10, 4, true, true, 0, 0, false, 0, false,
      "movl $0x0,0x0(%rip)" },
    { "48 c7 00 ff ff ff ff", M64, 7, 8, true, true, ~0ull, 0, false, 0, false,
      "movq $-1,(%rax) (imm32 sign-extended)" },
    { "0f b6 40 20", M64, 4, 1, false, false, 0, 0, false, 4, false,
      "movzbl 0x20(%rax),%eax" },
    { "0f b7 40 20", M64, 4, 2, false, false, 0, 0, false, 4, false,
      "movzwl 0x20(%rax),%eax" },
    { "48 0f be 00", M64, 4, 1, false, false, 0, 0, false, 8, true, "movsbq (%rax),%rax" },
    { "0f bf 4f 30", M64, 4, 2, false, false, 0, 1, false, 4, true, "movswl 0x30(%rdi),%ecx" },
    { "8a 60 20", M64, 3, 1, false, false, 0, 0, true, 0, false, "mov 0x20(%rax),%ah" },
    { "40 8a 70 20", M64, 4, 1, false, false, 0, 6, false, 0, false,
      "mov 0x20(%rax),%sil (any REX: byte register 6 is SIL)" },
    { "67 8b 00", M64, 3, 4, false, false, 0, 0, false, 0, false, "mov (%eax),%eax" },
    { "8b 04 9d 20 00 00 00", M64, 7, 4, false, false, 0, 0, false, 0, false,
      "mov 0x20(,%rbx,4),%eax (SIB without base: disp32)" },
    { "64 89 40 20", M64, 4, 4, true, false, 0, 0, false, 0, false,
      "mov %eax,%fs:0x20(%rax)" },
    { "48 66 8b 00", M64, 4, 2, false, false, 0, 0, false, 0, false,
      "REX before 66: the REX is not the last prefix and counts for nothing" },
    // gcc -O2 -m32
    { "c7 05 b0 00 e0 fe 00 00 00 00", M32, 10, 4, true, true, 0, 0, false, 0, false,
      "*(volatile uint32_t *)0xfee000b0 = 0: movl $0x0,0xfee000b0" },
    { "a3 f0 00 e0 fe", M32, 5, 4, true, false, 0, 0, false, 0, false,
      "R(0xf0) = v: mov %eax,0xfee000f0" },
    { "a1 20 00 e0 fe", M32, 5, 4, false, false, 0, 0, false, 0, false,
      "return R(0x20): mov 0xfee00020,%eax" },
    { "0f b6 05 20 00 e0 fe", M32, 7, 1, false, false, 0, 0, false, 4, false,
      "*(volatile uint8_t *)0xfee00020: movzbl 0xfee00020,%eax" },
    { "0f b7 05 20 00 e0 fe", M32, 7, 2, false, false, 0, 0, false, 4, false,
      "*(volatile uint16_t *)0xfee00020: movzwl 0xfee00020,%eax" },
    { "a2 80 00 e0 fe", M32, 5, 1, true, false, 0, 0, false, 0, false,
      "*(volatile uint8_t *)0xfee00080 = v: mov %al,0xfee00080" },
    { "66 a3 80 00 e0 fe", M32, 6, 2, true, false, 0, 0, false, 0, false,
      "*(volatile uint16_t *)0xfee00080 = v: mov %ax,0xfee00080" },
    { "c6 05 80 00 e0 fe 10", M32, 7, 1, true, true, 0x10, 0, false, 0, false,
      "*(volatile uint8_t *)0xfee00080 = 0x10: movb $0x10,0xfee00080" },
    { "8b 15 04 03 e0 fe", M32, 6, 4, false, false, 0, 2, false, 0, false,
      "*(volatile uint64_t *)0xfee00300, high half: mov 0xfee00304,%edx" },
    { "89 15 04 03 e0 fe", M32, 6, 4, true, false, 0, 2, false, 0, false,
      "*(volatile uint64_t *)0xfee00300 = v, high half: mov %edx,0xfee00304" },
    { "c7 80 b0 00 00 00 00 00 00 00", M32, 10, 4, true, true, 0, 0, false, 0, false,
      "apic_base[0xb0 / 4] = 0: movl $0x0,0xb0(%eax)" },
    { "89 10", M32, 2, 4, true, false, 0, 2, false, 0, false, "apic_base[i] = v: mov %edx,(%eax)" },
    // GNU as --32, 16-bit code
    { "67 8b 07", M32, 3, 4, false, false, 0, 0, false, 0, false, "mov (%bx),%eax" },
    { "67 a1 20 00", M32, 4, 4, false, false, 0, 0, false, 0, false, "addr16 mov 0x20,%eax" },
    { "65 c7 04 88 34 12 00 00", M32, 8, 4, true, true, 0x1234, 0, false, 0, false,
      "movl $0x1234,%gs:(%eax,%ecx,4)" },
    { "8b 0c 35 20 00 e0 fe", M32, 7, 4, false, false, 0, 1, false, 0, false,
      "mov 0xfee00020(,%esi,1),%ecx" },
    { "66 a1 20 00", M16, 4, 4, false, false, 0, 0, false, 0, false, ".code16 mov 0x20,%eax" },
    { "8b 07", M16, 2, 2, false, false, 0, 0, false, 0, false, ".code16 mov (%bx),%ax" },
    { "a1 20 00", M16, 3, 2, false, false, 0, 0, false, 0, false, ".code16 mov 0x20,%ax" },
    { "8b 4a 20", M16, 3, 2, false, false, 0, 1, false, 0, false,
      ".code16 mov 0x20(%bp,%si),%cx" },
    { "67 8b 00", M16, 3, 2, false, false, 0, 0, false, 0, false, ".code16 mov (%eax),%ax" },
    { "c6 47 10 05", M16, 4, 1, true, true, 5, 0, false, 0, false,
      ".code16 movb $0x5,0x10(%bx)" },
    { "8b 06 20 00", M16, 4, 2, false, false, 0, 0, false, 0, false,
      ".code16 mov ax,[0x20] (mod 00 rm 110: disp16)" },
};

static void compiled_forms_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const struct want *w = &good[i];
        uint8_t code[16];
        size_t n = parse(w->bytes, code);
        // The bytes after the instruction (the page goes on) must not count.
        memset(code + n, 0x90, sizeof(code) - n);
        struct mmio_insn in;
        int r = mmio_decode(code, 15, w->mode, GPA, &in, err, sizeof(err));
        if (r != 0)
            fail_msg("%s: %s", w->source, err);
        if (in.len != w->len || in.size != w->size || in.write != w->write ||
            in.has_imm != w->has_imm || in.imm != w->imm || in.reg != w->reg ||
            in.high_byte != w->high_byte || in.reg_size != (w->reg_size ? w->reg_size : w->size) ||
            in.sign != w->sign)
            fail_msg("%s: len %u size %u write %d imm %d 0x%llx reg %u high %d reg_size %u "
                     "sign %d", w->source, in.len, in.size, in.write, in.has_imm,
                     (unsigned long long)in.imm, in.reg, in.high_byte, in.reg_size, in.sign);
        // Exactly its own bytes: one fewer is cut short.
        if (mmio_decode(code, w->len - 1, w->mode, GPA, &in, err, sizeof(err)) != -1 ||
            !strstr(err, "(cut short)"))
            fail_msg("%s: %u bytes decoded: %s", w->source, w->len - 1, err);
    }
}

static void refused(const char *hex, enum mmio_mode mode, const char *why)
{
    uint8_t code[16];
    size_t n = parse(hex, code);
    struct mmio_insn in;
    err[0] = 0;
    assert_int_equal(mmio_decode(code, n, mode, GPA, &in, err, sizeof(err)), -1);
    char want[200];
    snprintf(want, sizeof(want), "MMIO at 0xfee00300 by an instruction vmxlab does not "
             "emulate: bytes %s (%s)", hex, why);
    assert_string_equal(err, want);
}

static void other_instructions_are_refused_by_name(void **state)
{
    (void)state;
    refused("f0 81 88 f0 00 00 00 00 01 00 00", M64, "a LOCK prefix"); // lock orl $0x100,0xf0(%rax)
    refused("81 88 f0 00 00 00 00 01 00 00", M64, "opcode 0x81");      // orl $0x100,0xf0(%rax)
    refused("87 02", M64, "opcode 0x87");                              // xchg %eax,(%rdx)
    refused("f3 a5", M64, "a REP prefix");                             // rep movsl
    refused("8b c0", M64, "a register operand, not memory");           // mov %eax,%eax
    refused("c7 c8 00 00 00 00", M64, "a register operand, not memory");
    refused("c7 08 00 00 00 00", M64, "opcode 0xc6/0xc7 that is not MOV"); // c7 /1
    refused("0f 38 00", M64, "a two-byte opcode other than MOVZX or MOVSX");
    refused("48 8b 00", M32, "opcode 0x48"); // DEC EAX outside 64-bit mode, not REX.W
    refused("c7 00 00", M64, "cut short");   // the page ends inside the immediate
    refused("0f", M64, "cut short");
    refused("8b 04", M64, "cut short");      // a SIB byte is missing
    refused("66 66 66 66 66 66 66 66 66 66 66 66 66 66 66", M64, "more than 15 bytes");
}

static void mode_of_the_code(void **state)
{
    (void)state;
    assert_int_equal(mmio_mode_of(true, 0xa09b), MMIO_MODE64);  // L = 1
    assert_int_equal(mmio_mode_of(true, 0xc09b), MMIO_MODE32);  // compatibility mode, D = 1
    assert_int_equal(mmio_mode_of(false, 0xc09b), MMIO_MODE32);
    assert_int_equal(mmio_mode_of(false, 0xe09b), MMIO_MODE32); // L counts only in IA-32e
    assert_int_equal(mmio_mode_of(false, 0x009b), MMIO_MODE16);
}

static struct mmio_insn decoded(const char *hex, enum mmio_mode mode)
{
    uint8_t code[16];
    size_t n = parse(hex, code);
    struct mmio_insn in;
    assert_int_equal(mmio_decode(code, n, mode, GPA, &in, err, sizeof(err)), 0);
    return in;
}

static void loads_and_stores_meet_the_register(void **state)
{
    (void)state;
    const uint64_t old = 0x1122334455667788ull;
    struct mmio_insn in = decoded("8b 02", M64); // mov (%rdx),%eax
    assert_int_equal(mmio_load_result(&in, old, 0xaabbccddeeff0011ull), 0xeeff0011);
    in = decoded("8b 02", M32); // a 32-bit destination clears bits 63:32 in any mode
    assert_int_equal(mmio_load_result(&in, old, 0xcafef00d), 0xcafef00d);
    in = decoded("66 8b 02", M64); // mov (%rdx),%dx
    assert_int_equal(mmio_load_result(&in, old, 0xbeef), 0x112233445566beefull);
    in = decoded("8a 60 20", M64); // mov 0x20(%rax),%ah
    assert_int_equal(mmio_load_result(&in, old, 0x14), 0x1122334455661488ull);
    in = decoded("a0 20 00 e0 fe 00 00 00 00", M64); // %al
    assert_int_equal(mmio_load_result(&in, old, 0x14), 0x1122334455667714ull);
    in = decoded("48 0f be 00", M64); // movsbq
    assert_int_equal(mmio_load_result(&in, old, 0x80), 0xffffffffffffff80ull);
    in = decoded("0f bf 4f 30", M64); // movswl: sign-extended to 32 bits, then zero-extended
    assert_int_equal(mmio_load_result(&in, old, 0x8000), 0xffff8000ull);
    in = decoded("0f b6 40 20", M64); // movzbl
    assert_int_equal(mmio_load_result(&in, old, 0x1ff), 0xff);
    in = decoded("48 8b 00", M64);
    assert_int_equal(mmio_load_result(&in, old, 0x0123456789abcdefull), 0x0123456789abcdefull);

    in = decoded("88 60 20", M64); // mov %ah,0x20(%rax)
    assert_int_equal(mmio_store_value(&in, old), 0x77);
    in = decoded("89 02", M64);
    assert_int_equal(mmio_store_value(&in, old), 0x55667788);
    in = decoded("c7 03 ff 01 00 00", M64);
    assert_int_equal(mmio_store_value(&in, old), 0x1ff);
    in = decoded("48 c7 00 ff ff ff ff", M64);
    assert_int_equal(mmio_store_value(&in, old), ~0ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compiled_forms_decode),
        cmocka_unit_test(other_instructions_are_refused_by_name),
        cmocka_unit_test(mode_of_the_code),
        cmocka_unit_test(loads_and_stores_meet_the_register),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
