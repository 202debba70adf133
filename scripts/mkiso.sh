#!/bin/sh
# mkiso.sh OUT.iso DIR: a hybrid BIOS/UEFI GRUB ISO of DIR (boot/vmxlab.elf and
# boot/grub/grub.cfg). El Torito boots GRUB for i386-pc; an EFI system partition
# image boots GRUB for x86_64-efi. Only the modules grub.cfg needs are installed,
# so GRUB starts fast, and memrw, whose write_dword the boot tests use to leave
# interrupt sources armed as firmware might. The Makefile and scripts/run.py
# (per-run command lines) use it.
set -e
modules="normal configfile multiboot2 multiboot iso9660 part_msdos part_gpt test echo memrw \
all_video"
log=$(mktemp)
if ! grub-mkrescue -o "$1" "$2" --install-modules="$modules" --fonts= --locales= \
        --themes= >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
