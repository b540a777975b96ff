"""A tiny classifier, its data and a log collector, shared by the Runner tests."""
import contextlib
import logging

import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from ropevit_mm.models.backbones import RoPEViT


class TinyClassifier(BaseModel):
    """A 2-block RoPEViT with a linear head, optionally with dropout so training draws random numbers."""

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.backbone = RoPEViT(arch=dict(patch_size=14, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64))
        self.dropout = torch.nn.Dropout(dropout) if dropout else torch.nn.Identity()
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


@contextlib.contextmanager
def collect_log_messages():
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
