// test_profiles.c: vmxlab on the CPUs it cannot boot on here. For each capability
// profile of tests/unit/profiles.c (real Intel CPUs, nested KVM): decode it, choose the
// controls, build the VMCS vmxlab would build (hv/vmx/vmcs_build.c) for each paging mode,
// policy and exit path, and for a multiboot kernel's 32-bit entry, into an imitation of
// that CPU's VMCS, run the entry checker on it, and run the field self-test against
// that CPU's VMWRITE. What vmxlab says it will
// do must be what the profile allows; the profiles it must refuse end with the reason.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../../hv/exit/exit.h"
#include "../../hv/mmu/mmu.h"
#include "profiles.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

// ---------------------------------------------------------------------------
// An imitation of one profile's VMCS: VMWRITE as that CPU does it.

struct fake {
    uint64_t slot[0x8000];
    const struct vmx_caps *caps;
    bool nested_kvm;
    unsigned bad;
};

static bool allowed1(const struct vmx_caps *c, enum ctl_kind k, uint32_t bit)
{
    return (ctl_cap(c, k) >> 32) & bit;
}

// A field the CPU lacks fails VMWRITE and VMREAD with VMfailValid 12 (SDM 3C 31.4).
// SDM 3D appendix B says which fields exist only with which control; KVM keeps every
// vmcs12 field, whatever it lets L1 use (nested.c, nested_vmx_calc_vmcs_enum_msr()).
static bool lacks(const struct fake *f, uint64_t field)
{
    const struct vmx_caps *c = f->caps;
    if (f->nested_kvm)
        return false;
    switch (field) {
    case VIRTUAL_PROCESSOR_ID:
        return !allowed1(c, CTL_PROC2, CTL_PROC2_VPID);
    case EPT_POINTER: case GUEST_PHYSICAL_ADDRESS: case GUEST_PDPTE0: case GUEST_PDPTE1:
    case GUEST_PDPTE2: case GUEST_PDPTE3:
        return !allowed1(c, CTL_PROC2, CTL_PROC2_EPT);
    case APIC_ACCESS_ADDR:
        return !allowed1(c, CTL_PROC2, CTL_PROC2_VIRT_APIC_ACCESSES);
    case VIRTUAL_APIC_PAGE_ADDR: case TPR_THRESHOLD:
        return !allowed1(c, CTL_PROC, CTL_PROC_TPR_SHADOW);
    case SECONDARY_VM_EXEC_CONTROL:
        return !allowed1(c, CTL_PROC, CTL_PROC_SECONDARY_CONTROLS);
    case VMX_PREEMPTION_TIMER_VALUE:
        return !allowed1(c, CTL_PIN, CTL_PIN_PREEMPTION_TIMER);
    case GUEST_IA32_PAT:
        return !allowed1(c, CTL_ENTRY, CTL_ENTRY_LOAD_PAT) &&
               !allowed1(c, CTL_EXIT, CTL_EXIT_SAVE_PAT);
    case HOST_IA32_PAT:
        return !allowed1(c, CTL_EXIT, CTL_EXIT_LOAD_PAT);
    case GUEST_IA32_EFER:
        return !allowed1(c, CTL_ENTRY, CTL_ENTRY_LOAD_EFER) &&
               !allowed1(c, CTL_EXIT, CTL_EXIT_SAVE_EFER);
    case HOST_IA32_EFER:
        return !allowed1(c, CTL_EXIT, CTL_EXIT_LOAD_EFER);
    }
    return false;
}

static const uint64_t width_mask[4] = { 0xffff, ~0ull, 0xffffffff, ~0ull }; // bits 14:13

static int fake_write(void *ctx, uint64_t field, uint64_t val)
{
    struct fake *f = ctx;
    if (lacks(f, field))
        return 12;
    val &= width_mask[(field >> 13) & 3];
    // Access rights: real CPUs, and KVM's handle_vmwrite(), drop the reserved bits
    // 31:17 and 11:8; L (bit 13) stays for CS alone (issue 14).
    if (field >= GUEST_ES_AR_BYTES && field <= GUEST_TR_AR_BYTES)
        val &= field == GUEST_CS_AR_BYTES ? 0x1f0ff : 0x1d0ff;
    f->slot[field & 0x7fff] = val;
    return 0;
}

static int fake_read(void *ctx, uint64_t field, uint64_t *val)
{
    struct fake *f = ctx;
    if (lacks(f, field))
        return 12;
    *val = f->slot[field & 0x7fff];
    return 0;
}

static void fake_bad(void *ctx, const struct vmcs_field_info *fi, uint64_t wrote, uint64_t read,
                     int err)
{
    ((struct fake *)ctx)->bad++;
    print_error("self-test: %s wrote 0x%lx read 0x%lx error %d\n", fi->name, wrote, read, err);
}

// Physical memory the checker may read: the VMCS region, with its revision id, and the
// identity map's PDPT (mb_entry below).
#define VMCS_PA 0x20000ull
#define IDENT_PA 0x1ca000ull
static uint8_t vmcs_page[4096];
static uint64_t ident_pdpt[4];

static int phys_read(void *ctx, uint64_t pa, void *buf, size_t n)
{
    (void)ctx;
    if (pa == IDENT_PA && n == sizeof(ident_pdpt)) {
        memcpy(buf, ident_pdpt, n);
        return 0;
    }
    if (pa < VMCS_PA || pa - VMCS_PA + n > sizeof(vmcs_page))
        return -1;
    memcpy(buf, vmcs_page + (pa - VMCS_PA), n);
    return 0;
}

// ---------------------------------------------------------------------------
// What vmxlab's kernel brings to vmcs_build(): addresses from its map, its GDT's
// selectors (boot/x86.h), CR0/CR4 as boot/entry.S sets them and vmx_on() adjusts them
// by the fixed-bit MSRs, EFER in long mode, PAT at reset; a guest header as the
// guest runtime (guest/rt) fills it.

static const struct guest_header guest_hdr = {
    .magic = GUEST_HEADER_MAGIC, .cr3 = 0x104000, .rsp = 0x180000,
    .gdt_base = 0x101000, .idt_base = 0x102000, .gdt_limit = 0x27, .idt_limit = 0xfff,
};

static struct host_state host_of(const struct vmx_caps *c, bool fast)
{
    uint64_t cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    uint64_t cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_VMXE;
    return (struct host_state){
        .cr0 = (cr0 | c->raw.cr0_fixed0) & c->raw.cr0_fixed1,
        .cr3 = 0x1a2000, .cr4 = (cr4 | c->raw.cr4_fixed0) & c->raw.cr4_fixed1,
        .tr_base = 0x1b8220, .gdtr_base = 0x1a1000, .idtr_base = 0x1b8020, .rsp = 0x1c0000,
        .rip = fast ? 0x104800 : 0x104000, // vmx_exit_fast, vmx_exit_stub
        .efer = EFER_LME | EFER_LMA, .pat = 0x0007040600070406ull,
    };
}

// Every bit of each control field within what the profile allows (SDM 3D A.3-A.5).
static void controls_allowed(const char *name, const struct vmx_caps *c,
                             struct vmx_controls v)
{
    for (int k = 0; k < CTL_KINDS; k++) {
        uint64_t cap = ctl_cap(c, k);
        uint32_t val = *ctl_field(&v, k);
        if (k == CTL_PROC2 && !(v.proc & CTL_PROC_SECONDARY_CONTROLS))
            continue;
        uint32_t extra = val & ~(uint32_t)(cap >> 32), missing = (uint32_t)cap & ~val;
        if (extra || missing) {
            print_error("%s: %s 0x%x: bits 0x%x not allowed, default-1 bits 0x%x clear\n",
                        name, ctl_kind_name(k), val, extra, missing);
            fail();
        }
    }
}

// The widest CR0 and CR4 ownership cr0_owned= and cr4_owned= accept (policy=custom;
// passthrough owns a part of it, intercept and adaptive start with none).
static uint64_t widest(const struct vmx_caps *c, bool cr4)
{
    uint64_t owned = 0;
    for (unsigned b = 0; b < 32; b++) {
        unsigned bad;
        const char *why;
        int r = cr4 ? cr4_owned_check(BIT(b), c->raw.cr4_fixed0, c->raw.cr4_fixed1, &bad, &why)
                    : cr0_owned_check(BIT(b), c->raw.cr0_fixed0, c->raw.cr0_fixed1, &bad, &why);
        if (!r && !(cr4 && BIT(b) == CR4_MCE)) // MCE stays the host's (hv/run/experiment.c)
            owned |= BIT(b);
    }
    return owned;
}

struct seen {
    unsigned n;
    char first[320];
};

static void collect(void *ctx, const struct check_finding *f)
{
    struct seen *s = ctx;
    if (!s->n++)
        check_format(s->first, sizeof(s->first), f);
}

// A multiboot kernel's entry, as hv/run/guest.c sets it up: 32-bit protected mode with
// paging off, QEMU's option-ROM GDT and stack, EFER 0; under shadow paging the real CR3
// is the identity map's PDPT, whose four entries (present, RAM below 4 GiB) the entry
// checker reads when the CPU loads them without EPT (SDM 3C 27.3.1.6).
static const struct guest_entry mb_entry = {
    .prot32 = true, .rip = 0x400000, .rsp = 0x6f08, .gdt_base = 0xcb2b8, .gdt_limit = 0x27,
    .idt_base = 0, .idt_limit = 0x3ff,
};
// One VMCS: built as vmxlab builds it, then judged by the entry checker.
static void build_and_check(const struct profile *p, const struct vmx_caps *c,
                            const struct vmx_controls *run, bool shadow, bool prot32,
                            uint64_t cr0_owned, uint64_t cr4_owned, bool fast)
{
    static struct fake f;
    memset(&f, 0, sizeof(f));
    f.caps = c;
    f.nested_kvm = p->nested_kvm;
    struct vmcs_access acc = { fake_write, fake_read, fake_bad, &f };
    struct host_state host = host_of(c, fast);
    struct ept ept = { .pml4 = (uint64_t *)(uintptr_t)0x1c8000 };
    const struct guest_entry vmxlab_entry = {
        .rip = 0x100040, .rsp = guest_hdr.rsp, .gdt_base = guest_hdr.gdt_base,
        .gdt_limit = guest_hdr.gdt_limit, .idt_base = guest_hdr.idt_base,
        .idt_limit = guest_hdr.idt_limit,
    };
    struct vm_setup s = {
        .caps = c, .ctls = run, .host = &host, .entry = prot32 ? mb_entry : vmxlab_entry,
        .eptp = ept_pointer(&ept), .msr_bitmap = 0x1c7000,
        // the shadow root, the identity map, or the guest's own
        .cr3 = shadow ? (prot32 ? IDENT_PA : 0x1c9000) : prot32 ? 0 : guest_hdr.cr3,
        .shadow = shadow, .efer = prot32 ? 0 : EFER_LME | EFER_LMA, .cr0_owned = cr0_owned,
        .cr4_owned = cr4_owned, .vpid = 1,
    };
    vm_setup_cr(c, shadow, prot32, cr0_owned, &s.cr);
    uint32_t field = 0;
    int err = vmcs_build(&acc, &s, &field);
    if (err) {
        print_error("%s: vmcs_build: VMWRITE of %s fails with %d on this CPU\n", p->name,
                    vmcs_field_name(field), err);
        fail();
    }
    memset(vmcs_page, 0, sizeof(vmcs_page));
    memcpy(vmcs_page, &c->revision, 4);
    memset(ident_pdpt, 0, sizeof(ident_pdpt));
    for (int i = 0; i < 4; i++) // ident_map_build()'s PDPTEs: a directory's address and P
        ident_pdpt[i] = 0x1cb000 + 0x1000 * (uint64_t)i + 1;
    struct check_env env = { .vmcs = &acc, .caps = c, .read_phys = phys_read,
                             .vmcs_pa = VMCS_PA, .host_ia32e = true };
    struct seen seen = { 0 };
    struct check_summary sum;
    check_vmcs(&env, collect, &seen, &sum);
    if (seen.n) {
        print_error("%s (%s, %s, CR0 owned 0x%lx, exit path %s): %u failures, first: %s\n",
                    p->name, shadow ? "shadow" : "ept", prot32 ? "multiboot" : "vmxlab guest",
                    cr0_owned, fast ? "fast" : "C", seen.n, seen.first);
        fail();
    }
    assert_int_equal(check_predict(&sum).how, ENTRY_ENTERED);
}

// What vmxlab says on its "VMX on" line and does with INVEPT/INVVPID, against what
// the profile's own MSR bits allow (SDM 3D A.3, A.6, A.10) and the table's row.
static void decisions(const struct profile *p, const struct vmx_caps *c,
                      const struct vmx_controls *base)
{
    const struct caps_raw *r = &c->raw;
    bool ept = base->proc2 & CTL_PROC2_EPT, vpid = base->proc2 & CTL_PROC2_VPID;
    bool timer = base->pin & CTL_PIN_PREEMPTION_TIMER;
    assert_int_equal(ept ? MMU_EPT : MMU_SHADOW_ROLES, p->expect.mmu);
    assert_int_equal(vpid, p->expect.vpid);
    assert_int_equal(timer, p->expect.preemption_timer);
    assert_int_equal(c->ept_2m, p->expect.ept_2m); // hv/run/guest.c maps 2 MiB pages iff set
    assert_int_equal(c->timer_shift, p->expect.timer_shift);
    assert_int_equal(invept_type(c), p->expect.invept);
    assert_int_equal(vpid ? invvpid_type(c, false) : 0, p->expect.invvpid);
    if (ept) // 4-level walks (bit 6), write-back tables (bit 14)
        assert_true((r->ept_vpid & BIT(6)) && (r->ept_vpid & BIT(14)));
    if (c->ept_2m)
        assert_true(r->ept_vpid & BIT(16));
    if (vpid) // INVVPID (bit 32) of one context (41) or all (42)
        assert_true((r->ept_vpid & BIT(32)) && (r->ept_vpid & (BIT(41) | BIT(42))));
    if (timer)
        assert_true(r->pinbased & BIT(32 + 6));
    if (invept_type(c)) // INVEPT (bit 20), single context (25) or all (26)
        assert_true((r->ept_vpid & BIT(20)) &&
                    (r->ept_vpid & BIT(invept_type(c) == 1 ? 25 : 26)));
    unsigned t = invvpid_type(c, true); // the type hv/exit/exit_cr.c uses for a CR4 change
    if (vpid)
        assert_true(r->ept_vpid & BIT(t == 3 ? 43 : t == 1 ? 41 : 42));
}

static void profile_runs(const struct profile *p)
{
    struct vmx_caps c;
    caps_decode(&p->raw, &c);
    const char *why = caps_unsupported(&c);
    if (why) {
        print_error("%s: refused: %s\n", p->name, why);
        fail();
    }
    struct vmx_controls base;
    enum ctl_kind kind;
    unsigned bit;
    if (vmx_controls_choose(&c, &base, &kind, &bit)) {
        print_error("%s: lacks the %s '%s'\n", p->name, ctl_kind_name(kind),
                    ctl_bit_name(kind, bit));
        fail();
    }
    controls_allowed(p->name, &c, base);
    decisions(p, &c, &base);
    // Each paging mode this CPU has (shadow_wp=roles and flush build the same VMCS),
    // each ownership from none to the widest (unsafe=1 runs any under shadow paging),
    // each exit path.
    // A multiboot kernel (prot32) too, under EPT only with unrestricted guest (else
    // hv/run/guest.c refuses it there).
    for (int shadow = !(base.proc2 & CTL_PROC2_EPT); shadow <= 1; shadow++) {
        for (int prot32 = 0; prot32 <= 1; prot32++) {
            if (prot32 && !shadow && !c.unrestricted_guest)
                continue;
            struct vmx_controls run;
            assert_int_equal(vmx_controls_paging(&c, &base, shadow, prot32, &run), 0);
            controls_allowed(p->name, &c, run);
            const uint64_t owned[2][2] = { { 0, 0 }, { widest(&c, false), widest(&c, true) } };
            for (int o = 0; o < 2; o++)
                for (int fast = 0; fast <= 1; fast++)
                    build_and_check(p, &c, &run, shadow, prot32, owned[o][0], owned[o][1],
                                    fast);
        }
    }
    // The field self-test against this CPU's VMWRITE: nothing bad; what it lacks is
    // counted as unsupported, and that is exactly what the profile lacks.
    static struct fake f;
    memset(&f, 0, sizeof(f));
    f.caps = &c;
    f.nested_kvm = p->nested_kvm;
    struct vmcs_access acc = { fake_write, fake_read, fake_bad, &f };
    struct vmcs_selftest res;
    vmcs_selftest_fields(&acc, &res);
    unsigned lacking = 0;
    for (size_t i = 0; i < vmcs_nfields; i++)
        lacking += ((vmcs_fields[i].enc >> 10) & 3) != 1 && lacks(&f, vmcs_fields[i].enc);
    assert_int_equal(res.bad, 0);
    assert_int_equal(f.bad, 0);
    assert_int_equal(res.unsupported, lacking);
    assert_true(res.ok > 0);
}

static void profile_refused(const struct profile *p)
{
    struct vmx_caps c;
    caps_decode(&p->raw, &c);
    const char *why = caps_unsupported(&c);
    if (!why || !strstr(why, p->expect.refused)) {
        print_error("%s: expected a refusal naming '%s', got: %s\n", p->name,
                    p->expect.refused, why ? why : "(accepted)");
        fail();
    }
}

static void each_profile(void **state)
{
    const struct profile *p = *state;
    if (p->expect.refused)
        profile_refused(p);
    else
        profile_runs(p);
}

// The table itself: every row has a source, the names are distinct, and it covers
// what issue 17 asks: nested KVM, real CPUs, refusals, and the four CPU traits.
static void the_table(void **state)
{
    (void)state;
    unsigned nested = 0, real = 0, refused = 0, no_ug = 0, rates = 0, hybrid = 0, amx = 0;
    unsigned rate_seen = ~0u;
    for (size_t i = 0; i < nprofiles; i++) {
        const struct profile *p = &profiles[i];
        assert_true(p->source && strlen(p->source) > 20);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(p->name, profiles[j].name);
        if (p->expect.refused) {
            refused++;
            continue;
        }
        struct vmx_caps c;
        caps_decode(&p->raw, &c);
        nested += p->nested_kvm;
        if (p->nested_kvm)
            continue;
        real++;
        no_ug += !c.unrestricted_guest && !c.ept_ad;
        if (rate_seen != ~0u && c.timer_shift != rate_seen)
            rates++;
        rate_seen = c.timer_shift;
        hybrid += !!(p->raw.cpuid7[3] & BIT(15));
        amx += (p->raw.cpuid7[3] & (BIT(22) | BIT(24) | BIT(25))) != 0;
    }
    assert_true(nested >= 3 && real >= 4 && refused >= 4);
    assert_true(no_ug >= 1 && rates >= 1 && hybrid >= 1 && amx >= 1);
    assert_true(nprofiles >= 8);
}

int main(void)
{
    static struct CMUnitTest tests[64];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest){ "the_table", the_table, NULL, NULL, NULL };
    for (size_t i = 0; i < nprofiles && n < ARRAY_SIZE(tests); i++)
        tests[n++] = (struct CMUnitTest){ profiles[i].name, each_profile, NULL, NULL,
                                          (void *)&profiles[i] };
    return _cmocka_run_group_tests("profiles", tests, n, NULL, NULL);
}
