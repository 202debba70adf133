// vmcs_fields.c: the VMCS field table of vmcs_fields.h as data: each field's
// encoding, name and the bits it architecturally holds, and the VMWRITE/VMREAD
// round-trip self-test over it. Pure: the self-test takes its VMREAD and
// VMWRITE as functions, so hv/vmx/vmcs.c runs it on the CPU and the host unit tests
// run it against imitations (tests/unit/test_vmcs_fields.c), among them a
// VMWRITE that drops reserved bits as KVM's nested VMWRITE does.
#include "internal.h"

// The width in each table entry must match its encoding (bits 14:13).
#define VMCS_FIELD(name, enc, width, held) \
    _Static_assert((((enc) >> 13) & 3) == (width), #name ": width does not match encoding");
#include "vmcs_fields.h"
#undef VMCS_FIELD

// Guest segment access rights, SDM 3C 25.4.1 (Table 25-2): type 3:0, S 4,
// DPL 6:5, P 7, AVL 12, L 13, D/B 14, G 15, unusable 16. Bits 11:8 and 31:17
// are reserved; some CPUs, and KVM's nested VMWRITE, do not keep them. L means
// 64-bit code and belongs to CS alone (SDM 3A 3.4.5): real CPUs, and KVM with
// them, do not keep it for the other segment registers.
#define AR_HELD 0x1f0ffull
#define AR_HELD_NOT_CS (AR_HELD & ~(1ull << 13))
#define ALL (~0ull)

const struct vmcs_field_info vmcs_fields[] = {
#define VMCS_FIELD(name, enc, width, held) { enc, #name, held },
#include "vmcs_fields.h"
#undef VMCS_FIELD
};
const size_t vmcs_nfields = ARRAY_SIZE(vmcs_fields);

const char *vmcs_field_name(uint32_t enc)
{
    for (size_t i = 0; i < vmcs_nfields; i++)
        if (vmcs_fields[i].enc == enc)
            return vmcs_fields[i].name;
    return "unknown field";
}

// The bits of a field's width (encoding bits 14:13, SDM 3C 25.11.2).
static uint64_t width_bits(uint32_t enc)
{
    static const uint64_t bits[4] = { [W16] = 0xffff, [W64] = ~0ull, [W32] = 0xffffffff,
                                      [WNAT] = ~0ull };
    return bits[(enc >> 13) & 3];
}

// Bits 11:10 = 1 is the read-only VM-exit information area (SDM 3C 25.11.2).
static bool read_only(uint32_t enc)
{
    return ((enc >> 10) & 3) == 1;
}

// Writes a pattern to every writable field and reads it back, comparing only
// the bits the field holds. Fields the CPU does not support (VM-instruction
// error 12, SDM 3C 31.4) are counted, not failed; every other mismatch or
// error is passed to bad() and counted.
void vmcs_selftest_fields(const struct vmcs_access *a, struct vmcs_selftest *res)
{
    *res = (struct vmcs_selftest){ 0 };
    for (size_t i = 0; i < vmcs_nfields; i++) {
        const struct vmcs_field_info *f = &vmcs_fields[i];
        if (read_only(f->enc))
            continue;
        uint64_t want = 0x5a5aa5a55a5aa5a5ull & width_bits(f->enc), got = 0;
        int err = a->write(a->ctx, f->enc, want);
        if (err == 12) {
            res->unsupported++;
            continue;
        }
        if (!err)
            err = a->read(a->ctx, f->enc, &got);
        if (err || (got & f->held) != (want & f->held)) {
            res->bad++;
            a->bad(a->ctx, f, want, got, err);
        } else {
            res->ok++;
        }
    }
}
