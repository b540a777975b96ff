"""Conversion of Birder checkpoints into mmengine checkpoints."""
import os
import tempfile
from typing import Any, Dict, Optional

import torch

from ..models.backbones.rope_vit_archs import ARCH_SETTINGS
from .loading import CheckpointError, count_blocks

DEFAULT_RGB_STATS = {'mean': [0.5191, 0.5306, 0.4877], 'std': [0.2316, 0.2304, 0.2588]}


def infer_arch(state_dict: Dict[str, torch.Tensor]) -> str:
    """Return the Birder arch name whose shapes match a backbone state dict.

    Patch size, width, depth and register count are read from the tensors;
    the head count is not stored in weights, so it comes from the arch table.
    """
    try:
        hidden, _, patch, _ = state_dict['conv_proj.weight'].shape
    except KeyError as error:
        raise CheckpointError('the checkpoint has no conv_proj.weight, so it is not a RoPE ViT backbone') from error
    layers = count_blocks(state_dict)
    regs = state_dict['reg_tokens'].shape[1] if 'reg_tokens' in state_dict else 0
    for name, arch in ARCH_SETTINGS.items():
        if (arch['patch_size'], arch['hidden_dim'], arch['num_layers'], arch['num_reg_tokens']) == \
                (patch, hidden, layers, regs):
            return name
    raise CheckpointError(f'no known arch has patch {patch}, width {hidden}, {layers} blocks and {regs} '
                          'register tokens; pass the arch explicitly')


def data_preprocessor_lines(rgb_stats: Dict[str, list]) -> str:
    """Return config lines with mean and std on the 0-255 scale that MMDetection expects."""
    mean = [round(v * 255, 4) for v in rgb_stats['mean']]
    std = [round(v * 255, 4) for v in rgb_stats['std']]
    return f'mean={mean},\nstd={std},'


def save_atomically(obj: Any, path: str) -> None:
    """``torch.save`` into a temporary file in the same folder, then rename it into place."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp', dir=folder)
    os.close(handle)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def build_mmengine_checkpoint(state_dict: Dict[str, torch.Tensor], metadata: Dict[str, Any], arch: str,
                              source: Optional[str] = None) -> Dict[str, Any]:
    """Wrap a backbone state dict as an mmengine checkpoint with ``backbone.`` keys."""
    rgb_stats = metadata.get('rgb_stats') or DEFAULT_RGB_STATS
    meta = {
        'arch': arch,
        'rgb_stats': {'mean': list(rgb_stats['mean']), 'std': list(rgb_stats['std'])},
        'converted_from': os.path.basename(source) if source else None,
        'birder_version': metadata.get('birder_version'),
    }
    return {'meta': meta, 'state_dict': {f'backbone.{key}': value for key, value in state_dict.items()}}
