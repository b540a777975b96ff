"""Layer-wise learning-rate decay for models with a RoPEViT backbone."""
from collections import OrderedDict
from typing import Dict, List, Tuple

from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn

from ..models.backbones.rope_vit import RoPEViT

# Backbone parameters that carry no weight decay besides biases and norms.
_NO_DECAY_NAMES = ('pos_embedding', 'class_token', 'reg_tokens')


def find_backbone(model: nn.Module) -> Tuple[str, RoPEViT]:
    """Return ``(prefix, backbone)`` for the RoPEViT inside ``model``."""
    if isinstance(model, RoPEViT):
        return '', model
    for name, module in model.named_modules():
        if isinstance(module, RoPEViT):
            return name + '.', module
    raise TypeError(f'{type(model).__name__} contains no RoPEViT backbone; '
                    'LayerDecayOptimWrapperConstructor only supports RoPEViT models')


def layer_id(name: str, prefix: str, num_layers: int) -> int:
    """Return the layer id of parameter ``name`` (0 embeddings, i + 1 block i, L + 1 the rest)."""
    if not name.startswith(prefix):
        return num_layers + 1
    local = name[len(prefix):]
    if local.startswith(('conv_proj.', ) + _NO_DECAY_NAMES):
        return 0
    if local.startswith('encoder.block.'):
        return int(local.split('.')[2]) + 1
    return num_layers + 1


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Optimizer wrapper constructor with layer-wise lr decay for RoPEViT.

    Layer ids: 0 for the patch embedding, position embedding, class token and
    register tokens; ``i + 1`` for block ``i``; ``L + 1`` (L blocks) for the
    final norm and everything outside the backbone. A parameter of layer id
    ``k`` gets ``lr * decay ** (L + 1 - k)``. Biases, norm weights (any 1-D
    parameter), the position embedding and the special tokens get no weight
    decay. Parameters with ``requires_grad=False`` are left out.

    ``paramwise_cfg`` keys:
        layer_decay_rate (float): The decay, 0.7 for ViT-B detection in the
            ViTDet recipe. Required.

    Example:
        >>> optim_wrapper = dict(
        ...     optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.1),
        ...     constructor='LayerDecayOptimWrapperConstructor',
        ...     paramwise_cfg=dict(layer_decay_rate=0.7))
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        if 'layer_decay_rate' not in paramwise_cfg:
            raise KeyError('LayerDecayOptimWrapperConstructor needs paramwise_cfg=dict(layer_decay_rate=...)')
        self.layer_decay_rate = float(paramwise_cfg.pop('layer_decay_rate'))
        if not 0 < self.layer_decay_rate <= 1:
            raise ValueError(f'layer_decay_rate must be in (0, 1], got {self.layer_decay_rate}')
        unknown = sorted(paramwise_cfg)
        if unknown:
            raise KeyError(f'LayerDecayOptimWrapperConstructor does not support paramwise_cfg keys {unknown}')
        super().__init__(optim_wrapper_cfg, None)
        # Makes the parent class call add_params instead of using all parameters.
        self.paramwise_cfg = {'layer_decay_rate': self.layer_decay_rate}

    def _validate_cfg(self) -> None:
        pass

    def add_params(self, params: List[dict], module: nn.Module, **kwargs) -> None:
        prefix, backbone = find_backbone(module)
        num_layers = backbone.num_layers
        groups: Dict[Tuple[int, bool], dict] = OrderedDict()

        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            layer = layer_id(name, prefix, num_layers)
            local = name[len(prefix):] if name.startswith(prefix) else name
            no_decay = param.ndim == 1 or name.endswith('.bias') or local in _NO_DECAY_NAMES
            key = (layer, no_decay)
            if key not in groups:
                scale = self.layer_decay_rate**(num_layers + 1 - layer)
                groups[key] = dict(
                    params=[],
                    param_names=[],
                    lr=self.base_lr * scale,
                    lr_scale=scale,
                    layer_id=layer,
                    weight_decay=0.0 if no_decay else self.base_wd,
                )
            groups[key]['params'].append(param)
            groups[key]['param_names'].append(name)

        params.extend(groups[key] for key in sorted(groups))
        self._log_groups(params)

    def _log_groups(self, groups: List[dict]) -> None:
        lines = [f'Layer-wise lr decay {self.layer_decay_rate}: {len(groups)} parameter groups',
                 'layer_id  lr_scale  weight_decay  tensors']
        for group in groups:
            lines.append(f"{group['layer_id']:>8}  {group['lr_scale']:8.4f}  {group['weight_decay']:12g}  "
                         f"{len(group['params']):>7}")
        print_log('\n'.join(lines), logger='current')
