// test_cr.c: the CR0/CR3/CR4 rules of hv/exit/cr.c: which CR0 values a guest MOV
// may load (KVM's kvm_is_valid_cr0 plus the rules for PG in IA-32e mode),
// which CR3 values, what a guest read of CR0 sees, and which bits may be
// guest-owned under the CR0/CR4 fixed-bit MSRs Bochs' corei7_skylake_x
// reports (SDM 3C 25.6.6, 3D A.7-A.8); how a MOV to CR0 changes the paging mode,
// when PAE paging loads its PDPTEs, and what a WRMSR to IA32_EFER may change.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../boot/x86.h"
#include "../../hv/exit/internal.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

#define CR0_FIXED0 0x80000021ull // PG, NE, PE must be 1
#define CR0_FIXED1 0xffffffffull
#define CR4_FIXED0 0x2000ull   // VMXE must be 1
#define CR4_FIXED1 0x3727ffull // bits 0-10, 13, 16-18, 20-21 may be 1

#define WHY_RESERVED "it is reserved"
#define WHY_FIXED1 "VMX fixes it to 1 (IA32_VMX_CR0_FIXED0)" // each names its own MSR
#define WHY_FIXED0 "VMX fixes it to 0 (IA32_VMX_CR0_FIXED1)"
#define WHY_CR4_FIXED1 "VMX fixes it to 1 (IA32_VMX_CR4_FIXED0)"

static void cr0_valid_values(void **state)
{
    (void)state;
    assert_int_equal(cr0_check(0x80050033, true, false), CR0_OK);  // Linux's 64-bit CR0
    assert_int_equal(cr0_check(0x80050033, false, false), CR0_OK);
    assert_int_equal(cr0_check(0x8005003b, true, false), CR0_OK);  // ... with TS
    assert_int_equal(cr0_check(0x60000010, false, false), CR0_OK); // reset value: CD NW ET
    assert_int_equal(cr0_check(0xe0000011, true, false), CR0_OK);  // PG CD NW with PE
    assert_int_equal(cr0_check(0x00000011, false, false), CR0_OK); // protected, no paging
    assert_int_equal(cr0_check(0, false, false), CR0_OK);
    assert_int_equal(cr0_check(0xffffffff, true, false), CR0_OK); // reserved low bits are ignored
}

static void cr0_invalid_values(void **state)
{
    (void)state;
    assert_int_equal(cr0_check(1ull << 32, false, false), CR0_RESERVED_HIGH);
    assert_int_equal(cr0_check(0x80050033 | (1ull << 63), true, false), CR0_RESERVED_HIGH);
    assert_int_equal(cr0_check(0x80000000, false, false), CR0_PG_WITHOUT_PE);
    assert_int_equal(cr0_check(0x80050032, true, false), CR0_PG_WITHOUT_PE);
    assert_int_equal(cr0_check(0x20000001, false, false), CR0_NW_WITHOUT_CD);
    assert_int_equal(cr0_check(0xa0050033, true, false), CR0_NW_WITHOUT_CD);
    assert_int_equal(cr0_check(0x00050033, true, false), CR0_PG_OFF_IN_64BIT_MODE);
    assert_int_equal(cr0_check(0, true, false), CR0_PG_OFF_IN_64BIT_MODE);
    assert_int_equal(cr0_check(0x7fffffff, true, false), CR0_PG_OFF_IN_64BIT_MODE);
}

// Clearing PG in IA-32e mode: #GP in 64-bit mode whatever PCIDE; in
// compatibility mode only with CR4.PCIDE (SDM 3A 4.10.1), else it is valid and
// leaves IA-32e mode (SDM 3A 10.8.5.4): the caller decides what that means.
static void cr0_pg_off_by_mode(void **state)
{
    (void)state;
    assert_int_equal(cr0_check(0x00050033, true, false), CR0_PG_OFF_IN_64BIT_MODE);
    assert_int_equal(cr0_check(0x00050033, true, true), CR0_PG_OFF_IN_64BIT_MODE);
    assert_int_equal(cr0_check(0x00050033, false, true), CR0_PG_OFF_WITH_PCIDE);
    assert_int_equal(cr0_check(0x00050033, false, false), CR0_OK);
    assert_int_equal(cr0_check(0x80050033, false, true), CR0_OK); // PG kept: fine
    assert_int_equal(cr0_check(0x20050033, false, true), CR0_NW_WITHOUT_CD); // first rule first
}

// MOV to CR3 (SDM 3A 4.5 Table 4-12, 4.10.4.1): bit 63 is reserved without
// CR4.PCIDE and, with it, asks for no flush and is not stored; bits
// 62:MAXPHYADDR are reserved either way.
static void cr3_rules(void **state)
{
    (void)state;
    uint64_t load = 0;
    bool noflush = true;
    assert_int_equal(cr3_write(0x1000, false, 40, &load, &noflush), 0);
    assert_int_equal(load, 0x1000);
    assert_false(noflush);
    assert_int_equal(cr3_write(0x1000 | 1ull << 63, false, 40, &load, &noflush), -1);
    assert_int_equal(cr3_write(0x1000 | 1ull << 63, true, 40, &load, &noflush), 0);
    assert_int_equal(load, 0x1000); // bit 63 is not written to CR3
    assert_true(noflush);
    assert_int_equal(cr3_write(0x1005, true, 40, &load, &noflush), 0); // PCID 5
    assert_int_equal(load, 0x1005);
    assert_false(noflush);
    assert_int_equal(cr3_write(0x1000 | 1ull << 40, false, 40, &load, &noflush), -1);
    assert_int_equal(cr3_write(0x1000 | 1ull << 40 | 1ull << 63, true, 40, &load, &noflush),
                     -1);
    assert_int_equal(cr3_write(0x1000 | 1ull << 62 | 1ull << 63, true, 40, &load, &noflush),
                     -1);
    assert_int_equal(cr3_write(0x1000 | 1ull << 51, false, 52, &load, &noflush), 0);
    assert_int_equal(cr3_write(0x1000 | 1ull << 52, false, 52, &load, &noflush), -1);
}

// One error per value, checked in the order high bits, PG/PE, NW/CD, long mode.
static void cr0_error_precedence(void **state)
{
    (void)state;
    assert_int_equal(cr0_check((1ull << 32) | 0xa0000000, true, false), CR0_RESERVED_HIGH);
    assert_int_equal(cr0_check(1ull << 32, true, false), CR0_RESERVED_HIGH);
    assert_int_equal(cr0_check(0xa0000000, true, false), CR0_PG_WITHOUT_PE);
    assert_int_equal(cr0_check(0x20000000, true, false), CR0_NW_WITHOUT_CD);
}

static void cr0_error_names(void **state)
{
    (void)state;
    assert_string_equal(cr0_error_name(CR0_OK), "valid");
    assert_string_equal(cr0_error_name(CR0_RESERVED_HIGH), "bits 63:32 set");
    assert_string_equal(cr0_error_name(CR0_PG_WITHOUT_PE), "PG without PE");
    assert_string_equal(cr0_error_name(CR0_NW_WITHOUT_CD), "NW without CD");
    assert_string_equal(cr0_error_name(CR0_PG_OFF_IN_64BIT_MODE), "PG cleared in 64-bit mode");
    assert_string_equal(cr0_error_name(CR0_PG_OFF_WITH_PCIDE), "PG cleared while CR4.PCIDE is 1");
    assert_string_equal(cr0_error_name(CR0_PG_LME_WITH_CS_L),
                        "PG set with EFER.LME 1 while CS.L is 1");
    assert_string_equal(cr0_error_name((enum cr0_error)8), "invalid");
    assert_string_equal(cr0_error_name((enum cr0_error)-1), "invalid");
}

static void cr0_normalize_drops_reserved_and_sets_et(void **state)
{
    (void)state;
    assert_int_equal(CR0_DEFINED, 0xe005003full);
    assert_int_equal(cr0_normalize(0), 0x10);
    assert_int_equal(cr0_normalize(0x80050023), 0x80050033);
    assert_int_equal(cr0_normalize(0x80050033), 0x80050033);
    assert_int_equal(cr0_normalize(0x40), 0x10); // bit 6 is reserved
    assert_int_equal(cr0_normalize(0xffffffff), 0xe005003f);
    assert_int_equal(cr0_normalize(~0ull), 0xe005003f);
}

static void cr_visible_mixes_real_and_shadow(void **state)
{
    (void)state;
    // The guest owns TS: it sees its real TS, and the shadow for the rest.
    assert_int_equal(cr_visible(0x8005003b, 0x80050033, CR0_TS), 0x8005003b);
    assert_int_equal(cr_visible(0x80050033, 0x8005003b, CR0_TS), 0x80050033);
    assert_int_equal(cr_visible(0x80050033, 0x00000010, 0), 0x00000010);
    assert_int_equal(cr_visible(0x80050033, 0x00000010, ~0ull), 0x80050033);
    assert_int_equal(cr_visible(0x0000ffff, 0xffff0000, 0x00ff00ff), 0xff0000ff);
}

static void cr0_ownership_allowed(void **state)
{
    (void)state;
    unsigned bit = 99;
    const char *why = NULL;
    assert_int_equal(cr0_owned_check(0x10008, CR0_FIXED0, CR0_FIXED1, &bit, &why), 0);
    assert_int_equal(cr0_owned_check(CR0_WP | CR0_TS, CR0_FIXED0, CR0_FIXED1, &bit, &why), 0);
    assert_int_equal(cr0_owned_check(0, CR0_FIXED0, CR0_FIXED1, &bit, &why), 0);
    // every defined bit that FIXED0 does not force: MP EM TS ET WP AM NW CD
    assert_int_equal(cr0_owned_check(0x6005001e, CR0_FIXED0, CR0_FIXED1, &bit, &why), 0);
}

static void cr0_ownership_refused(void **state)
{
    (void)state;
    unsigned bit = 99;
    const char *why = NULL;
    assert_int_equal(cr0_owned_check(CR0_PE, CR0_FIXED0, CR0_FIXED1, &bit, &why), -1);
    assert_int_equal(bit, 0);
    assert_string_equal(why, WHY_FIXED1);
    assert_int_equal(cr0_owned_check(0x10008 | CR0_NE, CR0_FIXED0, CR0_FIXED1, &bit, &why), -1);
    assert_int_equal(bit, 5);
    assert_string_equal(why, WHY_FIXED1);
    assert_int_equal(cr0_owned_check(CR0_PG, CR0_FIXED0, CR0_FIXED1, &bit, &why), -1);
    assert_int_equal(bit, 31);
    assert_string_equal(why, WHY_FIXED1);

    assert_int_equal(cr0_owned_check(1ull << 6, CR0_FIXED0, CR0_FIXED1, &bit, &why), -1);
    assert_int_equal(bit, 6);
    assert_string_equal(why, WHY_RESERVED);
    assert_int_equal(cr0_owned_check(CR0_TS | (1ull << 40), CR0_FIXED0, CR0_FIXED1, &bit, &why),
                     -1);
    assert_int_equal(bit, 40);
    assert_string_equal(why, WHY_RESERVED);

    // The lowest offending bit is the one reported.
    assert_int_equal(cr0_owned_check((1ull << 6) | CR0_PE, CR0_FIXED0, CR0_FIXED1, &bit, &why),
                     -1);
    assert_int_equal(bit, 0);
    assert_string_equal(why, WHY_FIXED1);

    // A CPU whose FIXED1 forces NW to 0.
    assert_int_equal(cr0_owned_check(CR0_TS | CR0_NW, CR0_FIXED0, CR0_FIXED1 & ~CR0_NW, &bit,
                                     &why), -1);
    assert_int_equal(bit, 29);
    assert_string_equal(why, WHY_FIXED0);
}

static void cr4_ownership(void **state)
{
    (void)state;
    unsigned bit = 99;
    const char *why = NULL;
    // PAE PGE OSFXSR OSXMMEXCPT
    assert_int_equal(cr4_owned_check(0x6a0, CR4_FIXED0, CR4_FIXED1, &bit, &why), 0);
    assert_int_equal(cr4_owned_check(CR4_FIXED1 & ~CR4_FIXED0, CR4_FIXED0, CR4_FIXED1, &bit,
                                     &why), 0);

    assert_int_equal(cr4_owned_check(CR4_VMXE, CR4_FIXED0, CR4_FIXED1, &bit, &why), -1);
    assert_int_equal(bit, 13);
    assert_string_equal(why, WHY_CR4_FIXED1);
    assert_int_equal(cr4_owned_check(CR4_PAE | CR4_VMXE, CR4_FIXED0, CR4_FIXED1, &bit, &why), -1);
    assert_int_equal(bit, 13);

    // 0x3727ff has bits 11, 12, 14, 15, 19 and 22 up clear: CR4 defines
    // what FIXED1 allows, so those count as reserved.
    assert_int_equal(cr4_owned_check(1ull << 15, CR4_FIXED0, CR4_FIXED1, &bit, &why), -1);
    assert_int_equal(bit, 15);
    assert_string_equal(why, WHY_RESERVED);
    assert_int_equal(cr4_owned_check(CR4_PGE | (1ull << 11), CR4_FIXED0, CR4_FIXED1, &bit, &why),
                     -1);
    assert_int_equal(bit, 11);
    assert_string_equal(why, WHY_RESERVED);
    assert_int_equal(cr4_owned_check(1ull << 40, CR4_FIXED0, CR4_FIXED1, &bit, &why), -1);
    assert_int_equal(bit, 40);
    assert_string_equal(why, WHY_RESERVED);
}

static void cr0_bit_names(void **state)
{
    (void)state;
    assert_string_equal(cr0_bit_name(0), "PE");
    assert_string_equal(cr0_bit_name(1), "MP");
    assert_string_equal(cr0_bit_name(2), "EM");
    assert_string_equal(cr0_bit_name(3), "TS");
    assert_string_equal(cr0_bit_name(4), "ET");
    assert_string_equal(cr0_bit_name(5), "NE");
    assert_string_equal(cr0_bit_name(16), "WP");
    assert_string_equal(cr0_bit_name(18), "AM");
    assert_string_equal(cr0_bit_name(29), "NW");
    assert_string_equal(cr0_bit_name(30), "CD");
    assert_string_equal(cr0_bit_name(31), "PG");
    assert_string_equal(cr0_bit_name(6), "reserved");
    assert_string_equal(cr0_bit_name(17), "reserved");
    assert_string_equal(cr0_bit_name(32), "reserved");
    assert_string_equal(cr0_bit_name(~0u), "reserved");
    // The names and CR0_DEFINED agree on every bit.
    for (unsigned b = 0; b < 64; b++) {
        bool named = strcmp(cr0_bit_name(b), "reserved") != 0;
        assert_int_equal(named, (CR0_DEFINED >> b) & 1);
    }
}

// The hot path's folded check must agree with cr0_check() in 64-bit mode on
// every combination of the bits the rules look at, plus reserved-bit noise.
static void valid_in_long_mode_agrees_with_cr0_check(void **state)
{
    (void)state;
    const uint64_t bits[] = { 1ull << 0, 1ull << 29, 1ull << 30, 1ull << 31, 1ull << 32,
                              1ull << 63, 1ull << 16, 1ull << 3 };
    for (unsigned m = 0; m < (1u << 8); m++) {
        uint64_t v = 0;
        for (unsigned b = 0; b < 8; b++)
            if (m & (1u << b))
                v |= bits[b];
        assert_int_equal(cr0_valid_in_long_mode(v), cr0_check(v, true, false) == CR0_OK);
    }
}

static void cr4_bit_names(void **state)
{
    (void)state;
    assert_string_equal(cr4_bit_name(5), "PAE");
    assert_string_equal(cr4_bit_name(9), "OSFXSR");
    assert_string_equal(cr4_bit_name(13), "VMXE");
    assert_string_equal(cr4_bit_name(15), "reserved");
    assert_string_equal(cr4_bit_name(40), "reserved");
}

// Bochs corei7_skylake_x: IA32_VMX_CR4_FIXED1 0x3727ff; CPUID.1:ECX has PCID
// (17) and XSAVE (26); CPUID.(7,0):EBX has FSGSBASE (0), SMEP (7), SMAP (20).
static const uint32_t leaf1[4] = { 0, 0, (1u << 17) | (1u << 26), 0 };
static const uint32_t leaf7[4] = { 0, (1u << 0) | (1u << 7) | (1u << 20), 0, 0 };
#define SKYLAKE_FIXED1 0x3727ffull

static void cr4_guest_bits_from_fixed1_and_cpuid(void **state)
{
    (void)state;
    uint64_t v = cr4_guest_valid(SKYLAKE_FIXED1, leaf1, leaf7);
    // VME..OSXMMEXCPT, FSGSBASE, PCIDE, OSXSAVE, SMEP, SMAP; never VMXE.
    assert_int_equal(v, 0x7ffull | CR4_FSGSBASE | CR4_PCIDE | CR4_OSXSAVE | CR4_SMEP | CR4_SMAP);
    assert_false(v & CR4_VMXE);
    // FIXED1 forbids what CPUID offers: forbidden wins.
    assert_false(cr4_guest_valid(SKYLAKE_FIXED1 & ~(uint64_t)CR4_SMEP, leaf1, leaf7) & CR4_SMEP);
    // CPUID lacks what FIXED1 allows: not offered.
    static const uint32_t none[4] = { 0 };
    v = cr4_guest_valid(SKYLAKE_FIXED1, none, none);
    assert_int_equal(v, 0x7ffull);
    // LA57, UMIP, PKE, CET from leaf 7 ECX/EDX, where FIXED1 has them.
    static const uint32_t icelake7[4] = { 0, 0, (1u << 2) | (1u << 3) | (1u << 16), 1u << 20 };
    v = cr4_guest_valid(~0ull, none, icelake7);
    assert_true(v & CR4_UMIP && v & CR4_PKE && v & CR4_LA57 && v & CR4_CET);
    assert_false(v & (CR4_VMXE | CR4_SMXE));
    assert_false(v >> 32);
}

// MOV to CR4 in IA-32e mode, where vmxlab's own guests run.
static enum cr4_error in_ia32e(uint64_t val, uint64_t old, uint64_t cr3, uint64_t valid, bool wp)
{
    return cr4_check(val, old, cr3, valid, wp, true);
}

static void cr4_rules(void **state)
{
    (void)state;
    const uint64_t valid = cr4_guest_valid(SKYLAKE_FIXED1, leaf1, leaf7);
    const uint64_t entry = CR4_PAE | CR4_MCE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    assert_int_equal(in_ia32e(entry | CR4_PGE, entry, 0x1000, valid, true), CR4_OK);
    assert_int_equal(in_ia32e(entry | CR4_VMXE, entry, 0x1000, valid, true), CR4_RESERVED);
    assert_int_equal(in_ia32e(entry | (1u << 15), entry, 0x1000, valid, true), CR4_RESERVED);
    assert_int_equal(in_ia32e(entry | (1ull << 32), entry, 0x1000, valid, true), CR4_RESERVED);
    assert_int_equal(in_ia32e(entry & ~(uint64_t)CR4_PAE, entry, 0x1000, valid, true),
                     CR4_PAE_OFF_IN_LONG_MODE);
    // LA57: reserved where not offered; where offered, a change is refused.
    assert_int_equal(in_ia32e(entry | CR4_LA57, entry, 0x1000, valid, true), CR4_RESERVED);
    assert_int_equal(in_ia32e(entry | CR4_LA57, entry, 0x1000, ~0ull, true), CR4_LA57_CHANGED);
    assert_int_equal(in_ia32e(entry, entry | CR4_LA57, 0x1000, ~0ull, true), CR4_LA57_CHANGED);
    assert_int_equal(in_ia32e(entry | CR4_LA57, entry | CR4_LA57, 0x1000, ~0ull, true), CR4_OK);
    // PCIDE: only with CR3[11:0] = 0 when it is being set.
    assert_int_equal(in_ia32e(entry | CR4_PCIDE, entry, 0x1008, valid, true),
                     CR4_PCIDE_WITH_CR3_LOW_BITS);
    assert_int_equal(in_ia32e(entry | CR4_PCIDE, entry, 0x1000, valid, true), CR4_OK);
    assert_int_equal(in_ia32e(entry | CR4_PCIDE, entry | CR4_PCIDE, 0x1008, valid, true), CR4_OK);
    // CET needs WP.
    assert_int_equal(in_ia32e(entry | CR4_CET, entry, 0x1000, ~0ull, false), CR4_CET_WITHOUT_WP);
    assert_int_equal(in_ia32e(entry | CR4_CET, entry, 0x1000, ~0ull, true), CR4_OK);
    // The first rule broken is the one named.
    assert_int_equal(in_ia32e(CR4_VMXE, entry, 0x1008, valid, false), CR4_RESERVED);
    assert_string_equal(cr4_error_name(CR4_PAE_OFF_IN_LONG_MODE), "PAE cleared in IA-32e mode");
    assert_string_equal(cr4_error_name((enum cr4_error)99), "invalid");
}

// Outside IA-32e mode (a multiboot kernel before its switch, or after leaving): PAE and
// LA57 are the guest's to change, and PCIDE cannot be set (SDM 3A 4.10.1).
static void cr4_rules_outside_ia32e(void **state)
{
    (void)state;
    assert_int_equal(cr4_check(0, CR4_PAE, 0x1000, ~0ull, false, false), CR4_OK);
    assert_int_equal(cr4_check(CR4_PAE, 0, 0x1000, ~0ull, false, false), CR4_OK);
    assert_int_equal(cr4_check(CR4_PSE, CR4_PAE, 0x1000, ~0ull, false, false), CR4_OK);
    assert_int_equal(cr4_check(CR4_LA57 | CR4_PAE, CR4_PAE, 0x1000, ~0ull, false, false),
                     CR4_OK);
    assert_int_equal(cr4_check(CR4_PAE | CR4_PCIDE, CR4_PAE, 0x1000, ~0ull, false, false),
                     CR4_PCIDE_OUTSIDE_IA32E);
    assert_int_equal(cr4_check(CR4_VMXE, 0, 0x1000, ~(uint64_t)CR4_VMXE, false, false),
                     CR4_RESERVED);
    assert_string_equal(cr4_error_name(CR4_PCIDE_OUTSIDE_IA32E), "PCIDE set outside IA-32e mode");
}

// What a valid MOV to CR0 does to the paging mode (SDM 3A 10.8.5, 10.8.5.4, 4.1.2), as
// guest/multiboot/entry.S and leave64_switch.S make the transitions.
static void cr0_mode_changes(void **state)
{
    (void)state;
    enum cr0_change c;
    const uint64_t off = CR0_PE | CR0_ET, on = off | CR0_PG;
    // Into IA-32e mode: CR4.PAE, EFER.LME, then PG, from 32-bit code (CS.L 0).
    assert_int_equal(cr0_mode_change(off, on, EFER_LME, CR4_PAE, false, &c), CR0_OK);
    assert_int_equal(c, CR0_ENTER_IA32E);
    assert_int_equal(cr0_mode_change(off, on, EFER_LME, 0, false, &c), CR0_PG_LME_WITHOUT_PAE);
    assert_int_equal(cr0_mode_change(off, on, EFER_LME, CR4_PAE, true, &c),
                     CR0_PG_LME_WITH_CS_L);
    // Without LME: 32-bit paging, or PAE paging.
    assert_int_equal(cr0_mode_change(off, on, 0, 0, false, &c), CR0_OK);
    assert_int_equal(c, CR0_PAGING_ON);
    assert_int_equal(cr0_mode_change(off, on, 0, CR4_PAE, false, &c), CR0_OK);
    assert_int_equal(c, CR0_PAGING_ON);
    // Out: PG cleared in compatibility mode leaves IA-32e mode; outside it, paging off.
    assert_int_equal(cr0_mode_change(on, off, EFER_LME | EFER_LMA, CR4_PAE, false, &c), CR0_OK);
    assert_int_equal(c, CR0_LEAVE_IA32E);
    assert_int_equal(cr0_mode_change(on, off, 0, CR4_PAE, false, &c), CR0_OK);
    assert_int_equal(c, CR0_PAGING_OFF);
    // PE cleared: real mode. WP, TS, CD alone: no change of mode.
    assert_int_equal(cr0_mode_change(off, CR0_ET, 0, 0, false, &c), CR0_OK);
    assert_int_equal(c, CR0_REAL_MODE);
    assert_int_equal(cr0_mode_change(on, on | CR0_WP, EFER_LME | EFER_LMA, CR4_PAE, true, &c),
                     CR0_OK);
    assert_int_equal(c, CR0_SAME_MODE);
    assert_int_equal(cr0_mode_change(off, off | CR0_TS, EFER_LME, 0, false, &c), CR0_OK);
    assert_int_equal(c, CR0_SAME_MODE);
    assert_string_equal(cr0_error_name(CR0_PG_LME_WITHOUT_PAE),
                        "PG set with EFER.LME 1 and CR4.PAE 0");
    assert_string_equal(cr0_change_name(CR0_ENTER_IA32E), "IA-32e mode entered (EFER.LMA 1)");
}

// PAE paging outside IA-32e mode and when its PDPTEs are loaded (SDM 3A 4.4.1).
static void pdpte_rules(void **state)
{
    (void)state;
    const uint64_t pg = CR0_PE | CR0_PG;
    assert_true(pae_paging(pg, CR4_PAE, 0));
    assert_false(pae_paging(pg, CR4_PAE, EFER_LME | EFER_LMA)); // IA-32e paging
    assert_false(pae_paging(pg, 0, 0));                          // 32-bit paging
    assert_false(pae_paging(CR0_PE, CR4_PAE, 0));                // no paging
    assert_true(pdptes_reload(CR0_PE, pg, CR4_PAE, CR4_PAE));    // PG set
    assert_true(pdptes_reload(pg, pg | CR0_CD, CR4_PAE, CR4_PAE));
    assert_true(pdptes_reload(pg, pg, CR4_PAE, CR4_PAE | CR4_PGE));
    assert_true(pdptes_reload(pg, pg, CR4_PSE, CR4_PAE));        // 32-bit to PAE paging
    assert_false(pdptes_reload(pg, pg | CR0_WP, CR4_PAE, CR4_PAE));
    assert_false(pdptes_reload(pg, pg, CR4_PAE, CR4_PAE | CR4_OSFXSR));
    uint64_t good[4] = { 0x1001, 0x2001, 0, 0x3001 }, bad[4] = { 0x1001, 0x2003, 0, 0 };
    assert_int_equal(pdptes_check(good, 36), -1);
    assert_int_equal(pdptes_check(bad, 36), 1);               // bit 1 (R/W) is reserved
    bad[1] = 0x2000 | (1ull << 36) | 1;                       // an address past MAXPHYADDR
    assert_int_equal(pdptes_check(bad, 36), 1);
    assert_int_equal(pdptes_check(bad, 40), -1);
    bad[1] = 0x2002;                                          // not present: not checked
    assert_int_equal(pdptes_check(bad, 36), -1);
    bad[3] = 0x1e7;                                           // bits 8:5 too
    assert_int_equal(pdptes_check(bad, 36), 3);
}

// WRMSR to IA32_EFER (SDM 3A 2.2.1, 4.1.2): LME while paging is off, LMA read-only.
static void efer_rules(void **state)
{
    (void)state;
    uint64_t e = 0;
    assert_int_equal(efer_write(0, EFER_LME, false, true, &e), 0);     // before CR0.PG
    assert_int_equal(e, EFER_LME);
    assert_int_equal(efer_write(EFER_LME, EFER_LME | EFER_NXE, false, true, &e), 0);
    assert_int_equal(e, EFER_LME | EFER_NXE);
    assert_int_equal(efer_write(EFER_LME | EFER_LMA, EFER_LME | EFER_SCE, true, true, &e), 0);
    assert_int_equal(e, EFER_LME | EFER_LMA | EFER_SCE);                 // LMA kept
    assert_int_equal(efer_write(EFER_LME | EFER_LMA, 0, true, true, &e), -1); // LME, paging on
    assert_int_equal(efer_write(0, EFER_LME, true, true, &e), -1);
    assert_int_equal(efer_write(EFER_LME, 0, false, true, &e), 0);     // after leaving
    assert_int_equal(e, 0);
    assert_int_equal(efer_write(0, EFER_LMA, false, true, &e), 0);     // LMA ignored
    assert_int_equal(e, 0);
    assert_int_equal(efer_write(0, EFER_NXE, false, false, &e), -1);   // no NX
    assert_int_equal(efer_write(0, 1ull << 9, false, true, &e), -1);   // reserved
    // The real EFER: LME only with LMA; NXE always under shadow paging where the CPU has it.
    assert_int_equal(efer_real(EFER_LME, false, true), 0);
    assert_int_equal(efer_real(EFER_LME | EFER_LMA, false, true), EFER_LME | EFER_LMA);
    assert_int_equal(efer_real(EFER_LME, true, true), EFER_NXE);
    assert_int_equal(efer_real(0, true, false), 0);
}

static void cr4_writes_that_flush(void **state)
{
    (void)state;
    const uint64_t entry = CR4_PAE | CR4_MCE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    assert_true(cr4_write_flushes(entry, entry | CR4_PGE));
    assert_true(cr4_write_flushes(entry | CR4_PGE, entry));
    assert_true(cr4_write_flushes(entry, entry | CR4_SMEP));
    assert_true(cr4_write_flushes(entry | CR4_PCIDE, entry)); // PCIDE 1 -> 0
    assert_false(cr4_write_flushes(entry, entry | CR4_PCIDE)); // 0 -> 1 does not
    assert_false(cr4_write_flushes(entry, entry | CR4_OSXSAVE));
    assert_false(cr4_write_flushes(entry, entry));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cr4_bit_names),
        cmocka_unit_test(cr4_guest_bits_from_fixed1_and_cpuid),
        cmocka_unit_test(cr4_rules),
        cmocka_unit_test(cr4_rules_outside_ia32e),
        cmocka_unit_test(cr0_mode_changes),
        cmocka_unit_test(pdpte_rules),
        cmocka_unit_test(efer_rules),
        cmocka_unit_test(cr4_writes_that_flush),
        cmocka_unit_test(valid_in_long_mode_agrees_with_cr0_check),
        cmocka_unit_test(cr0_valid_values),
        cmocka_unit_test(cr0_invalid_values),
        cmocka_unit_test(cr0_error_precedence),
        cmocka_unit_test(cr0_pg_off_by_mode),
        cmocka_unit_test(cr3_rules),
        cmocka_unit_test(cr0_error_names),
        cmocka_unit_test(cr0_normalize_drops_reserved_and_sets_et),
        cmocka_unit_test(cr_visible_mixes_real_and_shadow),
        cmocka_unit_test(cr0_ownership_allowed),
        cmocka_unit_test(cr0_ownership_refused),
        cmocka_unit_test(cr4_ownership),
        cmocka_unit_test(cr0_bit_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
