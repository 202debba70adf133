// regs.h: the contract between the exit path in assembly (hv/vmx/exit_stub.S) and
// the C handlers (hv/exit/exit.c): where each guest register sits in struct
// guest_regs, and what a handler's return value asks of the stub. The
// _Static_asserts below check every offset against the struct, so the two
// cannot drift.
// Shared with .S files: the C part is fenced off.
#pragma once

// Offsets in struct guest_regs, in the order of the x86 register numbers
// (RAX 0 ... R15 15), which is also how a CR-access exit qualification names a
// register (SDM 3C Table 28-3).
#define GR_RAX 0
#define GR_RCX 8
#define GR_RDX 16
#define GR_RBX 24
#define GR_RSP 32 // unused: the guest's RSP lives in the VMCS (GUEST_RSP)
#define GR_RBP 40
#define GR_RSI 48
#define GR_RDI 56
#define GR_R8 64
#define GR_R9 72
#define GR_R10 80
#define GR_R11 88
#define GR_R12 96
#define GR_R13 104
#define GR_R14 112
#define GR_R15 120
#define GR_SIZE 128

// What vmx_exit_handler() returns to the stub.
#define EXIT_RESUME 0        // resume the guest; C kept RBX, RBP, R12-R15 (callee-saved)
#define EXIT_STOP 1          // end the run: vmx_run() returns
#define EXIT_RESUME_RELOAD 2 // resume, reloading every register from guest_regs

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

struct guest_regs {
    uint64_t rax, rcx, rdx, rbx, rsp_unused, rbp, rsi, rdi;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};
#define GR_CHECK(reg, off) _Static_assert(offsetof(struct guest_regs, reg) == off, #reg)
GR_CHECK(rax, GR_RAX); GR_CHECK(rcx, GR_RCX); GR_CHECK(rdx, GR_RDX); GR_CHECK(rbx, GR_RBX);
GR_CHECK(rsp_unused, GR_RSP); GR_CHECK(rbp, GR_RBP); GR_CHECK(rsi, GR_RSI);
GR_CHECK(rdi, GR_RDI); GR_CHECK(r8, GR_R8); GR_CHECK(r9, GR_R9); GR_CHECK(r10, GR_R10);
GR_CHECK(r11, GR_R11); GR_CHECK(r12, GR_R12); GR_CHECK(r13, GR_R13); GR_CHECK(r14, GR_R14);
GR_CHECK(r15, GR_R15);
_Static_assert(sizeof(struct guest_regs) == GR_SIZE, "struct guest_regs size");
#undef GR_CHECK
#endif
