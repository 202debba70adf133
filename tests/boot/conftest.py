"""Shared set-up for the boot tests: they boot build/vmxlab.iso (built by
`make test` before pytest starts) through scripts/run.py, exactly as `make run`."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
ISO = os.path.join(ROOT, "build", "vmxlab.iso")


@pytest.fixture(scope="session")
def boot():
    import run as runner
    if not os.path.exists(ISO):
        pytest.fail(f"{ISO} is missing: run the tests with `make test`")

    def boot_once(engine, cpu="", cmdline="", **kw):
        return runner.run(ISO, engine=engine, cpu=cpu, cmdline=cmdline, **kw)
    return boot_once
