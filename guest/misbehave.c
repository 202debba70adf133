// misbehave.c: a guest that breaks the rules on purpose, in the one way
// p->flags (BAD_* in abi.h) names. Each row of the bad-guest group of
// hv/run/experiments.c runs it once, in one way, and hv/run/experiment.c checks that
// the hypervisor stopped it cleanly, with the right exit reason, instead of
// skipping the instruction or hanging; break= (hv/vmx/entry.c) runs it with a
// broken VMCS. Never returns normally: reaching the end means the hypervisor
// let the misdeed pass.
#include "rt/guest.h"

// Map the 2 MiB page at 8 MiB in the guest's own page tables (CR3 -> PML4 ->
// PDPT -> PD, all identity-mapped), so that the guest's walk succeeds and
// the read reaches EPT (an EPT violation), or under shadow paging the
// hypervisor's walk, which finds the page outside RAM; never a guest #PF.
static volatile uint64_t *map_outside_ram(void)
{
    uint64_t cr3;
    asm volatile("mov %%cr3, %0" : "=r"(cr3));
    uint64_t *pml4 = (uint64_t *)(cr3 & ~0xfffull);
    uint64_t *pdpt = (uint64_t *)(pml4[0] & ~0xfffull);
    uint64_t *pd = (uint64_t *)(pdpt[0] & ~0xfffull);
    pd[4] = (8ull << 20) | PTE_P | PTE_W | PTE_PS;
    volatile uint64_t *p = (volatile uint64_t *)(8ull << 20);
    invlpg(p);
    return p;
}

int guest_main(struct guest_params *p)
{
    switch (p->flags) {
    case BAD_HLT:
        asm volatile("hlt");
        break;
    case BAD_HLT_STI: // no interrupt reaches a guest: the host's exit, the guest's wait
        asm volatile("sti; hlt; cli");
        break;
    case BAD_STRING_IO: {
        static const char text[] = "hello";
        asm volatile("rep outsb" ::"S"(text), "c"(5ull), "d"(0x3f8) : "memory");
        break;
    }
    case BAD_EPT:
        (void)*map_outside_ram();
        break;
    case BAD_TRIPLE_FAULT: { // INT3 past the IDT limit: #GP, then #DF, then a
                             // triple fault (SDM 3A 6.15, interrupt 8)
        struct { uint16_t limit; uint64_t base; } __attribute__((packed)) empty = { 0, 0 };
        asm volatile("lidt %0; int3" ::"m"(empty));
        break;
    }
    case BAD_HYPERCALL:
        asm volatile("vmcall" ::"a"(0x7777ull) : "memory");
        break;
    case BAD_POINTER:
        asm volatile("vmcall" ::"a"((uint64_t)HC_PUTS), "D"(64ull << 20) : "memory");
        break;
    case BAD_EXIT_FLOOD:
        for (;;)
            asm volatile("vmcall" ::"a"((uint64_t)HC_NOP) : "memory");
    case BAD_SPIN:
        for (;;)
            asm volatile("pause");
    case BAD_RECORD: // GPA 0x1000 is in RAM; GPA + length is too, modulo 2^64
        asm volatile("vmcall" ::"a"((uint64_t)HC_RECORD), "D"(0x1000ull), "S"(-0x800ull)
                     : "memory");
        break;
    case BAD_STATUS_2_32:
        hc_exit(1ull << 32);
    case BAD_STATUS_32_ONES:
        hc_exit(0xffffffffull);
    }
    hc_puts("misbehave: the hypervisor let that pass");
    return 1;
}
