// mb_check.h: the promises both multiboot parsers (boot/mb.c) make about a
// framebuffer they accept, as boot/console.c and kmain() rely on them; shared
// by fuzz_mb2.c and fuzz_mb1.c, after fuzz.h and boot.h. Checks only.
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
