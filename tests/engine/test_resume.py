"""Resume and load_from through mmengine's Runner under torch's weights-only loading."""
import collections
import os

import pytest
import torch
from mmengine.runner import Runner

import ropevit_mm  # noqa: F401  (allowlists mmengine's checkpoint objects)
from ropevit_mm.checkpoint import CheckpointError, load_weights_only

from ..tiny_training import RandomImages, TinyClassifier


def make_runner(work_dir, max_iters, **kwargs):
    return Runner(
        model=TinyClassifier(),
        work_dir=str(work_dir),
        train_dataloader=dict(dataset=RandomImages(), sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
                              batch_size=2, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        param_scheduler=dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=4),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False)),
        randomness=dict(seed=0),
        **kwargs)


def test_resume_restores_iteration_optimizer_and_message_hub(tmp_path):
    first = make_runner(tmp_path, max_iters=2)
    first.train()
    checkpoint = tmp_path / 'iter_2.pth'
    assert checkpoint.is_file()
    saved = load_weights_only(checkpoint)
    assert saved['meta']['iter'] == 2

    second = make_runner(tmp_path, max_iters=4, resume=True)
    second.train()
    assert second.iter == 4
    # The resumed optimizer continued from the saved Adam state.
    state = second.optim_wrapper.optimizer.state_dict()['state']
    assert all(int(entry['step']) == 4 for entry in state.values())
    history = second.message_hub.get_scalar('train/loss')
    assert len(history.data[0]) == 4  # two losses from before the resume, two after
    final = load_weights_only(tmp_path / 'iter_4.pth')
    assert final['meta']['iter'] == 4


def test_load_from_reads_weights_only(tmp_path):
    make_runner(tmp_path / 'a', max_iters=2).train()
    runner = make_runner(tmp_path / 'b', max_iters=2, load_from=str(tmp_path / 'a' / 'iter_2.pth'))
    runner.train()
    assert runner.iter == 2


def test_disallowed_class_rejected(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': {'extra': collections.deque([1, 2])}}, path)
    runner = make_runner(tmp_path / 'work', max_iters=2)
    with pytest.raises(CheckpointError, match='evil.pth is not a readable checkpoint.*allowlist'):
        runner.load_checkpoint(str(path))


def test_code_execution_payload_rejected(tmp_path):
    """A pickle whose loading would create a file is rejected before running."""
    marker = tmp_path / 'pwned'

    class Payload:

        def __reduce__(self):
            return (open, (str(marker), 'w'))

    path = tmp_path / 'payload.pth'
    torch.save({'state_dict': {}, 'x': Payload()}, path)
    with pytest.raises(CheckpointError, match='allowlist'):
        load_weights_only(path)
    assert not marker.exists()
    assert not os.path.exists(marker)
