"""The pyramid's true strides tile the padded input, and heads use the same geometry."""
import pytest
import torch

import ropevit_mm  # noqa: F401
from ropevit_mm.models.backbones import RoPEViT
from ropevit_mm.models.necks import SimpleFeaturePyramid

from .helpers import TINY_ARCH, load_detection_config

STRIDES = [3.5, 7, 14, 28, 56]


@pytest.fixture(scope='module')
def detection_cfg():
    return load_detection_config('mask-rcnn_ropevit-reg4-b14_sfp_lsj-100e_coco.py')


@pytest.fixture(scope='module')
def preprocessor(detection_cfg):
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = dict(detection_cfg.model.data_preprocessor)
    cfg['batch_augments'] = None
    return MODELS.build(cfg)


def pyramid(images):
    backbone = RoPEViT(arch=dict(TINY_ARCH)).eval()
    neck = SimpleFeaturePyramid(32, 16, num_outs=5).eval()
    with torch.no_grad():
        return neck(backbone(images))


@pytest.mark.parametrize('sizes', [
    [(224, 224)],
    [(100, 150), (120, 90)],
    [(333, 500), (500, 333), (57, 57)],
    [(1, 1)],
])
def test_levels_tile_padded_batch(preprocessor, sizes):
    from mmdet.structures import DetDataSample
    inputs = [torch.randint(0, 255, (3, h, w), dtype=torch.uint8) for h, w in sizes]
    samples = [DetDataSample(metainfo=dict(img_shape=s, ori_shape=s)) for s in sizes]
    batch = preprocessor(dict(inputs=inputs, data_samples=samples), training=False)
    padded_h, padded_w = batch['inputs'].shape[-2:]
    assert padded_h % 56 == 0
    assert padded_w % 56 == 0
    assert padded_h >= max(h for h, _ in sizes) and padded_w >= max(w for _, w in sizes)

    levels = pyramid(batch['inputs'])
    assert len(levels) == len(STRIDES)
    for level, stride in zip(levels, STRIDES):
        assert level.shape[-2] * stride == padded_h
        assert level.shape[-1] * stride == padded_w


def test_neck_rejects_map_that_cannot_tile():
    neck = SimpleFeaturePyramid(32, 16, num_outs=5)
    with pytest.raises(ValueError, match=r'37x37 map.*multiple of 56 px'):
        neck((torch.zeros(1, 32, 37, 37),))


def test_anchor_on_object_lands_on_its_cell(detection_cfg):
    """An object centred on a level-1 cell corner is matched by that cell's anchor."""
    from mmdet.registry import TASK_UTILS
    generator = TASK_UTILS.build(detection_cfg.model.rpn_head.anchor_generator)
    padded = (448, 560)
    featmap_sizes = [(int(padded[0] / s), int(padded[1] / s)) for s in STRIDES]
    priors = generator.grid_priors(featmap_sizes, device='cpu')
    num_base = generator.num_base_priors[0]

    for level, stride in enumerate(STRIDES):
        height, width = featmap_sizes[level]
        assert priors[level].shape[0] == height * width * num_base
        centers = (priors[level][:, :2] + priors[level][:, 2:]) / 2
        # The grid spacing is the true stride, never a rounded one (3 for 3.5).
        assert (centers[num_base, 0] - centers[0, 0]).item() == pytest.approx(stride)
        assert centers[:, 0].max() == pytest.approx((width - 1) * stride)

    stride = STRIDES[1]
    row, col = 23, 41
    object_center = torch.tensor([col * stride, row * stride])
    centers = (priors[1][:, :2] + priors[1][:, 2:]) / 2
    nearest = (centers - object_center).norm(dim=1).argmin().item()
    cell_row, cell_col = divmod(nearest // num_base, featmap_sizes[1][1])
    assert (cell_row, cell_col) == (row, col)


@pytest.mark.parametrize('box', [[70.0, 35.0, 140.0, 105.0], [7.0, 200.0, 63.0, 250.0], [300.0, 10.0, 420.0, 90.0]])
def test_roi_features_come_from_box_location(detection_cfg, box):
    """RoI pooling with the configured strides reads the cells under the box."""
    from mmdet.registry import MODELS
    extractor = MODELS.build(detection_cfg.model.roi_head.bbox_roi_extractor)
    padded = (448, 560)
    feats = []
    for stride in STRIDES[:4]:
        height, width = int(padded[0] / stride), int(padded[1] / stride)
        # Channel 0 contains each cell's x centre in pixels, channel 1 its y centre.
        xs = (torch.arange(width) + 0.5) * stride
        ys = (torch.arange(height) + 0.5) * stride
        grid = torch.stack(torch.meshgrid(ys, xs, indexing='ij')[::-1])
        feats.append(torch.cat([grid, torch.zeros(254, height, width)]).unsqueeze(0))
    rois = torch.tensor([[0.0] + box])
    pooled = extractor(tuple(feats), rois)
    center_x = (box[0] + box[2]) / 2
    center_y = (box[1] + box[3]) / 2
    assert pooled[0, 0].mean().item() == pytest.approx(center_x, abs=0.5)
    assert pooled[0, 1].mean().item() == pytest.approx(center_y, abs=0.5)


@pytest.mark.parametrize('training', [False, True])
def test_levels_contiguous_for_roi_align(detection_cfg, training):
    """Every level is contiguous NCHW, so RoI pooling reads the right cells.

    mmcv's RoIAlign ignores strides. Channels-last levels (from a permuted
    LayerNorm output) once made every RoI read the wrong cells while the
    RPN, plain PyTorch, still trained.
    """
    from mmdet.registry import MODELS
    backbone = RoPEViT(arch=dict(TINY_ARCH)).train(training)
    neck = SimpleFeaturePyramid(32, 16, num_outs=5).train(training)
    torch.manual_seed(0)
    images = torch.randn(2, 3, 224, 280, requires_grad=training)
    with torch.set_grad_enabled(training):
        maps = backbone(images)
        levels = neck(maps)
    assert all(feature_map.is_contiguous() for feature_map in maps)
    for index, level in enumerate(levels):
        assert level.is_contiguous(), f'level {index} has strides {level.stride()}'

    roi_cfg = detection_cfg.model.roi_head.bbox_roi_extractor.copy()
    roi_cfg.out_channels = 16
    extractor = MODELS.build(roi_cfg)
    rois = torch.tensor([[0, 10.0, 20.0, 90.0, 100.0], [1, 120.0, 40.0, 270.0, 200.0], [1, 3.0, 3.0, 40.0, 60.0]])
    with torch.no_grad():
        pooled = extractor(tuple(levels[:4]), rois)
        reference = extractor(tuple(level.detach().clone(memory_format=torch.contiguous_format)
                                    for level in levels[:4]), rois)
    torch.testing.assert_close(pooled, reference, rtol=0, atol=0)
