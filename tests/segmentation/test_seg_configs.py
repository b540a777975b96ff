"""Every segmentation config in configs/ builds and predicts at odd image sizes.

The backbone is swapped for a 2-block, 64-channel RoPEViT and the pyramid
and heads are narrowed, so one CPU forward takes well under a second; the
padding rules, test modes and head types are those of each config.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData

from .conftest import CONFIG_DIR

TINY_ARCH = dict(patch_size=14, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=256, num_reg_tokens=4)
# Sizes that are not multiples of 14 (nor of 28, the pyramid's padding unit).
IMAGE_SIZES = [(512, 683), (333, 500)]


def segmentation_configs():
    paths = []
    for path in sorted(glob.glob(osp.join(CONFIG_DIR, '*.py'))):
        if Config.fromfile(path).get('default_scope') == 'mmseg':
            paths.append(path)
    return paths


SEG_CONFIGS = segmentation_configs()


def shrink(model_cfg):
    """Swap in the tiny backbone and narrow the neck and heads of a segmentation model config."""
    backbone = model_cfg.backbone
    backbone.arch = TINY_ARCH
    backbone.pretrain_size = 112
    backbone.init_cfg = None
    backbone.frozen_stages = min(backbone.get('frozen_stages', -1), TINY_ARCH['num_layers'])

    neck = model_cfg.get('neck')
    if neck is None:
        feature_channels = TINY_ARCH['hidden_dim']
    elif neck.type == 'SimpleFeaturePyramid':
        neck.in_channels = TINY_ARCH['hidden_dim']
        neck.out_channels = feature_channels = 32
    else:
        raise NotImplementedError(f'shrink() does not know neck {neck.type}; extend it for the new config')

    for head in (model_cfg.decode_head, model_cfg.get('auxiliary_head')):
        if head is None:
            continue
        if isinstance(head.in_channels, (list, tuple)):
            head.in_channels = [feature_channels] * len(head.in_channels)
        else:
            head.in_channels = feature_channels
        if head.type == 'BNHead':
            head.pop('channels', None)
        else:
            head.channels = 16
        head.norm_cfg = dict(type='BN', requires_grad=True)
    return model_cfg


def build_model(path):
    from mmseg.registry import MODELS

    cfg = Config.fromfile(path)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(shrink(cfg.model))
    model.init_weights()
    return cfg, model.eval()


def test_segmentation_configs_found():
    names = [osp.basename(p) for p in SEG_CONFIGS]
    assert 'upernet_ropevit-reg4-b14_sfp_8xb2-160k_ade20k-504x504.py' in names
    assert 'linear_ropevit-reg4-b14-frozen_8xb2-40k_ade20k-504x504.py' in names


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=[osp.basename(p) for p in SEG_CONFIGS])
@pytest.mark.parametrize('mode', ['whole', 'slide'])
def test_config_predicts_image_size(path, mode, single_thread):
    from mmseg.structures import SegDataSample

    cfg, model = build_model(path)
    crop_size = cfg.model.test_cfg.get('crop_size', (504, 504))
    model.test_cfg = Config(dict(mode=mode, crop_size=crop_size, stride=(336, 336))
                            if mode == 'slide' else dict(mode=mode))

    assert model.data_preprocessor.test_cfg == dict(size_divisor=28)
    for height, width in IMAGE_SIZES:
        image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8)
        sample = SegDataSample(metainfo=dict(ori_shape=(height, width), img_shape=(height, width)))
        sample.gt_sem_seg = PixelData(data=torch.zeros(1, height, width, dtype=torch.long))
        with torch.no_grad():
            result = model.test_step(dict(inputs=[image], data_samples=[sample]))[0]

        num_classes = cfg.model.decode_head.num_classes
        assert tuple(result.seg_logits.data.shape) == (num_classes, height, width)
        assert tuple(result.pred_sem_seg.data.shape) == (1, height, width)
        assert torch.isfinite(result.seg_logits.data).all()
        # Padding to a multiple of 28 happened and was cropped away again.
        pad_bottom, pad_right = -height % 28, -width % 28
        assert [int(v) for v in result.metainfo['img_padding_size']] == [0, pad_right, 0, pad_bottom]
