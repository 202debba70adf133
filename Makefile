# vmxlab build. `make` builds the kernel ELF, its listing and symbol map, and a
# hybrid BIOS/UEFI GRUB ISO; `make run` boots it; `make test` runs the host unit
# tests and the boot tests. Objects are listed by hand so a reader sees them all.

CC      := gcc
LD      := ld
OBJDUMP := objdump
PYTHON  := /usr/bin/python3
B       := build

# A Debian console font (package console-setup-linux), drawn by boot/console.c
# on UEFI framebuffers.
FONT    := /usr/share/consolefonts/Lat15-Terminus16.psf.gz

# The compiler's own freestanding headers (stdint.h, stdarg.h ...). Asked for
# when the first recipe needs it, not when make reads this file: on a fresh
# machine gcc only exists once scripts/deps.sh has run.
GCC_INCLUDE = $(eval GCC_INCLUDE := $$(shell $(CC) -print-file-name=include))$(GCC_INCLUDE)

CFLAGS  = -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-pic \
           -fno-stack-protector -mno-red-zone -mpreferred-stack-boundary=3 \
           -mgeneral-regs-only -mcmodel=small -fno-asynchronous-unwind-tables \
           -fno-builtin -fno-tree-loop-distribute-patterns -nostdinc -isystem $(GCC_INCLUDE)
ASFLAGS := -g -D__ASSEMBLER__
LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack

BOOT_OBJS := header.o entry.o trap_entry.o main.o cpu.o console.o psf.o font.o \
             mb.o cmdline.o config.o report.o verdict.o
LIB_OBJS  := printf.o string.o
HV_OBJS   := caps.o controls.o cr.o ept.o vmx.o vmcs.o exit.o exit_stub.o guest.o \
             result.o experiment.o guests.o

OBJS := $(addprefix $(B)/boot/,$(BOOT_OBJS)) $(addprefix $(B)/lib/,$(LIB_OBJS)) \
        $(addprefix $(B)/hv/,$(HV_OBJS)) $(B)/guest/toggle.o

# Test guests: each guest/NAME.c is linked with the guest runtime into its own
# ELF at GUEST_LOAD_GPA (guest/guest.ld). toggle.o is in both: the host runs
# toggle_wp_loop natively as the baseline.
GUESTS     := wp_toggle vmcall_loop semantics misbehave
GUEST_RT   := $(B)/guest/rt/start.o $(B)/guest/rt/rt.o $(B)/guest/toggle.o
GUEST_ELFS := $(patsubst %,$(B)/guest/%.elf,$(GUESTS))
.SECONDARY: $(GUEST_RT) $(GUEST_ELFS:.elf=.o) # keep them: make would delete them as intermediates

.PHONY: all iso run test unit unit-run debug bench deps deps-run deps-test deps-bench clean
all: $(B)/vmxlab.iso $(B)/kernel.asm $(B)/kernel.map

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASFLAGS) -MMD -MP -c $< -o $@

$(B)/font.psf: $(FONT)
	@mkdir -p $(B)
	gzip -dc $< > $@
$(B)/boot/font.o: $(B)/font.psf
$(B)/hv/guests.o: $(GUEST_ELFS)

$(B)/guest/%.elf: $(B)/guest/%.o $(GUEST_RT) guest/guest.ld
	$(LD) $(LDFLAGS) -T guest/guest.ld -o $@ $< $(GUEST_RT)

$(B)/kernel.elf: $(OBJS) linker.ld
	$(LD) $(LDFLAGS) -T linker.ld -o $@ $(OBJS)

$(B)/kernel.asm: $(B)/kernel.elf
	$(OBJDUMP) -S $< > $@
$(B)/kernel.map: $(B)/kernel.elf
	nm -n $< > $@

$(B)/vmxlab.iso: $(B)/kernel.elf scripts/grub.cfg scripts/mkiso.sh
	@rm -rf $(B)/iso && mkdir -p $(B)/iso/boot/grub
	cp $(B)/kernel.elf $(B)/iso/boot/vmxlab.elf
	cp scripts/grub.cfg $(B)/iso/boot/grub/grub.cfg
	scripts/mkiso.sh $@ $(B)/iso

iso: $(B)/vmxlab.iso

ENGINE  ?= auto
CPU     ?=
CMDLINE ?=
TIMEOUT ?=
# deps first, then a make of its own for the build: with -j, prerequisites
# listed side by side would build while the compiler is still being installed.
run: deps-run
	@$(MAKE) --no-print-directory all
	$(PYTHON) scripts/run.py --engine '$(ENGINE)' --cpu '$(CPU)' --cmdline '$(CMDLINE)' \
	    $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(B)/vmxlab.iso

debug: deps-run
	@$(MAKE) --no-print-directory all
	$(PYTHON) scripts/run.py --debug --engine '$(ENGINE)' --cpu '$(CPU)' \
	    --cmdline '$(CMDLINE)' $(B)/vmxlab.iso

# Host unit tests (cmocka): the pure C parts, compiled for the host as they are.
# UNIT_SRCS go into every test; UNIT_EXTRA names what one test needs besides.
UNIT_TESTS := test_printf test_cmdline test_mb test_psf test_verdict test_caps \
              test_controls test_cr test_ept test_result
UNIT_SRCS  := lib/printf.c boot/cmdline.c boot/mb.c boot/psf.c boot/verdict.c hv/caps.c \
              hv/controls.c hv/cr.c hv/ept.c
UNIT_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -DHOST_TEST -fsanitize=address,undefined
UNIT_EXTRA :=
# result.c calls exit.c's exit_reason_name(), and exit.c refers to kernel-only
# functions that tests/unit/test_result.c stubs: so the two link into it alone.
$(B)/unit/test_result: UNIT_EXTRA := hv/result.c hv/exit.c
$(B)/unit/test_result: hv/result.c hv/exit.c
$(B)/unit/test_cmdline: boot/config.c # test_cmdline.c includes it
$(B)/unit/%: tests/unit/%.c $(UNIT_SRCS) $(wildcard */*.h) $(B)/font.psf
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -DFONT_PSF='"$(B)/font.psf"' -o $@ $< $(UNIT_SRCS) $(UNIT_EXTRA) -lcmocka

unit: deps-test
	@$(MAKE) --no-print-directory unit-run
unit-run: $(addprefix $(B)/unit/,$(UNIT_TESTS))
	@set -e; for t in $(UNIT_TESTS); do $(B)/unit/$$t; done

# The README's test command. pytest runs last so its summary ends the output.
test: deps-test
	@$(MAKE) --no-print-directory all unit-run
	$(PYTHON) -m pytest -n 2 tests/boot

# A benchmark, not a test: exact Bochs tick counts for 10^3..10^6 toggles per
# policy, written to build/bench/bench.csv and bench.png, targets checked.
bench: deps-bench
	@$(MAKE) --no-print-directory all
	$(PYTHON) scripts/bench.py

deps-bench:
	@scripts/deps.sh bench
deps-run:
	@scripts/deps.sh run
deps-test:
	@scripts/deps.sh test
deps:
	@scripts/deps.sh all

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
