"""Birder's RoPE ViT as an MMDetection 3.x and MMSegmentation 1.x backbone.

Importing the package registers every plugin module in mmengine's root
registries, where both the ``mmdet`` and the ``mmseg`` scopes find them,
and makes mmengine's checkpoint loading work with torch's weights-only
mode (see ``ropevit_mm.checkpoint.safe_load``).
"""
from . import engine, evaluation, models  # noqa: F401  (registers modules)
from . import datasets  # noqa: F401  (registers COCOSemanticDataset in mmseg)
from .checkpoint import register_checkpoint_loader, register_safe_globals
from .version import __version__

register_safe_globals()
register_checkpoint_loader()

__all__ = ['__version__']
