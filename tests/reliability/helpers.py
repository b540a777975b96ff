"""Small detection configs and runners for reliability tests."""
import contextlib
import logging
import itertools
import os

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from ropevit_mm.models.backbones import RoPEViT

from ..detection.helpers import cpu_schedule, load_detection_config, set_image_size, shrink_backbone

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




class TinyClassifier(BaseModel):
    """A 2-block RoPEViT with a linear head and dropout, so training draws random numbers."""

    def __init__(self):
        super().__init__()
        self.backbone = RoPEViT(arch=dict(patch_size=14, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64))
        self.dropout = torch.nn.Dropout(0.5)
        self.head = torch.nn.Linear(32, 3)

    def forward(self, inputs, labels, mode='tensor'):
        logits = self.head(self.dropout(self.backbone(inputs)[0].mean((2, 3))))
        if mode == 'loss':
            return {'loss': torch.nn.functional.cross_entropy(logits, labels)}
        return logits


class RandomImages(Dataset):
    """Eight fixed 28x28 images with labels."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        generator = torch.Generator().manual_seed(index)
        return dict(inputs=torch.randn(3, 28, 28, generator=generator), labels=torch.tensor(index % 3))


def tiny_runner(work_dir, max_iters, max_keep_ckpts=-1, **kwargs) -> Runner:
    """A Runner that trains ``TinyClassifier`` with a checkpoint every 2 iterations."""
    torch.manual_seed(0)  # the model is built before the Runner seeds the RNGs
    return Runner(
        model=TinyClassifier(),
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


@contextlib.contextmanager
def current_log_messages():
    """Collect the messages of mmengine's current logger, as it is when the block starts."""
    messages = []

    class Collector(logging.Handler):

        def emit(self, record):
            messages.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler = Collector(level=logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
