"""The set-up step is idempotent: a second run installs nothing."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, '.venv')


@pytest.mark.skipif(os.path.realpath(sys.prefix) != os.path.realpath(VENV),
                    reason='runs only inside the project venv that `make test` creates')
def test_second_setup_installs_nothing():
    result = subprocess.run(['bash', os.path.join(ROOT, 'tools', 'setup_env.sh')], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env=dict(os.environ, ROPEVIT_VENV=VENV))
    assert result.returncode == 0, result.stderr
    assert 'nothing installed' in result.stdout
    assert 'installing' not in result.stdout


def test_mmcv_ops_compiled():
    ops = pytest.importorskip('mmcv.ops', reason='mmcv with compiled ops is installed by `make test`')
    import torch
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0]])
    keep = ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)[1]
    assert keep.tolist() == [0]
