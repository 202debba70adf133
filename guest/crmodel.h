// crmodel.h: a reference model of what MOV to CR0, MOV to CR4, CLTS and LMSW
// do in 64-bit mode at CPL 0, written from the SDM alone, independently of the
// hypervisor's hv/exit/cr.c: given the registers before and the instruction, does
// it raise #GP(0), and what do CR0 and CR4 read afterwards. The hostile guest
// (guest/hostile.c) checks every random write against it; the host unit test
// tests/unit/test_crmodel.c checks it against hv/exit/cr.c on random values. Pure,
// header-only C, so both sides include the same lines.
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct crmodel {
    uint64_t cr0, cr4, cr3; // as the guest reads them
    uint64_t cr4_valid;     // CR4 bits this CPU has (crmodel_cr4_valid())
};

// CR0 bits (SDM 3A 2.5, Figure 2-7): PE 0, MP 1, EM 2, TS 3, ET 4, NE 5, WP 16,
// AM 18, NW 29, CD 30, PG 31; bits 63:32 are reserved and must be 0.
#define CRM_CR0_DEFINED 0xe005003full
#define CRM_PE (1ull << 0)
#define CRM_TS (1ull << 3)
#define CRM_ET (1ull << 4)
#define CRM_WP (1ull << 16)
#define CRM_NW (1ull << 29)
#define CRM_CD (1ull << 30)
#define CRM_PG (1ull << 31)
#define CRM_CR4_PAE (1ull << 5)
#define CRM_CR4_LA57 (1ull << 12)
#define CRM_CR4_PCIDE (1ull << 17)
#define CRM_CR4_CET (1ull << 23)

// The CR4 bits a CPU with these CPUID answers lets software set (SDM 3A 2.5,
// Figure 2-7 and the CPUID feature flags each bit names in SDM 2 CPUID):
// leaf 1 ECX and EDX, leaf 7 subleaf 0 EBX, ECX and EDX. VMXE (13) needs VMX
// (leaf 1 ECX[5]) and SMXE (14) needs SMX (ECX[6]).
static inline uint64_t crmodel_cr4_valid(uint32_t l1_ecx, uint32_t l1_edx, uint32_t l7_ebx,
                                         uint32_t l7_ecx, uint32_t l7_edx)
{
    uint64_t v = 0;
    v |= (l1_edx >> 1 & 1) << 0;  // VME: EDX[1]
    v |= (l1_edx >> 1 & 1) << 1;  // PVI: with VME
    v |= (l1_edx >> 4 & 1) << 2;  // TSD: TSC, EDX[4]
    v |= (l1_edx >> 2 & 1) << 3;  // DE: EDX[2]
    v |= (l1_edx >> 3 & 1) << 4;  // PSE: EDX[3]
    v |= (l1_edx >> 6 & 1) << 5;  // PAE: EDX[6]
    v |= (l1_edx >> 7 & 1) << 6;  // MCE: EDX[7]
    v |= (l1_edx >> 13 & 1) << 7; // PGE: EDX[13]
    v |= 1ull << 8;               // PCE: always (the counters are another matter)
    v |= (l1_edx >> 24 & 1) << 9; // OSFXSR: FXSR, EDX[24]
    v |= (l1_edx >> 25 & 1) << 10; // OSXMMEXCPT: SSE, EDX[25]
    v |= (l7_ecx >> 2 & 1) << 11; // UMIP: leaf 7 ECX[2]
    v |= (l7_ecx >> 16 & 1) << 12; // LA57: leaf 7 ECX[16]
    v |= (l1_ecx >> 5 & 1) << 13; // VMXE: VMX, ECX[5]
    v |= (l1_ecx >> 6 & 1) << 14; // SMXE: SMX, ECX[6]
    v |= (l7_ebx >> 0 & 1) << 16; // FSGSBASE: leaf 7 EBX[0]
    v |= (l1_ecx >> 17 & 1) << 17; // PCIDE: PCID, ECX[17]
    v |= (l1_ecx >> 26 & 1) << 18; // OSXSAVE: XSAVE, ECX[26]
    v |= (l7_ecx >> 23 & 1) << 19; // KL: leaf 7 ECX[23]
    v |= (l7_ebx >> 7 & 1) << 20; // SMEP: leaf 7 EBX[7]
    v |= (l7_ebx >> 20 & 1) << 21; // SMAP: leaf 7 EBX[20]
    v |= (l7_ecx >> 3 & 1) << 22; // PKE: leaf 7 ECX[3]
    v |= ((l7_ecx >> 7 | l7_edx >> 20) & 1) << 23; // CET: CET_SS ECX[7] or CET_IBT EDX[20]
    v |= (l7_ecx >> 31 & 1) << 24; // PKS: leaf 7 ECX[31]
    return v;
}

// MOV to CR0 of val (SDM 2 MOV CR, SDM 3A 2.5): #GP(0) for a bit set in 63:32,
// PG without PE, NW without CD, PG cleared in 64-bit mode, and WP cleared while
// CR4.CET is 1; otherwise the bits in 31:0 that are not defined are ignored and
// ET reads 1. Returns true, and updates m, if the write lands.
static inline bool crmodel_mov_cr0(struct crmodel *m, uint64_t val)
{
    if (val >> 32)
        return false;
    if ((val & CRM_PG) && !(val & CRM_PE))
        return false;
    if ((val & CRM_NW) && !(val & CRM_CD))
        return false;
    if (!(val & CRM_PG)) // 64-bit mode: only compatibility mode may leave IA-32e mode
        return false;
    if ((m->cr4 & CRM_CR4_CET) && !(val & CRM_WP))
        return false;
    m->cr0 = (val & CRM_CR0_DEFINED) | CRM_ET;
    return true;
}

// MOV to CR4 of val (SDM 2 MOV CR): #GP(0) for a reserved or unsupported bit,
// PAE cleared or LA57 changed in IA-32e mode, PCIDE set while CR3[11:0] is not
// 0, CET set while CR0.WP is 0. Returns true, and updates m, if it lands.
static inline bool crmodel_mov_cr4(struct crmodel *m, uint64_t val)
{
    if (val & ~m->cr4_valid)
        return false;
    if (!(val & CRM_CR4_PAE))
        return false;
    if ((val ^ m->cr4) & CRM_CR4_LA57)
        return false;
    if ((val & CRM_CR4_PCIDE) && !(m->cr4 & CRM_CR4_PCIDE) && (m->cr3 & 0xfff))
        return false;
    if ((val & CRM_CR4_CET) && !(m->cr0 & CRM_WP))
        return false;
    m->cr4 = val;
    return true;
}

// CLTS (SDM 2 CLTS): TS becomes 0; at CPL 0 it never faults.
static inline void crmodel_clts(struct crmodel *m)
{
    m->cr0 &= ~CRM_TS;
}

// LMSW (SDM 2 LMSW): bits 3:0 of the source go to PE, MP, EM, TS, except that
// PE can be set but never cleared; nothing else changes; at CPL 0 it never
// faults.
static inline void crmodel_lmsw(struct crmodel *m, uint16_t src)
{
    m->cr0 = (m->cr0 & ~0xeull) | (src & 0xeull) | ((m->cr0 | src) & CRM_PE);
}
