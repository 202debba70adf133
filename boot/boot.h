// boot.h: everything boot/ offers the rest of the kernel, grouped by file as
// xv6's defs.h does. The pure parts (multiboot parsing, command line, PSF
// fonts, verdict names) are also built for the host and unit-tested there.
#pragma once
#include "../lib/lib.h"

// verdict.c: how a run ends. The runner (scripts/run.py) reads the verdict line
// from the serial port and maps it to its own exit status, which is the same
// number: see the table in README.md.
enum verdict {
    VERDICT_PASS = 0,
    VERDICT_FAIL = 1,
    VERDICT_CRASH = 2,   // fault, reset or panic: the kernel could not finish
    VERDICT_TIMEOUT = 3, // only the runner gives this one
    VERDICT_UNSUPPORTED = 4,
};
const char *verdict_name(enum verdict v);
uint32_t verdict_qemu_code(enum verdict v); // value written to isa-debug-exit
__attribute__((noreturn)) void end_run(enum verdict v);

// report.c: kvm-unit-tests style reporting; summary line "N passed, N failed"
void report(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// A check a guest made (HC_REPORT): counted like any other, printed when it
// failed or with verbose=1; its text is the guest's, so it is escaped.
void report_guest(bool ok, const char *label, const char *text);
// Text a guest printed: one "guest <label>: ..." line per line of it, with
// every byte that is not printable ASCII escaped, so that no guest text can
// ever look like a line of the kernel's own.
void guest_print(const char *label, const char *text, size_t n);
size_t escape_text(char *dst, size_t size, const char *src, size_t n);
__attribute__((noreturn)) void report_finish(void); // summary, then PASS/FAIL

// Events from the machine, not from any guest: NMIs, external interrupts and
// machine checks, wherever they arrive (boot/cpu.c in the host, hv/exit/exit.c in a
// guest run). A run during which any arrived is marked disturbed.
struct events {
    uint64_t nmis, extints, machine_checks;
    uint64_t watchdog_nmis; // the PIT's NMIs that bound a run where there is no
                            // VMX-preemption timer (hv/run/guest.c)...
    bool nmi_watchdog;      // ...sent while this is set
};
extern volatile struct events events;

// console.c: COM1 always, plus VGA text or a framebuffer if the loader gave one
struct fb_info;
void console_init_serial(void);
void console_init_screen(const struct fb_info *fb, bool mb1);
const char *console_screen_name(void);
void console_write(const char *s, size_t n);
void console_flush(void); // the UART has sent everything

// screen.c: the console's text on a screen, kept in RAM; video memory (VGA
// text cells, or a framebuffer drawn with a PSF font) is written, never read.
// Each init clears the screen; false: nothing can be drawn there.
struct psf_font;
bool screen_init_vga(uint16_t *mem, unsigned cols, unsigned rows);
bool screen_init_fb(const struct fb_info *fb, uint8_t *mem, const struct psf_font *font);
void screen_off(void);
void screen_putc(char c);

// psf.c: PC Screen Font (PSF1 and PSF2, as in Debian's kbd package)
struct psf_font {
    const uint8_t *glyphs; // glyph bitmaps, bytes_per_glyph each
    uint32_t count, width, height, bytes_per_glyph, bytes_per_row;
    uint16_t ascii[128]; // glyph index for each ASCII code point
};
int psf_load(const void *data, size_t size, struct psf_font *font);

// mb.c: multiboot2 (GRUB) and multiboot (v1, QEMU -kernel) information
#define MB2_BOOT_MAGIC 0x36d76289 // in EAX at a multiboot2 entry
#define MB1_BOOT_MAGIC 0x2badb002 // in EAX at a multiboot (v1) entry
#define MB_MAX_MMAP 64
#define MB_MAX_MODS 8
#define MMAP_AVAILABLE 1

struct mem_region {
    uint64_t base, len;
    uint32_t type; // 1 available, 3 ACPI reclaimable, ... (multiboot2 spec 3.6.8)
};
struct fb_info {
    uint64_t addr;
    uint32_t pitch, width, height;
    uint8_t bpp, type; // type 0 indexed, 1 RGB, 2 EGA text
    uint8_t red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};
struct mb_module {
    uint64_t start, end;
    const char *cmdline;
};
struct mb_info {
    const char *cmdline; // never NULL: "" when the loader gave none
    const char *loader;  // boot loader name, or ""
    // The loader's memory map: entries that continue the one before (same
    // type, no gap) are merged; past MB_MAX_MMAP regions the least useful
    // are left out (other types first, then the smallest available), counted.
    struct mem_region mmap[MB_MAX_MMAP];
    unsigned mmap_count;
    unsigned mmap_dropped;     // entries left out
    uint64_t mmap_dropped_ram; // bytes of available RAM among them
    uint64_t info_start, info_end; // the information block (v1: its struct)
    struct mb_module mods[MB_MAX_MODS];
    unsigned mod_count;
    unsigned mods_ignored; // modules past the first MB_MAX_MODS: counted, not read
    bool has_fb;
    struct fb_info fb;
    uint64_t rsdp;    // address of the ACPI RSDP copy in the info, 0 if none
    unsigned rsdp_v;  // 1 (ACPI 1.0 RSDP) or 2 (ACPI 2.0+ XSDP)
    bool efi;         // an EFI system table tag was present: UEFI boot
};
// Both return 0, or -1 with a message naming the bad tag or field in err.
int mb2_parse(const void *info, size_t avail, struct mb_info *out, char *err, size_t errlen);
int mb1_parse(const void *info, struct mb_info *out, char *err, size_t errlen);
// The highest base, a multiple of align (a power of two), of size bytes of
// available RAM inside [lo, hi) that touches none of avoid[0..n) and nothing
// the boot information lies in or points to: the block (or v1's struct), its
// strings, the RSDP, the modules and the framebuffer. 0 if none (lo > 0).
struct mem_range {
    uint64_t start, end; // [start, end)
};
uint64_t mb_carve(const struct mb_info *bi, uint64_t size, uint64_t align, uint64_t lo,
                  uint64_t hi, const struct mem_range *avoid, unsigned n);

// cmdline.c: "key=value key=value" against a table of known keys
enum cfg_type { CFG_UINT, CFG_ENUM, CFG_STR };
struct cfg_key {
    const char *name;
    enum cfg_type type;
    void *dst;                   // uint64_t* (UINT), unsigned* (ENUM), const char** (STR)
    uint64_t min, max;           // UINT: inclusive bounds
    const char *const *choices;  // ENUM: NULL-terminated names, index stored
    const char *help;
};
int cmdline_parse(const char *line, const struct cfg_key *keys, size_t nkeys,
                  char *strbuf, size_t strbuf_size, char *err, size_t errlen);
// Comma-separated values (tests=, break=, guest=). list_next() hands out the
// next item of *cursor (not NUL-terminated: *item and *len) and moves past it;
// it returns false at the end. list_has() matches one whole item exactly.
bool list_next(const char **cursor, const char **item, size_t *len);
bool list_has(const char *list, const char *name);

// config.c: the kernel's own keys and their values after parsing
enum end_mode { END_HALT, END_POWEROFF };
enum fault_mode { FAULT_NONE, FAULT_UD, FAULT_GP, FAULT_PF, FAULT_DE, FAULT_VMX_GP,
                  FAULT_STACK };
enum policy { POLICY_ALL, POLICY_INTERCEPT, POLICY_PASSTHROUGH, POLICY_ADAPTIVE, POLICY_CUSTOM };
#define CFG_NOT_GIVEN UINT64_MAX
struct config {
    const char *tests;   // comma-separated test names, or "" for all
    const char *guest;   // comma-separated names of guests from GRUB modules, or ""
    const char *breaks;  // break=: comma-separated names of hv/vmx/breaks.c, "all", or ""
    uint64_t verbose;    // 1: every guest check and every VMCS dump
    unsigned end;        // enum end_mode
    unsigned fault;      // enum fault_mode: fault on purpose to show the crash report
    unsigned policy;     // enum policy
    uint64_t toggles;    // WP flips per toggle run (and hypercalls per baseline run)
    uint64_t threshold;  // adaptive: WP toggles before WP becomes guest-owned
    uint64_t cr0_owned, cr4_owned; // policy=custom: guest-owned bits, or CFG_NOT_GIVEN
    uint64_t windows;    // measured windows per run (minimum and median over them)
    unsigned ept_pages;  // enum ept_pages: 2 MiB pages where the CPU has them, or 4 KiB
    unsigned disturb;    // enum disturb: events sent on purpose, to test their handling
    uint64_t max_exits, max_ticks; // each run's budget, or CFG_NOT_GIVEN: by its size
    uint64_t trace;      // exits of each run to print, decoded
    unsigned paging;     // enum paging: EPT, shadow paging, or EPT where the CPU has it
    unsigned shadow_wp;  // enum shadow_wp: what a CR0.WP change does to the shadow tables
    uint64_t unsafe;     // 1: run policies that break shadow paging, to show how
    uint64_t corrupt_record; // entry whose D bit compared runs flip, or CFG_NOT_GIVEN
    unsigned exitpath;   // enum exitpath: where VM exits land (HOST_RIP)
    uint64_t seed;       // where the hostile guest's random misdeeds start
    uint64_t guest_mem;  // MiB of RAM a guest gets, or CFG_NOT_GIVEN: its kind's default
};
#define GUEST_MEM_MIN_MIB 2     // guest_mem=: below it no RAM is left above 1 MiB
#define GUEST_MEM_MAX_MIB 65536 // 64 GiB: the bound of the key; the machine's own is checked
                                // against its memory map
enum paging { PAGING_AUTO, PAGING_EPT, PAGING_SHADOW };
enum shadow_wp { SHADOW_WP_ROLES, SHADOW_WP_FLUSH };
enum disturb { DISTURB_NONE, DISTURB_TIMER, DISTURB_NMI };
enum ept_pages { EPT_PAGES_2M, EPT_PAGES_4K };
enum exitpath { EXITPATH_C, EXITPATH_FAST }; // hv/vmx/exit_stub.S + C, or hv/vmx/exit_fast.S first
extern const char *const policy_names[];
extern struct config cfg;
extern const struct cfg_key config_keys[];
extern const size_t config_nkeys;
bool config_test_selected(const char *name);
void fault_on_purpose(unsigned how); // main.c

// cpu.c: GDT/TSS/IDT set-up and the exception report
void cpu_init(void);
int rdmsr_safe(uint32_t msr, uint64_t *val); // 0, or -1 if RDMSR raised #GP (trap_entry.S)
void interrupt_eoi(unsigned vector);
void timer_as_nmi(bool on);    // disturb=nmi
void mask_interrupt_sources(void); // what firmware left armed in the APICs
void pic_unmask_timer(bool on); // disturb=timer
uint64_t cpu_tss_base(void); // HOST_TR_BASE for the VMCS
void map_identity(uint64_t addr, uint64_t len); // 2 MiB pages, beyond 4 GiB too
bool map_write_combining(uint64_t addr, uint64_t len); // false: no PAT, left as it was

// main.c
extern struct mb_info boot_info;
void vmx_leave(void); // hv/vmx/vmx.c: VMCLEAR and VMXOFF if in VMX operation; safe anytime
