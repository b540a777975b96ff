"""Reading RoPE ViT weights from Birder, mmengine and plain checkpoint files.

Every file is read with ``torch.load(weights_only=True)`` or safetensors, so
a checkpoint can never run code while it loads.
"""
import json
import os
import pickle
import re
import struct
import zipfile
from typing import Any, Dict, Optional, Tuple

import torch


class CheckpointError(ValueError):
    """Raised when a checkpoint cannot be read or does not fit the model."""


def load_weights_only(path, map_location='cpu'):
    """Load a torch checkpoint file with ``weights_only=True``.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        CheckpointError: when the file is empty, truncated, not a torch
            file, or needs objects outside the weights-only allowlist
            (which are never executed).
    """
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(f'Checkpoint file not found: {path}')
    if os.path.getsize(path) == 0:
        raise CheckpointError(f'{path} is not a readable checkpoint: the file is empty')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's weights-only unpickler raises UnpicklingError for a
        # disallowed class and also for bytes that are no pickle at all
        # (a JPEG renamed .pt); only the first names an 'Unsupported global'.
        if 'Unsupported global' not in str(error):
            raise CheckpointError(f'{path} is not a readable checkpoint '
                                  f'(truncated, corrupted or not a torch file): {error}') from error
        raise CheckpointError(
            f'{path} is not a readable checkpoint: it contains objects outside the weights-only '
            f'allowlist, and checkpoints are never loaded with code execution enabled ({error})') from error
    # Arbitrary bytes make the unpickler fail in many ways (IndexError and
    # struct.error among them), all of which mean the file is not a checkpoint.
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, IndexError, KeyError, TypeError,
            struct.error) as error:
        raise CheckpointError(f'{path} is not a readable checkpoint '
                              f'(truncated, corrupted or not a torch file): {error}') from error


def read_checkpoint_file(path: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Read a checkpoint file into ``(raw_object, metadata)``.

    ``.safetensors`` files give their tensors and their string metadata
    (JSON values decoded). Other files go through ``load_weights_only``;
    their metadata is empty.
    """
    path = os.path.expanduser(os.fspath(path))
    if path.endswith('.safetensors'):
        if not os.path.isfile(path):
            raise FileNotFoundError(f'Checkpoint file not found: {path}')
        return _read_safetensors(path)
    return load_weights_only(path), {}


def _read_safetensors(path: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework='pt', device='cpu') as handle:
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
            metadata = dict(handle.metadata() or {})
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f'{path} is not a readable safetensors checkpoint: {error}') from error
    decoded = {}
    for key, value in metadata.items():
        try:
            decoded[key] = json.loads(value)
        except (TypeError, ValueError):
            decoded[key] = value
    return tensors, decoded


def split_checkpoint(raw: Any, path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, Any]]:
    """Return ``(state_dict, metadata)`` from a loaded checkpoint object.

    Understands Birder ``.pt`` dicts (``state`` plus ``rgb_stats``,
    ``signature``, ...), mmengine checkpoints (``state_dict`` plus ``meta``)
    and plain state dicts.
    """
    if not isinstance(raw, dict):
        raise CheckpointError(f'{path} is not a readable checkpoint: expected a dict, '
                              f'got {type(raw).__name__}')
    if 'state' in raw and isinstance(raw['state'], dict):
        metadata = {key: value for key, value in raw.items() if key != 'state'}
        return dict(raw['state']), metadata
    if 'state_dict' in raw and isinstance(raw['state_dict'], dict):
        metadata = dict(raw.get('meta') or {})
        return dict(raw['state_dict']), metadata
    if raw and all(isinstance(value, torch.Tensor) for value in raw.values()):
        return dict(raw), {}
    raise CheckpointError(f'{path} is not a readable checkpoint: found no state dict '
                          f'(keys: {", ".join(sorted(map(str, raw))[:10])})')


def strip_prefixes(state_dict: Dict[str, torch.Tensor],
                   prefix: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """Reduce a state dict to backbone keys.

    Removes a leading ``module.`` (DataParallel), then keeps only the keys
    under ``prefix`` (``backbone.`` when a detector's or segmentor's keys are
    present and no prefix is given) with the prefix removed.
    """
    if state_dict and all(key.startswith('module.') for key in state_dict):
        state_dict = {key[len('module.'):]: value for key, value in state_dict.items()}
    if prefix is None and any(key.startswith('backbone.') for key in state_dict):
        prefix = 'backbone.'
    if prefix:
        if not prefix.endswith('.'):
            prefix += '.'
        state_dict = {key[len(prefix):]: value for key, value in state_dict.items() if key.startswith(prefix)}
        if not state_dict:
            raise CheckpointError(f"no keys start with the prefix '{prefix}'")
    return state_dict


def count_blocks(keys) -> int:
    indices = {int(match.group(1)) for key in keys if (match := re.match(r'encoder\.block\.(\d+)\.', key))}
    return max(indices) + 1 if indices else 0


def rgb_stats_from_metadata(metadata: Dict[str, Any]) -> Optional[Dict[str, list]]:
    """Return ``{'mean': [...], 'std': [...]}`` on the 0-1 scale, when recorded."""
    stats = metadata.get('rgb_stats')
    if isinstance(stats, dict) and 'mean' in stats and 'std' in stats:
        return {'mean': [float(v) for v in stats['mean']], 'std': [float(v) for v in stats['std']]}
    return None
