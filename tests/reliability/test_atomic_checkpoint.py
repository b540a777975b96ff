"""Checkpoint writes that die halfway never replace or delete the previous checkpoint."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.fileio import LocalBackend
from mmengine.registry import HOOKS

from ropevit_mm.checkpoint import find_resumable_checkpoint, load_weights_only
from ropevit_mm.engine.checkpoint_hook import ResumableCheckpointHook

from .helpers import tiny_runner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG_DIR = os.path.join(ROOT, 'configs')


def pointer(work_dir):
    return (work_dir / 'last_checkpoint').read_text()


def test_configs_use_resumable_checkpoint_hook():
    from mmengine.config import Config
    assert HOOKS.get('ResumableCheckpointHook') is ResumableCheckpointHook
    for name in ('mask-rcnn_ropevit-reg4-b14_sfp_lsj-100e_coco.py', 'cascade-mask-rcnn_ropevit-reg4-b14_sfp_lsj-100e_coco.py',
                 'mask-rcnn_ropevit-tiny_sfp_demo_shapes.py', 'upernet_ropevit-reg4-b14_sfp_8xb2-160k_ade20k-504x504.py',
                 'linear_ropevit-reg4-b14-frozen_8xb2-40k_ade20k-504x504.py'):
        cfg = Config.fromfile(os.path.join(CONFIG_DIR, name))
        assert cfg.default_hooks.checkpoint.type == 'ResumableCheckpointHook', name


def test_write_error_keeps_previous_checkpoint(tmp_path, monkeypatch):
    """torch.save output that fails halfway through the write leaves iter_2 and its pointer."""
    runner = tiny_runner(tmp_path, max_iters=4, max_keep_ckpts=1)
    original_put = LocalBackend.put

    def put_half_then_fail(self, obj, filepath):
        if 'iter_4' in str(filepath):
            with open(filepath, 'wb') as handle:
                handle.write(obj[:len(obj) // 2])
            raise OSError(28, 'No space left on device')
        return original_put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', put_half_then_fail)
    with pytest.raises(OSError, match='No space left'):
        runner.train()

    assert not [name for name in os.listdir(tmp_path) if name.endswith('.partial')]
    assert not (tmp_path / 'iter_4.pth').exists()
    assert (tmp_path / 'iter_2.pth').is_file(), 'max_keep_ckpts=1 deleted the previous checkpoint first'
    assert pointer(tmp_path) == str(tmp_path / 'iter_2.pth')
    assert load_weights_only(tmp_path / 'iter_2.pth')['meta']['iter'] == 2


def test_max_keep_ckpts_deletes_after_write(tmp_path):
    tiny_runner(tmp_path, max_iters=6, max_keep_ckpts=2).train()
    names = sorted(name for name in os.listdir(tmp_path) if name.endswith('.pth'))
    assert names == ['iter_4.pth', 'iter_6.pth']
    assert pointer(tmp_path) == str(tmp_path / 'iter_6.pth')
    assert 'rng_state' in load_weights_only(tmp_path / 'iter_6.pth')


KILL_DURING_WRITE = textwrap.dedent('''
    import os, signal, sys
    sys.path.insert(0, {root!r})
    import ropevit_mm
    from mmengine.fileio import LocalBackend
    from tests.reliability.helpers import tiny_runner

    original_put = LocalBackend.put

    def put_half_then_die(self, obj, filepath):
        if 'iter_4' in str(filepath):
            with open(filepath, 'wb') as handle:
                handle.write(obj[:len(obj) // 2])
                handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return original_put(self, obj, filepath)

    LocalBackend.put = put_half_then_die
    tiny_runner({work_dir!r}, max_iters=4, max_keep_ckpts=1).train()
''')


def test_sigkill_during_write_keeps_previous_checkpoint(tmp_path):
    work_dir = tmp_path / 'work'
    script = tmp_path / 'train_and_die.py'
    script.write_text(KILL_DURING_WRITE.format(root=ROOT, work_dir=str(work_dir)))
    env = dict(os.environ, OMP_NUM_THREADS='1')
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]

    assert (work_dir / '.iter_4.pth.partial').is_file(), 'the write was not interrupted'
    assert not (work_dir / 'iter_4.pth').exists()
    assert pointer(work_dir) == str(work_dir / 'iter_2.pth')
    assert find_resumable_checkpoint(str(work_dir)) == str(work_dir / 'iter_2.pth')

    runner = tiny_runner(work_dir, max_iters=6, max_keep_ckpts=1, resume=True)
    runner.train()
    assert runner.iter == 6
    assert not (work_dir / '.iter_4.pth.partial').exists()
    assert sorted(name for name in os.listdir(work_dir) if name.endswith('.pth')) == ['iter_6.pth']


def test_resume_without_rng_state_differs(tmp_path):
    """The saved RNG states are what make a resumed run identical (dropout draws differ otherwise)."""
    tiny_runner(tmp_path / 'reference', max_iters=4).train()
    expected = load_weights_only(tmp_path / 'reference' / 'iter_4.pth')['state_dict']

    for name, keep_rng_state in (('exact', True), ('reseeded', False)):
        work_dir = tmp_path / name
        tiny_runner(work_dir, max_iters=2).train()
        if not keep_rng_state:
            checkpoint = load_weights_only(work_dir / 'iter_2.pth')
            del checkpoint['rng_state']
            torch.save(checkpoint, work_dir / 'iter_2.pth')
        tiny_runner(work_dir, max_iters=4, resume=True).train()
        actual = load_weights_only(work_dir / 'iter_4.pth')['state_dict']
        same = all(torch.equal(expected[key], actual[key]) for key in expected)
        assert same == keep_rng_state, name
