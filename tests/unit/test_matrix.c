// test_matrix.c: host unit tests (cmocka) for hv/run/matrix.c, the entry-by-entry
// comparison of two access-matrix records, and for the words guest/matrix.h
// gives an entry. Records are built here as arrays of struct matrix_entry
// (guest/abi.h); the texts are checked exactly: they are what a user reads.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../guest/abi.h"
#include "../../guest/matrix.h"
#include "../../hv/run/internal.h"

void console_write(const char *s, size_t n) { (void)s; (void)n; }

#define N 6
static struct matrix_entry ref[N], run[N];
static char text[4096];
static struct matrix_diff d;

// Six entries with a bit of everything: faults and not, both page sizes,
// both CPLs, every access.
static int setup(void **state)
{
    (void)state;
    static const struct matrix_entry base[N] = {
        { .page = MX_PAGE_4K, .pde = MX_U | MX_W, .pte = MX_U, .mode = MX_WP | MX_NXE,
          .access = MX_READ, .accessed = 15 },
        { .page = MX_PAGE_4K, .pde = MX_U, .pte = MX_U | MX_W, .mode = MX_WP | MX_CPL3 | MX_NXE,
          .access = MX_WRITE, .faulted = 1, .vector = 14, .error = 7, .cr2 = 0x8000000000,
          .accessed = 7 },
        { .page = MX_PAGE_2M, .pde = MX_W | MX_XD, .mode = MX_NXE, .access = MX_EXEC,
          .faulted = 1, .vector = 14, .error = 0x11, .cr2 = 0x8000200000, .accessed = 3 },
        { .page = MX_PAGE_2M, .pde = MX_U | MX_W, .mode = MX_WP, .access = MX_WRITE,
          .accessed = 7, .dirty = 1 },
        { .page = MX_PAGE_4K, .pde = MX_U | MX_W, .pte = MX_U | MX_W,
          .mode = MX_WP | MX_NXE | MX_A_CLEAR, .access = MX_EXEC, .accessed = 15 },
        { .page = MX_PAGE_4K, .pde = MX_U | MX_W | MX_XD, .pte = MX_U | MX_W,
          .mode = MX_WP | MX_CPL3, .access = MX_READ, .faulted = 1, .vector = 14,
          .error = 0xd, .cr2 = 0x8000000000, .accessed = 7 },
    };
    memcpy(ref, base, sizeof(ref));
    memcpy(run, base, sizeof(run));
    memset(text, 'x', sizeof(text));
    return 0;
}

static void compare(size_t ref_len, size_t run_len, unsigned show)
{
    matrix_compare(ref, ref_len, run, run_len, show, &d, text, sizeof(text));
}

static void identical_records_pass(void **state)
{
    (void)state;
    compare(sizeof(ref), sizeof(run), 4);
    assert_true(matrix_identical(&d));
    assert_int_equal(d.ref_entries, N);
    assert_int_equal(d.run_entries, N);
    assert_int_equal(d.differing, 0);
    assert_string_equal(text, "");
}

static void one_changed_field_is_named_with_the_inputs(void **state)
{
    (void)state;
    run[1].dirty = 1;
    compare(sizeof(ref), sizeof(run), 4);
    assert_false(matrix_identical(&d));
    assert_int_equal(d.differing, 1);
    assert_string_equal(text,
        "entry 1 (D differs): 4 KiB page, PDE U=1 W=0 XD=0, PTE U=1 W=1 XD=0, WP=1 NXE=1, "
        "CPL 3 write: reference #PF(0x7), CR2 0x8000000000, A=0 D=0; "
        "this run #PF(0x7), CR2 0x8000000000, A=0 D=1\n");
}

// The brief's own example: the reference faulted, this run did not.
static void a_fault_that_went_missing(void **state)
{
    (void)state;
    run[1] = (struct matrix_entry){ .page = MX_PAGE_4K, .pde = MX_U, .pte = MX_U | MX_W,
                                    .mode = MX_WP | MX_CPL3 | MX_NXE, .access = MX_WRITE,
                                    .accessed = 15, .dirty = 1 };
    compare(sizeof(ref), sizeof(run), 4);
    assert_int_equal(d.differing, 1);
    assert_string_equal(text,
        "entry 1 (fault, vector, error code, CR2, A, D differ): 4 KiB page, PDE U=1 W=0 XD=0, "
        "PTE U=1 W=1 XD=0, WP=1 NXE=1, CPL 3 write: reference #PF(0x7), CR2 0x8000000000, "
        "A=0 D=0; this run no fault, A=1 D=1\n");
}

// A 2 MiB page has no PTE: the PDE is the leaf; A bits of upper levels that
// are clear are named; a vector other than #PF is given by number.
static void two_mib_pages_and_other_vectors(void **state)
{
    (void)state;
    run[2].vector = 13;
    run[2].error = 0;
    run[2].accessed = 1;
    compare(sizeof(ref), sizeof(run), 4);
    assert_string_equal(text,
        "entry 2 (vector, error code, A differ): 2 MiB page, PDE U=0 W=1 XD=1, WP=0 NXE=1, "
        "CPL 0 execute: reference #PF(0x11), CR2 0x8000200000, A=0 D=0; this run vector 13 "
        "(0x0), CR2 0x8000200000, A=0 D=0 (A clear in PDPTE)\n");
}

static void inputs_that_differ_are_shown_on_both_sides(void **state)
{
    (void)state;
    run[4].mode &= (uint8_t)~MX_A_CLEAR;
    compare(sizeof(ref), sizeof(run), 4);
    assert_string_equal(text,
        "entry 4 (mode differs): reference 4 KiB page, PDE U=1 W=1 XD=0, PTE U=1 W=1 XD=0, "
        "WP=1 NXE=1, CPL 0 execute, all A clear: no fault, A=1 D=0; this run 4 KiB page, "
        "PDE U=1 W=1 XD=0, PTE U=1 W=1 XD=0, WP=1 NXE=1, CPL 0 execute: no fault, A=1 D=0\n");
}

// Every difference is counted; only the first `show` are described.
static void only_the_first_differences_are_described(void **state)
{
    (void)state;
    for (int i = 0; i < N; i++)
        run[i].cr2 ^= 0x1000;
    compare(sizeof(ref), sizeof(run), 2);
    assert_int_equal(d.differing, N);
    assert_int_equal(strncmp(text, "entry 0 (CR2 differs): ", 23), 0);
    const char *second = strchr(text, '\n') + 1;
    assert_int_equal(strncmp(second, "entry 1 (CR2 differs): ", 23), 0);
    assert_string_equal(strchr(second, '\n'), "\n");
}

static void a_shorter_record_is_reported(void **state)
{
    (void)state;
    compare(sizeof(ref), sizeof(run) - sizeof(run[0]), 4);
    assert_false(matrix_identical(&d));
    assert_int_equal(d.ref_entries, N);
    assert_int_equal(d.run_entries, N - 1);
    assert_int_equal(d.differing, 0); // the entries both have agree
    assert_string_equal(text, "the reference has 6 entries, this run 5\n");
}

static void a_ragged_record_is_reported(void **state)
{
    (void)state;
    compare(sizeof(ref), sizeof(run) - 1, 4);
    assert_false(matrix_identical(&d));
    assert_true(d.ragged);
    assert_string_equal(text,
        "the records are 144 and 143 bytes long: not whole numbers of entries of 24 bytes\n"
        "the reference has 6 entries, this run 5\n");
    // An empty record against a full one.
    compare(sizeof(ref), 0, 4);
    assert_false(matrix_identical(&d));
    assert_string_equal(text, "the reference has 6 entries, this run 0\n");
}

// A text buffer too small: cut, terminated, never overrun (ASan watches).
static void a_small_buffer_is_cut_not_overrun(void **state)
{
    (void)state;
    run[0].dirty = 1;
    char small[16];
    matrix_compare(ref, sizeof(ref), run, sizeof(run), 4, &d, small, sizeof(small));
    assert_int_equal(d.differing, 1);
    assert_string_equal(small, "entry 0 (D diff");
    char one[1] = { 'x' };
    matrix_compare(ref, sizeof(ref), run, sizeof(run), 4, &d, one, sizeof(one));
    assert_int_equal(one[0], '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(identical_records_pass, setup),
        cmocka_unit_test_setup(one_changed_field_is_named_with_the_inputs, setup),
        cmocka_unit_test_setup(a_fault_that_went_missing, setup),
        cmocka_unit_test_setup(two_mib_pages_and_other_vectors, setup),
        cmocka_unit_test_setup(inputs_that_differ_are_shown_on_both_sides, setup),
        cmocka_unit_test_setup(only_the_first_differences_are_described, setup),
        cmocka_unit_test_setup(a_shorter_record_is_reported, setup),
        cmocka_unit_test_setup(a_ragged_record_is_reported, setup),
        cmocka_unit_test_setup(a_small_buffer_is_cut_not_overrun, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
