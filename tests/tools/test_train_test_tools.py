"""tools/train.py and tools/test.py on a generated COCO-format dataset."""
import os
import pickle
import subprocess
import sys

import pytest

from ropevit_mm.demo import generate_shapes_dataset

from ..detection.helpers import ROOT, config_path

CONFIG = config_path('mask-rcnn_ropevit-tiny_sfp_demo_shapes.py')
FAST = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
        'model.backbone.arch.num_layers=1', 'train_dataloader.batch_size=2', 'val_dataloader.dataset.indices=2',
        'test_dataloader.dataset.indices=2', 'default_hooks.logger.interval=1']


@pytest.fixture(scope='module')
def shapes_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('shapes')
    generate_shapes_dataset(str(root), num_train=6, num_val=4, seed=1)
    return str(root)


@pytest.fixture(scope='module')
def trained(shapes_root, tmp_path_factory, tool_module):
    """A work dir after tools/train.py ran 2 iterations with --data-root."""
    work_dir = tmp_path_factory.mktemp('train')
    runner = tool_module('train').main([CONFIG, '--work-dir', str(work_dir), '--data-root', shapes_root, '--cfg-options', *FAST])
    return runner, work_dir


def test_train_writes_checkpoint_and_log(trained, shapes_root):
    runner, work_dir = trained
    assert runner.iter == 2
    assert (work_dir / 'iter_2.pth').is_file()
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    logs = list(work_dir.glob('*/*.log'))
    assert logs and 'Iter(train) [2/2]' in logs[0].read_text()
    assert runner.cfg.train_dataloader.dataset.data_root.startswith(shapes_root)


def test_resume_continues_schedule(trained, shapes_root, tool):
    _, work_dir = trained
    fast = [option.replace('max_iters=2', 'max_iters=4') for option in FAST]
    runner = tool('train').main([CONFIG, '--work-dir', str(work_dir), '--data-root', shapes_root, '--resume',
                                 '--cfg-options', *fast])
    assert runner.iter == 4
    assert (work_dir / 'iter_4.pth').is_file()


def test_test_tool_writes_results_and_drawings(trained, shapes_root, tmp_path):
    """Runs tools/test.py in its own process, as a user would, so no visualizer of another test is reused."""
    _, work_dir = trained
    out = tmp_path / 'results.pkl'
    show_dir = 'drawn'
    checkpoint = (work_dir / 'last_checkpoint').read_text().strip()
    command = [sys.executable, os.path.join(ROOT, 'tools', 'test.py'), CONFIG, checkpoint, '--work-dir', str(tmp_path),
               '--data-root', shapes_root, '--out', str(out), '--show-dir', show_dir, '--cfg-options', *FAST]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert 'coco/bbox_mAP' in result.stdout + result.stderr
    with open(out, 'rb') as handle:
        results = pickle.load(handle)  # written by mmdet's DumpDetResults in this test
    assert len(results) == 2
    assert 'pred_instances' in results[0]
    drawn = list(tmp_path.glob(f'*/{show_dir}/*.jpg'))
    assert len(drawn) == 2


def test_config_without_import_names_missing_line(tmp_path, tool):
    config = tmp_path / 'no_import.py'
    config.write_text(f"_base_ = ['{CONFIG}']\ncustom_imports = dict(imports=[], allow_failed_imports=False)\n")
    with pytest.raises(KeyError, match=r"custom_imports = dict\(imports=\['ropevit_mm'\]"):
        tool('train').main([str(config), '--work-dir', str(tmp_path)])


def test_missing_data_root_rejected(tmp_path, tool):
    with pytest.raises(FileNotFoundError, match='--data-root .*nowhere is not a folder'):
        tool('train').main([CONFIG, '--work-dir', str(tmp_path), '--data-root', str(tmp_path / 'nowhere')])


def test_missing_checkpoint_rejected(tmp_path, tool):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        tool('test').main([CONFIG, str(tmp_path / 'missing.pth'), '--work-dir', str(tmp_path)])
