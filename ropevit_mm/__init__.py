"""Birder's RoPE ViT as an MMDetection 3.x and MMSegmentation 1.x backbone.

Importing the package registers the plugin's modules and makes mmengine's
checkpoint loading work with torch's weights-only mode (see
``ropevit_mm.checkpoint.safe_load``). The backbone, neck, layers, optimizer
constructor and COCO metric go into mmengine's root registries, where both
the ``mmdet`` and the ``mmseg`` scopes find them; ``BNHead`` and
``COCOSemanticDataset`` only work with MMSegmentation and go into its
registries.
"""
from . import datasets, engine, evaluation, models  # noqa: F401  (registers modules)
from .checkpoint import register_checkpoint_loader, register_safe_globals
from .version import __version__

register_safe_globals()
register_checkpoint_loader()

__all__ = ['__version__']
