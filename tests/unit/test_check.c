// test_check.c: the VM-entry checker (hv/vmx/check.c) and the break= table (hv/vmx/breaks.c)
// on VMCSs built in memory. A good VMCS, as hv/vmx/vmcs.c's vmcs_setup() builds it,
// passes every rule under Bochs' corei7_skylake_x (its MSRs, read in a boot) and a
// real Core i7-5600U (VirtualBox's CPU database, VMMR3/cpus/Intel_Core_i7_5600U.h, a
// VBoxCpuReport of that machine). Each break, and each case below for the rules
// Bochs cannot be made to show, is named by exactly its rule.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../boot/x86.h"
#include "../../hv/vmx/internal.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

// ---------------------------------------------------------------------------
// An imitation VMCS, and physical memory: a few pages at fixed addresses.

struct fake {
    uint64_t slot[0x8000];
};

static const uint64_t width_mask[4] = { 0xffff, ~0ull, 0xffffffff, ~0ull }; // bits 14:13

static int fake_write(void *ctx, uint64_t field, uint64_t val)
{
    ((struct fake *)ctx)->slot[field & 0x7fff] = val & width_mask[(field >> 13) & 3];
    return 0;
}

static int fake_read(void *ctx, uint64_t field, uint64_t *val)
{
    *val = ((struct fake *)ctx)->slot[field & 0x7fff];
    return 0;
}

#define SCRATCH_PA 0x10000ull // the break's scratch page
#define VMCS_PA 0x20000ull    // "the current VMCS"
static uint8_t scratch_page[4096], vmcs_page[4096];

static int phys_read(void *ctx, uint64_t pa, void *buf, size_t n)
{
    (void)ctx;
    static const struct { uint64_t pa; uint8_t *mem; } pages[] = {
        { SCRATCH_PA, scratch_page }, { VMCS_PA, vmcs_page },
    };
    for (size_t i = 0; i < ARRAY_SIZE(pages); i++)
        if (pa >= pages[i].pa && pa - pages[i].pa + n <= 4096) {
            memcpy(buf, pages[i].mem + (pa - pages[i].pa), n);
            return 0;
        }
    return -1;
}

// ---------------------------------------------------------------------------
// Two CPUs' capabilities.

static struct vmx_caps decoded(struct caps_raw r)
{
    struct vmx_caps c;
    r.cpuid0[1] = 0x756e6547; // "GenuineIntel"
    r.cpuid0[3] = 0x49656e69;
    r.cpuid0[2] = 0x6c65746e;
    caps_decode(&r, &c);
    return c;
}

// Bochs 2.7, cpu=corei7_skylake_x: the MSRs and CPUID leaves as vmxlab reads them.
static struct caps_raw skylake_raw(void)
{
    struct caps_raw r = { 0 };
    r.cpuid1[0] = 0x50654;
    r.cpuid1[2] = 0x7ffaf3bf;
    r.cpuid1[3] = 0xbfebfbff;
    r.cpuid7[1] = 0xd19f27eb;
    r.cpuid_ext1[3] = 0x2c100800;
    r.cpuid_ext8[0] = 0x3028; // 40-bit physical, 48-bit linear addresses
    r.feature_control = 0x5;
    r.basic = 0xd810000000002bull;
    r.pinbased = 0x7f00000016ull;
    r.procbased = 0xf7f9fffe04006172ull;
    r.procbased2 = 0x2177fff00000000ull;
    r.exit = 0x7fffff00036dfbull;
    r.entry = 0xffff000011fbull;
    r.misc = 0x600401e0;
    r.ept_vpid = 0xf0106334141ull;
    r.cr0_fixed0 = 0x80000021;
    r.cr0_fixed1 = 0xffffffff;
    r.cr4_fixed0 = 0x2000;
    r.cr4_fixed1 = 0x3727ff;
    return r;
}

static struct vmx_caps skylake(void)
{
    return decoded(skylake_raw());
}

// A real Intel Core i7-5600U (VirtualBox CPU database): the TRUE_ controls,
// as caps_read() picks them where IA32_VMX_BASIC[55] is set; 39-bit
// physical addresses; no APIC-register virtualization or VID (bits 8, 9 of
// the secondary controls); a timer ticking every 2^5 TSC ticks.
static struct vmx_caps i7_5600u(void)
{
    struct caps_raw r = { 0 };
    r.cpuid1[0] = 0x306d4;
    r.cpuid1[2] = 0x7ffafbff;
    r.cpuid1[3] = 0xbfebfbff;
    r.cpuid_ext1[3] = 0x2c100800;
    r.cpuid_ext8[0] = 0x3027;
    r.feature_control = 0x5;
    r.basic = 0xda040000000012ull;
    r.pinbased = 0x7f00000016ull;
    r.procbased = 0xfff9fffe04006172ull;
    r.procbased2 = 0x57cff00000000ull;
    r.exit = 0x7fffff00036dfbull;
    r.entry = 0xffff000011fbull;
    r.misc = 0x300481e5;
    r.ept_vpid = 0xf0106334141ull;
    r.cr0_fixed0 = 0x80000021;
    r.cr0_fixed1 = 0xffffffff;
    r.cr4_fixed0 = 0x2000;
    r.cr4_fixed1 = 0x3767ff;
    return decoded(r);
}

// ---------------------------------------------------------------------------
// The good VMCS: what hv/vmx/vmcs.c's vmcs_setup() writes, with the controls its
// wanted[] table asks ctl_adjust() for, and the host state of vmxlab's kernel
// (boot/entry.S's GDT and page tables, addresses as the kernel map has them).

struct rig {
    struct fake vmcs;
    struct vmx_caps caps;
    struct vmcs_access acc;
    struct check_env env;
};

static uint32_t adjust(uint64_t cap, uint32_t required, uint32_t optional)
{
    uint32_t out = 0;
    unsigned missing;
    assert_int_equal(ctl_adjust(cap, required, optional, &out, &missing), 0);
    return out;
}

static void wr(struct rig *g, uint32_t field, uint64_t v) { fake_write(&g->vmcs, field, v); }
static uint64_t rdf(struct rig *g, uint32_t field) { return g->vmcs.slot[field & 0x7fff]; }

static void build_good(struct rig *g, struct vmx_caps caps)
{
    memset(g, 0, sizeof(*g));
    memset(scratch_page, 0, sizeof(scratch_page));
    memset(vmcs_page, 0, sizeof(vmcs_page));
    g->caps = caps;
    memcpy(vmcs_page, &g->caps.revision, 4);
    g->acc = (struct vmcs_access){ fake_write, fake_read, NULL, &g->vmcs };
    g->env = (struct check_env){ .vmcs = &g->acc, .caps = &g->caps, .read_phys = phys_read,
                                 .vmcs_pa = VMCS_PA, .host_ia32e = true };
    const struct caps_raw *r = &g->caps.raw;
    uint32_t pin = adjust(r->pinbased, CTL_PIN_EXTINT_EXITING | CTL_PIN_NMI_EXITING,
                          CTL_PIN_PREEMPTION_TIMER);
    uint32_t proc = adjust(r->procbased,
                           CTL_PROC_HLT_EXITING | CTL_PROC_MWAIT_EXITING |
                               CTL_PROC_RDPMC_EXITING | CTL_PROC_CR8_LOAD_EXITING |
                               CTL_PROC_CR8_STORE_EXITING | CTL_PROC_UNCOND_IO_EXITING |
                               CTL_PROC_MONITOR_EXITING | CTL_PROC_MSR_BITMAPS |
                               CTL_PROC_SECONDARY_CONTROLS,
                           CTL_PROC_TSC_OFFSETTING);
    uint32_t proc2 = adjust(r->procbased2, CTL_PROC2_EPT,
                            CTL_PROC2_VPID | CTL_PROC2_RDTSCP | CTL_PROC2_WBINVD_EXITING |
                                CTL_PROC2_RDRAND_EXITING | CTL_PROC2_RDSEED_EXITING);
    uint32_t exit = adjust(r->exit, CTL_EXIT_HOST_ADDR_SPACE_SIZE | CTL_EXIT_ACK_INTR_ON_EXIT |
                                        CTL_EXIT_SAVE_DEBUG_CONTROLS,
                           CTL_EXIT_SAVE_EFER | CTL_EXIT_LOAD_EFER | CTL_EXIT_SAVE_PAT |
                               CTL_EXIT_LOAD_PAT | CTL_EXIT_SAVE_PREEMPTION_TIMER);
    uint32_t entry = adjust(r->entry, CTL_ENTRY_IA32E_MODE_GUEST |
                                          CTL_ENTRY_LOAD_DEBUG_CONTROLS,
                            CTL_ENTRY_LOAD_EFER | CTL_ENTRY_LOAD_PAT);
    wr(g, PIN_BASED_VM_EXEC_CONTROL, pin);
    wr(g, CPU_BASED_VM_EXEC_CONTROL, proc);
    wr(g, SECONDARY_VM_EXEC_CONTROL, proc2);
    wr(g, EXCEPTION_BITMAP, BIT(VEC_MC));
    wr(g, VM_EXIT_CONTROLS, exit);
    wr(g, VM_ENTRY_CONTROLS, entry);
    wr(g, MSR_BITMAP, 0x1c7000);
    wr(g, EPT_POINTER, 0x1c8000 | (3 << 3) | 6); // 4-level walk, write-back
    wr(g, VIRTUAL_PROCESSOR_ID, 1);
    wr(g, CR0_GUEST_HOST_MASK, ~0ull);
    wr(g, CR4_GUEST_HOST_MASK, ~0ull);

    wr(g, HOST_CS_SELECTOR, SEL_CODE64);
    wr(g, HOST_SS_SELECTOR, SEL_DATA);
    wr(g, HOST_DS_SELECTOR, SEL_DATA);
    wr(g, HOST_ES_SELECTOR, SEL_DATA);
    wr(g, HOST_TR_SELECTOR, SEL_TSS);
    wr(g, HOST_CR0, CR0_PE | CR0_ET | CR0_NE | CR0_PG);
    wr(g, HOST_CR3, 0x1a2000);
    wr(g, HOST_CR4, CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_VMXE | CR4_OSXSAVE);
    wr(g, HOST_TR_BASE, 0x1b8220);
    wr(g, HOST_GDTR_BASE, 0x1a1000);
    wr(g, HOST_IDTR_BASE, 0x1b8020);
    wr(g, HOST_RSP, 0x1c0000);
    wr(g, HOST_RIP, 0x104000);
    wr(g, HOST_IA32_EFER, EFER_LME | EFER_LMA);
    wr(g, HOST_IA32_PAT, 0x0007040600070406ull);

    static const uint32_t data[] = { GUEST_ES_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR,
                                     GUEST_FS_SELECTOR, GUEST_GS_SELECTOR };
    for (size_t i = 0; i < ARRAY_SIZE(data); i++) {
        const struct guest_seg_fields *s = NULL;
        for (int k = 0; k < SEGS; k++)
            if (guest_segs[k].sel == data[i])
                s = &guest_segs[k];
        wr(g, s->sel, SEL_DATA);
        wr(g, s->limit, 0xffffffff);
        wr(g, s->ar, 0xc093);
    }
    wr(g, GUEST_CS_SELECTOR, SEL_CODE64);
    wr(g, GUEST_CS_LIMIT, 0xffffffff);
    wr(g, GUEST_CS_AR_BYTES, 0xa09b);
    wr(g, GUEST_TR_SELECTOR, SEL_TSS);
    wr(g, GUEST_TR_LIMIT, 0x67);
    wr(g, GUEST_TR_AR_BYTES, 0x8b);
    wr(g, GUEST_LDTR_AR_BYTES, 1u << 16);
    wr(g, GUEST_GDTR_BASE, 0x101000);
    wr(g, GUEST_GDTR_LIMIT, 0x27);
    wr(g, GUEST_IDTR_BASE, 0x102000);
    wr(g, GUEST_IDTR_LIMIT, 0xfff);
    uint64_t cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    uint64_t cr4 = CR4_PAE | CR4_MCE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    wr(g, GUEST_CR0, (cr0 | r->cr0_fixed0) & r->cr0_fixed1);
    wr(g, GUEST_CR3, 0x104000);
    wr(g, GUEST_CR4, (cr4 | r->cr4_fixed0 | CR4_MCE) & r->cr4_fixed1);
    wr(g, CR0_READ_SHADOW, cr0);
    wr(g, CR4_READ_SHADOW, cr4);
    wr(g, GUEST_DR7, DR7_INIT);
    wr(g, GUEST_RSP, 0x180000);
    wr(g, GUEST_RIP, 0x100040);
    wr(g, GUEST_RFLAGS, RFLAGS_FIXED);
    wr(g, GUEST_IA32_EFER, EFER_LME | EFER_LMA);
    wr(g, GUEST_IA32_PAT, 0x0007040600070406ull);
    wr(g, VMCS_LINK_POINTER, ~0ull);
}

// ---------------------------------------------------------------------------
// Running the checker: which rules fail.

struct seen {
    const char *rules[16];
    unsigned n;
    char first[320];
};

static void collect(void *ctx, const struct check_finding *f)
{
    struct seen *s = ctx;
    if (!s->n)
        check_format(s->first, sizeof(s->first), f);
    for (unsigned i = 0; i < s->n; i++)
        if (!strcmp(s->rules[i], f->rule->name))
            return;
    if (s->n < ARRAY_SIZE(s->rules))
        s->rules[s->n++] = f->rule->name;
}

static struct seen run_checker(struct rig *g, struct check_summary *sum)
{
    struct seen s = { .n = 0 };
    struct check_summary local;
    check_vmcs(&g->env, collect, &s, sum ? sum : &local);
    return s;
}

// Exactly the rules in want (a NULL-terminated list), with a readable failure.
static void expect_rules(struct rig *g, const char *what, const char *const *want)
{
    struct seen s = run_checker(g, NULL);
    unsigned n = 0;
    while (want[n])
        n++;
    bool same = s.n == n;
    for (unsigned i = 0; same && i < n; i++) {
        bool found = false;
        for (unsigned j = 0; j < s.n; j++)
            found |= !strcmp(s.rules[j], want[i]);
        same &= found;
    }
    if (!same) {
        print_error("%s: expected %u rule(s) starting with %s, got %u:", what, n,
                    n ? want[0] : "(none)", s.n);
        for (unsigned j = 0; j < s.n; j++)
            print_error(" %s", s.rules[j]);
        print_error("\n  first finding: %s\n", s.n ? s.first : "-");
        fail();
    }
}

static const char *const nothing[] = { NULL };

static void good_vmcs_passes_every_rule(void **state)
{
    (void)state;
    static struct rig g;
    struct vmx_caps cpus[] = { skylake(), i7_5600u() };
    for (size_t i = 0; i < ARRAY_SIZE(cpus); i++) {
        build_good(&g, cpus[i]);
        expect_rules(&g, "the good VMCS", nothing);
        struct check_summary sum;
        run_checker(&g, &sum);
        assert_int_equal(check_predict(&sum).how, ENTRY_ENTERED);
    }
}

// paging=shadow (issue 9): no EPT, CR3 loads and stores and INVLPG exit, #PF
// in the exception bitmap, GUEST_CR3 at host-built tables. Nothing of that
// may upset a checker that judges the controls that are set.
static void shadow_paging_vmcs_passes(void **state)
{
    (void)state;
    static struct rig g;
    build_good(&g, skylake());
    wr(&g, SECONDARY_VM_EXEC_CONTROL,
       rdf(&g, SECONDARY_VM_EXEC_CONTROL) & ~(uint64_t)CTL_PROC2_EPT);
    wr(&g, CPU_BASED_VM_EXEC_CONTROL, rdf(&g, CPU_BASED_VM_EXEC_CONTROL) |
                                          CTL_PROC_CR3_LOAD_EXITING | CTL_PROC_CR3_STORE_EXITING |
                                          CTL_PROC_INVLPG_EXITING);
    wr(&g, EXCEPTION_BITMAP, BIT(VEC_MC) | BIT(VEC_PF));
    wr(&g, EPT_POINTER, 0); // ignored without EPT
    wr(&g, GUEST_CR3, 0xfa05000);
    expect_rules(&g, "shadow paging", nothing);
}

// A 32-bit guest with PAE paging, and a virtual-8086 guest, are good too.
static void other_good_guests_pass(void **state)
{
    (void)state;
    static struct rig g;
    build_good(&g, skylake());
    wr(&g, VM_ENTRY_CONTROLS, rdf(&g, VM_ENTRY_CONTROLS) & ~(uint64_t)CTL_ENTRY_IA32E_MODE_GUEST);
    wr(&g, GUEST_IA32_EFER, 0);
    wr(&g, GUEST_CS_AR_BYTES, 0xc09b);
    wr(&g, GUEST_PDPTE0, 0x5001); // present, no reserved bit
    expect_rules(&g, "32-bit PAE guest", nothing);
    wr(&g, GUEST_RFLAGS, RFLAGS_FIXED | (1u << 17));
    for (int s = SEG_ES; s <= SEG_GS; s++) {
        wr(&g, guest_segs[s].sel, 0x1234);
        wr(&g, guest_segs[s].base, 0x12340);
        wr(&g, guest_segs[s].limit, 0xffff);
        wr(&g, guest_segs[s].ar, 0xf3);
    }
    expect_rules(&g, "virtual-8086 guest", nothing);
}

// Every break of the table, on a good VMCS of each CPU that can have it:
// exactly its rule, and the table's CPU verdict is what that rule predicts.
// Which breaks a CPU cannot have follows from its capabilities: EPT A/D and
// CET on both; the i7-5600U also lacks virtual-interrupt delivery and PML.
static void each_break_names_its_rule(void **state)
{
    (void)state;
    static struct rig g;
    struct {
        struct vmx_caps caps;
        const char *skipped;
    } cpus[] = {
        { skylake(), " eptp-ad guest-cet-without-wp" },
        { i7_5600u(), " vid-no-extint eptp-ad pml-no-ept guest-cet-without-wp" },
    };
    for (size_t c = 0; c < ARRAY_SIZE(cpus); c++) {
        char skipped[256] = "";
        for (size_t i = 0; i < entry_nbreaks; i++) {
            const struct entry_break *b = &entry_breaks[i];
            char why[160];
            build_good(&g, cpus[c].caps);
            if (break_cannot(b, &g.caps, why, sizeof(why))) {
                strcat(skipped, " ");
                strcat(skipped, b->name);
                continue;
            }
            struct break_ctx bc = { &g.acc, &g.caps, SCRATCH_PA, scratch_page, VMCS_PA };
            b->apply(&bc);
            const char *want[] = { b->rule, NULL };
            expect_rules(&g, b->name, want);
            struct check_summary sum;
            run_checker(&g, &sum);
            struct entry_verdict p = check_predict(&sum);
            assert_int_equal(p.how, b->cpu.how);
            assert_int_equal(p.number, b->cpu.number);
            assert_int_equal(p.qual, b->cpu.qual);
            assert_true(check_agrees(&sum, &b->cpu));
        }
        assert_string_equal(skipped, cpus[c].skipped);
    }
}

// A/D flags and CET, which neither CPU above has or lacks as needed.
static void breaks_for_other_cpus(void **state)
{
    (void)state;
    static struct rig g;
    struct caps_raw ivy = skylake_raw(), tiger = skylake_raw();
    ivy.ept_vpid &= ~BIT(21);    // Bochs' corei7_ivy_bridge_3770k: no EPT A/D
    tiger.cr4_fixed1 |= CR4_CET; // Bochs' tigerlake: CET
    struct { const char *name; struct vmx_caps caps; } cases[] = {
        { "eptp-ad", decoded(ivy) }, { "guest-cet-without-wp", decoded(tiger) },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        const struct entry_break *b = break_find(cases[i].name, strlen(cases[i].name));
        struct vmx_caps sky = skylake();
        char why[160];
        assert_non_null(b);
        assert_non_null(break_cannot(b, &sky, why, sizeof(why))); // skipped there
        build_good(&g, cases[i].caps);
        assert_null(break_cannot(b, &g.caps, why, sizeof(why)));
        struct break_ctx bc = { &g.acc, &g.caps, SCRATCH_PA, scratch_page, VMCS_PA };
        b->apply(&bc);
        const char *want[] = { b->rule, NULL };
        expect_rules(&g, b->name, want);
    }
}

// ---------------------------------------------------------------------------
// The rules no break shows on Bochs: Bochs does not check them, or vmxlab's
// 64-bit host cannot reach them. Each case changes the good VMCS (and the
// capabilities or the environment where it must) and names its rules.

static void to_32bit_host(struct rig *g)
{
    g->env.host_ia32e = false;
    wr(g, VM_EXIT_CONTROLS, rdf(g, VM_EXIT_CONTROLS) & ~(uint64_t)CTL_EXIT_HOST_ADDR_SPACE_SIZE);
    wr(g, VM_ENTRY_CONTROLS, rdf(g, VM_ENTRY_CONTROLS) & ~(uint64_t)CTL_ENTRY_IA32E_MODE_GUEST);
    wr(g, HOST_IA32_EFER, 0);
    wr(g, GUEST_IA32_EFER, 0);
    wr(g, GUEST_CS_AR_BYTES, 0xc09b);
}

static void c_proc2_allowed0(struct rig *g)
{
    g->caps.raw.procbased2 |= CTL_PROC2_DESC_TABLE_EXITING; // a CPU that required it
}
static void c_posted(struct rig *g)
{
    g->caps.raw.pinbased |= (uint64_t)CTL_PIN_POSTED_INTERRUPTS << 32;
    wr(g, PIN_BASED_VM_EXEC_CONTROL, rdf(g, PIN_BASED_VM_EXEC_CONTROL) |
                                         CTL_PIN_POSTED_INTERRUPTS);
}
static void c_mbec(struct rig *g)
{
    g->caps.raw.procbased2 |= (uint64_t)CTL_PROC2_MODE_BASED_EPT_EXEC << 32;
    wr(g, SECONDARY_VM_EXEC_CONTROL, (rdf(g, SECONDARY_VM_EXEC_CONTROL) &
                                      ~(uint64_t)CTL_PROC2_EPT) | CTL_PROC2_MODE_BASED_EPT_EXEC);
}
static void c_host_cet(struct rig *g)
{
    g->caps.raw.cr4_fixed1 |= CR4_CET;
    wr(g, HOST_CR4, rdf(g, HOST_CR4) | CR4_CET); // host CR0 has no WP
}
static void c_host_ss(struct rig *g)
{
    to_32bit_host(g);
    wr(g, HOST_SS_SELECTOR, 0);
}
static void c_host_pcide(struct rig *g)
{
    to_32bit_host(g);
    wr(g, HOST_CR4, rdf(g, HOST_CR4) | CR4_PCIDE);
}
static void c_host_rip_32(struct rig *g)
{
    to_32bit_host(g);
    wr(g, HOST_RIP, BIT(32));
}
static void c_host_ia32e_guest(struct rig *g)
{
    to_32bit_host(g);
    wr(g, VM_ENTRY_CONTROLS, rdf(g, VM_ENTRY_CONTROLS) | CTL_ENTRY_IA32E_MODE_GUEST);
    wr(g, GUEST_IA32_EFER, EFER_LME | EFER_LMA);
    wr(g, GUEST_CS_AR_BYTES, 0xa09b);
}
static void c_debugctl(struct rig *g) { wr(g, GUEST_IA32_DEBUGCTL, BIT(2)); }
static void c_ia32e_pg(struct rig *g)
{
    wr(g, SECONDARY_VM_EXEC_CONTROL, rdf(g, SECONDARY_VM_EXEC_CONTROL) |
                                         CTL_PROC2_UNRESTRICTED_GUEST);
    wr(g, GUEST_CR0, rdf(g, GUEST_CR0) & ~(uint64_t)CR0_PG);
}
static void c_rip_canonical(struct rig *g) { wr(g, GUEST_RIP, BIT(47)); }
static void c_pending_bs(struct rig *g)
{
    wr(g, GUEST_RFLAGS, RFLAGS_FIXED | RFLAGS_IF | RFLAGS_TF);
    wr(g, GUEST_INTERRUPTIBILITY_INFO, INTR_BLOCK_STI); // a single step owed, BS 0
}
static void c_pending_bs_set(struct rig *g)
{
    wr(g, GUEST_ACTIVITY_STATE, 1); // HLT, TF 0: BS must be 0
    wr(g, GUEST_PENDING_DBG_EXCEPTIONS, PENDING_DBG_BS);
}
static void c_pending_rtm(struct rig *g)
{
    wr(g, GUEST_PENDING_DBG_EXCEPTIONS, BIT(16) | BIT(12)); // Bochs' skylake has no RTM
}
static void c_vnmi(struct rig *g)
{
    wr(g, PIN_BASED_VM_EXEC_CONTROL, rdf(g, PIN_BASED_VM_EXEC_CONTROL) | CTL_PIN_VIRTUAL_NMIS);
    wr(g, VM_ENTRY_INTR_INFO, BIT(31) | (2 << 8) | VEC_NMI);
    wr(g, GUEST_INTERRUPTIBILITY_INFO, INTR_BLOCK_NMI);
}
static void c_hlt_event(struct rig *g)
{
    wr(g, GUEST_ACTIVITY_STATE, 1);
    wr(g, VM_ENTRY_INTR_INFO, BIT(31) | (3 << 8) | VEC_GP | BIT(11)); // #GP: not in HLT
}
static void c_wait_sipi_event(struct rig *g)
{
    wr(g, GUEST_ACTIVITY_STATE, 3);
    wr(g, VM_ENTRY_INTR_INFO, BIT(31) | (2 << 8) | VEC_NMI);
}
static void c_other_event_without_mtf(struct rig *g)
{
    wr(g, VM_ENTRY_INTR_INFO, BIT(31) | (7 << 8)); // Bochs' skylake has no MTF
}
static void c_pdpte_from_cr3(struct rig *g)
{
    // Without EPT the PDPTEs come from guest CR3 (then a physical address).
    wr(g, SECONDARY_VM_EXEC_CONTROL, rdf(g, SECONDARY_VM_EXEC_CONTROL) & ~(uint64_t)CTL_PROC2_EPT);
    wr(g, VM_ENTRY_CONTROLS, rdf(g, VM_ENTRY_CONTROLS) & ~(uint64_t)CTL_ENTRY_IA32E_MODE_GUEST);
    wr(g, GUEST_IA32_EFER, 0);
    wr(g, GUEST_CS_AR_BYTES, 0xc09b);
    wr(g, GUEST_CR3, SCRATCH_PA + 0x20);
    uint64_t pdpte = 1 | BIT(5); // present, reserved bit 5
    memcpy(scratch_page + 0x20 + 16, &pdpte, 8);
}
static void c_link_shadow(struct rig *g)
{
    // VMCS shadowing wants a shadow VMCS (bit 31 of its revision id).
    g->caps.raw.procbased2 |= (uint64_t)CTL_PROC2_VMCS_SHADOWING << 32;
    wr(g, SECONDARY_VM_EXEC_CONTROL, rdf(g, SECONDARY_VM_EXEC_CONTROL) |
                                         CTL_PROC2_VMCS_SHADOWING);
    memcpy(scratch_page, &g->caps.revision, 4);
    wr(g, VMCS_LINK_POINTER, SCRATCH_PA);
}
static void c_msr_x2apic(struct rig *g)
{
    uint64_t e[2] = { 0x808, 0 }; // the x2APIC TPR
    memcpy(scratch_page + 16, e, 16);
    wr(g, VM_ENTRY_MSR_LOAD_COUNT, 2); // the first entry (IA32_STAR 0) is fine
    uint64_t ok[2] = { 0xc0000081, 0 };
    memcpy(scratch_page, ok, 16);
    wr(g, VM_ENTRY_MSR_LOAD_ADDR, SCRATCH_PA);
}
static void c_eptp_uc_missing(struct rig *g)
{
    g->caps.raw.ept_vpid &= ~BIT(8);
    wr(g, EPT_POINTER, (rdf(g, EPT_POINTER) & ~7ull) | 0); // UC, which this CPU now lacks
}
static void c_zero_length_injection(struct rig *g)
{
    g->caps.raw.misc &= ~BIT(30);
    wr(g, VM_ENTRY_INTR_INFO, BIT(31) | (6 << 8) | VEC_BP); // INT3, length 0
}

static const struct {
    const char *what;
    void (*change)(struct rig *g);
    const char *rules[3];
    uint64_t qual; // the qualification the CPU gives (exit 33 or 34)
} cases[] = {
    { "a default-1 secondary control", c_proc2_allowed0, { "ctl-proc2-allowed0" }, 0 },
    { "posted interrupts alone", c_posted, { "ctl-posted-interrupts" }, 0 },
    { "mode-based EPT execute control without EPT", c_mbec, { "ctl-mbec-ept" }, 0 },
    { "host CR4.CET without CR0.WP", c_host_cet, { "host-cet-wp" }, 0 },
    { "a 32-bit host with SS 0", c_host_ss, { "host-ss" }, 0 },
    { "a 32-bit host with CR4.PCIDE", c_host_pcide, { "host-as-pcide" }, 0 },
    { "a 32-bit host with RIP above 4 GiB", c_host_rip_32, { "host-rip" }, 0 },
    { "a 64-bit guest from a 32-bit host", c_host_ia32e_guest, { "host-addr-space" }, 0 },
    { "IA32_DEBUGCTL reserved bit 2", c_debugctl, { "guest-debugctl" }, 0 },
    { "an unrestricted IA-32e guest without paging", c_ia32e_pg, { "guest-ia32e-pg" }, 0 },
    { "RIP 2^47 in 64-bit mode", c_rip_canonical, { "guest-rip-canonical" }, 0 },
    { "TF with STI blocking but BS 0", c_pending_bs, { "guest-pending-dbg-bs" }, 0 },
    { "BS in HLT without TF", c_pending_bs_set, { "guest-pending-dbg-bs" }, 0 },
    { "an RTM debug exception without RTM", c_pending_rtm, { "guest-pending-dbg-rtm" }, 0 },
    { "a virtual NMI under NMI blocking", c_vnmi, { "guest-intr-vnmi" }, 0 },
    { "#GP injected in HLT", c_hlt_event, { "guest-activity-event" }, 0 },
    { "an NMI injected in wait-for-SIPI", c_wait_sipi_event, { "guest-activity-event" }, 0 },
    { "an other event without MTF", c_other_event_without_mtf, { "ctl-entry-intr-type" }, 0 },
    { "a reserved PDPTE bit read through CR3", c_pdpte_from_cr3, { "guest-pdpte" }, 2 },
    { "an ordinary VMCS where a shadow one is due", c_link_shadow, { "guest-link-revision" }, 4 },
    { "an x2APIC MSR as the second entry", c_msr_x2apic, { "entry-msr-index" }, 2 },
    { "EPT memory type UC on a CPU without it", c_eptp_uc_missing, { "ctl-eptp-memtype" }, 0 },
    { "INT3 of length 0 without IA32_VMX_MISC[30]", c_zero_length_injection,
      { "ctl-entry-intr-length" }, 0 },
};

static void rules_bochs_cannot_show(void **state)
{
    (void)state;
    static struct rig g;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        build_good(&g, skylake());
        cases[i].change(&g);
        expect_rules(&g, cases[i].what, cases[i].rules);
        struct check_summary sum;
        run_checker(&g, &sum);
        struct entry_verdict p = check_predict(&sum);
        if (p.how == ENTRY_FAILED_EXIT)
            assert_int_equal(p.qual, cases[i].qual);
    }
}

// Every rule is shown failing by a break or by a case above.
static void every_rule_is_exercised(void **state)
{
    (void)state;
    for (size_t i = 0; i < check_nrules; i++) {
        const char *name = check_rules[i].name;
        bool seen = false;
        for (size_t b = 0; b < entry_nbreaks; b++)
            seen |= !strcmp(entry_breaks[b].rule, name);
        for (size_t c = 0; c < ARRAY_SIZE(cases); c++)
            for (size_t r = 0; cases[c].rules[r]; r++)
                seen |= !strcmp(cases[c].rules[r], name);
        if (!seen)
            print_error("rule %s is never shown failing\n", name);
        assert_true(seen);
    }
}

// The tables themselves: unique names, SDM sections of chapter 27, every
// break naming a rule that Bochs checks, with the verdict its kind predicts.
static void tables_are_consistent(void **state)
{
    (void)state;
    for (size_t i = 0; i < check_nrules; i++) {
        const struct check_rule *r = &check_rules[i];
        assert_non_null(r->check);
        assert_true(strlen(r->what) > 10);
        assert_true(!strncmp(r->section, "27.", 3));
        assert_ptr_equal(check_rule_find(r->name), r);
        assert_true(r->kind == CHECK_GUEST || r->qual == 0);
    }
    assert_null(check_rule_find("no-such-rule"));
    for (size_t i = 0; i < entry_nbreaks; i++) {
        const struct entry_break *b = &entry_breaks[i];
        const struct check_rule *r = check_rule_find(b->rule);
        if (!r)
            print_error("break %s names no rule (%s)\n", b->name, b->rule);
        assert_non_null(r);
        assert_non_null(r->bochs); // breaks exist for what Bochs can show
        assert_ptr_equal(break_find(b->name, strlen(b->name)), b);
        static const uint32_t numbers[CHECK_KINDS] = { 7, 8, EXIT_REASON_INVALID_GUEST_STATE,
                                                       EXIT_REASON_MSR_LOAD_FAIL };
        assert_int_equal(b->cpu.how, r->kind <= CHECK_HOST ? ENTRY_VMFAIL : ENTRY_FAILED_EXIT);
        assert_int_equal(b->cpu.number, numbers[r->kind]);
        if (r->kind == CHECK_GUEST)
            assert_int_equal(b->cpu.qual, r->qual);
    }
    assert_null(break_find("no-such-break", 13));
    assert_null(break_find("pin-default", 11)); // whole names only
}

static void findings_read_as_the_sdm_says(void **state)
{
    (void)state;
    static struct rig g;
    build_good(&g, skylake());
    wr(&g, GUEST_RFLAGS, 0);
    struct seen s = run_checker(&g, NULL);
    assert_string_equal(s.first, "SDM 27.3.1.4: GUEST_RFLAGS: guest-rflags-bit1: RFLAGS 0x0: "
                                 "bit 1 is 0");
    build_good(&g, skylake());
    wr(&g, GUEST_CS_AR_BYTES, 0xa093);
    s = run_checker(&g, NULL);
    assert_string_equal(s.first, "SDM 27.3.1.2: GUEST_CS_AR_BYTES: guest-cs-type: CS type 3 "
                                 "is not an accessed code segment (9, 11, 13, 15; AR 0xa093)");
    build_good(&g, skylake());
    wr(&g, HOST_CR0, rdf(&g, HOST_CR0) & ~(uint64_t)CR0_NE);
    s = run_checker(&g, NULL);
    assert_string_equal(s.first, "SDM 27.2.2: HOST_CR0: host-cr0-fixed: bit 5 of CR0 "
                                 "0x80000011 is 0; IA32_VMX_CR0_FIXED0 0x80000021 requires 1");
}

// The prediction is the first kind that fails, in the CPU's order: controls,
// host state, guest state, MSR loading.
static void prediction_follows_the_cpus_order(void **state)
{
    (void)state;
    static struct rig g;
    build_good(&g, skylake());
    wr(&g, GUEST_RFLAGS, 0);
    wr(&g, HOST_CS_SELECTOR, 0);
    struct check_summary sum;
    run_checker(&g, &sum);
    assert_int_equal(sum.findings, 2);
    struct entry_verdict p = check_predict(&sum);
    assert_int_equal(p.how, ENTRY_VMFAIL);
    assert_int_equal(p.number, 8);
    struct entry_verdict cpu = { ENTRY_FAILED_EXIT, 33, 0 };
    assert_false(check_agrees(&sum, &cpu));
    wr(&g, PIN_BASED_VM_EXEC_CONTROL, 0);
    run_checker(&g, &sum);
    assert_int_equal(check_predict(&sum).number, 7);
    char text[160];
    entry_verdict_text(text, sizeof(text), &cpu);
    assert_string_equal(text, "VM-entry failure, exit reason 33 (invalid guest state), "
                              "qualification 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_vmcs_passes_every_rule),
        cmocka_unit_test(shadow_paging_vmcs_passes),
        cmocka_unit_test(other_good_guests_pass),
        cmocka_unit_test(each_break_names_its_rule),
        cmocka_unit_test(breaks_for_other_cpus),
        cmocka_unit_test(rules_bochs_cannot_show),
        cmocka_unit_test(every_rule_is_exercised),
        cmocka_unit_test(tables_are_consistent),
        cmocka_unit_test(findings_read_as_the_sdm_says),
        cmocka_unit_test(prediction_follows_the_cpus_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
