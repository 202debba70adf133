// fuzz_caps.c: libFuzzer harness for the decoding of CPUID and the VMX
// capability MSRs (hv/vmx/caps.c) and what judges from it: caps_print(),
// caps_json(), caps_unsupported(), caps_nested_caveat(), ctl_adjust()
// (hv/vmx/controls.c) and the CR0/CR4 rules that take the fixed-bit MSRs (hv/exit/cr.c).
// Under a hypervisor every one of these values is the hypervisor's choice.
// Run by `make fuzz` and `make test`; keeps nothing between inputs.
//
// Input, zero past its end: the fields of struct caps_raw (hv/vmx/vmx.h) in its
// order, each CPUID leaf as EAX, EBX, ECX, EDX (4 bytes each), each MSR 8
// bytes; then, for ctl_adjust(), required and optional bits (4 bytes each)
// for the pin, proc, proc2, exit and entry controls; then cr0_owned= and
// cr4_owned= (8 bytes each).
#include <stddef.h>

#include "fuzz.h"

#include "../../hv/exit/exit.h"
#include "../../hv/vmx/internal.h"

#define JSON_LEN 640 // kmain()'s buffer for the vmxlab-caps line

#define F(name) { offsetof(struct caps_raw, name), sizeof(((struct caps_raw *)0)->name) }
static const struct {
    size_t off, size;
} fields[] = {
    F(cpuid0), F(cpuid1), F(cpuid7), F(cpuid15), F(cpuid16), F(cpuid_ext1), F(cpuid_ext7),
    F(cpuid_ext8), F(hv_leaf), F(feature_control), F(basic), F(misc), F(pinbased),
    F(procbased), F(exit), F(entry), F(cr0_fixed0), F(cr0_fixed1), F(cr4_fixed0),
    F(cr4_fixed1), F(procbased2), F(ept_vpid),
};
#undef F

// A JSON value as caps_json writes them: an object of numbers and strings.
static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    for (; *p != '"'; p++) {
        if ((unsigned char)*p < ' ' || (unsigned char)*p > '~')
            return NULL; // a control byte (or the end) inside a string, or not ASCII
        if (*p == '\\' && !strchr("\"\\/bfnrt", *++p))
            return NULL; // (\u escapes are not written)
    }
    return p + 1;
}

static bool json_object(const char *p)
{
    if (*p++ != '{')
        return false;
    for (bool first = true; *p != '}'; first = false) {
        if (!first && *p++ != ',')
            return false;
        if (!(p = json_string(p)) || *p++ != ':')
            return false;
        if (*p == '"') {
            if (!(p = json_string(p)))
                return false;
        } else {
            const char *start = p;
            while (*p >= '0' && *p <= '9')
                p++;
            if (p == start || (*start == '0' && p - start > 1))
                return false;
        }
    }
    return p[1] == '\0';
}

static void check_message(const char *what, const char *s)
{
    check(s && *s && printable(s, strlen(s), false), "%s is not a printable message", what);
}

static void check_decode(const struct caps_raw *r, const struct vmx_caps *c)
{
    check(!memcmp(&c->raw, r, sizeof(*r)), "the raw values were not kept as read");
    check(c->vendor[12] == '\0' && c->hv_signature[12] == '\0', "an unterminated name");
    // SDM 2, CPUID leaf 1: the display family and model.
    uint32_t eax = r->cpuid1[0], family = (eax >> 8) & 0xf, model = (eax >> 4) & 0xf;
    if (family == 6 || family == 15)
        model |= ((eax >> 16) & 0xf) << 4;
    if (family == 15)
        family += (eax >> 20) & 0xff;
    check(c->family == family && c->model == model && c->stepping == (eax & 0xf),
          "family %u model %u stepping %u from EAX 0x%x", c->family, c->model, c->stepping, eax);
    check(c->vmx == !!(r->cpuid1[2] & CPUID1_ECX_VMX), "VMX %d from CPUID.1:ECX 0x%x",
          c->vmx, r->cpuid1[2]);
    if (!c->vmx)
        check(!c->revision && !c->vmcs_size && !c->true_ctls && !c->secondary && !c->ept &&
              !c->vpid && !c->unrestricted_guest && !c->preemption_timer && !c->invvpid,
              "VMX features decoded on a CPU without VMX");
    check(c->secondary || (!c->ept && !c->vpid && !c->unrestricted_guest),
          "a secondary control without secondary controls");
    check(c->ept || (!c->ept_4level && !c->ept_wb && !c->ept_2m && !c->ept_1g && !c->ept_ad &&
                     !c->invept && !c->invept_single && !c->invept_all),
          "an EPT feature without EPT");
    check(c->vpid || (!c->invvpid && !c->invvpid_single && !c->invvpid_all &&
                      !c->invvpid_single_globals), "an INVVPID type without VPID");
    check(c->revision <= 0x7fffffff && c->vmcs_size <= 0x1fff && c->memtype <= 15 &&
          c->timer_shift <= 31, "a field wider than its bits in IA32_VMX_BASIC or MISC");
}

// ctl_adjust() (SDM 3D A.3-A.5): required bits must be allowed-1; the result
// is every allowed-0 bit plus the wanted bits that are allowed-1; where vmxlab
// runs (runs: caps_unsupported() said nothing), it turns on no control the
// CPU does not allow.
static void check_adjust(enum ctl_kind kind, uint64_t cap, uint32_t required,
                         uint32_t optional, bool runs)
{
    uint32_t allowed0 = (uint32_t)cap, allowed1 = (uint32_t)(cap >> 32), out = 0xdeadbeef;
    unsigned missing = 99;
    int rc = ctl_adjust(cap, required, optional, &out, &missing);
    check_message("ctl_kind_name", ctl_kind_name(kind));
    if (rc) {
        check(rc == -1 && missing < 32, "returned %d, missing bit %u", rc, missing);
        check(!(allowed1 & BIT(missing)), "%s bit %u called missing, but it is allowed-1",
              ctl_kind_name(kind), missing);
        check_message("ctl_bit_name", ctl_bit_name(kind, missing));
        return;
    }
    check(!(required & ~allowed1), "required %s bits 0x%x accepted, allowed-1 is 0x%x",
          ctl_kind_name(kind), required, allowed1);
    check((out & (required | allowed0)) == (required | allowed0),
          "%s 0x%x lacks required 0x%x or allowed-0 0x%x", ctl_kind_name(kind), out, required,
          allowed0);
    check(!(out & ~(required | optional | allowed0)), "%s 0x%x has bits nobody asked for",
          ctl_kind_name(kind), out);
    check(!runs || !(out & ~allowed1), "%s 0x%x turns on controls the CPU does not allow "
          "(allowed-1 0x%x)", ctl_kind_name(kind), out, allowed1);
}

// cr0_owned_check()/cr4_owned_check(): a bit may be guest-owned only if it is
// defined and VMX fixes it neither to 1 nor to 0 (SDM 3C 25.6.6, 3D A.7-A.8).
static void check_owned(bool cr4, uint64_t owned, uint64_t fixed0, uint64_t fixed1)
{
    unsigned bit = 99;
    const char *why = NULL;
    uint64_t defined = cr4 ? fixed1 : CR0_DEFINED, may = defined & ~fixed0 & fixed1;
    int rc = cr4 ? cr4_owned_check(owned, fixed0, fixed1, &bit, &why)
                 : cr0_owned_check(owned, fixed0, fixed1, &bit, &why);
    if (!rc) {
        check(!(owned & ~may), "CR%d bits 0x%llx may not be guest-owned, yet were accepted",
              cr4 ? 4 : 0, (unsigned long long)(owned & ~may));
        return;
    }
    check(rc == -1 && bit < 64 && (owned & BIT(bit)) && !(may & BIT(bit)),
          "CR%d bit %u refused, returned %d", cr4 ? 4 : 0, bit, rc);
    check_message("the reason a bit cannot be guest-owned", why);
    check_message("the bit's name", cr4 ? cr4_bit_name(bit) : cr0_bit_name(bit));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct caps_raw r;
    size_t at = 0;
    memset(&r, 0, sizeof(r));
    for (size_t i = 0; i < ARRAY_SIZE(fields); at += fields[i++].size)
        for (size_t b = 0; b < fields[i].size; b++)
            ((uint8_t *)&r)[fields[i].off + b] = at + b < size ? data[at + b] : 0;

    struct vmx_caps c;
    memset(&c, 0xa5, sizeof(c)); // each field must be set
    caps_decode(&r, &c);
    check_decode(&r, &c);

    console_clear();
    caps_print(&c);
    check(console_len < sizeof(console), "caps_print wrote %zu bytes", console_len);
    check(printable(console, console_len, true), "caps_print printed a byte that is "
          "neither printable ASCII nor a newline:\n%s", console);
    check(console_len && console[console_len - 1] == '\n', "caps_print left a line open");

    char json[JSON_LEN];
    int n = caps_json(&c, json, sizeof(json));
    check(n > 0 && n < JSON_LEN, "caps_json needs %d bytes of kmain()'s %d", n, JSON_LEN);
    check(json_object(json), "caps_json wrote no valid JSON: %s", json);

    const char *why = caps_unsupported(&c);
    if (why)
        check_message("caps_unsupported", why);
    check(why || (c.vmx && !(c.fc_locked && !c.fc_vmx_outside_smx)),
          "vmxlab would run without VMX, or with VMX locked off");
    // Where vmxlab runs, MAXPHYADDR is shifted by (hv/mmu/paging.c, exit_cr.c): it
    // must be what the SDM allows (at most 52, SDM 3A 4.1.4) and cover the
    // 4 GiB the kernel maps. And VMX's fixed bits must be satisfiable: a bit
    // FIXED0 sets, FIXED1 must allow (SDM 3D A.7, A.8), or VMXON and every
    // VM entry fail with CR0/CR4 as vmx_on() and vmcs_setup() make them.
    if (!why) {
        check(c.maxphyaddr >= 32 && c.maxphyaddr <= 52, "vmxlab would run with a %u-bit "
              "physical address width", c.maxphyaddr);
        check(!(r.cr0_fixed0 & ~r.cr0_fixed1) && !(r.cr4_fixed0 & ~r.cr4_fixed1),
              "vmxlab would run with CR0 fixed bits 0x%llx/0x%llx, CR4 0x%llx/0x%llx",
              (unsigned long long)r.cr0_fixed0, (unsigned long long)r.cr0_fixed1,
              (unsigned long long)r.cr4_fixed0, (unsigned long long)r.cr4_fixed1);
    }
    const char *caveat = caps_nested_caveat(&c);
    check(!caveat == !c.hypervisor, "the nested caveat does not follow CPUID.1:ECX[31]");
    if (caveat)
        check_message("caps_nested_caveat", caveat);

    const uint64_t caps_of[CTL_KINDS] = {
        [CTL_PIN] = r.pinbased, [CTL_PROC] = r.procbased, [CTL_PROC2] = r.procbased2,
        [CTL_EXIT] = r.exit, [CTL_ENTRY] = r.entry,
    };
    for (int k = 0; k < CTL_KINDS; k++, at += 8)
        check_adjust(k, caps_of[k], le_at(data, size, at, 4), le_at(data, size, at + 4, 4),
                     !why);
    check_owned(false, le_at(data, size, at, 8), r.cr0_fixed0, r.cr0_fixed1);
    check_owned(true, le_at(data, size, at + 8, 8), r.cr4_fixed0, r.cr4_fixed1);

    uint64_t cr4_ok = cr4_guest_valid(r.cr4_fixed1, r.cpuid1, r.cpuid7);
    check(!(cr4_ok & ~r.cr4_fixed1) && !(cr4_ok & (CR4_VMXE | CR4_SMXE)),
          "guests may set CR4 bits 0x%llx, FIXED1 is 0x%llx", (unsigned long long)cr4_ok,
          (unsigned long long)r.cr4_fixed1);
    return 0;
}
