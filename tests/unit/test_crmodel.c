// test_crmodel.c: the hostile guest's reference model of MOV to CR0/CR4, CLTS
// and LMSW (guest/crmodel.h, written from the SDM) against the hypervisor's own
// rules (hv/exit/cr.c, hv/exit/internal.h), which decide every intercepted write: on known
// cases, then on a million random values near and far from valid ones, the two
// must agree on #GP and on what the register reads afterwards. Two independent
// readings of the same SDM pages, so a slip in either shows.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../guest/crmodel.h"
#include "../../hv/exit/internal.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

#define ENTRY_CR0 0x80010033ull // PE MP ET NE WP PG: guest-abi.md's entry state
#define ENTRY_CR4 0x00000660ull // PAE MCE OSFXSR OSXMMEXCPT

static uint64_t rng = 0x1234567887654321ull;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

// CPUID leaf 1 and 7 of Bochs' skylake model as a guest sees it (VMX hidden):
// what the CR4 bits' feature flags say there.
static const uint32_t l1_ecx = 0xfeda3203 & ~(1u << 5), l1_edx = 0x1fcbfbff;
static const uint32_t l7_ebx = 0x001c0fbb, l7_ecx = 0x00000004, l7_edx = 0;

static void known_cases(void **state)
{
    (void)state;
    uint64_t valid = crmodel_cr4_valid(l1_ecx, l1_edx, l7_ebx, l7_ecx, l7_edx);
    struct crmodel m = { ENTRY_CR0, ENTRY_CR4, 0x1000, valid };
    assert_false(valid & (1u << 13));         // VMXE: CPUID hides VMX
    assert_true(valid & (1u << 20));          // SMEP: leaf 7 EBX[7]
    assert_true(valid & (1u << 11));          // UMIP: leaf 7 ECX[2]
    assert_false(crmodel_mov_cr0(&m, 1ull << 32));        // reserved high bit
    assert_false(crmodel_mov_cr0(&m, ENTRY_CR0 & ~1ull));  // PG without PE
    assert_false(crmodel_mov_cr0(&m, ENTRY_CR0 | CRM_NW)); // NW without CD
    assert_false(crmodel_mov_cr0(&m, ENTRY_CR0 & ~CRM_PG)); // leaving IA-32e mode
    assert_int_equal(m.cr0, ENTRY_CR0);                    // none of them landed
    assert_true(crmodel_mov_cr0(&m, ENTRY_CR0 | CRM_CD | CRM_NW | (1u << 6)));
    assert_int_equal(m.cr0, ENTRY_CR0 | CRM_CD | CRM_NW); // bit 6 reserved: ignored
    assert_true(crmodel_mov_cr0(&m, ENTRY_CR0 & ~CRM_ET));
    assert_int_equal(m.cr0, ENTRY_CR0);                    // ET reads 1
    assert_false(crmodel_mov_cr4(&m, ENTRY_CR4 & ~CRM_CR4_PAE));
    assert_false(crmodel_mov_cr4(&m, ENTRY_CR4 | CRM_CR4_LA57)); // not offered, and a change
    assert_false(crmodel_mov_cr4(&m, ENTRY_CR4 | (1u << 13)));  // VMXE hidden
    m.cr3 = 0x1001;
    uint64_t with_pcide = ENTRY_CR4 | CRM_CR4_PCIDE;
    assert_false(crmodel_mov_cr4(&m, with_pcide)); // CR3[11:0] not 0
    m.cr3 = 0x1000;
    assert_true(crmodel_mov_cr4(&m, with_pcide));
    crmodel_lmsw(&m, 0);
    assert_int_equal(m.cr0 & 0xf, CRM_PE); // LMSW cannot clear PE
    crmodel_lmsw(&m, 0xe);
    assert_int_equal(m.cr0 & 0xf, 0xf);
    crmodel_clts(&m);
    assert_int_equal(m.cr0 & CRM_TS, 0);
}

// hv/exit/cr.c's verdict for the same write, with the CR4.CET rule of set_cr0().
static bool hv_cr0_lands(uint64_t val, uint64_t cr4)
{
    return cr0_check(val, true, false) == CR0_OK && !((cr4 & CR4_CET) && !(val & CR0_WP));
}

static uint64_t near(uint64_t cur)
{
    if (rnd() % 4 == 0)
        return rnd() >> (rnd() % 64);
    uint64_t v = cur;
    for (unsigned i = 1 + rnd() % 3; i; i--)
        v ^= 1ull << (rnd() % 33);
    return v;
}

static void agrees_with_hv_cr(void **state)
{
    (void)state;
    uint64_t valid = crmodel_cr4_valid(l1_ecx, l1_edx, l7_ebx, l7_ecx, l7_edx) | CR4_CET;
    struct crmodel m = { ENTRY_CR0, ENTRY_CR4, 0x1000, valid };
    for (unsigned i = 0; i < 1000000; i++) {
        m.cr3 = rnd() % 8 ? 0x1000 : 0x1000 | (rnd() & 0xfff);
        if (rnd() % 2) {
            uint64_t val = near(m.cr0);
            bool hv = hv_cr0_lands(val, m.cr4);
            uint64_t before = m.cr0;
            bool model = crmodel_mov_cr0(&m, val);
            if (hv != model)
                fail_msg("CR0 0x%lx (CR4 0x%lx): hv/exit/cr.c says %d, the model %d", val, m.cr4,
                         hv, model);
            assert_int_equal(m.cr0, model ? cr0_normalize(val) : before);
        } else {
            uint64_t val = near(m.cr4);
            bool hv = cr4_check(val, m.cr4, m.cr3, valid, m.cr0 & CR0_WP, true) == CR4_OK;
            bool model = crmodel_mov_cr4(&m, val);
            if (hv != model)
                fail_msg("CR4 0x%lx (was 0x%lx, CR3 0x%lx, CR0 0x%lx): hv/exit/cr.c says %d, the "
                         "model %d", val, m.cr4, m.cr3, m.cr0, hv, model);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_cases),
        cmocka_unit_test(agrees_with_hv_cr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
