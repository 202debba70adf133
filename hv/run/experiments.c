// experiments.c: the one table of what vmxlab runs, in the order it runs it.
// A row names its guest (guest/NAME.c or guest/NAME.S; the Makefile builds and
// embeds exactly the guests named here), whether it runs once, under each CR
// ownership policy of the command line, or under each policy and paging mode,
// what it measures, and what it expects: the exits of a measured run by
// reason, as a function of the command line (toggles= N iterations per
// window, windows= W, threshold= T, the guest-owned bits, the paging mode),
// and how the run must end. hv/run/experiment.c runs the rows and checks each
// outcome; the boot tests read the same rows (tests/boot/table.py).
// docs/guest-abi.md says how to add a row; docs/10-results.md how one is judged.
#include "../../boot/x86.h"
#include "../../guest/abi.h"
#include "../exit/exit.h"
#include "internal.h"

// A measured run expects, for each row of .expect that holds under its
// paging mode (all, or those named: SHADOW_FLUSH, SHADOW_ROLES): N * W *
// per_iter exits of that reason while the deciding bit is host-owned, none
// while the guest owns it, and min(T, N * W * per_iter) under policy=adaptive
// when the bit is CR0.WP (the T-th WP change still exits and hands WP over);
// AT_MOST_ONCE caps it at 1. No other exits.
//
// Under shadow paging a window's code is one page (guest/toggle.S), and the
// #PF exits (EXCEPTION_NMI) are the fills that page needs: after each WP
// change with shadow_wp=flush, which empties the tables, and after each
// CR4.PGE change in both modes (a TLB flush); with shadow_wp=roles, once for
// the whole run, when the first WP=0 fetch finds that set of tables empty.
#define STOPPED(r) .outcome = { RUN_STOPPED, 0, EXIT_REASON_##r, false, 0 }
#define SHADOW_FLUSH BIT(MMU_SHADOW_FLUSH)
#define SHADOW_ROLES BIT(MMU_SHADOW_ROLES)
#define SHADOW (SHADOW_FLUSH | SHADOW_ROLES)
#define AT_MOST_ONCE true

const struct experiment experiments[] = {
    { .name = "vmx-caps", .host = host_vmx_caps,
      .what = "the VMX capability MSRs are self-consistent" },
    { .name = "vmcs-fields", .host = host_vmcs_fields,
      .what = "every writable VMCS field round-trips through VMWRITE/VMREAD, in the bits "
              "it holds" },
    { .name = "host-fixups", .host = host_fixups,
      .what = "a host instruction that faults on a bad value resumes at its fixup" },
    { .name = "baseline", .guest = "vmcall_loop", .runs = ONCE, .measured = true,
      .what = "null VMCALLs: the price of a bare VM exit round trip",
      .expect = { { EXIT_REASON_VMCALL, 1, 0, 0 } } },
    { .name = "wp-toggle", .guest = "wp_toggle", .runs = EACH_POLICY, .measured = true,
      .what = "MOV to CR0 flipping WP",
      .expect = { { EXIT_REASON_CR_ACCESS, 1, 0, CR0_WP },
                  { EXIT_REASON_EXCEPTION_NMI, 1, 0, CR0_WP, SHADOW_FLUSH },
                  { EXIT_REASON_EXCEPTION_NMI, 1, 0, CR0_WP, SHADOW_ROLES, AT_MOST_ONCE } } },
    { .name = "ts-clts", .guest = "ts_clts", .runs = EACH_POLICY, .measured = true,
      .what = "MOV to CR0 setting TS, then CLTS",
      .expect = { { EXIT_REASON_CR_ACCESS, 2, 0, CR0_TS } } },
    { .name = "cr4-toggle", .guest = "cr4_pge", .runs = EACH_POLICY, .measured = true,
      .what = "MOV to CR4 flipping PGE",
      .expect = { { EXIT_REASON_CR_ACCESS, 1, 4, CR4_PGE },
                  { EXIT_REASON_EXCEPTION_NMI, 1, 4, CR4_PGE, SHADOW } } },
    { .name = "cpuid-loop", .guest = "cpuid_loop", .runs = ONCE, .measured = true,
      .what = "CPUID, which always exits", .expect = { { EXIT_REASON_CPUID, 1, 0, 0 } } },
    { .name = "wp-semantics", .group = "semantics", .guest = "semantics",
      .runs = EACH_POLICY, .flags = GP_WP_SEMANTICS,
      .what = "#PF on a supervisor write to a read-only page iff CR0.WP" },
    { .name = "ts-semantics", .group = "semantics", .guest = "semantics",
      .runs = EACH_POLICY, .flags = GP_TS_SEMANTICS,
      .what = "#NM from SSE iff CR0.TS; CLTS clears it" },
    { .name = "cr0-readback", .group = "semantics", .guest = "semantics",
      .runs = EACH_POLICY, .flags = GP_CR0_READBACK,
      .what = "CR0 reads back what MOV, CLTS and LMSW wrote; invalid writes #GP" },
    { .name = "cr4-rules", .group = "semantics", .guest = "semantics",
      .runs = EACH_POLICY, .flags = GP_CR4_RULES,
      .what = "MOV to CR4 raises #GP where the CPU would, and lands where it would" },
    { .name = "single-step", .group = "semantics", .guest = "semantics",
      .runs = EACH_POLICY, .flags = GP_SINGLE_STEP,
      .what = "an emulated instruction ends STI/MOV-SS blocking and single-steps with TF" },
    { .name = "access-matrix", .group = "paging", .guest = "matrix",
      .runs = EACH_POLICY_AND_PAGING,
      .compare_records = true, .show_exits = true,
      .what = "U/S, R/W, XD x WP x NXE x CPL x access: faults, error codes, A/D, recorded" },
    // interrupts: .flags is the wait in TSC ticks, an eighth of RUN_TICKS: in Bochs (50 M
    // instructions a second of its clock) about 49 of the PIT's ticks; at 3 GHz 45 ms.
    { .name = "interrupts", .group = "isolation", .guest = "interrupts", .flags = 1 << 27,
      .what = "a guest that enables interrupts and waits sees none of the host's" },
    { .name = "state-dirty", .group = "isolation", .guest = "isolation",
      .flags = ISO_STATE_DIRTY,
      .what = "a guest dirties the registers VMX does not switch..." },
    { .name = "state-check", .group = "isolation", .guest = "isolation",
      .flags = ISO_STATE_CHECK, .what = "...and the next run finds them all reset" },
    { .name = "watchpoint", .group = "isolation", .guest = "isolation",
      .flags = ISO_WATCHPOINT, .what = "a DR7 data breakpoint survives VM exits" },
    { .name = "compat-mode", .group = "isolation", .guest = "isolation", .runs = EACH_POLICY,
      .flags = ISO_COMPAT, .what = "MOV to CR0 in compatibility mode, up to 4 GiB" },
    { .name = "instructions", .group = "isolation", .guest = "isolation",
      .flags = ISO_INSTRUCTIONS,
      .what = "RDPMC, MONITOR, MWAIT, RDRAND, RDSEED, WBINVD, INVD, MSRs: defined answers" },
    { .name = "guest-text", .group = "isolation", .guest = "isolation",
      .flags = ISO_FORGE_TEXT, .what = "guest text never reads like the kernel's lines" },
    { .name = "user-hypercall", .group = "isolation", .guest = "isolation",
      .flags = ISO_USER_HYPERCALL,
      .what = "a VMCALL from ring 3 raises #UD, whatever RAX asks, and does nothing else" },
    { .name = "leave-long-mode", .group = "isolation", .guest = "isolation",
      .flags = ISO_LEAVE_LONG_MODE, .paging_off = true,
      .what = "CR0.PG cleared in compatibility mode leaves IA-32e mode, set again re-enters it" },
    { .name = "plain-io", .group = "exits", .guest = "plain_io", .runs = EACH_POLICY,
      .show_exits = true,
      .what = "a guest with no hypercalls: CPUID, MSRs, COM1, an empty port, port 0xf4" },
    { .name = "pc-devices", .group = "exits", .guest = "pc", .runs = ONCE,
      .show_exits = true,
      .what = "the virtual PC: the 8259s, fw_cfg, CMOS, the PIT, PCI, IA32_APIC_BASE, the "
              "APIC page, MSRs" },
    { .name = "text-sum", .group = "bad-guest", .host = host_text_sum,
      .what = "the hypervisor's code and read-only data, summed before the hostile guests" },
    { .name = "hostile-cr", .group = "bad-guest", .guest = "hostile", .runs = EACH_POLICY,
      .flags = HOSTILE_CR,
      .what = "random MOV to CR0/CR4, CLTS and LMSW (seed=), each against the SDM model" },
    { .name = "hostile-cpuid-msr-io", .group = "bad-guest", .guest = "hostile",
      .flags = HOSTILE_CPUID_MSR_IO,
      .what = "random CPUID leaves, MSR indices and I/O ports (seed=): documented answers" },
    { .name = "hostile-insns", .group = "bad-guest", .guest = "hostile",
      .flags = HOSTILE_INSNS, .what = "the VMX instructions raise #UD; bad XSETBVs #GP" },
    { .name = "hostile-ram-dirty", .group = "bad-guest", .guest = "hostile",
      .flags = HOSTILE_RAM_DIRTY, .what = "a guest fills all its free RAM..." },
    { .name = "hostile-ram-check", .group = "bad-guest", .guest = "hostile",
      .flags = HOSTILE_RAM_CHECK, .what = "...and the next run finds it all zero" },
    { .name = "bad-hlt", .group = "bad-guest", .guest = "misbehave", .flags = BAD_HLT,
      .what = "HLT with interrupts off", .outcome = { RUN_HALTED, 0, 0 } },
    { .name = "bad-hlt-sti", .group = "bad-guest", .guest = "misbehave", .flags = BAD_HLT_STI,
      .what = "HLT with interrupts on", .outcome = { RUN_HALTED, 0, 0 } },
    { .name = "bad-string-io", .group = "bad-guest", .guest = "misbehave",
      .flags = BAD_STRING_IO, .what = "REP OUTSB to COM1", STOPPED(IO_INSTRUCTION) },
    { .name = "bad-ept", .group = "bad-guest", .guest = "misbehave", .flags = BAD_EPT,
      .what = "a read outside guest RAM: an EPT violation, or under shadow paging a #PF "
              "whose walk leaves RAM",
      .outcome = { RUN_STOPPED, 0, EXIT_REASON_EPT_VIOLATION, true,
                   EXIT_REASON_EXCEPTION_NMI } },
    { .name = "bad-triple-fault", .group = "bad-guest", .guest = "misbehave",
      .flags = BAD_TRIPLE_FAULT, .what = "an exception with an empty IDT",
      STOPPED(TRIPLE_FAULT) },
    { .name = "bad-hypercall", .group = "bad-guest", .guest = "misbehave",
      .flags = BAD_HYPERCALL, .what = "an unknown hypercall", STOPPED(VMCALL) },
    { .name = "bad-pointer", .group = "bad-guest", .guest = "misbehave",
      .flags = BAD_POINTER, .what = "HC_PUTS with a pointer outside guest RAM",
      STOPPED(VMCALL) },
    { .name = "bad-record", .group = "bad-guest", .guest = "misbehave",
      .flags = BAD_RECORD, .what = "HC_RECORD with a buffer whose end wraps past 2^64",
      STOPPED(VMCALL) },
    { .name = "bad-exit-flood", .group = "bad-guest", .guest = "misbehave",
      .flags = BAD_EXIT_FLOOD, .what = "null hypercalls forever",
      .outcome = { RUN_TIMED_OUT, 0, 0 } },
    { .name = "bad-spin", .group = "bad-guest", .guest = "misbehave", .flags = BAD_SPIN,
      .what = "a loop without exits", .max_ticks = 1 << 26,
      .outcome = { RUN_TIMED_OUT, 0, 0 } },
    { .name = "bad-status-2-32", .group = "bad-guest", .guest = "misbehave",
      .flags = BAD_STATUS_2_32, .what = "HC_EXIT with status 2^32",
      .outcome = { RUN_EXITED, 1ull << 32, 0 } },
    { .name = "bad-status-ones", .group = "bad-guest", .guest = "misbehave",
      .flags = BAD_STATUS_32_ONES, .what = "HC_EXIT with status 0xffffffff",
      .outcome = { RUN_EXITED, 0xffffffff, 0 } },
    { .name = "bad-entry", .group = "bad-guest", .guest = "misbehave", .flags = BAD_HLT,
      .brk = "rflags-bit1",
      .what = "a VM entry with an invalid guest state (RFLAGS bit 1 clear)",
      .outcome = { RUN_STOPPED, 0, EXIT_REASON_FAILED_VMENTRY |
                                       EXIT_REASON_INVALID_GUEST_STATE } },
    { .name = "text-check", .group = "bad-guest", .host = host_text_check,
      .what = "...and compared after them: unchanged" },
};
const size_t nexperiments = ARRAY_SIZE(experiments);
