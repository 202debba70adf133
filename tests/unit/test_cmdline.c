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

// Values no successful parse of these tests writes, to see what was touched.
static int reset(void **state)
{
    (void)state;
    toggles = big = 0x5a5a;
    policy = 99;
    name = other = "unset";
    memset(strbuf, 0, sizeof(strbuf));
    strcpy(err, "no error");
    cfg = (struct config){ .tests = "", .end = END_POWEROFF };
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

static void test_config_defaults(void **state)
{
    (void)state;
    assert_int_equal(config_nkeys, 2);
    assert_int_equal(parse_config(""), 0);
    assert_string_equal(cfg.tests, "");
    assert_int_equal(cfg.end, END_POWEROFF);
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
    assert_string_equal(err, "bad value 'reboot' for end: expected one of poweroff, halt");
    assert_int_equal(parse_config("test=vmxon"), -1);
    assert_string_equal(err, "unknown key 'test' (known keys: tests, end)");
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

#define T(f) cmocka_unit_test_setup(f, reset)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_empty_line),        T(test_every_type),
        T(test_tabs_and_runs_of_spaces), T(test_hex_and_bounds),
        T(test_bad_numbers),       T(test_enum),
        T(test_kernel_path_first), T(test_malformed_tokens),
        T(test_stops_at_first_error), T(test_string_space),
        T(test_long_token),        T(test_small_err_buffer),
        T(test_config_defaults),   T(test_config_keys),
        T(test_config_selection),
    };
    return cmocka_run_group_tests_name("cmdline", tests, NULL, NULL);
}
