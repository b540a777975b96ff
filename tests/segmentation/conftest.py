"""Fixtures for the segmentation tests: converted COCO label maps and tiny configs."""
import os.path as osp

import pytest
import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs')
TEST_CONFIG_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'configs')
CONVERTER_PATH = osp.join(REPO_ROOT, 'tools', 'coco_to_semantic.py')


@pytest.fixture(scope='session')
def converter(tool_module):
    """The script tools/coco_to_semantic.py, imported as a module."""
    return tool_module('coco_to_semantic')


@pytest.fixture(scope='session')
def coco_semantic_root(tiny_coco_root, tmp_path_factory, converter):
    """Label maps of the real tiny COCO subset, converted once per session."""
    out_dir = tmp_path_factory.mktemp('coco_semantic')
    converter.convert(tiny_coco_root, str(out_dir), split='train2017')
    return str(out_dir)


@pytest.fixture
def single_thread():
    """Run torch on one thread for the test.

    Several test processes share two cores, and two OpenMP threads competing
    with them made a training iteration several times slower than one thread.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def tiny_config(name: str, tiny_coco_root: str, coco_semantic_root: str, work_dir: str):
    """Load a test config and point its datasets at the converted tiny COCO subset."""
    from mmengine.config import Config

    cfg = Config.fromfile(osp.join(TEST_CONFIG_DIR, name))
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = coco_semantic_root
        loader.dataset.data_prefix.img_path = osp.join(tiny_coco_root, 'train2017')
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg
