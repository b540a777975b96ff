"""MMDetection and MMSegmentation models built and run in one process, in either order."""
import os.path as osp
import subprocess
import sys

import pytest

from .conftest import REPO_ROOT

SCRIPT = osp.join(osp.dirname(osp.abspath(__file__)), 'mixed_scopes_check.py')


@pytest.mark.parametrize('order', ['det-first', 'seg-first'])
def test_det_and_seg_in_one_process(order, tmp_path):
    # A fresh interpreter per order, because registries keep what earlier builds imported.
    result = subprocess.run([sys.executable, SCRIPT, order, str(tmp_path)], capture_output=True, text=True,
                            cwd=REPO_ROOT, timeout=300)
    assert result.returncode == 0, f'{order} failed:\n{result.stderr[-4000:]}'
    assert result.stdout.strip().endswith('OK')
