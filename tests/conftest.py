"""Shared fixtures: real data locations and reference-implementation helpers."""
import os

import pytest
import torch

TINY_COCO_ENV = 'ROPEVIT_TINY_COCO'


@pytest.fixture(scope='session')
def tiny_coco_root():
    """Root of a small real COCO subset (``annotations/`` and ``train2017/``)."""
    root = os.environ.get(TINY_COCO_ENV)
    if not root:
        pytest.skip(f'set {TINY_COCO_ENV} to a COCO-layout folder (annotations/instances_train2017.json '
                    f'and train2017/) to run tests on real images; .ci/run sets it')
    if not os.path.isfile(os.path.join(root, 'annotations', 'instances_train2017.json')):
        pytest.fail(f'{TINY_COCO_ENV}={root} has no annotations/instances_train2017.json')
    return os.path.abspath(root)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def mm_log_messages():
    """List that receives every message of mmengine's current logger during the test."""
    from .tiny_training import collect_log_messages

    with collect_log_messages() as messages:
        yield messages


def load_tool(name):
    """Import tools/NAME.py as a module."""
    import importlib.util

    tools_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tools')
    spec = importlib.util.spec_from_file_location(f'tool_{name}', os.path.join(tools_dir, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tool():
    """``tool('demo').main([...])`` runs tools/demo.py in this process."""
    return load_tool


@pytest.fixture(scope='session')
def tool_module():
    """Session-scoped ``tool``, for module- and session-scoped fixtures."""
    return load_tool
