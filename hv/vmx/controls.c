// controls.c: choosing VM-execution, VM-exit and VM-entry controls.
// vmx_controls_choose() (hv/vmx/vmcs_build.c) calls ctl_adjust() once per control field with the
// bits vmxlab needs (required) and would like (optional). Pure: unit-tested.
//
// The rule, SDM 3D A.3-A.5: each capability MSR's low 32 bits are the
// "allowed-0" settings (a 1 there means the control must be 1: default-1 bits
// we cannot clear) and its high 32 bits the "allowed-1" settings (a 0 there
// means the control must be 0: a feature this CPU lacks). So the value to use
// is (wanted & allowed1) | allowed0, and a required bit outside allowed1 is a
// hard stop. When IA32_VMX_BASIC bit 55 is set, the TRUE_* MSRs give the real
// allowed-0 bits (e.g. CR3-load/store exiting can then be cleared): caps_read()
// already picked those.
#include "internal.h"

// The names, by kind and bit, from the one table in controls.h.
#define CTL(kind, bit, name, text) [CTL_##kind][bit] = text,
static const char *const names[CTL_KINDS][32] = {
#include "controls.h"
};
#undef CTL

static const char *const kinds[CTL_KINDS] = {
    [CTL_PIN] = "pin-based VM-execution control",
    [CTL_PROC] = "primary processor-based VM-execution control",
    [CTL_PROC2] = "secondary processor-based VM-execution control",
    [CTL_EXIT] = "VM-exit control",
    [CTL_ENTRY] = "VM-entry control",
};

const char *ctl_kind_name(enum ctl_kind kind)
{
    return (unsigned)kind < CTL_KINDS ? kinds[kind] : "control";
}

const char *ctl_bit_name(enum ctl_kind kind, unsigned bit)
{
    if ((unsigned)kind >= CTL_KINDS || bit >= 32 || !names[kind][bit])
        return "reserved";
    return names[kind][bit];
}

int ctl_adjust(uint64_t cap, uint32_t required, uint32_t optional, uint32_t *out,
               unsigned *missing)
{
    uint32_t allowed0 = (uint32_t)cap, allowed1 = (uint32_t)(cap >> 32);
    uint32_t lacking = required & ~allowed1;
    if (lacking) {
        *missing = (unsigned)__builtin_ctz(lacking);
        return -1;
    }
    *out = ((required | optional) & allowed1) | allowed0;
    return 0;
}

// The capability MSR of each control field, as caps_read() read it (the TRUE_
// one where IA32_VMX_BASIC[55] says it exists), and the field in struct vmx_controls.
uint64_t ctl_cap(const struct vmx_caps *c, enum ctl_kind kind)
{
    const uint64_t cap[CTL_KINDS] = {
        [CTL_PIN] = c->raw.pinbased, [CTL_PROC] = c->raw.procbased,
        [CTL_PROC2] = c->raw.procbased2, [CTL_EXIT] = c->raw.exit, [CTL_ENTRY] = c->raw.entry,
    };
    return (unsigned)kind < CTL_KINDS ? cap[kind] : 0;
}

uint32_t *ctl_field(struct vmx_controls *v, enum ctl_kind kind)
{
    uint32_t *f[CTL_KINDS] = { &v->pin, &v->proc, &v->proc2, &v->exit, &v->entry };
    return f[kind];
}
