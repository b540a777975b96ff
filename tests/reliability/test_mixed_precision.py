"""Two training iterations under mixed precision stay finite."""
import math

import pytest
import torch
from mmengine.runner import Runner

from ..tiny_training import RandomImages, TinyClassifier
from .helpers import tiny_detection_config, unique_experiment_name
from .test_crash_resume import shapes_root  # noqa: F401  (fixture)


def classifier_runner(work_dir, dtype):
    return Runner(
        model=TinyClassifier(dropout=0.5),
        work_dir=str(work_dir),
        train_dataloader=dict(dataset=RandomImages(), sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
                              batch_size=2, num_workers=0, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(type='AnyDeviceAmpOptimWrapper', dtype=dtype, optimizer=dict(type='AdamW', lr=1e-3)),
        train_cfg=dict(by_epoch=False, max_iters=2),
        default_hooks=dict(checkpoint=dict(type='ResumableCheckpointHook', interval=2, by_epoch=False)),
        randomness=dict(seed=0),
        experiment_name=unique_experiment_name())


def check_finite_training(runner, dtype):
    linear_dtypes = []
    qkv = runner.model.backbone.encoder.block[0].attn.qkv
    qkv.register_forward_hook(lambda module, args, output: linear_dtypes.append(output.dtype))
    runner.train()
    assert linear_dtypes == [dtype, dtype]
    losses = runner.message_hub.log_scalars['train/loss'].data[0]
    assert len(losses) == 2
    assert all(math.isfinite(value) for value in losses), losses
    for name, parameter in runner.model.named_parameters():
        assert torch.isfinite(parameter).all(), name
        if parameter.grad is not None:
            assert torch.isfinite(parameter.grad).all(), name


@pytest.mark.skipif(torch.cuda.is_available(), reason='covers the CPU path; on CUDA the Runner trains on the GPU')
def test_bfloat16_amp_on_cpu(tmp_path):
    """AnyDeviceAmpOptimWrapper trains in bfloat16 where mmengine's AmpOptimWrapper refuses to build."""
    check_finite_training(classifier_runner(tmp_path, 'bfloat16'), torch.bfloat16)


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU-only path')
def test_float16_on_cpu_rejected(tmp_path):
    with pytest.raises(ValueError, match='supports bfloat16 only'):
        classifier_runner(tmp_path, 'float16').build_optim_wrapper(
            dict(type='AnyDeviceAmpOptimWrapper', dtype='float16', optimizer=dict(type='SGD', lr=0.1)))


# NOTE: mmcv 2.1.0's CPU kernels for NMS and RoIAlign have no bfloat16 path,
# so a detector's RPN fails under CPU autocast; GPU kernels are not affected.
@pytest.mark.xfail(not torch.cuda.is_available(), raises=RuntimeError, strict=True,
                   reason='mmcv 2.1.0 CPU NMS rejects bfloat16 boxes')
def test_detector_bfloat16_amp_on_cpu(shapes_root, tmp_path):  # noqa: F811
    cfg = tiny_detection_config(tmp_path, shapes_root, max_iters=2, interval=2)
    cfg.optim_wrapper.type = 'AnyDeviceAmpOptimWrapper'
    Runner.from_cfg(cfg).train()


@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason='float16 AMP needs a CUDA GPU: CPU autocast has no float16 path with loss scaling')
def test_float16_amp_on_cuda(shapes_root, tmp_path):  # noqa: F811
    cfg = tiny_detection_config(tmp_path, shapes_root, max_iters=2, interval=2)
    cfg.optim_wrapper.type = 'AnyDeviceAmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert all(math.isfinite(v) for v in runner.message_hub.log_scalars['train/loss'].data[0])
