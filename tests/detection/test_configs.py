"""Every detection config builds and runs a test-mode forward with a tiny backbone."""
import glob
import os

import pytest
import torch

import ropevit_mm  # noqa: F401

from .helpers import CONFIG_DIR, load_detection_config, shrink_backbone

DETECTION_CONFIGS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(CONFIG_DIR, '*rcnn*.py')))


def test_detection_configs_found():
    assert 'mask-rcnn_ropevit-reg4-b14_sfp_lsj-100e_coco.py' in DETECTION_CONFIGS
    assert 'cascade-mask-rcnn_ropevit-reg4-b14_sfp_lsj-100e_coco.py' in DETECTION_CONFIGS
    assert 'mask-rcnn_ropevit-reg4-b14_sfp_lsj-12e_coco.py' in DETECTION_CONFIGS


@pytest.mark.parametrize('name', DETECTION_CONFIGS)
def test_config_builds_and_predicts(name):
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmengine.registry import init_default_scope

    cfg = shrink_backbone(load_detection_config(name))
    assert cfg.custom_imports.imports == ['ropevit_mm']
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()

    inputs, samples = [], []
    for height, width in ((100, 150), (120, 90)):
        inputs.append(torch.randint(0, 255, (3, height, width), dtype=torch.uint8))
        samples.append(DetDataSample(metainfo=dict(img_shape=(height, width), ori_shape=(height, width),
                                                   scale_factor=(1.0, 1.0))))
    with torch.no_grad():
        results = model.test_step(dict(inputs=inputs, data_samples=samples))
    assert len(results) == 2
    for result, (height, width) in zip(results, ((100, 150), (120, 90))):
        assert result.pred_instances.bboxes.shape[-1] == 4
        if 'masks' in result.pred_instances:
            assert result.pred_instances.masks.shape[-2:] == (height, width)


@pytest.mark.parametrize('name', [n for n in DETECTION_CONFIGS if 'b14' in n])
def test_full_configs_keep_recipe(name):
    cfg = load_detection_config(name)
    assert cfg.model.backbone.arch == 'rope_vit_reg4_b14'
    assert cfg.model.backbone.drop_path_rate == 0.1
    assert cfg.model.backbone.init_cfg.checkpoint == 'rope_vit_reg4_b14_capi'
    assert cfg.optim_wrapper.constructor == 'LayerDecayOptimWrapperConstructor'
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.7
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.1
    assert cfg.optim_wrapper.type == 'AnyDeviceAmpOptimWrapper'
    assert cfg.image_size[0] % 56 == 0
    assert cfg.model.rpn_head.anchor_generator.strides == [3.5, 7, 14, 28, 56]
    assert cfg.model.roi_head.bbox_roi_extractor.featmap_strides == [3.5, 7, 14, 28]
    assert cfg.model.roi_head.mask_roi_extractor.featmap_strides == [3.5, 7, 14, 28]
    assert cfg.model.data_preprocessor.pad_size_divisor == 56
    assert cfg.train_dataloader.batch_size * 8 == 64
