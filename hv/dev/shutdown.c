// shutdown.c: Bochs' shutdown port 0x8900 (Bochs iodev/unmapped.cc): a guest that writes
// the bytes of "Shutdown" to it one by one powers the machine off, as Pintos and other
// kernels written for Bochs do to end; the run ends with DEV_EXIT_SHUTDOWN. A byte that
// continues the word moves on, a letter of the word out of turn is ignored, any other
// byte starts over, as in Bochs. Reads give all ones (Bochs and QEMU have nothing to
// read there). dev.c calls it through dev_bochs_shutdown.
#include "dev.h"

static const char word[] = "Shutdown";
static unsigned matched; // how many of word's letters came in order

static void shutdown_reset(const struct dev_machine *m)
{
    (void)m;
    matched = 0;
}

static uint64_t shutdown_read(uint64_t off, unsigned size)
{
    (void)off;
    (void)size;
    return 0xff;
}

static bool in_word(char c)
{
    for (const char *p = word; *p; p++)
        if (*p == c)
            return true;
    return false;
}

static void shutdown_write(uint64_t off, unsigned size, uint64_t v)
{
    (void)off;
    (void)size;
    char c = (char)v;
    if (c == word[matched]) {
        if (++matched == sizeof(word) - 1) {
            matched = 0;
            dev_guest_exit(DEV_EXIT_SHUTDOWN, "\"Shutdown\" written to port 0x8900");
        }
    } else if (!in_word(c)) {
        matched = 0;
    }
}

const struct dev dev_bochs_shutdown = {
    .name = "bochs-shutdown", .space = DEV_PIO, .base = 0x8900, .len = 1, .sizes = 1,
    .read = shutdown_read, .write = shutdown_write, .reset = shutdown_reset,
};
