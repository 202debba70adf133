// mmio.c: guest accesses to device memory, the local APIC's page at 0xfee00000 (the only
// memory a device of hv/dev/ claims). Two paths, chosen per CPU (docs/guest-abi.md section
// 14, "How an access arrives"):
// - where the CPU has APIC virtualisation (the TPR shadow, "virtualize APIC accesses" and
//   "APIC-register virtualization", SDM 3C 30), the page is mapped to the APIC-access
//   page: the CPU answers reads from the virtual-APIC page, which the model's registers
//   fill, and exits after writes (APIC_WRITE, trap-like), which the model takes;
// - everywhere else, and for what the CPU does not virtualise, the access exits before
//   it happens (an EPT violation, the #PF of a page shadow paging leaves unmapped, an
//   APIC_ACCESS exit): mmio_exit() fetches the instruction at RIP through the guest's
//   paging, decodes it (mmio_decode.c), has the device answer (dev_mmio()) and moves
//   RIP past it.
// hv/exit/exit.c dispatches the three exits here, hv/mmu/shadow.c calls mmio_exit() and
// apic_access_hpa(), hv/exit/msr.c apic_base_changed(), hv/exit/exit_cr.c the CR8 pair;
// platform_reset() (io.c) calls apic_reset() before each run.
#include "../../boot/boot.h"
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../dev/dev.h"
#include "../mmu/mmu.h"
#include "internal.h"
#include "mmio_decode.h"

// The two pages of APIC virtualisation (SDM 3C 25.6.8): the one whose address the
// guest's APIC page is mapped to, whose contents the CPU never uses, and the
// virtual-APIC page, which holds the registers the CPU reads and writes for the guest.
uint8_t apic_access_page[4096] __attribute__((aligned(4096)));
uint8_t vapic_page[4096] __attribute__((aligned(4096)));

static uint64_t *apic_ept_entry; // EPT's entry for the APIC page, with the mapping in
static uint64_t apic_ept_mapped, apic_eptp; // when the page is the APIC-access page
static bool page_live; // the CPU answers from the virtual-APIC page (apic_page_mapped())

// This run has APIC virtualisation (hv/vmx/vmcs_build.c takes its three controls or none).
static bool apicv(void)
{
    return ctl_on(CTL_PROC2, CTL_PROC2_VIRT_APIC_ACCESSES);
}

// The APIC answers at its page while IA32_APIC_BASE.EN is set; disabled, its page is
// nobody's memory to the CPU and the model's (all ones) to the exits. So the
// APIC-access page is mapped only while the APIC is enabled.
static bool apic_page_mapped(void)
{
    return apicv() && (apic_base_read() & APIC_BASE_EN);
}

// Under EPT the guest-physical page translates to the APIC-access page (SDM 3C 30.4:
// an access is an APIC access when its physical address, after EPT, is the
// APIC-access address). guest_ram_init() (hv/run/guest.c) calls this with its tables.
void apic_ept_init(struct ept *e)
{
    if (!apicv())
        return;
    if (ept_map(e, APIC_BASE_DEFAULT, (uint64_t)(uintptr_t)apic_access_page, 4096, false) ||
        !(apic_ept_entry = ept_leaf(e, APIC_BASE_DEFAULT))) {
        kprintf("vmxlab: mapping the APIC-access page in EPT failed\n");
        end_run(VERDICT_CRASH);
    }
    apic_ept_mapped = *apic_ept_entry;
    apic_eptp = ept_pointer(e);
    invept_context(apic_eptp);
}

// The EPT entry as the APIC's state asks, and no stale translation of it.
static void apic_ept_sync(void)
{
    if (!apic_ept_entry || vcpu.shadow)
        return;
    uint64_t want = apic_page_mapped() ? apic_ept_mapped : 0;
    if (*apic_ept_entry != want) {
        *apic_ept_entry = want;
        invept_context(apic_eptp);
    }
}

// The shadow entry for a guest page that maps GPA gpa, outside RAM: the APIC-access
// page's host-physical address where the CPU virtualises the APIC there, else 0 (the
// access is emulated, mmio_exit()). Without EPT the "physical address" the CPU compares
// with the APIC-access address is the shadow's.
uint64_t apic_access_hpa(uint64_t gpa)
{
    if ((gpa & ~0xfffull) != APIC_BASE_DEFAULT || !apic_page_mapped())
        return 0;
    return (uint64_t)(uintptr_t)apic_access_page;
}

// The model is the APIC; the virtual-APIC page is its face to the CPU. The guest's
// TPR and ICR-high writes land in the page without an exit (SDM 3C 30.4.3.3): the
// model takes them from there before it answers anything, and after every change
// the page is filled from the model again.
// The page is live only while the CPU may use it: a disabled APIC's registers are no
// one's to read there, and what the page held then is not the guest's TPR.
static void tpr_from_page(void)
{
    if (page_live)
        lapic_take_page(vapic_page);
}

static void page_from_model(void)
{
    if (page_live)
        lapic_virtual_page(vapic_page);
}

void apic_reset(void)
{
    memset(vapic_page, 0, sizeof(vapic_page));
    page_live = apic_page_mapped();
    page_from_model();
    apic_ept_sync();
}

// IA32_APIC_BASE changed (hv/exit/msr.c): EN decides whether the CPU sees the page. The
// TPR the guest wrote there while it did is the model's before the page goes.
void apic_base_changed(uint64_t old)
{
    if (!((old ^ apic_base_read()) & APIC_BASE_EN) || !apicv())
        return;
    tpr_from_page();
    page_live = apic_page_mapped();
    page_from_model();
    if (vcpu.shadow)
        shadow_flush(); // the next #PF on the page maps it, or not (apic_access_hpa())
    else
        apic_ept_sync();
}

// CR8 (SDM 3A 11.8.6.1): TPR[7:4].
uint64_t guest_cr8(void)
{
    tpr_from_page();
    return lapic_tpr() >> 4;
}

void guest_cr8_set(uint64_t val)
{
    lapic_tpr_set((uint32_t)val << 4);
    page_from_model();
}

// --- Emulated accesses ----------------------------------------------------------------

// The guest's register reg (0 RAX ... 15 R15): RSP lives in the VMCS.
static uint64_t gpr(struct guest_regs *r, unsigned reg)
{
    return reg == 4 ? vmread(GUEST_RSP) : ((uint64_t *)r)[reg];
}

static void gpr_set(struct guest_regs *r, unsigned reg, uint64_t v)
{
    if (reg == 4)
        vmwrite(GUEST_RSP, v);
    else
        ((uint64_t *)r)[reg] = v;
}

struct guest_regs *exit_regs;

int mmio_exit(uint64_t gpa, unsigned access, uint32_t reason)
{
    const struct dev *d = dev_claiming(DEV_MMIO, gpa);
    char why[160];
    if (!d)
        return -1;
    uint64_t rip = vmread(GUEST_RIP);
    if (access & PF_I) {
        snprintf(why, sizeof(why), "instruction fetch from %s's memory at GPA 0x%lx (RIP "
                 "0x%lx): device memory holds no code", d->name, gpa, rip);
        return stop_run(reason, why);
    }
    if (vmread(IDT_VECTORING_INFO) & BIT(31)) {
        snprintf(why, sizeof(why), "%s's memory at GPA 0x%lx reached while delivering an "
                 "event (its IDT, stack or TSS there?), RIP 0x%lx: not emulated", d->name,
                 gpa, rip);
        return stop_run(reason, why);
    }
    // The instruction at CS.base + RIP (the base is 0 in 64-bit mode), through the
    // guest's own paging, whatever mode it is in; as much of its 15 bytes as is mapped.
    uint32_t cs_ar = (uint32_t)vmread(GUEST_CS_AR_BYTES);
    enum mmio_mode mode = mmio_mode_of(guest_efer() & EFER_LMA, cs_ar);
    uint64_t linear = mode == MMIO_MODE64 ? rip : (uint32_t)(vmread(GUEST_CS_BASE) + rip);
    struct guest_mem m = { vcpu.ram, vcpu.ram_size };
    struct walk_mode wm = guest_walk_mode();
    uint8_t code[15];
    size_t n = guest_read(&m, &wm, linear, code, sizeof(code));
    struct mmio_insn in;
    if (mmio_decode(code, n, mode, gpa, &in, why, sizeof(why)))
        return stop_run(reason, why);
    if (in.write != !!(access & PF_W)) {
        snprintf(why, sizeof(why), "MMIO at 0x%lx: the CPU reports a %s, the instruction at "
                 "RIP 0x%lx is a %s", gpa, access & PF_W ? "write" : "read", rip,
                 in.write ? "store" : "load");
        return stop_run(reason, why);
    }
    tpr_from_page();
    uint64_t v = in.write ? mmio_store_value(&in, gpr(exit_regs, in.reg)) : 0;
    dev_mmio(gpa, in.size, in.write, &v);
    if (!in.write)
        gpr_set(exit_regs, in.reg, mmio_load_result(&in, gpr(exit_regs, in.reg), v));
    TRACE("%s %s 0x%lx (%u bytes at 0x%lx)", d->name, in.write ? "gets" : "reads", v, in.size,
          gpa);
    page_from_model();
    complete_instruction_len(in.len, mode == MMIO_MODE64);
    return EXIT_RESUME_RELOAD; // a load may have written a callee-saved register
}

// An EPT violation (SDM 3C 28.2.1, Table 28-7): the GPA no entry maps. Device memory is
// emulated; a guest paging-structure entry there (bit 8 clear) or memory nobody claims
// stops the run, as every EPT violation did before devices had memory.
int handle_ept_violation(struct guest_regs *r)
{
    uint64_t q = vmread(EXIT_QUALIFICATION), gpa = vmread(GUEST_PHYSICAL_ADDRESS);
    if ((q & BIT(7)) && (q & BIT(8))) {
        exit_regs = r;
        int done = mmio_exit(gpa, (q & BIT(1) ? PF_W : 0) | (q & BIT(2) ? PF_I : 0),
                             EXIT_REASON_EPT_VIOLATION);
        if (done >= 0)
            return done;
    }
    return exit_unexpected(EXIT_REASON_EPT_VIOLATION);
}

// An APIC access the CPU does not virtualise (SDM 3C 28.2.1, Table 28-6): bits 11:0 the
// offset, bits 15:12 the kind. A linear read or write (0, 1) is emulated as an EPT
// violation's would be, before it happens (fault-like); a fetch (2), an access while
// delivering an event (3) or a guest-physical one (10, 15: a page walk) is not.
int handle_apic_access(struct guest_regs *r)
{
    uint64_t q = vmread(EXIT_QUALIFICATION), gpa = APIC_BASE_DEFAULT + (q & 0xfff);
    unsigned kind = (q >> 12) & 0xf;
    if (kind <= 2) {
        exit_regs = r;
        return mmio_exit(gpa, kind == 1 ? PF_W : kind == 2 ? PF_I : 0,
                         EXIT_REASON_APIC_ACCESS); // the page is the APIC's: claimed
    }
    char why[128];
    snprintf(why, sizeof(why), "APIC access of kind %u (SDM 3C Table 28-6) at GPA 0x%lx, "
             "RIP 0x%lx: not emulated", kind, gpa, vmread(GUEST_RIP));
    return stop_run(EXIT_REASON_APIC_ACCESS, why);
}

// A write the CPU virtualised into the virtual-APIC page, then exited for (trap-like:
// RIP is past the instruction, SDM 3C 30.4.3.3, APIC-Write Emulation). The model takes
// it (lapic_trapped_write() says how) and the page shows the model's registers again.
int handle_apic_write(struct guest_regs *r)
{
    (void)r;
    struct lapic_write w = lapic_trapped_write(vmread(EXIT_QUALIFICATION), vapic_page);
    uint64_t v = w.value;
    tpr_from_page();
    dev_mmio(APIC_BASE_DEFAULT + w.offset, w.size, true, &v);
    TRACE("lapic gets 0x%x at 0x%lx (%u bytes)", w.value, w.offset, w.size);
    page_from_model();
    return EXIT_RESUME;
}
