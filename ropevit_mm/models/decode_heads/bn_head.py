"""Linear decode head: BatchNorm and a 1x1 convolution on backbone features.

The usual head for linear-probe segmentation of a frozen ViT: the backbone
map is normalized per channel and classified per token, and mmseg upsamples
the logits bilinearly to the image.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_norm_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class BNHead(BaseDecodeHead):
    """BatchNorm followed by a 1x1 convolution (a per-token linear classifier).

    With one input map (``in_index`` an int), the head classifies that map.
    With several (``in_index`` a list and ``input_transform='resize_concat'``),
    mmseg resizes them to the first map's size and concatenates the channels
    first (a multi-layer linear probe).

    Args:
        in_channels (int | Sequence[int]): Channels of the selected input
            map(s).
        channels (int, optional): Must equal the channels that reach the
            classifier (the sum of ``in_channels`` for ``resize_concat``),
            because the head has no projection. Defaults to that value.
        norm_cfg (dict, optional): Norm layer before the classifier.
            Defaults to ``dict(type='SyncBN', requires_grad=True)``, which
            mmengine's Runner turns into BatchNorm when not distributed.
        **kwargs: Other :class:`BaseDecodeHead` arguments (``num_classes``,
            ``in_index``, ``dropout_ratio``, ``loss_decode``, ...).

    Shapes:
        input: a tuple of ``(B, C_i, h, w)`` maps, e.g. the stride-14 map of
            RoPEViT.
        output of ``forward``: ``(B, num_classes, h, w)`` logits at the
            feature stride. ``predict`` and ``loss`` upsample them to the
            (padded) image size.
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 channels: Optional[int] = None,
                 norm_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        classifier_channels = in_channels if isinstance(in_channels, int) else sum(in_channels)
        if channels is None:
            channels = classifier_channels
        if channels != classifier_channels:
            raise ValueError(f'BNHead classifies its input without a projection, so channels must equal '
                             f'{classifier_channels} (the input channels), got {channels}')
        if norm_cfg is None:
            norm_cfg = dict(type='SyncBN', requires_grad=True)
        super().__init__(in_channels, channels, norm_cfg=norm_cfg, **kwargs)
        self.bn = build_norm_layer(self.norm_cfg, self.in_channels)[1]

    def forward(self, inputs: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        x = self._transform_inputs(inputs)
        x = self.bn(x)
        return self.cls_seg(x)
