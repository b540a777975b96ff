"""Run by torchrun in the distributed test: train through tools/train.py, then save this rank's weights."""
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
sys.path.insert(0, ROOT)

import train  # noqa: E402

runner = train.main(sys.argv[1:])
model = runner.model.module if hasattr(runner.model, 'module') else runner.model
rank = int(os.environ['RANK'])
torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()},
           os.path.join(runner.work_dir, f'rank{rank}_weights.pth'))
