"""Loading checkpoints into a ``RoPEViT`` backbone with clear errors."""
import logging
import math
import os
from typing import Any, Dict, Optional, Tuple

import torch
from mmengine.logging import print_log

from ..models.backbones.rope_vit import resize_pos_embedding
from .hub import PRETRAINED_WEIGHTS, fetch_pretrained
from .loading import (CheckpointError, count_blocks, read_checkpoint_file, rgb_stats_from_metadata,
                      split_checkpoint, strip_prefixes)

# Keys of Birder's classification head, which a backbone never uses.
_HEAD_PREFIXES = ('classifier.', 'embedding_norm.', 'attn_pool.')


def resolve_checkpoint_path(checkpoint: str) -> str:
    """Return a local file for a path or a published weights name such as ``rope_vit_reg4_b14_capi``."""
    checkpoint = os.fspath(checkpoint)
    if os.path.exists(checkpoint):
        return checkpoint
    if checkpoint in PRETRAINED_WEIGHTS:
        return fetch_pretrained(checkpoint)
    raise FileNotFoundError(f'Checkpoint file not found: {checkpoint} (published weights names: '
                            f'{", ".join(sorted(PRETRAINED_WEIGHTS))})')


def load_checkpoint_state(checkpoint: str,
                          prefix: Optional[str] = None) -> Tuple[Dict[str, torch.Tensor], Dict[str, Any]]:
    """Read a checkpoint and return its backbone ``(state_dict, metadata)``."""
    path = resolve_checkpoint_path(checkpoint)
    raw, file_metadata = read_checkpoint_file(path)
    state_dict, metadata = split_checkpoint(raw, path)
    metadata = {**file_metadata, **metadata}
    try:
        state_dict = strip_prefixes(state_dict, prefix)
    except CheckpointError as error:
        raise CheckpointError(f'{path}: {error}') from error
    return state_dict, metadata


def _checkpoint_grid(num_patch_rows: int, metadata: Dict[str, Any], patch_size: int) -> Tuple[int, int]:
    """Return the (rows, columns) grid of a checkpoint's position embedding."""
    try:
        height, width = metadata['signature']['inputs'][0]['data_shape'][-2:]
        grid = (int(height) // patch_size, int(width) // patch_size)
        if grid[0] * grid[1] == num_patch_rows:
            return grid
    except (KeyError, IndexError, TypeError, ValueError):
        pass
    side = math.isqrt(num_patch_rows)
    if side * side != num_patch_rows:
        raise CheckpointError(f'cannot infer the grid of a position embedding with {num_patch_rows} '
                              'patch rows; the checkpoint records no input size')
    return side, side


def _check_shapes(model, own_state: Dict[str, torch.Tensor], state_dict: Dict[str, torch.Tensor], source: str,
                  resizable_pos_embedding: bool) -> None:
    """Raise for the first tensor, in the model's order, whose shape differs from the model's."""
    for key, own in own_state.items():
        theirs = state_dict.get(key)
        if theirs is None:
            continue
        if resizable_pos_embedding and key == 'pos_embedding' and theirs.shape[-1] == own.shape[-1]:
            continue
        if theirs.shape != own.shape:
            raise CheckpointError(f'{source}: shape mismatch at {key}: checkpoint {tuple(theirs.shape)}, '
                                  f'model {model.arch_name} {tuple(own.shape)}; the checkpoint is for another '
                                  'width or patch size')


def adapt_state_dict(model, state_dict: Dict[str, torch.Tensor], metadata: Dict[str, Any],
                     source: str) -> Dict[str, torch.Tensor]:
    """Drop head weights, resize the position embedding and check shapes.

    Raises:
        CheckpointError: for a different depth or width, naming the shapes.
    """
    state_dict = dict(state_dict)
    head_keys = [key for key in state_dict if key.startswith(_HEAD_PREFIXES)]
    if head_keys:
        for key in head_keys:
            del state_dict[key]
        print_log(f'{source}: ignored {len(head_keys)} classifier keys ({", ".join(head_keys)})',
                  logger='current')

    # A checkpoint of another width (ViT-L into ViT-B, for example) also differs
    # in depth. Its first mismatching tensor is the more useful error, so
    # shapes are checked before the block count.
    own_state = model.state_dict()
    _check_shapes(model, own_state, state_dict, source, resizable_pos_embedding=True)

    checkpoint_blocks = count_blocks(state_dict)
    if checkpoint_blocks and checkpoint_blocks != model.num_layers:
        raise CheckpointError(f'{source}: checkpoint has {checkpoint_blocks} blocks, model '
                              f'{model.arch_name} expects {model.num_layers}')

    pos = state_dict.get('pos_embedding')
    own_pos = own_state['pos_embedding']
    if pos is not None and pos.dim() == 3 and pos.shape[-1] == own_pos.shape[-1] and pos.shape != own_pos.shape:
        special = model.num_special_tokens
        src_grid = _checkpoint_grid(pos.shape[1] - special, metadata, model.patch_size)
        state_dict['pos_embedding'] = resize_pos_embedding(pos, special, src_grid, model.pretrain_grid)
        print_log(f'{source}: pos_embedding resized from {src_grid[0]}x{src_grid[1]} to '
                  f'{model.pretrain_grid[0]}x{model.pretrain_grid[1]}', logger='current')

    _check_shapes(model, own_state, state_dict, source, resizable_pos_embedding=False)
    return state_dict


def load_backbone_checkpoint(model, checkpoint: str, strict: bool = True,
                             prefix: Optional[str] = None) -> Dict[str, Any]:
    """Load a checkpoint into ``model`` (a ``RoPEViT``) and return its metadata.

    Args:
        model (RoPEViT): The backbone to fill.
        checkpoint (str): A file path or a published weights name.
        strict (bool): Raise when keys are missing or unexpected. With
            False they are logged as a warning instead.
        prefix (str, optional): Take only keys under this prefix, for
            example ``'backbone.'``; detected automatically when None.

    Raises:
        FileNotFoundError: when the file does not exist.
        CheckpointError: when it is unreadable or does not fit the model.
    """
    state_dict, metadata = load_checkpoint_state(checkpoint, prefix)
    source = os.path.basename(os.fspath(checkpoint))
    state_dict = adapt_state_dict(model, state_dict, metadata, source)

    own_keys = set(model.state_dict())
    missing = sorted(own_keys - set(state_dict))
    unexpected = sorted(set(state_dict) - own_keys)
    if missing or unexpected:
        message = f'{source}: missing keys {missing}; unexpected keys {unexpected}'
        if strict:
            raise CheckpointError(message + ". Pass strict=False in init_cfg to load the rest")
        print_log(message, logger='current', level=logging.WARNING)

    with torch.no_grad():
        model.load_state_dict({k: v for k, v in state_dict.items() if k in own_keys}, strict=False)

    stats = rgb_stats_from_metadata(metadata)
    print_log(f'Loaded {len(state_dict) - len(unexpected)} tensors into {model.arch_name} from {checkpoint}'
              + (f'; rgb_stats mean {stats["mean"]} std {stats["std"]}' if stats else ''),
              logger='current')
    return metadata
