"""Channels-first LayerNorm for NCHW feature maps."""
import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import nn


@MODELS.register_module()
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel axis of an NCHW map.

    Registered so that mmcv's ``build_norm_layer(dict(type='LayerNorm2d'),
    channels)`` builds it in heads; the norm abbreviation is ``ln``.

    Args:
        num_channels (int): Channels C of the input.
        eps (float): Added to the variance. Defaults to 1e-6.
    """
    _abbr_ = 'ln'

    def __init__(self, num_channels: int, eps: float = 1e-6, **kwargs) -> None:
        super().__init__(num_channels, eps=eps, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C, H, W) -> (B, H, W, C) -> normalise -> (B, C, H, W)
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        # Convolutions keep the channels-last strides of the permuted result.
        # mmcv 2.1.0's RoIAlign ignores strides, so return contiguous NCHW.
        return x.permute(0, 3, 1, 2).contiguous()
