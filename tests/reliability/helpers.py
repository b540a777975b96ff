"""Small detection configs and runners for reliability tests."""
import itertools
import os

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from ..detection.helpers import cpu_schedule, load_detection_config, set_image_size, shrink_backbone
from ..tiny_training import RandomImages, TinyClassifier

# Runners created within one second share mmengine's logger and message hub
# (both are named after the timestamp) unless experiment names differ.
_RUN_NUMBERS = itertools.count()
SHAPES_CONFIG = 'mask-rcnn_ropevit-tiny_sfp_demo_shapes.py'
TRAIN_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                            'tools', 'train.py')


def tiny_detection_config(work_dir, data_root, max_iters, interval=2, size=112, batch_size=2, seed=0) -> Config:
    """The shapes demo config with a 2-block width-32 backbone, 112 px images and no validation."""
    cfg = load_detection_config(SHAPES_CONFIG)
    shrink_backbone(cfg)
    cpu_schedule(cfg, work_dir, max_iters, data_root=data_root)
    set_image_size(cfg, size)
    cfg.train_dataloader.batch_size = batch_size
    cfg.default_hooks.checkpoint.interval = interval
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=seed, deterministic=True)
    cfg.experiment_name = unique_experiment_name()
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    return cfg


def unique_experiment_name() -> str:
    return f'reliability-{os.getpid()}-{next(_RUN_NUMBERS)}'


def dump_config(cfg: Config, path) -> str:
    cfg.dump(str(path))
    return str(path)




def tiny_runner(work_dir, max_iters, max_keep_ckpts=-1, **kwargs) -> Runner:
    """A Runner that trains ``TinyClassifier`` with a checkpoint every 2 iterations."""
    torch.manual_seed(0)  # the model is built before the Runner seeds the RNGs
    return Runner(
        model=TinyClassifier(dropout=0.5),
        work_dir=str(work_dir),
        train_dataloader=dict(dataset=RandomImages(), sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
                              batch_size=2, num_workers=0, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='ResumableCheckpointHook', interval=2, by_epoch=False,
                                           max_keep_ckpts=max_keep_ckpts)),
        randomness=dict(seed=0, deterministic=True),
        experiment_name=unique_experiment_name(),
        **kwargs)
