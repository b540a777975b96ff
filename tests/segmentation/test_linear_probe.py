"""Linear probe: frozen RoPEViT, BNHead, optimizer with head parameters only."""
import pytest
import torch
from mmengine.runner import Runner

from .conftest import tiny_config

CONFIG = 'linear_ropevit-tiny-frozen_short_coco-semantic.py'


def optimizer_param_names(runner):
    ids = {id(p) for group in runner.optim_wrapper.optimizer.param_groups for p in group['params']}
    return {name for name, p in runner.model.named_parameters() if id(p) in ids}


@pytest.fixture(scope='module')
def trained_probe(tiny_coco_root, coco_semantic_root, tmp_path_factory):
    """Runner after 6 iterations, with backbone and head state dicts from before training."""
    cfg = tiny_config(CONFIG, tiny_coco_root, coco_semantic_root, str(tmp_path_factory.mktemp('linear_probe')))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runner = Runner.from_cfg(cfg)
        backbone_before = {k: v.clone() for k, v in runner.model.backbone.state_dict().items()}
        head_before = {k: v.clone() for k, v in runner.model.decode_head.state_dict().items()}
        runner.train()
    finally:
        torch.set_num_threads(threads)
    return runner, backbone_before, head_before


def test_linear_probe_backbone_unchanged(trained_probe):
    runner, backbone_before, head_before = trained_probe
    model = runner.model

    assert runner.iter == 6
    assert model.backbone.rope.mode == 'interpolate'
    for name, value in model.backbone.state_dict().items():
        assert torch.equal(value, backbone_before[name]), f'backbone.{name} changed during training'
    changed = [k for k, v in model.decode_head.state_dict().items()
               if v.is_floating_point() and not torch.equal(v, head_before[k])]
    assert 'conv_seg.weight' in changed
    assert 'bn.weight' in changed
    assert 'bn.running_mean' in changed


def test_linear_probe_optimizer_excludes_frozen(trained_probe):
    runner, _, _ = trained_probe
    names = optimizer_param_names(runner)
    head = {'decode_head.' + name for name, _ in runner.model.decode_head.named_parameters()}

    assert head == {'decode_head.conv_seg.weight', 'decode_head.conv_seg.bias', 'decode_head.bn.weight',
                    'decode_head.bn.bias'}
    assert head <= names
    frozen = {'backbone.' + n for n, p in runner.model.backbone.named_parameters() if not p.requires_grad}
    assert frozen, 'the backbone has no frozen parameters'
    assert not names & frozen, f'frozen parameters in the optimizer: {sorted(names & frozen)}'


def test_linear_probe_optimizer_holds_head_only(trained_probe):
    runner, _, _ = trained_probe
    names = optimizer_param_names(runner)
    # RoPEViT's final norm is unused without final_norm and must not be here either.
    extra = sorted(n for n in names if not n.startswith('decode_head.'))
    assert not extra, f'optimizer holds non-head parameters {extra}'
    assert len(names) == 4
