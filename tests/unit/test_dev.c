// test_dev.c: hv/dev/dev.c's table and dispatchers with every device the kernel links,
// driven as the I/O and MMIO exits drive them: all of them in, no clash (and dev_clash()
// finds made-up ones); what nobody claims reads all ones of its width; a 2- or 4-byte
// access to the byte-wide UART reaches its registers one byte each, low byte first, and
// counts once; the counts in JSON and in words; COM1's lines; port 0xf4 ends the machine
// with the value written, 0x64 and 0xcf9 with a reset. dev_guest_text() and
// dev_guest_exit() are recorded here.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../guest/abi.h"
#include "../../hv/dev/dev.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

static char text[8][200]; // the console lines the devices handed over
static unsigned ntext, nexits;
static uint64_t exit_code;

void dev_guest_text(const char *t, size_t len)
{
    assert_true(ntext < 8 && len < sizeof(text[0]));
    memcpy(text[ntext], t, len);
    text[ntext++][len] = '\0';
}

void dev_guest_exit(uint64_t code, const char *how)
{
    assert_non_null(how);
    nexits++;
    exit_code = code;
}

static int setup(void **state)
{
    (void)state;
    static const struct dev_machine m = { .ram_size = 4 << 20, .cpus = 1 };
    dev_reset_all(&m);
    ntext = nexits = 0;
    exit_code = 0;
    return 0;
}

static uint64_t in(uint16_t port, unsigned size)
{
    uint64_t v = 0x5a5a5a5a5a5a5a5aull; // all of it replaced
    dev_pio(port, size, false, &v);
    return v;
}

static const struct dev *out(uint16_t port, unsigned size, uint64_t v)
{
    return dev_pio(port, size, true, &v);
}

static size_t index_of(const struct dev *d)
{
    for (size_t i = 0; i < ndevices; i++)
        if (devices[i] == d)
            return i;
    fail_msg("%s is not in devices[]", d->name);
    return 0;
}

static struct dev_counts counts_of(const struct dev *d, struct dev_counts *unclaimed)
{
    struct dev_counts per[16], none;
    assert_true(ndevices <= 16);
    dev_counts_get(per, unclaimed ? unclaimed : &none);
    return per[index_of(d)];
}

// --- The table ----------------------------------------------------------------------

// Every device dev.h names is in the table, once, and none overlaps another.
static void table_has_every_device_and_no_clash(void **state)
{
    (void)state;
    const struct dev *all[] = { &dev_com1, &dev_debug_exit, &dev_fw_cfg, &dev_pic_master,
                                &dev_pic_slave, &dev_elcr, &dev_pit, &dev_port61, &dev_cmos,
                                &dev_pci_conf, &dev_i8042, &dev_bochs_shutdown, &dev_lapic };
    assert_null(dev_table_clash());
    assert_int_equal(ndevices, sizeof(all) / sizeof(all[0]));
    for (size_t i = 0; i < ndevices; i++) {
        index_of(all[i]);
        assert_ptr_equal(dev_claiming(all[i]->space, all[i]->base), all[i]);
        assert_ptr_equal(dev_claiming(all[i]->space, all[i]->base + all[i]->len - 1), all[i]);
    }
    assert_null(dev_claiming(DEV_PIO, 0x80));
    assert_null(dev_claiming(DEV_MMIO, 0x3f8)); // ports are not addresses
    assert_ptr_equal(dev_claiming(DEV_MMIO, 0xfee00ff0), &dev_lapic);
    assert_null(dev_claiming(DEV_MMIO, 0xfee01000));
    assert_string_equal(dev_com1.name, "COM1");
    assert_int_equal(dev_com1.base, 0x3f8);
    assert_int_equal(dev_com1.len, 8);
    assert_int_equal(dev_com1.sizes, 1); // QEMU's 16550: bytes only
    assert_string_equal(dev_debug_exit.name, "isa-debug-exit");
    assert_int_equal(dev_debug_exit.base, 0xf4);
    assert_int_equal(dev_debug_exit.len, 1);
    assert_int_equal(dev_debug_exit.sizes, 1 | 2 | 4);
}

// guest/abi.h's PC_PORTS, which guests use, lists the port devices of the table.
static void pc_ports_are_the_tables(void **state)
{
    (void)state;
    static const struct { uint64_t base, len; } ports[] = {
#define PORTS_ROW(base, len) { base, len },
        PC_PORTS(PORTS_ROW)
#undef PORTS_ROW
    };
    size_t npio = 0;
    for (size_t i = 0; i < ndevices; i++) {
        if (devices[i]->space != DEV_PIO)
            continue;
        npio++;
        size_t j = 0;
        while (j < sizeof(ports) / sizeof(ports[0]) && ports[j].base != devices[i]->base)
            j++;
        assert_true(j < sizeof(ports) / sizeof(ports[0]));
        assert_int_equal(ports[j].len, devices[i]->len);
    }
    assert_int_equal(npio, sizeof(ports) / sizeof(ports[0]));
}

static void clashes_are_found(void **state)
{
    (void)state;
    static const struct dev a = { .name = "a", .space = DEV_PIO, .base = 0x60, .len = 4,
                                  .sizes = 1 };
    static const struct dev b = { .name = "b", .space = DEV_PIO, .base = 0x63, .len = 1,
                                  .sizes = 1 };
    static const struct dev b_mmio = { .name = "b", .space = DEV_MMIO, .base = 0x63,
                                       .len = 1, .sizes = 1 };
    static const struct dev next = { .name = "next", .space = DEV_PIO, .base = 0x64,
                                     .len = 1, .sizes = 1 };
    static const struct dev empty = { .name = "empty", .space = DEV_PIO, .base = 0x70,
                                      .sizes = 1 };
    static const struct dev no_width = { .name = "no width", .space = DEV_PIO, .base = 0x70,
                                         .len = 1 };
    static const struct dev wraps = { .name = "wraps", .space = DEV_MMIO, .base = ~0ull,
                                      .len = 2, .sizes = 1 };
    const struct dev *overlap[] = { &a, &b }, *apart[] = { &a, &b_mmio, &next };
    assert_ptr_equal(dev_clash(overlap, 2), &a);
    assert_null(dev_clash(apart, 3));
    const struct dev *bad[][2] = { { &a, &empty }, { &a, &no_width }, { &a, &wraps } };
    for (size_t i = 0; i < 3; i++)
        assert_ptr_equal(dev_clash(bad[i], 2), bad[i][1]);
}

// --- What nobody claims -------------------------------------------------------------

static void unclaimed_ports_read_all_ones_of_their_width(void **state)
{
    (void)state;
    assert_int_equal(in(0x80, 1), 0xff);
    assert_int_equal(in(0x2f8, 2), 0xffff);
    assert_int_equal(in(0xf5, 4), 0xffffffff); // the port after 0xf4 is nobody's
    uint64_t v = 0x1234;
    assert_null(dev_pio(0x80, 2, true, &v));
    assert_int_equal(v, 0x1234); // a dropped write leaves the value alone
    assert_int_equal(in(0x80, 1), 0xff);
    v = 0;
    assert_null(dev_mmio(0xfec00020, 4, false, &v)); // the I/O APIC's page: not emulated
    assert_int_equal(v, 0xffffffff);
    assert_null(dev_mmio(0xfec00030, 8, false, &v));
    assert_int_equal(v, ~0ull);
}

static void unclaimed_accesses_are_counted_by_port_and_page(void **state)
{
    (void)state;
    in(0x80, 1);
    out(0x80, 1, 0x42);
    in(0x2f8, 2);
    in(0x80, 4);
    uint64_t v = 0;
    dev_mmio(0xfec00020, 4, false, &v);
    dev_mmio(0xfec00ff0, 4, true, &v); // the same page
    struct dev_counts unclaimed;
    counts_of(&dev_com1, &unclaimed);
    assert_int_equal(unclaimed.reads, 4);
    assert_int_equal(unclaimed.writes, 2);
    struct dev_unclaimed list[8];
    assert_int_equal(dev_unclaimed_list(list, 8), 3);
    assert_int_equal(list[0].space, DEV_PIO);
    assert_int_equal(list[0].addr, 0x80);
    assert_int_equal(list[0].counts.reads, 2);
    assert_int_equal(list[0].counts.writes, 1);
    assert_int_equal(list[1].addr, 0x2f8);
    assert_int_equal(list[2].space, DEV_MMIO);
    assert_int_equal(list[2].addr, 0xfec00000);
    assert_int_equal(list[2].counts.reads, 1);
    assert_int_equal(list[2].counts.writes, 1);
    assert_int_equal(dev_unclaimed_list(list, 1), 1); // no more than asked for

    // The first 16 distinct ones are kept; the total counts them all.
    for (uint16_t port = 0x100; port < 0x120; port++)
        in(port, 1);
    struct dev_unclaimed all[64];
    assert_int_equal(dev_unclaimed_list(all, 64), 16);
    assert_int_equal(all[15].addr, 0x10c);
    counts_of(&dev_com1, &unclaimed);
    assert_int_equal(unclaimed.reads, 4 + 32);

    setup(NULL); // a new run starts from nothing
    assert_int_equal(dev_unclaimed_list(all, 64), 0);
    counts_of(&dev_com1, &unclaimed);
    assert_int_equal(unclaimed.reads + unclaimed.writes, 0);
}

// --- The counts, for the run's results ------------------------------------------------

static void counts_in_json_and_in_words(void **state)
{
    (void)state;
    char buf[512];
    assert_int_equal(dev_counts_json(buf, sizeof(buf)),
                     strlen("\"devices\":{},\"unclaimed\":[0,0],\"unclaimed_at\":[]"));
    assert_string_equal(buf, "\"devices\":{},\"unclaimed\":[0,0],\"unclaimed_at\":[]");
    assert_int_equal(dev_counts_text(buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    out(0x3f8, 1, 'x');
    out(0x3f8, 1, 'y');
    in(0x3fd, 1);
    in(0x21, 1);
    out(0x80, 1, 0x42);
    uint64_t v = 0;
    dev_mmio(0xfee00030, 4, false, &v); // the APIC's version
    assert_int_equal(v, 0x50014);
    dev_mmio(0xfec00000, 4, false, &v);
    dev_mmio(0xfec00010, 4, true, &v);
    int n = dev_counts_json(buf, sizeof(buf));
    const char *want = "\"devices\":{\"COM1\":[1,2],\"lapic\":[1,0],\"pic-master\":[1,0]},"
                       "\"unclaimed\":[1,2],\"unclaimed_at\":[\"port 0x80\",\"page 0xfec00000\"]";
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    n = dev_counts_text(buf, sizeof(buf));
    want = "COM1 (1 read, 2 writes), lapic (1 read), pic-master (1 read); nobody claims "
           "port 0x80 (1 write), page 0xfec00000 (1 read, 1 write)";
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    char small[8]; // cut short, but the full length is returned, as snprintf does
    assert_int_equal(dev_counts_text(small, sizeof(small)), strlen(want));
    assert_string_equal(small, "COM1 (1");
    // Past the 16 kept, the rest is a count.
    for (uint16_t port = 0x100; port < 0x112; port++)
        in(port, 1);
    dev_counts_text(buf, sizeof(buf));
    assert_non_null(strstr(buf, "port 0x10d (1 read) and 4 more accesses to other ports or "
                                "pages"));
}

// --- Widths -------------------------------------------------------------------------

// COM1 takes bytes only: a wider access reaches consecutive registers, low byte first,
// and is one access in the counts.
static void wide_accesses_to_the_uart_go_byte_by_byte(void **state)
{
    (void)state;
    out(0x3fb, 1, 0x83); // LCR: DLAB set, 8N1
    assert_ptr_equal(out(0x3f8, 2, 0x0c01), &dev_com1); // DLL 0x01, DLM 0x0c
    assert_int_equal(in(0x3f8, 1), 0x01);
    assert_int_equal(in(0x3f9, 1), 0x0c);
    assert_int_equal(in(0x3f8, 2), 0x0c01);
    out(0x3fb, 1, 0x03); // DLAB clear
    out(0x3fc, 4, 0x5a00ff1f); // MCR 0x1f; LSR and MSR ignore writes; SCR 0x5a
    // MCR, LSR (0x60: ready, nothing received), MSR (0xb0), SCR.
    assert_int_equal(in(0x3fc, 4), 0x5ab0601f);
    // IIR (0x01), LCR (0x03).
    assert_int_equal(in(0x3fa, 2), 0x0301);
    // The bytes past 0x3ff belong to nobody: all ones.
    assert_int_equal(in(0x3fe, 4), 0xffff5ab0);
    struct dev_counts unclaimed, c = counts_of(&dev_com1, &unclaimed);
    assert_int_equal(c.writes, 4);
    assert_int_equal(c.reads, 6);
    assert_int_equal(unclaimed.reads + unclaimed.writes, 0);
}

// --- COM1's lines -------------------------------------------------------------------

static void put(const char *s)
{
    for (; *s; s++)
        out(0x3f8, 1, (uint8_t)*s);
}

static void com1_prints_lines(void **state)
{
    (void)state;
    put("hello\r\n");
    put("two\nlines\n");
    assert_int_equal(ntext, 3);
    assert_string_equal(text[0], "hello"); // CR LF is one end of line
    assert_string_equal(text[1], "two");
    assert_string_equal(text[2], "lines");
    out(0x3f8, 2, 'o' << 8 | 'n'); // "n" then IER <- 'o' & 0x0f: one byte of text
    assert_int_equal(in(0x3f9, 1), 'o' & 0x0f);
    put("o newline");
    assert_int_equal(ntext, 3);
    dev_end_all(); // the run ends: the rest goes out
    assert_int_equal(ntext, 4);
    assert_string_equal(text[3], "no newline");
    dev_end_all();
    assert_int_equal(ntext, 4); // nothing twice
}

static void com1_breaks_long_lines_at_160(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 170; i++)
        out(0x3f8, 1, 'a' + i % 26);
    out(0x3f8, 1, '\n');
    assert_int_equal(ntext, 2);
    assert_int_equal(strlen(text[0]), 160);
    assert_int_equal(strlen(text[1]), 10);
    assert_int_equal(text[1][0], 'a' + 160 % 26);
}

static void com1_reset_values(void **state)
{
    (void)state;
    out(0x3fa, 1, 0xc7); // FCR: FIFOs on, both reset, 14-byte trigger
    assert_int_equal(in(0x3fa, 1), 0xc1); // IIR: nothing pending, FIFOs enabled
    out(0x3fa, 1, 0x00);
    assert_int_equal(in(0x3fa, 1), 0x01);
    out(0x3fa, 1, 0x01);
    out(0x3f9, 1, 0x0f);
    out(0x3ff, 1, 0x77);
    put("half a line");
    setup(NULL);
    assert_int_equal(in(0x3f9, 1), 0);    // IER
    assert_int_equal(in(0x3fa, 1), 0x01); // IIR: nothing pending
    assert_int_equal(in(0x3fb, 1), 0x03); // LCR: 8N1
    assert_int_equal(in(0x3ff, 1), 0);    // SCR
    assert_int_equal(in(0x3f8, 1), 0);    // RBR: nothing received
    dev_end_all();
    assert_int_equal(ntext, 0); // the last run's half line is gone
}

// --- Port 0xf4 ----------------------------------------------------------------------

static void debug_exit_ends_with_the_value_written(void **state)
{
    (void)state;
    assert_ptr_equal(out(0xf4, 4, 0x12345678), &dev_debug_exit);
    assert_int_equal(nexits, 1);
    assert_int_equal(exit_code, 0x12345678);
    out(0xf4, 1, 0x1ff); // a byte is a byte
    assert_int_equal(exit_code, 0xff);
    out(0xf4, 2, 0x12345678);
    assert_int_equal(exit_code, 0x5678);
    assert_int_equal(nexits, 3);
    assert_int_equal(in(0xf4, 4), 0xffffffff); // reads: all ones, as before the device
    assert_int_equal(in(0xf4, 1), 0xff);
    assert_null(out(0xf5, 1, 0)); // 0xf5 is nobody's: it ends nothing
    assert_int_equal(nexits, 3);
    struct dev_counts c = counts_of(&dev_debug_exit, NULL);
    assert_int_equal(c.writes, 3);
    assert_int_equal(c.reads, 2);
}

// --- Reset requests ---------------------------------------------------------------------

static void reset_requests_end_the_machine(void **state)
{
    (void)state;
    assert_int_equal(in(0x64, 1), 0x1c); // the keyboard controller: self-test passed, idle
    out(0x64, 1, 0xff);                  // a pulse of no line: nothing
    out(0x64, 1, 0xd1);                  // other commands: taken, nothing happens
    assert_int_equal(nexits, 0);
    assert_ptr_equal(out(0x64, 1, 0xfe), &dev_i8042); // pulse line 0: reset
    assert_int_equal(nexits, 1);
    assert_int_equal(exit_code, DEV_EXIT_RESET);
    out(0xcf9, 1, 0x02); // PIIX's reset control: the kind of reset, no reset yet
    assert_int_equal(nexits, 1);
    assert_int_equal(in(0xcf9, 1), 0x02);
    out(0xcf9, 1, 0x06);
    assert_int_equal(nexits, 2);
    assert_int_equal(exit_code, DEV_EXIT_RESET);
    for (const char *c = "Shutdown"; *c; c++)
        out(0x8900, 1, (uint8_t)*c);
    assert_int_equal(nexits, 3);
    assert_int_equal(exit_code, DEV_EXIT_SHUTDOWN);
}

// --- What a HLT with interrupts on waits for -------------------------------------------

static void wake_sources_as_set_up(void **state)
{
    (void)state;
    char buf[200];
    // As SeaBIOS leaves the PC: channel 0 counts in mode 2, IRQ 0 unmasked.
    int n = dev_wake_sources(buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, "IRQ 0 (the PIT's channel 0, mode 2)");
    out(0x21, 1, 0xff); // every line masked
    dev_wake_sources(buf, sizeof(buf));
    assert_string_equal(buf, "");
    out(0x3f9, 1, 0x02);                 // COM1: THR-empty interrupts...
    out(0x21, 1, 0xff & ~(1u << 4));     // ...through IRQ 4
    out(0x70, 1, 0x0b);                  // the clock's periodic interrupt...
    out(0x71, 1, 0x42);
    dev_wake_sources(buf, sizeof(buf));
    assert_string_equal(buf, "IRQ 4 (COM1, IER 0x2)"); // ...masked: IRQ 2 and 8 are
    out(0x21, 1, 0xff & ~(1u << 4) & ~(1u << 2));
    out(0xa1, 1, 0xfe);
    uint64_t v = 0x30;
    dev_mmio(0xfee00320, 4, true, &v); // the APIC timer, vector 0x30, one-shot
    v = 1000;
    dev_mmio(0xfee00380, 4, true, &v);
    dev_wake_sources(buf, sizeof(buf));
    assert_string_equal(buf, "IRQ 4 (COM1, IER 0x2), IRQ 8 (the clock, register B "
                             "interrupts 0x40), the APIC timer (vector 0x30)");
    v = 0x10030; // masked
    dev_mmio(0xfee00320, 4, true, &v);
    out(0x3f9, 1, 0);
    out(0x71, 1, 0x02);
    dev_wake_sources(buf, sizeof(buf));
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(table_has_every_device_and_no_clash, setup),
        cmocka_unit_test_setup(pc_ports_are_the_tables, setup),
        cmocka_unit_test_setup(clashes_are_found, setup),
        cmocka_unit_test_setup(unclaimed_ports_read_all_ones_of_their_width, setup),
        cmocka_unit_test_setup(unclaimed_accesses_are_counted_by_port_and_page, setup),
        cmocka_unit_test_setup(wide_accesses_to_the_uart_go_byte_by_byte, setup),
        cmocka_unit_test_setup(com1_prints_lines, setup),
        cmocka_unit_test_setup(com1_breaks_long_lines_at_160, setup),
        cmocka_unit_test_setup(com1_reset_values, setup),
        cmocka_unit_test_setup(debug_exit_ends_with_the_value_written, setup),
        cmocka_unit_test_setup(counts_in_json_and_in_words, setup),
        cmocka_unit_test_setup(reset_requests_end_the_machine, setup),
        cmocka_unit_test_setup(wake_sources_as_set_up, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
