// mbv1_load.c: the multiboot loader (hv/run/multiboot.c) as a host program, for
// tests/boot/test_mbload.py and for trying a kernel by hand:
//   build/tests/mbv1_load MIB KERNEL NAME ARGS [MODULE STRING]...
// loads KERNEL (command line "NAME ARGS", each MODULE file with its "FILE ARGS" STRING)
// into MIB MiB of guest RAM and prints one JSON object: the layout, the page of the
// memory map and information block and what follows the image (hex), a hash of the
// image's bytes; or the refusal. Exit status 0 loaded, 1 refused, 2 bad usage.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../hv/run/multiboot.h"

void console_write(const char *s, size_t n) { fwrite(s, 1, n, stderr); }

static uint8_t *read_file(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        perror(path);
        exit(2);
    }
    uint8_t *p = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!p || read(fd, p, (size_t)st.st_size) != st.st_size) {
        perror(path);
        exit(2);
    }
    close(fd);
    *size = (size_t)st.st_size;
    return p;
}

static void hex(const char *key, const uint8_t *p, uint64_t n)
{
    printf(", \"%s\": \"", key);
    for (uint64_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\"");
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++)
        printf(*s == '"' || *s == '\\' ? "\\%c" : (unsigned char)*s < ' ' ? "\\u%04x" : "%c",
               *s);
    putchar('"');
}

static void report(const struct mbv1_loaded *out, const uint8_t *ram)
{
    static const char *const formats[] = { "elf32", "elf64", "aout" };
    uint64_t fnv = 0xcbf29ce484222325ull; // FNV-1a over the image's bytes in RAM
    for (uint32_t a = out->image_start; a < out->image_end; a++)
        fnv = (fnv ^ ram[a]) * 0x100000001b3ull;
    printf(", \"format\": \"%s\", \"flags\": %u, \"entry\": %u, \"info\": %u, "
           "\"image_start\": %u, \"image_end\": %u, \"end\": %u, \"image_fnv\": \"%016llx\"",
           formats[out->format], out->header_flags, out->entry, out->info, out->image_start,
           out->image_end, out->end, (unsigned long long)fnv);
    hex("info_page", ram + MBV1_MMAP_GPA, MBV1_INFO_PAGE_END - MBV1_MMAP_GPA);
    uint64_t tail = ALIGN_UP(out->image_end, 4096);
    hex("tail", ram + tail, out->end - tail);
    printf("}\n");
}

int main(int argc, char **argv)
{
    if (argc < 5 || (argc - 5) % 2) {
        fprintf(stderr, "usage: %s MIB KERNEL NAME ARGS [MODULE STRING]...\n", argv[0]);
        return 2;
    }
    uint64_t ram_size = strtoull(argv[1], NULL, 0) << 20;
    struct mbv1_request rq = { .name = argv[3], .args = argv[4], .nmods = (argc - 5) / 2 };
    rq.image = read_file(argv[2], &rq.size);
    struct mbv1_module *mods = calloc(rq.nmods + 1, sizeof(*mods));
    for (unsigned i = 0; i < rq.nmods; i++) {
        mods[i].data = read_file(argv[5 + 2 * i], &mods[i].size);
        mods[i].string = argv[6 + 2 * i];
    }
    rq.mods = mods;
    // Guest RAM below 4 GiB, all the loader may write: pages only exist once written.
    uint64_t low = mbv1_ram_below_4g(ram_size);
    uint8_t *ram = mmap(NULL, low ? low : 1, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    char err[256];
    struct mbv1_loaded out;
    printf("{\"multiboot\": %s", mbv1_is_multiboot(rq.image, rq.size) ? "true" : "false");
    int rc = mbv1_load(&rq, ram, ram_size, &out, err, sizeof(err));
    if (rc) {
        printf(", \"refused\": ");
        json_string(err);
        printf("}\n");
    } else {
        report(&out, ram);
    }
    for (unsigned i = 0; i < rq.nmods; i++)
        free((void *)mods[i].data);
    free(mods);
    free((void *)rq.image);
    return rc ? 1 : 0;
}
