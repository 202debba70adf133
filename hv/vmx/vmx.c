// vmx.c: entering and leaving VMX operation, and the one place every failed
// VMX instruction ends up. experiments_run() (hv/run/experiment.c) calls vmx_on()
// before its first guest and vmx_off() after its last; vmread()/vmwrite()
// (vmx.h) call vmx_fail(), which names the failure, dumps the VMCS and ends the
// run with FAIL. SDM 3C 24 (VMX operation), 31.2-31.4 (instruction conventions).
#include "../../boot/boot.h"
#include "../../boot/x86.h"
#include "internal.h"

static uint8_t regions[4][4096] __attribute__((aligned(4096)));
static unsigned regions_used;
static void *vmxon_region;
static bool in_vmx;          // between VMXON and VMXOFF
static uint64_t current_vmcs; // physical address of the current VMCS, 0 if none

// SDM 3C 31.4, "VM-instruction error numbers".
const char *vm_instruction_error_name(uint32_t err)
{
    static const char *const names[] = {
        [1] = "VMCALL executed in VMX root operation",
        [2] = "VMCLEAR with invalid physical address",
        [3] = "VMCLEAR with VMXON pointer",
        [4] = "VMLAUNCH with non-clear VMCS",
        [5] = "VMRESUME with non-launched VMCS",
        [6] = "VMRESUME after VMXOFF",
        [7] = "VM entry with invalid control field(s)",
        [8] = "VM entry with invalid host-state field(s)",
        [9] = "VMPTRLD with invalid physical address",
        [10] = "VMPTRLD with VMXON pointer",
        [11] = "VMPTRLD with incorrect VMCS revision identifier",
        [12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
        [13] = "VMWRITE to read-only VMCS component",
        [15] = "VMXON executed in VMX root operation",
        [16] = "VM entry with invalid executive-VMCS pointer",
        [17] = "VM entry with non-launched executive VMCS",
        [18] = "VM entry with executive-VMCS pointer not VMXON pointer",
        [19] = "VMCALL with non-clear VMCS",
        [20] = "VMCALL with invalid VM-exit control fields",
        [22] = "VMCALL with incorrect MSEG revision identifier",
        [23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
        [24] = "VMCALL with invalid SMM-monitor features",
        [25] = "VM entry with invalid VM-execution control fields in executive VMCS",
        [26] = "VM entry with events blocked by MOV SS",
        [28] = "invalid operand to INVEPT/INVVPID",
    };
    return err < ARRAY_SIZE(names) && names[err] ? names[err] : "unknown error";
}

int vmread_safe(uint64_t field, uint64_t *val)
{
    bool cf, zf;
    asm volatile("vmread %[f], %[v]" : [v] "=rm"(*val), "=@ccc"(cf), "=@ccz"(zf)
                 : [f] "r"(field));
    if (cf)
        return -1;
    return zf ? (int)vmread(VM_INSTRUCTION_ERROR) : 0;
}

int vmwrite_safe(uint64_t field, uint64_t val)
{
    bool cf, zf;
    asm volatile("vmwrite %[v], %[f]" : "=@ccc"(cf), "=@ccz"(zf) : [f] "r"(field),
                 [v] "rm"(val));
    if (cf)
        return -1;
    return zf ? (int)vmread(VM_INSTRUCTION_ERROR) : 0;
}

// After any VMX instruction: CF = VMfailInvalid (no current VMCS to hold an
// error number), ZF = VMfailValid (the number is in VM_INSTRUCTION_ERROR).
static void check(const char *insn, uint64_t arg, bool cf, bool zf)
{
    if (cf) {
        kprintf("vmxlab: %s(0x%lx) failed: VMfailInvalid\n", insn, arg);
        end_run(VERDICT_FAIL);
    }
    if (zf)
        vmx_fail(insn, arg);
}

void vmx_fail(const char *insn, uint64_t arg)
{
    uint64_t err;
    if (vmread_safe(VM_INSTRUCTION_ERROR, &err)) {
        kprintf("vmxlab: %s(0x%lx) failed: VMfailInvalid (no current VMCS)\n", insn, arg);
    } else {
        kprintf("vmxlab: %s(0x%lx) failed: VMfailValid, VM-instruction error %lu (%s)\n",
                insn, arg, err, vm_instruction_error_name((uint32_t)err));
        if (err == 7 || err == 8) // a VM entry refused: the entry checker's rules beside it
            entry_explain(&(struct entry_verdict){ ENTRY_VMFAIL, (uint32_t)err, 0 },
                          !strcmp(insn, "VMLAUNCH"));
        vmcs_dump();
    }
    end_run(VERDICT_FAIL);
}

void *vmx_alloc_region(void)
{
    if (regions_used == ARRAY_SIZE(regions)) {
        kprintf("vmxlab: out of VMX regions\n");
        end_run(VERDICT_CRASH);
    }
    uint32_t *r = (uint32_t *)regions[regions_used++];
    memset(r, 0, 4096);
    r[0] = caps.revision; // SDM 3C 25.2: bits 30:0 of the first word, bit 31 clear
    return r;
}

void vmcs_clear(void *vmcs)
{
    uint64_t pa = (uint64_t)vmcs;
    bool cf, zf;
    asm volatile("vmclear %[pa]" : "=@ccc"(cf), "=@ccz"(zf) : [pa] "m"(pa) : "memory");
    if (pa == current_vmcs)
        current_vmcs = 0; // VMCLEAR of the current VMCS leaves none (SDM 3C 31.3)
    check("VMCLEAR", pa, cf, zf);
}

void vmcs_load(void *vmcs)
{
    uint64_t pa = (uint64_t)vmcs;
    bool cf, zf;
    vmcs_clear(vmcs); // launch state "clear": the next entry is a VMLAUNCH
    asm volatile("vmptrld %[pa]" : "=@ccc"(cf), "=@ccz"(zf) : [pa] "m"(pa) : "memory");
    check("VMPTRLD", pa, cf, zf);
    current_vmcs = pa;
}

// INVVPID (SDM 3C 31.3): the guest's cached linear translations for one VPID,
// all or all but the global ones, with the narrowest type the CPU has.
void invvpid_context(uint64_t vpid, bool keep_global)
{
    struct { uint64_t vpid, addr; } desc = { vpid, 0 };
    uint64_t type = invvpid_type(&caps, keep_global); // VPID is on only with 1 or 2
    bool cf, zf;
    asm volatile("invvpid %[d], %[t]" : "=@ccc"(cf), "=@ccz"(zf)
                 : [d] "m"(desc), [t] "r"(type) : "memory");
    check("INVVPID", type, cf, zf);
}

// INVEPT (SDM 3C 31.3): every guest-physical mapping derived from eptp, by the
// single-context type where IA32_VMX_EPT_VPID_CAP offers it (bit 25), else all
// contexts (bit 26). A CPU with neither cannot have stale mappings to flush:
// vmxlab builds its EPT once, before any guest ran with it.
void invept_context(uint64_t eptp)
{
    uint64_t type = invept_type(&caps);
    if (!type)
        return;
    struct { uint64_t eptp, zero; } desc = { eptp, 0 };
    bool cf, zf;
    asm volatile("invept %[d], %[t]" : "=@ccc"(cf), "=@ccz"(zf)
                 : [d] "m"(desc), [t] "r"(type) : "memory");
    check("INVEPT", type, cf, zf);
}

// The fixed-bit rule, SDM 3D A.7/A.8: in VMX operation a CR0/CR4 bit that is 1
// in IA32_VMX_CRn_FIXED0 must be 1, and a bit that is 0 in IA32_VMX_CRn_FIXED1
// must be 0. GRUB leaves CR0.NE clear (fixed to 1): boot/entry.S already set
// it; here the rule is applied as a whole, for CR0 and CR4 alike.
static uint64_t apply_fixed(uint64_t cr, uint64_t fixed0, uint64_t fixed1)
{
    return (cr | fixed0) & fixed1;
}

void vmx_on(void)
{
    // IA32_FEATURE_CONTROL: firmware normally locks it. If it did not, allow
    // VMX outside SMX and lock it, as firmware would (SDM 3C 24.7).
    if (!caps.fc_locked)
        wrmsr(MSR_FEATURE_CONTROL, caps.raw.feature_control | FC_LOCKED | FC_VMX_OUTSIDE_SMX);
    write_cr4(apply_fixed(read_cr4() | CR4_VMXE, caps.raw.cr4_fixed0, caps.raw.cr4_fixed1));
    write_cr0(apply_fixed(read_cr0(), caps.raw.cr0_fixed0, caps.raw.cr0_fixed1));

    vmxon_region = vmx_alloc_region();
    uint64_t pa = (uint64_t)vmxon_region;
    bool cf, zf;
    asm volatile("vmxon %[pa]" : "=@ccc"(cf), "=@ccz"(zf) : [pa] "m"(pa) : "memory");
    check("VMXON", pa, cf, zf);
    in_vmx = true;
}

void vmx_off(void)
{
    asm goto("vmxoff\n\tjbe %l[fail]" ::: "cc", "memory" : fail);
    in_vmx = false;
    write_cr4(read_cr4() & ~(uint64_t)CR4_VMXE);
    return;
fail: // VMfailValid: "VMXOFF under dual-monitor treatment" (SDM 3C 31.3 VMXOFF)
    vmx_fail("VMXOFF", 0);
}

// end_run() calls this on every way out: after a VMX failure, a crash in VMX
// root operation, or a normal end. A VMX instruction may fail here too (a VMCS
// in a bad state): nothing is checked, the point is to get out. In VMX
// operation INIT is blocked (SDM 3C 24.8), so a machine left there would not
// even reset; VMCLEAR first writes the current VMCS back to memory.
void vmx_leave(void)
{
    if (!in_vmx)
        return;
    in_vmx = false; // first: a fault below must not bring us back here
    uint64_t vmcs = current_vmcs;
    if (vmcs)
        asm volatile("vmclear %0" ::"m"(vmcs) : "cc", "memory");
    current_vmcs = 0;
    asm volatile("vmxoff" ::: "cc", "memory");
    write_cr4(read_cr4() & ~(uint64_t)CR4_VMXE);
    kprintf("vmxlab: left VMX operation (%sVMXOFF)\n", vmcs ? "VMCLEAR, " : "");
}

// MSR_SMI_COUNT (0x34) counts the SMIs since reset on Intel CPUs from Nehalem
// on (SDM 4, the MSRs of the Nehalem microarchitecture, MSR_SMI_COUNT);
// elsewhere RDMSR raises #GP, which
// rdmsr_safe() catches once, and the count stays 0. SMIs steal time from
// whatever runs, guest or host, so the windows report how many fell inside.
uint64_t smi_count(void)
{
    static int have = -1; // not probed yet
    uint64_t v = 0;
    if (have == -1)
        have = caps.intel && rdmsr_safe(MSR_SMI_COUNT, &v) == 0;
    if (have == 1 && rdmsr_safe(MSR_SMI_COUNT, &v) == 0)
        return v;
    return 0;
}
