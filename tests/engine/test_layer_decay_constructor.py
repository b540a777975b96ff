"""Layer-wise lr decay groups for a ViT-B detector-like model."""
import pytest
import torch
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn

import ropevit_mm  # noqa: F401
from ropevit_mm.models.backbones import RoPEViT
from ropevit_mm.models.necks import SimpleFeaturePyramid

BASE_LR = 1e-4
BASE_WD = 0.1
DECAY = 0.7


class Detector(nn.Module):

    def __init__(self, **backbone_kwargs):
        super().__init__()
        self.backbone = RoPEViT(arch='rope_vit_reg4_b14', **backbone_kwargs)
        self.neck = SimpleFeaturePyramid(768, 256)
        self.head = nn.Linear(256, 81)


def build(model):
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='LayerDecayOptimWrapperConstructor',
        optim_wrapper_cfg=dict(optimizer=dict(type='AdamW', lr=BASE_LR, weight_decay=BASE_WD)),
        paramwise_cfg=dict(layer_decay_rate=DECAY)))
    return constructor(model)


def group_of(optim_wrapper, name):
    matches = [g for g in optim_wrapper.optimizer.param_groups if name in g['param_names']]
    assert len(matches) == 1, name
    return matches[0]


@pytest.fixture(scope='module')
def optim_wrapper():
    return build(Detector(final_norm=True))


@pytest.mark.parametrize('name,layer,decays', [
    ('backbone.class_token', 0, False),
    ('backbone.reg_tokens', 0, False),
    ('backbone.pos_embedding', 0, False),
    ('backbone.conv_proj.weight', 0, True),
    ('backbone.conv_proj.bias', 0, False),
    ('backbone.encoder.block.0.attn.qkv.weight', 1, True),
    ('backbone.encoder.block.0.norm1.weight', 1, False),
    ('backbone.encoder.block.11.mlp.3.weight', 12, True),
    ('backbone.encoder.block.11.mlp.3.bias', 12, False),
    ('backbone.norm.weight', 13, False),
    ('neck.lateral_convs.0.0.weight', 13, True),
    ('neck.output_convs.1.1.weight', 13, False),
    ('head.weight', 13, True),
    ('head.bias', 13, False),
])
def test_group_scale_and_weight_decay(optim_wrapper, name, layer, decays):
    group = group_of(optim_wrapper, name)
    scale = DECAY**(13 - layer)
    assert group['layer_id'] == layer
    assert group['lr'] == pytest.approx(BASE_LR * scale)
    assert group['weight_decay'] == (BASE_WD if decays else 0.0)


def test_every_trainable_parameter_in_one_group(optim_wrapper):
    names = [n for g in optim_wrapper.optimizer.param_groups for n in g['param_names']]
    assert len(names) == len(set(names))
    assert set(names) == {n for n, _ in Detector(final_norm=True).named_parameters()}


def test_unused_final_norm_excluded():
    names = {n for g in build(Detector()).optimizer.param_groups for n in g['param_names']}
    assert 'backbone.norm.weight' not in names
    assert 'backbone.encoder.block.11.norm2.weight' in names


def test_frozen_parameters_excluded():
    wrapper = build(Detector(frozen_stages=1))
    names = {n for g in wrapper.optimizer.param_groups for n in g['param_names']}
    assert 'backbone.class_token' not in names
    assert 'backbone.encoder.block.0.attn.qkv.weight' not in names
    assert 'backbone.encoder.block.1.attn.qkv.weight' in names


def test_group_table_logged(mm_log_messages):
    build(Detector())
    table = [m for m in mm_log_messages if m.startswith('Layer-wise lr decay 0.7')]
    assert len(table) == 1
    assert 'layer_id  lr_scale  weight_decay  tensors' in table[0]


def test_missing_decay_rate_rejected():
    with pytest.raises(KeyError, match='layer_decay_rate'):
        OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
            type='LayerDecayOptimWrapperConstructor',
            optim_wrapper_cfg=dict(optimizer=dict(type='AdamW', lr=BASE_LR)), paramwise_cfg={}))


def test_model_without_backbone_rejected():
    with pytest.raises(TypeError, match='contains no RoPEViT'):
        build(nn.Linear(2, 2))


def test_optimizer_step_runs():
    model = Detector()
    wrapper = build(model)
    out = model.head(model.neck(model.backbone(torch.randn(1, 3, 112, 112)))[2].mean((2, 3)))
    wrapper.update_params(out.square().mean())
