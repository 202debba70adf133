// test_cmdline.c: host unit tests (cmocka) for boot/cmdline.c against a test
// key table with every type, and for boot/config.c, the kernel's own keys,
// which this file includes because the unit-test link line does not name it.
// Errors are checked by their exact text: the message is the user interface.
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "../../boot/boot.h"
#include "../../boot/config.c"

void console_write(const char *s, size_t n)
{
    (void)s;
    (void)n;
}

static uint64_t toggles, big;
static unsigned policy;
static const char *name, *other;
static const char *const policies[] = { "intercept", "passthrough", "trap", NULL };
static const struct cfg_key keys[] = {
    { "toggles", CFG_UINT, &toggles, 1, 1000000, NULL, "a bounded number" },
    { "policy", CFG_ENUM, &policy, 0, 0, policies, "one of three names" },
    { "name", CFG_STR, &name, 0, 0, NULL, "a string" },
    { "other", CFG_STR, &other, 0, 0, NULL, "another string" },
    { "big", CFG_UINT, &big, 0, UINT64_MAX, NULL, "any 64-bit number" },
};

static char strbuf[512];
static char err[256];
static struct config defaults; // cfg as config.c initialises it, saved by main()

// Values no successful parse of these tests writes, to see what was touched;
// cfg goes back to the kernel's defaults.
static int reset(void **state)
{
    (void)state;
    toggles = big = 0x5a5a;
    policy = 99;
    name = other = "unset";
    memset(strbuf, 0, sizeof(strbuf));
    strcpy(err, "no error");
    cfg = defaults;
    return 0;
}

static int parse(const char *line)
{
    return cmdline_parse(line, keys, ARRAY_SIZE(keys), strbuf, sizeof(strbuf), err,
                         sizeof(err));
}

// The line must be refused with exactly this message.
static void refused(const char *line, const char *message)
{
    assert_int_equal(parse(line), -1);
    assert_string_equal(err, message);
}

static void test_empty_line(void **state)
{
    (void)state;
    assert_int_equal(parse(""), 0);
    assert_int_equal(parse(" \t  \t"), 0);
    assert_int_equal(toggles, 0x5a5a);
    assert_int_equal(policy, 99);
    assert_string_equal(name, "unset");
    assert_string_equal(err, "no error");
}

static void test_every_type(void **state)
{
    (void)state;
    assert_int_equal(parse("toggles=42 policy=passthrough name=hello other=a=b "
                           "big=18446744073709551615"), 0);
    assert_int_equal(toggles, 42);
    assert_int_equal(policy, 1);
    assert_string_equal(name, "hello");
    assert_string_equal(other, "a=b"); // only the first '=' splits
    assert_true(big == UINT64_MAX);
    // Strings live in strbuf, one after the other.
    assert_ptr_equal(name, strbuf);
    assert_ptr_equal(other, strbuf + 6);
}

static void test_tabs_and_runs_of_spaces(void **state)
{
    (void)state;
    assert_int_equal(parse("\ttoggles=7\t\t policy=trap   "), 0);
    assert_int_equal(toggles, 7);
    assert_int_equal(policy, 2);
}

static void test_hex_and_bounds(void **state)
{
    (void)state;
    assert_int_equal(parse("toggles=0x10 big=0xFFFFffffFFFFfff0"), 0);
    assert_int_equal(toggles, 16);
    assert_true(big == 0xfffffffffffffff0ull);
    reset(NULL);
    assert_int_equal(parse("toggles=0X0a big=0"), 0);
    assert_int_equal(toggles, 10);
    assert_int_equal(big, 0);
    reset(NULL);
    assert_int_equal(parse("toggles=1"), 0); // both bounds are inclusive
    assert_int_equal(toggles, 1);
    reset(NULL);
    assert_int_equal(parse("toggles=1000000"), 0);
    assert_int_equal(toggles, 1000000);
}

static void test_bad_numbers(void **state)
{
    (void)state;
    refused("toggles=abc", "bad value 'abc' for toggles: expected a number from 1 to 1000000");
    refused("toggles=0", "bad value '0' for toggles: expected a number from 1 to 1000000");
    refused("toggles=1000001",
            "bad value '1000001' for toggles: expected a number from 1 to 1000000");
    static const char *const bad[] = {
        "toggles=-1", "toggles=+1", "toggles=0x", "toggles=1.5", "toggles=12a",
        "toggles=0xg", "big=18446744073709551616",
        "big=99999999999999999999", "big=0x10000000000000000",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        reset(NULL);
        assert_int_equal(parse(bad[i]), -1);
        assert_non_null(strstr(err, "bad value"));
        assert_int_equal(toggles, 0x5a5a);
        assert_int_equal(big, 0x5a5a);
    }
    refused("big=18446744073709551616", "bad value '18446744073709551616' for big: "
            "expected a number from 0 to 18446744073709551615");
}

static void test_enum(void **state)
{
    (void)state;
    assert_int_equal(parse("policy=intercept"), 0);
    assert_int_equal(policy, 0);
    refused("policy=x", "bad value 'x' for policy: expected one of intercept, passthrough, trap");
    refused("policy=Intercept",
            "bad value 'Intercept' for policy: expected one of intercept, passthrough, trap");
    refused("policy=trapx",
            "bad value 'trapx' for policy: expected one of intercept, passthrough, trap");
}

static void test_kernel_path_first(void **state)
{
    (void)state;
    assert_int_equal(parse("/boot/vmxlab.elf toggles=3"), 0);
    assert_int_equal(toggles, 3);
    reset(NULL);
    assert_int_equal(parse("  build/vmxlab.elf"), 0);
    // Only the first token, only without '=', and only with a '/'.
    refused("toggles=3 /boot/vmxlab.elf", "'/boot/vmxlab.elf' is not key=value");
    refused("vmxlab toggles=3", "'vmxlab' is not key=value");
    refused("/a=b", "unknown key '/a' (known keys: toggles, policy, name, other, big)");
}

static void test_malformed_tokens(void **state)
{
    (void)state;
    refused("nosuchkey=1",
            "unknown key 'nosuchkey' (known keys: toggles, policy, name, other, big)");
    refused("toggles=1 foo", "'foo' is not key=value");
    refused("name=", "'name=' has an empty value");
    refused("=5", "unknown key '' (known keys: toggles, policy, name, other, big)");
    refused("toggles=1 policy=trap toggles=2", "key 'toggles' given twice");
    refused("Toggles=1", "unknown key 'Toggles' (known keys: toggles, policy, name, other, big)");
}

// Found by fuzzing (tests/fuzz, cmdline): a byte that is not printable ASCII
// came back inside the message ("'\x0b' is not key=value"), straight to the
// console. Such bytes are refused by number, before any token is looked at.
static void test_not_printable_ascii(void **state)
{
    (void)state;
    refused("\x0b", "byte 0x0b at column 1 is not printable ASCII, which is all the command "
                    "line takes");
    refused("toggles=5 tests=caf\xc3\xa9", "byte 0xc3 at column 20 is not printable ASCII, "
                                           "which is all the command line takes");
    refused("name=a\nvmxlab: verdict PASS", "byte 0x0a at column 7 is not printable ASCII, "
                                            "which is all the command line takes");
    refused("name=\x7f", "byte 0x7f at column 6 is not printable ASCII, which is all the "
                        "command line takes");
    assert_string_equal(name, "unset"); // nothing stored before the refusal
    assert_int_equal(toggles, 0x5a5a);
    assert_int_equal(parse("\tname=~ \t toggles=1\t"), 0); // tabs separate, as spaces do
    assert_string_equal(name, "~");
}

static void test_stops_at_first_error(void **state)
{
    (void)state;
    assert_int_equal(parse("toggles=5 policy=bad name=x"), -1);
    assert_int_equal(toggles, 5); // set before the error
    assert_int_equal(policy, 99);
    assert_string_equal(name, "unset"); // never reached
}

static void test_string_space(void **state)
{
    (void)state;
    char small[8];
    // "1234567" and its NUL fill all 8 bytes; nothing is left for other.
    assert_int_equal(cmdline_parse("name=1234567 other=a", keys, ARRAY_SIZE(keys), small,
                                   sizeof(small), err, sizeof(err)), -1);
    assert_ptr_equal(name, small);
    assert_string_equal(name, "1234567");
    assert_string_equal(other, "unset");
    assert_string_equal(err, "no room to keep the value of other: the 8 bytes of "
                             "string space are used up");
    // No string space at all is fine while no string key is given.
    assert_int_equal(cmdline_parse("toggles=9", keys, ARRAY_SIZE(keys), NULL, 0, err,
                                   sizeof(err)), 0);
    assert_int_equal(toggles, 9);
}

static void test_long_token(void **state)
{
    (void)state;
    char line[300 + 6];
    memcpy(line, "name=", 5);
    memset(line + 5, 'a', 300);
    line[305] = '\0';
    assert_int_equal(parse(line), -1);
    assert_string_equal(err, "'name=aaaaaaaaaaaaaaaaaaaaaaaaaaa...' is longer than 255 "
                             "characters");
    assert_string_equal(name, "unset");
    line[256] = '\0'; // 256 characters: one too many
    assert_int_equal(parse(line), -1);
    line[255] = '\0'; // 255 characters fit
    assert_int_equal(parse(line), 0);
    assert_int_equal(strlen(name), 250);
}

static void test_small_err_buffer(void **state)
{
    (void)state;
    char e[10];
    memset(e, 'X', sizeof(e));
    assert_int_equal(cmdline_parse("nosuchkey=1", keys, ARRAY_SIZE(keys), strbuf,
                                   sizeof(strbuf), e, sizeof(e)), -1);
    assert_string_equal(e, "unknown k"); // cut, and still NUL-terminated
    assert_int_equal(cmdline_parse("policy=x", keys, ARRAY_SIZE(keys), strbuf,
                                   sizeof(strbuf), NULL, 0), -1);
}

static int parse_config(const char *line)
{
    return cmdline_parse(line, config_keys, config_nkeys, strbuf, sizeof(strbuf), err,
                         sizeof(err));
}

// The list an unknown key's message gives: every key of config.c's table, in
// its order, so that adding a key there changes nothing here.
static const char *config_key_list(void)
{
    static char list[512];
    list[0] = '\0';
    for (size_t i = 0; i < config_nkeys; i++) {
        strcat(list, i ? ", " : "");
        strcat(list, config_keys[i].name);
    }
    return list;
}

// The line must be refused with exactly this message, and leave cfg as it was.
static void config_refused(const char *line, const char *message)
{
    assert_int_equal(parse_config(line), -1);
    assert_string_equal(err, message);
    assert_memory_equal(&cfg, &defaults, sizeof(cfg));
}

static void test_config_defaults(void **state)
{
    (void)state;
    assert_int_equal(parse_config(""), 0);
    assert_string_equal(cfg.tests, "");
    assert_int_equal(cfg.end, END_HALT); // a real PC's exit ports are its devices'
    assert_int_equal(cfg.verbose, 0);
    assert_int_equal(cfg.windows, 3);
    assert_int_equal(cfg.ept_pages, EPT_PAGES_2M);
    assert_int_equal(cfg.disturb, DISTURB_NONE);
    assert_int_equal(cfg.exitpath, EXITPATH_C); // the path a reader follows first
    assert_int_equal(cfg.fault, FAULT_NONE);
    assert_int_equal(cfg.policy, POLICY_ALL);
    assert_int_equal(cfg.toggles, 10000);
    assert_int_equal(cfg.threshold, 1000);
    assert_true(cfg.cr0_owned == CFG_NOT_GIVEN);
    assert_true(cfg.cr4_owned == CFG_NOT_GIVEN);
    assert_true(config_test_selected("vmxon"));
    assert_true(config_test_selected("anything"));
}

static void test_config_keys(void **state)
{
    (void)state;
    assert_int_equal(parse_config("/boot/vmxlab.elf tests=vmxon,ept end=halt"), 0);
    assert_string_equal(cfg.tests, "vmxon,ept");
    assert_int_equal(cfg.end, END_HALT);
    assert_int_equal(parse_config("end=poweroff"), 0);
    assert_int_equal(cfg.end, END_POWEROFF);
    assert_int_equal(parse_config("end=reboot"), -1);
    assert_string_equal(err, "bad value 'reboot' for end: expected one of halt, poweroff");
    assert_int_equal(parse_config("test=vmxon"), -1);
    char want[600];
    snprintf(want, sizeof(want), "unknown key 'test' (known keys: %s)", config_key_list());
    assert_string_equal(err, want);
    assert_non_null(strstr(want, "tests, guest, trace, verbose, end, fault, policy, toggles"));
    assert_int_equal(parse_config("windows=0"), -1);
    assert_string_equal(err, "bad value '0' for windows: expected a number from 1 to 16");
    assert_int_equal(parse_config("ept_pages=1g"), -1);
    assert_string_equal(err, "bad value '1g' for ept_pages: expected one of 2m, 4k");
    assert_int_equal(parse_config("ept_pages=4k windows=16 verbose=1 disturb=nmi"), 0);
    assert_int_equal(cfg.ept_pages, EPT_PAGES_4K);
    assert_int_equal(cfg.windows, 16);
    assert_int_equal(cfg.verbose, 1);
    assert_int_equal(cfg.disturb, DISTURB_NMI);
    assert_int_equal(parse_config("exitpath=fast"), 0);
    assert_int_equal(cfg.exitpath, EXITPATH_FAST);
    assert_int_equal(parse_config("exitpath=c"), 0);
    assert_int_equal(cfg.exitpath, EXITPATH_C);
    assert_int_equal(parse_config("exitpath=asm"), -1);
    assert_string_equal(err, "bad value 'asm' for exitpath: expected one of c, fast");
    // Every key in one line, as `make bench` and the boot tests write them.
    reset(NULL);
    assert_int_equal(parse_config("tests=wp-toggle end=halt policy=custom toggles=7 "
                                  "threshold=3 cr0_owned=0x10008 cr4_owned=0"), 0);
    assert_string_equal(cfg.tests, "wp-toggle");
    assert_int_equal(cfg.end, END_HALT);
    assert_int_equal(cfg.policy, POLICY_CUSTOM);
    assert_int_equal(cfg.toggles, 7);
    assert_int_equal(cfg.threshold, 3);
    assert_int_equal(cfg.cr0_owned, 0x10008);
    assert_int_equal(cfg.cr4_owned, 0);
}

// policy= stores the index of its name, which is the enum policy value.
static void test_config_policy(void **state)
{
    (void)state;
    static const struct { const char *line; unsigned want; } cases[] = {
        { "policy=all", POLICY_ALL },
        { "policy=intercept", POLICY_INTERCEPT },
        { "policy=passthrough", POLICY_PASSTHROUGH },
        { "policy=adaptive", POLICY_ADAPTIVE },
        { "policy=custom", POLICY_CUSTOM },
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        reset(NULL);
        assert_int_equal(parse_config(cases[i].line), 0);
        assert_int_equal(cfg.policy, cases[i].want);
        assert_string_equal(policy_names[cfg.policy], cases[i].line + strlen("policy="));
    }
    reset(NULL);
    config_refused("policy=bogus", "bad value 'bogus' for policy: expected one of all, "
                   "intercept, passthrough, adaptive, custom");
    config_refused("policy=Intercept", "bad value 'Intercept' for policy: expected one of "
                   "all, intercept, passthrough, adaptive, custom");
}

static void test_config_toggles_and_threshold(void **state)
{
    (void)state;
    assert_int_equal(parse_config("toggles=1 threshold=1"), 0); // both bounds inclusive
    assert_int_equal(cfg.toggles, 1);
    assert_int_equal(cfg.threshold, 1);
    reset(NULL);
    assert_int_equal(parse_config("toggles=100000000 threshold=100000000"), 0);
    assert_int_equal(cfg.toggles, 100000000);
    assert_int_equal(cfg.threshold, 100000000);
    reset(NULL);
    assert_int_equal(parse_config("toggles=0x7 threshold=300"), 0);
    assert_int_equal(cfg.toggles, 7);
    assert_int_equal(cfg.threshold, 300);
    reset(NULL);
    config_refused("toggles=0", "bad value '0' for toggles: expected a number from 1 to "
                   "100000000");
    config_refused("toggles=abc", "bad value 'abc' for toggles: expected a number from 1 to "
                   "100000000");
    config_refused("toggles=100000001", "bad value '100000001' for toggles: expected a "
                   "number from 1 to 100000000");
    config_refused("threshold=0", "bad value '0' for threshold: expected a number from 1 to "
                   "100000000");
    config_refused("threshold=100000001", "bad value '100000001' for threshold: expected a "
                   "number from 1 to 100000000");
    config_refused("threshold=abc", "bad value 'abc' for threshold: expected a number from "
                   "1 to 100000000");
}

// The masks are 32 bits wide; whether a bit may be guest-owned is the kernel's
// check against the CPU (experiment.c), not the parser's.
static void test_config_owned_masks(void **state)
{
    (void)state;
    assert_int_equal(parse_config("cr0_owned=0x10008"), 0); // WP and TS
    assert_int_equal(cfg.cr0_owned, 0x10008);
    assert_true(cfg.cr4_owned == CFG_NOT_GIVEN);
    reset(NULL);
    assert_int_equal(parse_config("cr0_owned=0 cr4_owned=0xffffffff"), 0);
    assert_int_equal(cfg.cr0_owned, 0); // given as 0: not the same as not given
    assert_int_equal(cfg.cr4_owned, 0xffffffff);
    reset(NULL);
    assert_int_equal(parse_config("cr0_owned=65544 cr4_owned=0x2000"), 0);
    assert_int_equal(cfg.cr0_owned, 0x10008);
    assert_int_equal(cfg.cr4_owned, 0x2000);
    reset(NULL);
    config_refused("cr0_owned=0x100000000", "bad value '0x100000000' for cr0_owned: "
                   "expected a number from 0 to 4294967295");
    config_refused("cr0_owned=4294967296", "bad value '4294967296' for cr0_owned: "
                   "expected a number from 0 to 4294967295");
    config_refused("cr0_owned=0xffffffffffffffff", "bad value '0xffffffffffffffff' for "
                   "cr0_owned: expected a number from 0 to 4294967295");
    config_refused("cr4_owned=0x100000000", "bad value '0x100000000' for cr4_owned: "
                   "expected a number from 0 to 4294967295");
    config_refused("cr0_owned=WP", "bad value 'WP' for cr0_owned: expected a number from "
                   "0 to 4294967295");
}

// The list walker behind tests=, break= and guest=: items in order, empty
// items kept (callers refuse them), one trailing comma ends the list.
static void test_list_next(void **state)
{
    (void)state;
    const char *p = "ab,,c,", *item;
    size_t n;
    assert_true(list_next(&p, &item, &n));
    assert_int_equal(n, 2);
    assert_memory_equal(item, "ab", 2);
    assert_true(list_next(&p, &item, &n));
    assert_int_equal(n, 0);
    assert_true(list_next(&p, &item, &n));
    assert_int_equal(n, 1);
    assert_memory_equal(item, "c", 1);
    assert_false(list_next(&p, &item, &n));
    assert_false(list_next(&p, &item, &n));
    p = "";
    assert_false(list_next(&p, &item, &n));
    assert_true(list_has("x,yy,z", "yy"));
    assert_false(list_has("x,yy,z", "y"));
    assert_false(list_has("x,yy,z", "x,yy"));
    assert_false(list_has("", ""));
    assert_true(list_has("a,,b", ""));
}

static void test_config_selection(void **state)
{
    (void)state;
    cfg.tests = "vmxon,ept,cr0";
    assert_true(config_test_selected("vmxon"));
    assert_true(config_test_selected("ept"));
    assert_true(config_test_selected("cr0"));
    assert_false(config_test_selected("vmx"));       // a prefix is not a match
    assert_false(config_test_selected("vmxonx"));
    assert_false(config_test_selected("ep"));
    assert_false(config_test_selected("vmxon,ept"));
    assert_false(config_test_selected(""));
    cfg.tests = "one";
    assert_true(config_test_selected("one"));
    assert_false(config_test_selected("on"));
}

// guest_mem=: MiB of guest RAM, not given unless the line says so (each kind of guest
// has its own default), within 2 MiB and 64 GiB.
static void test_config_guest_mem(void **state)
{
    (void)state;
    assert_int_equal(parse_config(""), 0);
    assert_true(cfg.guest_mem == CFG_NOT_GIVEN);
    assert_int_equal(parse_config("guest_mem=3584"), 0);
    assert_int_equal(cfg.guest_mem, 3584);
    assert_int_equal(parse_config("guest_mem=0x80"), 0);
    assert_int_equal(cfg.guest_mem, 128);
    assert_int_equal(parse_config("guest_mem=2"), 0);
    assert_int_equal(parse_config("guest_mem=65536"), 0);
    assert_int_equal(parse_config("guest_mem=1"), -1);
    assert_string_equal(err, "bad value '1' for guest_mem: expected a number from 2 to 65536");
    assert_int_equal(parse_config("guest_mem=65537"), -1);
    assert_string_equal(err, "bad value '65537' for guest_mem: expected a number from 2 to "
                             "65536");
    assert_int_equal(parse_config("guest_mem=128M"), -1);
    assert_string_equal(err, "bad value '128M' for guest_mem: expected a number from 2 to "
                             "65536");
}

#define T(f) cmocka_unit_test_setup(f, reset)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_empty_line),        T(test_every_type),
        T(test_tabs_and_runs_of_spaces), T(test_hex_and_bounds),
        T(test_bad_numbers),       T(test_enum),
        T(test_kernel_path_first), T(test_malformed_tokens),
        T(test_not_printable_ascii),
        T(test_stops_at_first_error), T(test_string_space),
        T(test_long_token),        T(test_small_err_buffer),
        T(test_config_defaults),   T(test_config_keys),
        T(test_config_policy),     T(test_config_toggles_and_threshold),
        T(test_config_owned_masks), T(test_list_next), T(test_config_selection),
        T(test_config_guest_mem),
    };
    defaults = cfg; // before any test changes it
    return cmocka_run_group_tests_name("cmdline", tests, NULL, NULL);
}
