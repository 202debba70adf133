// trace.c: trace=N, the first N exits of each guest run, one line each:
// the exit reason, its qualification decoded into its fields, the guest's RIP
// and the bytes of the instruction there (read through the guest's own page
// tables, hv/mmu/paging.c), and what the handler did, in the words of the
// trace_note() calls the handlers make. vmx_exit_handler() (hv/exit/exit.c) calls
// traced_exit() instead of the plain dispatch while vcpu.trace_left is not 0.
// SDM 3C 28.2.1 (exit qualifications), 28.2.5 (Information for VM Exits Due to
// Instruction Execution: the instruction length).
#include "../../boot/boot.h"
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../mmu/mmu.h"
#include "internal.h"

static char note[240];
static size_t note_len;

void trace_note(const char *fmt, ...)
{
    if (note_len >= sizeof(note) - 1)
        return;
    if (note_len)
        note_len += (size_t)snprintf(note + note_len, sizeof(note) - note_len, "; ");
    va_list ap;
    va_start(ap, fmt);
    if (note_len < sizeof(note))
        note_len += (size_t)vsnprintf(note + note_len, sizeof(note) - note_len, fmt, ap);
    va_end(ap);
}

static const char *const gpr_names[16] = { "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI",
                                           "RDI", "R8", "R9", "R10", "R11", "R12", "R13",
                                           "R14", "R15" };

// The qualification (or the registers that say more) in words, by reason.
static void decode(char *buf, size_t size, uint32_t reason, uint64_t q,
                   const struct guest_regs *r)
{
    switch (reason) {
    case EXIT_REASON_CR_ACCESS: { // SDM 3C Table 28-3
        unsigned cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
        if (type == 0)
            snprintf(buf, size, "MOV to CR%u from %s", cr, gpr_names[reg]);
        else if (type == 1)
            snprintf(buf, size, "MOV from CR%u to %s", cr, gpr_names[reg]);
        else if (type == 2)
            snprintf(buf, size, "CLTS");
        else
            snprintf(buf, size, "LMSW, source data 0x%lx", (q >> 16) & 0xffff);
        break;
    }
    case EXIT_REASON_IO_INSTRUCTION: // SDM 3C Table 28-5
        snprintf(buf, size, "%s%s port 0x%lx, %lu byte%s", q & BIT(3) ? "IN" : "OUT",
                 q & BIT(4) ? "S" : "", q >> 16, (q & 7) + 1, (q & 7) ? "s" : "");
        break;
    case EXIT_REASON_MSR_READ:
    case EXIT_REASON_MSR_WRITE:
        snprintf(buf, size, "%s MSR 0x%lx (%s)", reason == EXIT_REASON_MSR_READ ? "RDMSR" : "WRMSR",
                 r->rcx & 0xffffffff, msr_name((uint32_t)r->rcx));
        break;
    case EXIT_REASON_CPUID:
        snprintf(buf, size, "CPUID leaf 0x%lx, subleaf 0x%lx", r->rax & 0xffffffff,
                 r->rcx & 0xffffffff);
        break;
    case EXIT_REASON_VMCALL: {
        static const char *const names[] = { [HC_NOP] = "HC_NOP", [HC_PUTS] = "HC_PUTS",
                                              [HC_REPORT] = "HC_REPORT", [HC_MARK] = "HC_MARK",
                                              [HC_EXIT] = "HC_EXIT", [HC_RECORD] = "HC_RECORD" };
        snprintf(buf, size, "hypercall %lu (%s)", r->rax,
                 r->rax < ARRAY_SIZE(names) ? names[r->rax] : "unknown");
        break;
    }
    case EXIT_REASON_EPT_VIOLATION: // SDM 3C Table 28-7
        snprintf(buf, size, "EPT violation at GPA 0x%lx: %s%s%s", vmread(GUEST_PHYSICAL_ADDRESS),
                 q & 1 ? "read" : q & 2 ? "write" : q & 4 ? "fetch" : "access",
                 q & 1 && q & 2 ? " and write" : "", q & 4 && q & 3 ? " and fetch" : "");
        break;
    case EXIT_REASON_EXCEPTION_NMI:
        if ((vmread(VM_EXIT_INTR_INFO) & 0x7ff) == (3u << 8 | VEC_PF)) { // SDM 3C 28.2.1
            snprintf(buf, size, "#PF at 0x%lx, error code 0x%lx", q,
                     vmread(VM_EXIT_INTR_ERROR_CODE));
            break;
        }
        // fall through
    case EXIT_REASON_EXTERNAL_INTERRUPT:
        snprintf(buf, size, "interruption information 0x%lx", vmread(VM_EXIT_INTR_INFO));
        break;
    case EXIT_REASON_INVLPG:
        snprintf(buf, size, "INVLPG 0x%lx", q);
        break;
    default:
        snprintf(buf, size, "qualification 0x%lx", q);
    }
}

// Exits that an instruction causes, whose length VMCS reports (SDM 3C 28.2.5).
static bool has_instruction(uint32_t reason)
{
    switch (reason) {
    case EXIT_REASON_CPUID: case EXIT_REASON_HLT: case EXIT_REASON_INVD:
    case EXIT_REASON_INVLPG: case EXIT_REASON_RDPMC: case EXIT_REASON_RDTSC:
    case EXIT_REASON_VMCALL: case EXIT_REASON_CR_ACCESS: case EXIT_REASON_DR_ACCESS:
    case EXIT_REASON_IO_INSTRUCTION: case EXIT_REASON_MSR_READ: case EXIT_REASON_MSR_WRITE:
    case EXIT_REASON_MWAIT: case EXIT_REASON_MONITOR: case EXIT_REASON_PAUSE:
    case EXIT_REASON_WBINVD: case EXIT_REASON_XSETBV: case EXIT_REASON_RDRAND:
    case EXIT_REASON_RDSEED: case EXIT_REASON_RDTSCP: case EXIT_REASON_INVEPT:
    case EXIT_REASON_INVVPID: case EXIT_REASON_VMFUNC:
        return true;
    }
    return reason >= EXIT_REASON_VMCLEAR && reason <= EXIT_REASON_VMXON;
}

int traced_exit(struct guest_regs *r)
{
    uint32_t reason = (uint32_t)vmread(VM_EXIT_REASON);
    uint64_t rip = vmread(GUEST_RIP), q = vmread(EXIT_QUALIFICATION);
    char what[160], bytes[64] = "";
    decode(what, sizeof(what), reason & 0xffff, q, r);
    if (!(reason & EXIT_REASON_FAILED_VMENTRY) && has_instruction(reason)) {
        uint8_t code[15];
        uint64_t len = vmread(VM_EXIT_INSTRUCTION_LEN);
        struct guest_mem m = { vcpu.ram, vcpu.ram_size };
        struct walk_mode mode = guest_walk_mode();
        size_t got = guest_read(&m, &mode, rip, code, len < sizeof(code) ? len : sizeof(code));
        size_t n = 0;
        for (size_t i = 0; i < got && n < sizeof(bytes); i++)
            n += (size_t)snprintf(bytes + n, sizeof(bytes) - n, "%s%02x", i ? " " : " [", code[i]);
        if (got && n < sizeof(bytes))
            snprintf(bytes + n, sizeof(bytes) - n, "]");
    }
    note_len = 0;
    note[0] = '\0';
    vcpu.tracing = true;
    int ret = vmx_dispatch(r);
    vcpu.tracing = false;
    vcpu.trace_seen++;
    kprintf("trace %s #%lu: %s (%u) at RIP 0x%lx%s: %s%s%s\n", vcpu.label, vcpu.trace_seen,
            exit_reason_name(reason & 0xffff), reason & 0xffff, rip, bytes, what,
            note_len ? "; " : "", note);
    vcpu.trace_left--;
    return ret;
}
