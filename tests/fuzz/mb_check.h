// mb_check.h: the promises both multiboot parsers (boot/mb.c) make about a
// framebuffer and a memory map they accept, as boot/screen.c, kmain() and
// mb_carve() rely on them; shared by fuzz_mb2.c and fuzz_mb1.c, after fuzz.h
// and boot.h. Checks only.
#pragma once

// The console clears pitch * height bytes from addr (kmain maps exactly
// those), draws text cells of 16 bits on EGA text (multiboot2 spec 3.6.12:
// bpp is 16 there), and builds RGB pixels by shifting each channel to its
// position, which must lie inside the pixel (and start there: shifting a
// 32-bit value by 32 or more is undefined, even for a channel of 0 bits).
static void check_fb(const struct fb_info *fb)
{
    check(fb->width && fb->height && fb->bpp, "framebuffer %ux%u at %u bpp accepted",
          fb->width, fb->height, fb->bpp);
    check(fb->pitch >= (uint64_t)fb->width * fb->bpp / 8,
          "framebuffer pitch %u is shorter than a row of %u pixels at %u bpp", fb->pitch,
          fb->width, fb->bpp);
    uint64_t bytes = (uint64_t)fb->pitch * fb->height, limit = 1ull << 52;
    check(fb->addr <= limit && bytes <= limit - fb->addr,
          "framebuffer at 0x%llx of %llu bytes passes the 52-bit physical address space",
          (unsigned long long)fb->addr, (unsigned long long)bytes);
    if (fb->type == 2)
        check(fb->bpp == 16, "EGA text framebuffer accepted with %u bits per cell, not 16",
              fb->bpp);
    if (fb->type == 1) {
        const uint8_t pos[3] = { fb->red_pos, fb->green_pos, fb->blue_pos };
        const uint8_t size[3] = { fb->red_size, fb->green_size, fb->blue_size };
        for (int i = 0; i < 3; i++)
            check(pos[i] < fb->bpp && pos[i] + size[i] <= fb->bpp, "RGB framebuffer accepted "
                  "with a colour channel at bits %u..%u of a %u-bit pixel", pos[i],
                  pos[i] + size[i], fb->bpp);
    }
}

// The memory map (mmap_add()): at most MB_MAX_MMAP regions, each from the
// start of an entry of the loader's map to the end of one, both of its type
// (entries that continue each other merge), and regions left out only once
// the table is full. edge(at, type, end) says whether the loader's map has an
// entry of that type that starts (end false) or ends (end true, base + len
// as the parser computes it) at `at`.
static void check_mmap(const struct mb_info *mb, bool (*edge)(uint64_t at, uint32_t type,
                                                               bool end))
{
    check(mb->mmap_count <= MB_MAX_MMAP, "%u memory regions", mb->mmap_count);
    check(!mb->mmap_dropped || mb->mmap_count == MB_MAX_MMAP, "%u regions left out of a "
          "table of %u, not full", mb->mmap_dropped, mb->mmap_count);
    check(mb->mmap_dropped || !mb->mmap_dropped_ram, "RAM left out with no region");
    for (unsigned i = 0; i < mb->mmap_count; i++) {
        const struct mem_region *r = &mb->mmap[i];
        check(edge(r->base, r->type, false) && edge(r->base + r->len, r->type, true),
              "memory region %u (0x%llx, 0x%llx bytes, type %u) does not run from the start "
              "of an entry of its type to the end of one", i, (unsigned long long)r->base,
              (unsigned long long)r->len, r->type);
    }
}
