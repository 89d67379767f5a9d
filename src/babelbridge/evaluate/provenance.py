"""What run.json records so a table can be reproduced: command, versions, machine, date."""

from __future__ import annotations

import datetime
import os
import sys

from ..provenance import machine, package_versions


def run_info(device: str | None = None, **extra) -> dict:
    return {
        "argv": list(sys.argv),  # the process's command line, exactly
        "cwd": os.getcwd(),  # relative paths in argv are relative to this
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": package_versions(),
        "machine": machine(device),
        "sacrebleu_seed": os.environ.get("SACREBLEU_SEED", "12345"),  # the bootstrap's seed
        **extra,
    }
