// mbreq.c: a multiboot guest's pieces among the modules GRUB loaded (boot_info, boot/mb.c):
// the kernel, whose module string is "NAME ARGS", and its modules, "NAME:FILE ARGS" each
// (docs/guest-abi.md, section 15), gathered into a struct mbv1_request for mbv1_load().
// The run calls it once per guest= name that is a multiboot kernel. Pure: it only reads
// the struct mb_info it is given (tests/unit/test_multiboot.c gives its own).
#include "../../boot/boot.h"
#include "multiboot.h"

#define GiB4 (1ull << 32)

// If string is name followed by sep (or, for sep ' ', by its end), what follows; else NULL.
static const char *after(const char *string, const char *name, char sep)
{
    size_t n = strlen(name);
    if (strncmp(string, name, n))
        return NULL;
    if (string[n] == sep)
        return string + n + 1;
    return sep == ' ' && !string[n] ? string + n : NULL;
}

// Modules are used where GRUB put them: vmxlab identity-maps the first 4 GiB only.
static int below_4g(const struct mb_module *m, const char *what, char *err, size_t errlen)
{
    if (m->end <= GiB4)
        return 0;
    return errorf(err, errlen, "GRUB put %s at 0x%lx-0x%lx, above the 4 GiB vmxlab maps", what,
                  m->start, m->end);
}

int mbv1_request_from_modules(const struct mb_info *bi, const char *name,
                              struct mbv1_request *rq, struct mbv1_module *mods,
                              unsigned max, char *err, size_t errlen)
{
    *rq = (struct mbv1_request){ .name = name, .args = "", .mods = mods };
    // A module past the ones boot/mb.c reads may be one of this guest's: the kernel
    // would run without it, so it does not run at all.
    if (bi->mods_ignored)
        return errorf(err, errlen, "GRUB loaded %u modules more than the %d vmxlab reads "
                      "(MB_MAX_MODS): some of '%s's may be among them", bi->mods_ignored,
                      MB_MAX_MODS, name);
    const struct mb_module *kernel = NULL;
    unsigned kernels = 0;
    for (unsigned i = 0; i < bi->mod_count; i++) {
        const struct mb_module *m = &bi->mods[i];
        const char *rest = after(m->cmdline, name, ' ');
        if (rest) {
            kernel = m;
            kernels++;
            rq->args = rest;
            continue;
        }
        if (!(rest = after(m->cmdline, name, ':')))
            continue;
        if (!*rest || *rest == ' ') // QEMU too wants a file name first in each -initrd item
            return errorf(err, errlen, "GRUB module %u's string names no file after '%s:'",
                          i, name);
        if (rq->nmods == max)
            return errorf(err, errlen, "'%s' has more than %u modules", name, max);
        char what[64];
        snprintf(what, sizeof(what), "module %u of '%s'", rq->nmods, name);
        if (below_4g(m, what, err, errlen))
            return -1;
        mods[rq->nmods++] = (struct mbv1_module){ (const uint8_t *)(uintptr_t)m->start,
                                                  (size_t)(m->end - m->start), rest };
    }
    // As guest_module_find() (hv/guest.c): a name must pick one kernel.
    if (kernels > 1)
        return errorf(err, errlen, "%u GRUB modules are named '%s', so vmxlab cannot tell "
                      "which one to run: give each module its own name", kernels, name);
    if (!kernel)
        return errorf(err, errlen, "no GRUB module named '%s' (a kernel's string is 'NAME "
                      "ARGS', its modules' 'NAME:FILE ARGS')", name);
    if (below_4g(kernel, "the kernel", err, errlen))
        return -1;
    rq->image = (const uint8_t *)(uintptr_t)kernel->start;
    rq->size = (size_t)(kernel->end - kernel->start);
    return 0;
}
