"""``tools/train.py --resume`` without a path skips unreadable checkpoints."""
import pytest

from ropevit_mm.checkpoint import CheckpointError, find_resumable_checkpoint

from ..tiny_training import collect_log_messages
from .helpers import dump_config, tiny_detection_config, tiny_runner
from .test_crash_resume import shapes_root  # noqa: F401  (fixture)


def test_truncated_last_checkpoint_skipped(shapes_root, tmp_path, tool):  # noqa: F811
    work_dir = tmp_path / 'work'
    config = dump_config(tiny_detection_config(work_dir, shapes_root, max_iters=4), tmp_path / 'tiny.py')
    tool('train').main([config, '--work-dir', str(work_dir)])
    last = work_dir / 'iter_4.pth'
    data = last.read_bytes()
    last.write_bytes(data[:len(data) // 3])

    with collect_log_messages() as mm_log_messages:
        runner = tool('train').main([config, '--work-dir', str(work_dir), '--resume',
                                     '--cfg-options', 'train_cfg.max_iters=6'])
    assert runner.iter == 6
    skip_messages = [message for message in mm_log_messages if f'Skipped {last} for resuming' in message]
    assert skip_messages
    assert 'not a readable checkpoint' in skip_messages[0]
    assert any(f'Resuming from {work_dir / "iter_2.pth"}' in message for message in mm_log_messages)
    assert (work_dir / 'last_checkpoint').read_text() == str(work_dir / 'iter_6.pth')


def test_unreadable_pointer_target_and_newer_file(tmp_path):
    tiny_runner(tmp_path, max_iters=6).train()
    (tmp_path / 'iter_6.pth').write_bytes(b'')
    (tmp_path / 'iter_4.pth').write_bytes(b'\xff\xd8\xff\xe0 a JPEG, not a checkpoint')
    with collect_log_messages() as mm_log_messages:
        assert find_resumable_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')
    skipped = [message for message in mm_log_messages if message.startswith('Skipped')]
    assert len(skipped) == 2
    assert 'iter_6.pth' in skipped[0]
    assert 'iter_4.pth' in skipped[1]


def test_no_readable_checkpoint_raises(tmp_path):
    (tmp_path / 'iter_2.pth').write_bytes(b'truncated')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    with pytest.raises(CheckpointError, match='No readable checkpoint .*iter_2.pth'):
        find_resumable_checkpoint(str(tmp_path))


def test_empty_work_dir_starts_fresh(tmp_path):
    assert find_resumable_checkpoint(str(tmp_path)) is None
