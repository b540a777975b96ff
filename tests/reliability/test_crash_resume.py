"""A training run killed with SIGKILL and resumed ends with the uninterrupted run's weights."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from ropevit_mm.checkpoint import load_weights_only
from ropevit_mm.demo import generate_shapes_dataset

from .helpers import TRAIN_SCRIPT, dump_config, tiny_detection_config

MAX_ITERS = 8  # 8 batches of 2 cover the 16 training images once
KILL_AFTER = 'iter_4.pth'


@pytest.fixture(scope='module')
def shapes_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('shapes')
    generate_shapes_dataset(str(root), num_train=16, num_val=2, seed=0)
    return str(root)


def single_thread_env():
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONHASHSEED='0')
    env.pop('CUDA_VISIBLE_DEVICES', None)
    return env


def start_training(config, work_dir, *extra):
    log = open(os.path.join(str(work_dir) + '.log'), 'w')
    return subprocess.Popen([sys.executable, TRAIN_SCRIPT, config, '--work-dir', str(work_dir), *extra],
                            stdout=log, stderr=subprocess.STDOUT, env=single_thread_env())


def read_pointer(work_dir):
    try:
        with open(os.path.join(work_dir, 'last_checkpoint')) as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return ''


def assert_same_tensors(expected, actual, what):
    assert expected.keys() == actual.keys(), what
    for key, value in expected.items():
        assert torch.equal(value, actual[key]), f'{what}: {key} differs'


def test_sigkill_then_resume_matches_uninterrupted(shapes_root, tmp_path):
    cfg = tiny_detection_config(tmp_path / 'unused', shapes_root, MAX_ITERS, interval=2)
    config = dump_config(cfg, tmp_path / 'tiny_shapes.py')
    reference_dir = tmp_path / 'reference'
    crashed_dir = tmp_path / 'crashed'

    reference = start_training(config, reference_dir)
    victim = start_training(config, crashed_dir)
    deadline = time.monotonic() + 240
    while not read_pointer(str(crashed_dir)).endswith(KILL_AFTER):
        assert victim.poll() is None, f'training exited with {victim.returncode} before writing {KILL_AFTER}'
        assert time.monotonic() < deadline, f'no {KILL_AFTER} after 240 s'
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL
    assert not (crashed_dir / f'iter_{MAX_ITERS}.pth').exists(), 'the run finished before it was killed'
    assert reference.wait(timeout=300) == 0, (tmp_path / 'reference.log').read_text()[-3000:]

    resumed = start_training(config, crashed_dir, '--resume')
    assert resumed.wait(timeout=300) == 0, (tmp_path / 'crashed.log').read_text()[-3000:]
    log = (tmp_path / 'crashed.log').read_text()
    assert 'Advance dataloader' in log
    assert not [name for name in os.listdir(crashed_dir) if name.endswith('.partial')]

    expected = load_weights_only(reference_dir / f'iter_{MAX_ITERS}.pth')
    actual = load_weights_only(crashed_dir / f'iter_{MAX_ITERS}.pth')
    assert actual['meta']['iter'] == MAX_ITERS
    assert_same_tensors(expected['state_dict'], actual['state_dict'], 'weights')
    for param_id, state in expected['optimizer']['state'].items():
        assert_same_tensors(state, actual['optimizer']['state'][param_id], f'optimizer state {param_id}')
    expected_losses = expected['message_hub']['log_scalars']['train/loss']
    actual_losses = actual['message_hub']['log_scalars']['train/loss']
    assert list(actual_losses.data[0]) == list(expected_losses.data[0])
