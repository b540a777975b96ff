"""Checkpoint reading, published weights and weights-only loading for mmengine."""
from .backbone import adapt_state_dict, load_backbone_checkpoint, load_checkpoint_state, resolve_checkpoint_path
from .hub import PRETRAINED_WEIGHTS, fetch_pretrained, sha256_of, weights_dir
from .loading import (CheckpointError, load_weights_only, read_checkpoint_file, rgb_stats_from_metadata,
                      split_checkpoint)
from .resume import find_resumable_checkpoint
from .safe_load import MMENGINE_SAFE_GLOBALS, register_checkpoint_loader, register_safe_globals

__all__ = [
    'CheckpointError', 'MMENGINE_SAFE_GLOBALS', 'PRETRAINED_WEIGHTS', 'adapt_state_dict', 'fetch_pretrained',
    'find_resumable_checkpoint', 'load_backbone_checkpoint', 'load_checkpoint_state', 'load_weights_only',
    'read_checkpoint_file',
    'register_checkpoint_loader', 'register_safe_globals', 'resolve_checkpoint_path', 'rgb_stats_from_metadata',
    'sha256_of', 'split_checkpoint', 'weights_dir'
]
