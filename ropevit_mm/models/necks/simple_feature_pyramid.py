"""ViTDet's simple feature pyramid, built from a single stride-p ViT map.

Design from "Exploring Plain Vision Transformer Backbones for Object
Detection" (Li et al., 2022): the last ViT map is upsampled by transposed
convolutions and downsampled by max-pooling, then each level passes a 1x1
and a 3x3 convolution with LayerNorm.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import nn

from ..layers.norm import LayerNorm2d

_SUPPORTED_SCALES = (4.0, 2.0, 1.0, 0.5)


@MODELS.register_module()
class SimpleFeaturePyramid(BaseModule):
    """Multi-scale maps from one ViT feature map.

    With the stride-14 ``neck`` map of a ``b14`` backbone and scale factors
    (4, 2, 1, 0.5), the levels have strides 3.5, 7, 14 and 28, and the extra
    level (``num_outs`` one more than the scales) has stride 56. Every level
    tiles the padded image exactly only when the input map sides are
    divisible by the largest downsampling: 2 for scale 0.5, 4 with the extra
    level. For ``b14`` that means padding images to a multiple of 56 px.

    Args:
        in_channels (int): Channels of the backbone map.
        out_channels (int): Channels of every output level.
        scale_factors (Sequence[float]): Subset of (4, 2, 1, 0.5), in
            decreasing order. Defaults to all four.
        num_outs (int, optional): Number of outputs; one more than
            ``len(scale_factors)`` adds the extra level by stride-2
            subsampling of the last one. Defaults to ``len(scale_factors)``.
        backbone_stride (float): Stride of the input map, used for the
            ``strides`` attribute and error messages. Defaults to 14.
        init_cfg (dict, optional): mmengine initialisation config.

    Shapes:
        input: a tuple whose last element is ``(B, in_channels, H, W)``.
        output: a tuple of ``(B, out_channels, H * s, W * s)`` per scale s.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 256,
                 scale_factors: Sequence[float] = (4.0, 2.0, 1.0, 0.5),
                 num_outs: int = None,
                 backbone_stride: float = 14,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        scale_factors = tuple(float(s) for s in scale_factors)
        unsupported = [s for s in scale_factors if s not in _SUPPORTED_SCALES]
        if unsupported or not scale_factors:
            raise ValueError(f'scale_factors must be a non-empty subset of {_SUPPORTED_SCALES}, '
                             f'got {scale_factors}')
        if list(scale_factors) != sorted(scale_factors, reverse=True):
            raise ValueError(f'scale_factors must be in decreasing order, got {scale_factors}')
        num_outs = len(scale_factors) if num_outs is None else num_outs
        if num_outs not in (len(scale_factors), len(scale_factors) + 1):
            raise ValueError(f'num_outs must be {len(scale_factors)} or {len(scale_factors) + 1} '
                             f'(with the extra level), got {num_outs}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.scale_factors = scale_factors
        self.num_outs = num_outs
        self.backbone_stride = backbone_stride
        self.strides = [backbone_stride / s for s in scale_factors]
        if num_outs > len(scale_factors):
            self.strides.append(self.strides[-1] * 2)

        # Each map side must be divisible by this so every level tiles exactly.
        downsample = 1 / min(scale_factors) if min(scale_factors) < 1 else 1
        self.size_divisor = int(downsample * (2 if num_outs > len(scale_factors) else 1))

        self.resamplers = nn.ModuleList(self._resampler(s, in_channels) for s in scale_factors)
        self.lateral_convs = nn.ModuleList()
        self.output_convs = nn.ModuleList()
        for scale in scale_factors:
            # Each transposed convolution halves the channels.
            if scale == 4.0:
                level_in = in_channels // 4
            elif scale == 2.0:
                level_in = in_channels // 2
            else:
                level_in = in_channels
            self.lateral_convs.append(
                nn.Sequential(nn.Conv2d(level_in, out_channels, 1, bias=False), LayerNorm2d(out_channels)))
            self.output_convs.append(
                nn.Sequential(nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
                              LayerNorm2d(out_channels)))

    @staticmethod
    def _resampler(scale: float, channels: int) -> nn.Module:
        if scale == 4.0:
            return nn.Sequential(
                nn.ConvTranspose2d(channels, channels // 2, 2, stride=2),
                LayerNorm2d(channels // 2),
                nn.GELU(),
                nn.ConvTranspose2d(channels // 2, channels // 4, 2, stride=2))
        if scale == 2.0:
            return nn.ConvTranspose2d(channels, channels // 2, 2, stride=2)
        if scale == 1.0:
            return nn.Identity()
        return nn.MaxPool2d(2, stride=2)

    def init_weights(self) -> None:
        super().init_weights()
        if self.init_cfg is None:
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    nn.init.kaiming_normal_(module.weight, mode='fan_out', nonlinearity='relu')

    def _check_size(self, x: torch.Tensor) -> None:
        height, width = x.shape[-2:]
        if height % self.size_divisor or width % self.size_divisor:
            pad = int(self.size_divisor * self.backbone_stride)
            raise ValueError(
                f'SimpleFeaturePyramid received a {height}x{width} map, which scale factors '
                f'{self.scale_factors} with {self.num_outs} outputs cannot tile exactly: each side must be '
                f'divisible by {self.size_divisor}. Pad images to a multiple of {pad} px '
                f'(data_preprocessor pad_size_divisor={pad}, or an LSJ size that is a multiple of {pad})')

    def forward(self, inputs: Tuple[torch.Tensor, ...]) -> Tuple[torch.Tensor, ...]:
        x = inputs[-1] if isinstance(inputs, (tuple, list)) else inputs
        if x.shape[1] != self.in_channels:
            raise ValueError(f'SimpleFeaturePyramid expects {self.in_channels} input channels, got {x.shape[1]}')
        self._check_size(x)

        outs: List[torch.Tensor] = []
        for resample, lateral, output in zip(self.resamplers, self.lateral_convs, self.output_convs):
            outs.append(output(lateral(resample(x))))
        if self.num_outs > len(self.scale_factors):
            # Extra level: stride-2 subsampling of the coarsest map.
            outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))
        return tuple(outs)
