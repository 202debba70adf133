// profiles.c: the table of capability profiles (tests/unit/profiles.h): what
// caps_read() would read on real Intel CPUs and under nested KVM, one row each, its
// source next to it, and what vmxlab must decide there. tests/unit/test_profiles.c
// decodes each, builds every VMCS vmxlab would build and runs the entry checker on it.
// Values copied from a dump say so; values worked out from KVM's or QEMU's source, or
// from what a CPU generation is documented to have, say "inferred".
#include "profiles.h"

// CPUID leaf 0: the vendor in EBX, EDX, ECX (caps_raw keeps EAX, EBX, ECX, EDX).
#define INTEL(max) { (max), 0x756e6547, 0x6c65746e, 0x49656e69 }
// CPUID leaf 0x40000000 under KVM: "KVMKVMKVM\0\0\0" in EBX, ECX, EDX.
#define KVM_LEAF { 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d }

// Nested KVM, as an L1 guest reads it (Linux 6.x arch/x86/kvm/vmx/nested.c,
// nested_vmx_setup_ctls_msrs() and vmx_get_vmx_msr()): VMCS12_REVISION 0x11e57ed0,
// size 4096, write-back, TRUE_ MSRs and INS/OUTS information; CR0 fixed to PE, NE, PG
// and CR4 to VMXE; the preemption timer at KVM's emulated rate 5. The allowed-0 halves
// drop what KVM leaves free (CR3 exits, debug-control save and load). QEMU starts from
// this and, for a named model, narrows every control to the model's list (QEMU
// target/i386/kvm/kvm.c make_vmx_msr_value(): allowed-1 = list | default1, allowed-0 =
// default1 & ~list), with "host address-space size" allowed for 64-bit models
// (fixed_vmx_exit). SeaBIOS locks IA32_FEATURE_CONTROL at 0x5 from QEMU's
// etc/msr_feature_control. CPUID.1:ECX has VMX and the hypervisor bit.
#define KVM_BASIC 0x00d8100011e57ed0ull
#define KVM_CR(cr4_fixed_1)                                                      \
    .feature_control = 0x5, .basic = KVM_BASIC, .cr0_fixed0 = 0x80000021,         \
    .cr0_fixed1 = 0xffffffff, .cr4_fixed0 = 0x2000, .cr4_fixed1 = (cr4_fixed_1),  \
    .hv_leaf = KVM_LEAF, .cpuid_ext1 = { 0, 0, 0x121, 0x2c100800 },               \
    .cpuid_ext8 = { 0x3028 }

// What vmxlab does on a CPU with everything it uses: EPT with 2 MiB pages, VPID, the
// preemption timer, single-context INVEPT and INVVPID.
#define RUNS_FULL(shift) { NULL, MMU_EPT, true, true, true, (shift), 1, 1 }

const struct profile profiles[] = {
    // ---- Nested KVM ------------------------------------------------------------
    { "qemu-kvm-skylake-client",
      "QEMU target/i386/cpu.c model Skylake-Client (its VMX lists and CPUID leaves 1 "
      "and 7), through kvm.c make_vmx_msr_value(), over KVM nested.c; CR4_FIXED1 "
      "inferred from KVM's nested_vmx_cr_fixed1_bits_update() for the model's CPUID",
      { .cpuid0 = INTEL(0xd), .cpuid1 = { 0x506e3, 0x800, 0xf7fa3223, 0x078bfbff },
        .cpuid7 = { 0, 0x1c0fb9, 0, 0 }, KVM_CR(0x3727ff),
        .pinbased = 0x0000007f00000016ull, .procbased = 0xfff9fffe04006172ull,
        .procbased2 = 0x000378ef00000000ull, .exit = 0x007fffff00036dfbull,
        .entry = 0x0000f3ff000011fbull, .misc = 0x20000065, .ept_vpid = 0x00000f0106334041ull },
      true, RUNS_FULL(5) },
    { "qemu-kvm-sapphirerapids",
      "QEMU target/i386/cpu.c model SapphireRapids (its VMX lists: posted interrupts, "
      "APIC virtualization, XSAVES, 5-level EPT), through kvm.c make_vmx_msr_value(), "
      "over KVM nested.c; CPUID leaf 1 from the model, leaf 7 EDX only its AMX bits; "
      "CR4_FIXED1 inferred (adds PKE, UMIP, LA57)",
      { .cpuid0 = INTEL(0x20), .cpuid1 = { 0x806f4, 0x800, 0xf7fa3223, 0x078bfbff },
        .cpuid7 = { 0, 0, 0, 0x03400000 }, KVM_CR(0x773fff),
        .pinbased = 0x000000ff00000016ull, .procbased = 0xfff9fffe04006172ull,
        .procbased2 = 0x00137bff00000000ull, .exit = 0x007fffff00036dfbull,
        .entry = 0x0000f3ff000011fbull, .misc = 0x20000065, .ept_vpid = 0x00000f01063340c1ull },
      true, RUNS_FULL(5) },
    { "qemu-kvm-host-alderlake",
      "-cpu host on an Alder Lake client: KVM nested.c nested_vmx_setup_ctls_msrs() "
      "applied to that host's controls (inferred: posted interrupts, user-wait-pause, "
      "TSC scaling, no MPX, no 5-level EPT); misc adds wait-for-SIPI and the host's "
      "EFER.LMA bit",
      { .cpuid0 = INTEL(0x20), .cpuid1 = { 0x90672, 0x800, 0xfffa3223, 0x078bfbff },
        .cpuid7 = { 0, 0, 0, 0x8000 }, KVM_CR(0x772fff),
        .pinbased = 0x000000ff00000016ull, .procbased = 0xfff9fffe04006172ull,
        .procbased2 = 0x06137bff00000000ull, .exit = 0x007fffff00036dfbull,
        .entry = 0x0000f3ff000011fbull, .misc = 0x20000165, .ept_vpid = 0x00000f0106334041ull },
      true, RUNS_FULL(5) },
    { "qemu-kvm-host-sapphirerapids",
      "-cpu host on a Sapphire Rapids server: KVM nested.c nested_vmx_setup_ctls_msrs() "
      "applied to that host's controls (inferred: as Alder Lake, plus SGX's ENCLS "
      "exiting and 5-level EPT)",
      { .cpuid0 = INTEL(0x20), .cpuid1 = { 0x806f8, 0x800, 0xfffa3223, 0x078bfbff },
        .cpuid7 = { 0, 0, 0, 0x03400000 }, KVM_CR(0x773fff),
        .pinbased = 0x000000ff00000016ull, .procbased = 0xfff9fffe04006172ull,
        .procbased2 = 0x0613fbff00000000ull, .exit = 0x007fffff00036dfbull,
        .entry = 0x0000f3ff000011fbull, .misc = 0x20000165, .ept_vpid = 0x00000f01063340c1ull },
      true, RUNS_FULL(5) },

    // ---- Real CPUs ---------------------------------------------------------------
    // A Core 2 (Penryn) server part: VMX without EPT, VPID, unrestricted guest, the
    // preemption timer, TRUE_ MSRs (so CR3-load/store exiting are default-1) or
    // EFER/PAT switching. vmxlab runs with shadow paging and the PIT's NMI watchdog.
    { "xeon-x5482-penryn",
      "VirtualBox CPU database, VMMR3/cpus/Intel_Xeon_X5482_3_20GHz.h (VBoxCpuReport "
      "of that machine): CPUID leaves 0, 1, 0x80000001, 0x80000008, MSRs 0x3a, "
      "0x480-0x48b as dumped; it has no MSR 0x48c",
      { .cpuid0 = INTEL(0xa), .cpuid1 = { 0x10676, 0x04040800, 0x000ce3bd, 0xbfebfbff },
        .cpuid_ext1 = { 0, 0, 0x1, 0x20100800 }, .cpuid_ext8 = { 0x3026 },
        .feature_control = 0x5, .basic = 0x005a08000000000dull,
        .pinbased = 0x0000003f00000016ull, .procbased = 0xf7f9fffe0401e172ull,
        .procbased2 = 0x0000004100000000ull, .exit = 0x0003ffff00036dffull,
        .entry = 0x00003fff000011ffull, .misc = 0x403c0, .cr0_fixed0 = 0x80000021,
        .cr0_fixed1 = 0xffffffff, .cr4_fixed0 = 0x2000, .cr4_fixed1 = 0x27ff },
      false, { NULL, MMU_SHADOW_ROLES, false, false, false, 0, 0, 0 } },
    // Sandy Bridge: EPT without accessed/dirty flags or 1 GiB pages.
    { "core-i7-2635qm-sandybridge",
      "VirtualBox CPU database, VMMR3/cpus/Intel_Core_i7_2635QM.h (VBoxCpuReport): "
      "CPUID leaves and MSRs 0x3a, 0x480-0x490 as dumped (TRUE_ controls)",
      { .cpuid0 = INTEL(0xd), .cpuid1 = { 0x206a7, 0x04100800, 0x1fbae3bf, 0xbfebfbff },
        .cpuid_ext1 = { 0, 0, 0x1, 0x28100800 }, .cpuid_ext7 = { 0, 0, 0, 0x100 },
        .cpuid_ext8 = { 0x3024 }, .feature_control = 0x5, .basic = 0x00da040000000010ull,
        .pinbased = 0x0000007f00000016ull, .procbased = 0xfff9fffe04006172ull,
        .procbased2 = 0x000000ff00000000ull, .exit = 0x007fffff00036dfbull,
        .entry = 0x0000ffff000011fbull, .misc = 0x100401e5, .ept_vpid = 0x00000f0106114141ull,
        .cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xffffffff, .cr4_fixed0 = 0x2000,
        .cr4_fixed1 = 0x627ff },
      false, RUNS_FULL(5) },
    { "core-i7-5600u-broadwell",
      "VirtualBox CPU database, VMMR3/cpus/Intel_Core_i7_5600U.h (VBoxCpuReport): "
      "CPUID leaves and MSRs 0x3a, 0x480-0x490 as dumped (TRUE_ controls)",
      { .cpuid0 = INTEL(0x14), .cpuid1 = { 0x306d4, 0, 0x7ffafbff, 0xbfebfbff },
        .cpuid_ext1 = { 0, 0, 0x121, 0x2c100800 }, .cpuid_ext8 = { 0x3027 },
        .feature_control = 0x5, .basic = 0x00da040000000012ull,
        .pinbased = 0x0000007f00000016ull, .procbased = 0xfff9fffe04006172ull,
        .procbased2 = 0x00057cff00000000ull, .exit = 0x007fffff00036dfbull,
        .entry = 0x0000ffff000011fbull, .misc = 0x300481e5, .ept_vpid = 0x00000f0106334141ull,
        .cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xffffffff, .cr4_fixed0 = 0x2000,
        .cr4_fixed1 = 0x3767ff },
      false, RUNS_FULL(5) },
    // Skylake: the preemption timer ticks every 2^7 TSC ticks, not 2^5.
    { "core-i7-6700k-skylake",
      "VirtualBox CPU database, VMMR3/cpus/Intel_Core_i7_6700K.h (VBoxCpuReport): "
      "CPUID leaves and MSRs 0x3a, 0x480-0x491 as dumped (TRUE_ controls)",
      { .cpuid0 = INTEL(0x16), .cpuid1 = { 0x506e3, 0x02100800, 0x7ffafbbf, 0xbfebfbff },
        .cpuid7 = { 0, 0x029c6fbf, 0, 0 }, .cpuid15 = { 2, 0x14e, 0, 0 },
        .cpuid16 = { 0xfa0, 0x1068, 0x64, 0 }, .cpuid_ext1 = { 0, 0, 0x121, 0x2c100800 },
        .cpuid_ext7 = { 0, 0, 0, 0x100 }, .cpuid_ext8 = { 0x3027 },
        .feature_control = 0x5, .basic = 0x00da040000000004ull,
        .pinbased = 0x0000007f00000016ull, .procbased = 0xfff9fffe04006172ull,
        .procbased2 = 0x001ffcff00000000ull, .exit = 0x01ffffff00036dfbull,
        .entry = 0x0003ffff000011fbull, .misc = 0x7004c1e7, .ept_vpid = 0x00000f0106334141ull,
        .cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xffffffff, .cr4_fixed0 = 0x2000,
        .cr4_fixed1 = 0x3727ff },
      false, RUNS_FULL(7) },
    // Alder Lake, hybrid (CPUID.7:EDX[15]): P- and E-cores report one VMX.
    { "core-i7-12700-alderlake-hybrid",
      "inferred: no dump was at hand. Skylake's MSRs (revision 4, timer rate 7) with what "
      "the SDM and Intel's 12th-generation datasheet add: posted interrupts, tertiary "
      "controls, TSC scaling, user-wait-pause, mode-based EPT execute, CET and PT "
      "controls; no MPX; CPUID.7:EDX hybrid bit",
      { .cpuid0 = INTEL(0x20), .cpuid1 = { 0x90672, 0x00800800, 0x7ffafbff, 0xbfebfbff },
        .cpuid7 = { 0, 0, 0, 0x8000 }, .cpuid_ext1 = { 0, 0, 0x121, 0x2c100800 },
        .cpuid_ext7 = { 0, 0, 0, 0x100 }, .cpuid_ext8 = { 0x3027 },
        .feature_control = 0x5, .basic = 0x00da040000000004ull,
        .pinbased = 0x000000ff00000016ull, .procbased = 0xfffbfffe04006172ull,
        .procbased2 = 0x065f7fff00000000ull, .exit = 0x137fffff00036dfbull,
        .entry = 0x0016ffff000011fbull, .misc = 0x7004c1e7, .ept_vpid = 0x00000f0106734141ull,
        .cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xffffffff, .cr4_fixed0 = 0x2000,
        .cr4_fixed1 = 0xff2fff },
      false, RUNS_FULL(7) },
    // Sapphire Rapids, with AMX (CPUID.7:EDX[22,24,25]) and 5-level paging.
    { "xeon-sapphirerapids-amx",
      "inferred: no dump was at hand. As the Alder Lake row, plus SGX's ENCLS exiting, "
      "5-level EPT, LA57 and PKS in CR4_FIXED1, 46-bit physical addresses; CPUID.7:EDX "
      "AMX bits",
      { .cpuid0 = INTEL(0x20), .cpuid1 = { 0x806f8, 0x00800800, 0x7ffefbff, 0xbfebfbff },
        .cpuid7 = { 0, 0, 0, 0x03400000 }, .cpuid_ext1 = { 0, 0, 0x121, 0x2c100800 },
        .cpuid_ext7 = { 0, 0, 0, 0x100 }, .cpuid_ext8 = { 0x392e },
        .feature_control = 0x5, .basic = 0x00da040000000004ull,
        .pinbased = 0x000000ff00000016ull, .procbased = 0xfffbfffe04006172ull,
        .procbased2 = 0x067fffff00000000ull, .exit = 0x137fffff00036dfbull,
        .entry = 0x0016ffff000011fbull, .misc = 0x7004c1e7, .ept_vpid = 0x00000f01067341c1ull,
        .cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xffffffff, .cr4_fixed0 = 0x2000,
        .cr4_fixed1 = 0x1ff3fff },
      false, RUNS_FULL(7) },

    // ---- Refused -----------------------------------------------------------------
    { "vmx-locked-off",
      "the Core i7-6700K row with IA32_FEATURE_CONTROL 0x1: firmware locked it with VMX "
      "off (SDM 3C 24.7), as a setup screen with VT-x disabled leaves it",
      { .cpuid0 = INTEL(0x16), .cpuid1 = { 0x506e3, 0x02100800, 0x7ffafbbf, 0xbfebfbff },
        .cpuid_ext8 = { 0x3027 }, .feature_control = 0x1, .basic = 0x00da040000000004ull,
        .pinbased = 0x0000007f00000016ull, .procbased = 0xfff9fffe04006172ull,
        .exit = 0x01ffffff00036dfbull, .entry = 0x0003ffff000011fbull,
        .cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xffffffff, .cr4_fixed0 = 0x2000,
        .cr4_fixed1 = 0x3727ff },
      false, { .refused = "disabled by the firmware" } },
    { "vmx-only-inside-smx",
      "the Core i7-6700K row with IA32_FEATURE_CONTROL 0x3: locked, VMX inside SMX only "
      "(SDM 3C 24.7), as firmware offering VT-x for Intel TXT alone leaves it",
      { .cpuid0 = INTEL(0x16), .cpuid1 = { 0x506e3, 0x02100800, 0x7ffafbff, 0xbfebfbff },
        .cpuid_ext8 = { 0x3027 }, .feature_control = 0x3, .basic = 0x00da040000000004ull,
        .pinbased = 0x0000007f00000016ull, .procbased = 0xfff9fffe04006172ull,
        .exit = 0x01ffffff00036dfbull, .entry = 0x0003ffff000011fbull,
        .cr0_fixed0 = 0x80000021, .cr0_fixed1 = 0xffffffff, .cr4_fixed0 = 0x2000,
        .cr4_fixed1 = 0x3727ff },
      false, { .refused = "only inside SMX" } },
    { "pentium-m-no-vmx",
      "VirtualBox CPU database, VMMR3/cpus/Intel_Pentium_M_processor_2_00GHz.h: CPUID "
      "leaves 0 and 1 as dumped; no VMX, so no EPT and no VMX MSRs",
      { .cpuid0 = INTEL(0x2), .cpuid1 = { 0x6d6, 0x816, 0x180, 0xafe9f9bf } },
      false, { .refused = "does not offer Intel VMX" } },
    { "kvm-guest-vmx-hidden",
      "a KVM guest on an Intel host without nested VMX (kvm_intel nested=0, or a CPU "
      "model with -vmx): CPUID.1:ECX has the hypervisor bit and not VMX, leaf "
      "0x40000000 says KVMKVMKVM (KVM's documented CPUID leaves); leaf 1 from the "
      "Skylake-Client row",
      { .cpuid0 = INTEL(0xd), .cpuid1 = { 0x506e3, 0x800, 0xf7fa3203, 0x078bfbff },
        .hv_leaf = KVM_LEAF, .cpuid_ext8 = { 0x3028 } },
      false, { .refused = "hypervisor 'KVMKVMKVM'" } },
};
const size_t nprofiles = ARRAY_SIZE(profiles);
