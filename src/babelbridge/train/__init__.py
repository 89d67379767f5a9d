"""Training: one accelerate-based trainer for every bridge and stage (DESIGN.md layer 5)."""

from .config import TrainConfig
from .trainer import Trainer, TrainResult

__all__ = ["TrainConfig", "TrainResult", "Trainer"]
