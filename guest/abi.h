// abi.h: the contract between vmxlab's hypervisor (hv/) and its test guests
// (guest/). docs/guest-abi.md explains it in prose; this header is the part
// both sides compile. Shared with .S files: C-only parts are fenced.
#pragma once

// Guest-physical memory: GUEST_RAM_SIZE bytes from GPA 0, backed by EPT (2 MiB
// pages where the CPU has them and ept_pages=4k is not given, else 4 KiB), or
// under shadow paging by the hypervisor's shadow tables. Nothing else is
// mapped: any other GPA is an EPT violation, or under shadow paging a #PF
// whose walk leaves RAM; either stops the run.
#define GUEST_RAM_SIZE (4u << 20)
#define GUEST_PARAMS_GPA 0x1000   // struct guest_params, written before entry
#define GUEST_LOAD_GPA 0x100000   // guests are linked here (guest/guest.ld)
#define GUEST_HEADER_MAGIC 0x3154534547584d56ull // "VMXGEST1"

// Hypercalls: VMCALL with the number in RAX, arguments in RDI, RSI, RDX.
// Every hypercall returns to the instruction after VMCALL with every general
// register as it was.
#define HC_NOP 0    // nothing: one VM-exit round trip, for the baseline
#define HC_PUTS 1   // RDI = GPA of a NUL-terminated string (< 256 bytes)
#define HC_REPORT 2 // RDI = 1 pass / 0 fail, RSI = GPA of what was checked
#define HC_MARK 3   // RDI = MARK_BEGIN, or MARK_END with RSI = iterations, RDX = ticks
#define HC_EXIT 4   // RDI = 0: done; anything else: the guest gave up (FAIL)
#define HC_RECORD 5 // RDI = GPA of a buffer, RSI = its length in bytes: appended to
                    // the run's record, which rows with .compare_records compare
#define HC_RECORD_MAX (64u << 10) // bytes a run may record, in all

#define MARK_BEGIN 0 // exit counters start counting for the measured window
#define MARK_END 1   // ...and stop; the window's numbers become the result

// What the guest is asked to do (guest_params.flags).
#define GP_WP_SEMANTICS (1u << 0) // #PF on a read-only page iff CR0.WP
#define GP_TS_SEMANTICS (1u << 1) // #NM from SSE iff CR0.TS; CLTS clears it
#define GP_CR0_READBACK (1u << 2) // CR0 reads back what MOV, CLTS, LMSW wrote
#define GP_CR4_RULES (1u << 3)    // MOV to CR4: #GP where the CPU raises it
#define GP_SINGLE_STEP (1u << 4)  // TF and MOV SS around an intercepted MOV to CR0

// What the misbehave guest does (guest_params.flags): each breaks the rules in
// one way, and the hypervisor must stop the run cleanly, saying why.
#define BAD_HLT 1          // HLT with interrupts off: the run ends as halted
#define BAD_STRING_IO 2    // REP OUTSB to COM1: string I/O is not emulated
#define BAD_EPT 4          // a read at GPA 8 MiB, outside guest RAM: EPT violation
                           // (under shadow paging, a #PF whose walk leaves RAM)
#define BAD_TRIPLE_FAULT 5 // an exception with an empty IDT
#define BAD_HYPERCALL 6    // VMCALL with an unknown number
#define BAD_POINTER 7      // HC_PUTS with a pointer outside guest RAM
#define BAD_EXIT_FLOOD 8   // null hypercalls forever: the run's budget of exits ends it
#define BAD_SPIN 9         // PAUSE forever, never an exit: the watchdog ends it
#define BAD_STATUS_2_32 10 // HC_EXIT with status 2^32: a failure, not 0
#define BAD_STATUS_32_ONES 11 // HC_EXIT with status 0xffffffff: a failure with that value
#define BAD_RECORD 12      // HC_RECORD with a buffer inside RAM whose end wraps past 2^64
#define BAD_HLT_STI 13     // STI, HLT: halted, naming the interrupts it waits for

// What the isolation guest checks (guest_params.flags), one group each.
#define ISO_STATE_DIRTY (1u << 0) // dirty every register VMX does not switch...
#define ISO_STATE_CHECK (1u << 1) // ...and, in the next run, find them all reset
#define ISO_WATCHPOINT (1u << 2)  // a DR7 data breakpoint survives VM exits
#define ISO_COMPAT (1u << 3)      // intercepted MOV to CR0 in compatibility mode
#define ISO_INSTRUCTIONS (1u << 4) // RDPMC, MONITOR, MWAIT, RDRAND, WBINVD, MSRs
#define ISO_FORGE_TEXT (1u << 5)  // guest text that looks like the kernel's verdict
#define ISO_USER_HYPERCALL (1u << 6) // VMCALL from ring 3: #UD, whatever RAX asks
#define ISO_LEAVE_LONG_MODE (1u << 7) // out of IA-32e mode and back (CR0.PG in compat mode)

// What the hostile guest does (guest_params.flags): random but reproducible
// misdeeds from guest_params.seed (the command line's seed=), each checked
// against the documented answer; the run goes on after every one.
#define HOSTILE_CR (1u << 0)        // MOV to CR0/CR4, CLTS, LMSW with random values
#define HOSTILE_CPUID_MSR_IO (1u << 1) // random CPUID leaves, MSR indices, I/O ports
#define HOSTILE_INSNS (1u << 2)     // VMX instructions and bad XSETBVs
#define HOSTILE_RAM_DIRTY (1u << 3) // fill all free guest RAM with a pattern...
#define HOSTILE_RAM_CHECK (1u << 4) // ...and, in the next run, find it all zero
#define HOSTILE_OPS 3000            // random operations per group

// The ports of the virtual PC's devices (hv/dev/, docs/guest-abi.md section 14), as
// X(first port, count): every other port is an empty bus. tests/unit/test_dev.c holds
// this list to the device table; the hostile guest leaves these ports alone.
#define PC_PORTS(X)                                                                 \
    X(0x20, 2) X(0x40, 4) X(0x61, 1) X(0x64, 1) X(0x70, 2) X(0xa0, 2) X(0xf4, 1)     \
    X(0x3f8, 8) X(0x4d0, 2) X(0x510, 2) X(0xcf8, 8) X(0x8900, 1)

// The MSRs a guest has, one row each: index, name, and what a read and a write
// do: DIRECT (the real register, no exit), EMULATED (an exit, answered by
// hv/exit/msr.c) or GP (#GP(0)). Every other index raises #GP(0). TSC_AUX exists
// only with HOST_RDTSCP. hv/exit/msr.c builds its table and the MSR bitmap from
// this list; the hostile guest checks random indices against it.
#define GUEST_MSRS(X)                                                       \
    X(0x10, IA32_TIME_STAMP_COUNTER, DIRECT, EMULATED) /* writes: an offset */ \
    X(0x1b, IA32_APIC_BASE, EMULATED, EMULATED)      /* the local APIC */    \
    X(0x3a, IA32_FEATURE_CONTROL, EMULATED, GP)      /* locked, VMX off */   \
    X(0x174, IA32_SYSENTER_CS, DIRECT, DIRECT)       /* in the VMCS */       \
    X(0x175, IA32_SYSENTER_ESP, DIRECT, DIRECT)                              \
    X(0x176, IA32_SYSENTER_EIP, DIRECT, DIRECT)                              \
    X(0x179, IA32_MCG_CAP, EMULATED, GP)             /* no banks */          \
    X(0x17a, IA32_MCG_STATUS, EMULATED, EMULATED)                            \
    X(0x1a0, IA32_MISC_ENABLE, EMULATED, EMULATED)                           \
    X(0x277, IA32_PAT, EMULATED, EMULATED)                                   \
    X(0xc0000080, IA32_EFER, EMULATED, EMULATED)     /* within VMX's rules */ \
    X(0xc0000081, IA32_STAR, DIRECT, DIRECT)         /* reset every run */   \
    X(0xc0000082, IA32_LSTAR, DIRECT, DIRECT)                                \
    X(0xc0000083, IA32_CSTAR, DIRECT, DIRECT)                                \
    X(0xc0000084, IA32_FMASK, DIRECT, DIRECT)                                \
    X(0xc0000100, IA32_FS_BASE, DIRECT, DIRECT)      /* in the VMCS */       \
    X(0xc0000101, IA32_GS_BASE, DIRECT, DIRECT)                              \
    X(0xc0000102, IA32_KERNEL_GS_BASE, DIRECT, DIRECT) /* reset every run */ \
    X(0xc0000103, IA32_TSC_AUX, DIRECT, DIRECT)      /* with RDTSCP only */
#define MSR_TSC_AUX_INDEX 0xc0000103

// What the hypervisor tells every guest about the machine (guest_params.host).
#define HOST_RDRAND_EXITS (1u << 0) // RDRAND raises #UD (else it runs natively)
#define HOST_RDSEED_EXITS (1u << 1) // RDSEED raises #UD (else it runs, or is #UD)
#define HOST_RDTSCP (1u << 2)       // RDTSCP and IA32_TSC_AUX exist
#define HOST_SHADOW_PAGING (1u << 3) // the hypervisor shadows the guest's page tables
#define HOST_WP_UNSAFE (1u << 4)    // ...and CR0.WP is the guest's anyway (unsafe=1):
                                    // shadow paging is broken, and the guest must see it

// The access-rights matrix (guest/matrix.c, row access-matrix): one
// struct matrix_entry per access, MATRIX_ENTRIES of them in a run's record.
#define MATRIX_ENTRIES 1907
#define MX_PAGE_4K 0 // .page: a PTE maps the page
#define MX_PAGE_2M 1 //        a PDE with PS maps it (there is no PTE)
#define MX_PAGE_1G 2 //        a PDPTE with PS maps it (.pde holds the PDPTE's bits)
#define MX_U 1       // .pde, .pte: U/S = 1 (user) in that entry
#define MX_W 2       //             R/W = 1 (writable)
#define MX_XD 4      //             XD = 1 (execute-disable; reserved while NXE = 0)
#define MX_WP 1      // .mode: CR0.WP = 1
#define MX_CPL3 2    //        the access is made at CPL 3 (else CPL 0)
#define MX_NXE 4     //        IA32_EFER.NXE = 1
#define MX_A_CLEAR 8 //        every level's A was clear before (else all but the leaf's set)
#define MX_SMEP 16   //        CR4.SMEP = 1
#define MX_SMAP 32   //        CR4.SMAP = 1 (RFLAGS.AC = 0)
#define MX_PCIDE 64  //        CR4.PCIDE = 1
#define MX_READ 0    // .access: a read,
#define MX_WRITE 1   //          a write,
#define MX_EXEC 2    //          or an instruction fetch (CALL to the page, which holds a RET);
#define MX_WRITE_EXEC 3 //       a write, then a fetch, with no invalidation between;
#define MX_PUSH_GP 4 //          the delivery of a #GP, of a #PF or of a single-step #DB
#define MX_PUSH_PF 5 //          whose IDT gate's stack (IST) is the top of the page;
#define MX_PUSH_DB 6
#define MX_WRITE_SMAP_READ 7 //  a write with CR4.SMAP 0, then SMAP 1 and a read, no INVLPG;
#define MX_CR3_BIT63 8 //        MOV to CR3 of CR3 with bit 63 set,
#define MX_CR3_HIGH 9  //        with bit MAXPHYADDR set, or with both (.cr2: CR3 afterwards);
#define MX_CR3_BOTH 10
#define MX_CR0_PG_OFF 11 //      MOV to CR0 clearing PG in 64-bit mode, or in compatibility
#define MX_CR0_PG_OFF_COMPAT 12 // mode (.cr2: CR0 afterwards)
#define MX_NOT_RUN 2 // .faulted: not run, the CPU lacks what the entry needs (CPUID)
#define MX_A_PML4E 1 // .accessed: the A bits afterwards, one per level
#define MX_A_PDPTE 2
#define MX_A_PDE 4
#define MX_A_PTE 8

#ifndef __ASSEMBLER__
#include <stdint.h>

// One access of the matrix: what was set up, and what the CPU (or, under
// shadow paging, the hypervisor) made of it. 24 bytes, no hidden padding.
struct matrix_entry {
    uint8_t page, pde, pte, mode, access; // inputs: MX_PAGE_*, MX_U|MX_W|MX_XD, MX_*
    uint8_t faulted;   // 1: the access raised an exception (MX_NOT_RUN: not made)
    uint8_t vector;    // its vector (14: #PF), or 0
    uint8_t accessed;  // MX_A_*: the A bits of the entries on the path afterwards
    uint8_t dirty;     // the leaf's D bit afterwards
    uint8_t zero[3];
    uint32_t error;    // the exception's error code, or 0
    uint64_t cr2;      // CR2 afterwards (cleared before the access); the MOV-to-CR
                       // cases keep the control register read back afterwards here
};
_Static_assert(sizeof(struct matrix_entry) == 24, "struct matrix_entry is 24 bytes");

struct guest_params {
    uint64_t iterations; // per measured window: toggles (wp_toggle), hypercalls (vmcall_loop)
    uint64_t windows;    // measured windows (MARK_BEGIN .. MARK_END) to make
    uint64_t flags;      // what the row asks: GP_* (semantics), BAD_* (misbehave) ...
    uint64_t host;       // HOST_*: what this machine offers
    uint64_t seed;       // the command line's seed=: where random guests start
};

// The first bytes of every guest image (section .guest_header at
// GUEST_LOAD_GPA): where its page tables, descriptor tables and stack are.
// Entry state: 64-bit mode, CS 0x08, data segments 0x10, CR0 = PE|MP|ET|NE|WP|PG,
// CR4 = PAE|MCE|OSFXSR|OSXMMEXCPT, EFER = LME|LMA, CR3/GDTR/IDTR/RSP from here,
// RIP = ELF entry, RDI = GUEST_PARAMS_GPA, RFLAGS = 0x2 (interrupts off).
struct guest_header {
    uint64_t magic; // GUEST_HEADER_MAGIC
    uint64_t cr3;   // GPA of the PML4
    uint64_t rsp;   // initial stack pointer
    uint64_t gdt_base, idt_base;
    uint16_t gdt_limit, idt_limit;
};
#endif
