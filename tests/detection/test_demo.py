"""The main job learns: a short `tools/demo.py` run detects the generated shapes."""

DEMO_ITERS = 120
# Measured with `tools/demo.py --max-iters 120` on the 2-core CPU: bbox AP50
# 0.585 and segm AP50 0.741 on the generated val split (0.0 untrained).
DEMO_BBOX_AP50_FLOOR = 0.3


def test_demo_learns_shapes(tool, tmp_path, capsys):
    """tools/demo.py on its generated shapes: a short run already detects them."""
    metrics = tool('demo').main(['--work-dir', str(tmp_path), '--max-iters', str(DEMO_ITERS)])
    out = capsys.readouterr().out
    assert 'Metrics on val2017 (generated)' in out
    print(f"demo after {DEMO_ITERS} iterations: bbox AP50 {metrics['coco/bbox_mAP_50']:.3f}, "
          f"segm AP50 {metrics['coco/segm_mAP_50']:.3f}")
    assert metrics['coco/bbox_mAP_50'] >= DEMO_BBOX_AP50_FLOOR
