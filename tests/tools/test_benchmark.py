"""Smoke test of tools/benchmark.py: a --quick run writes the JSON record and the page."""
import json

import pytest

pytest.importorskip('birder', reason='the benchmark compares against birder==0.8.4')

IMPLEMENTATIONS = ('ropevit_mm', 'birder')


@pytest.fixture(scope='module')
def quick_run(tmp_path_factory, tool_module):
    folder = tmp_path_factory.mktemp('benchmark')
    json_path = folder / 'benchmarks.json'
    markdown_path = folder / 'benchmarks.md'
    markdown_path.write_text('old page\n<!-- analysis:begin -->\nkept notes\n<!-- analysis:end -->\n')
    json_path.write_text(json.dumps({'other_device': {'kept': True}}))
    # One quick run serves every test of this module.
    benchmark = tool_module('benchmark')
    benchmark.main(['--quick', '--arch', 'rope_vit_t16', '--json', str(json_path), '--markdown', str(markdown_path)])
    return json.loads(json_path.read_text()), markdown_path.read_text()


def test_json_has_machine_and_command(quick_run):
    data, _ = quick_run
    record = data['cpu']
    assert record['quick'] is True
    assert record['command'].startswith('python tools/benchmark.py --quick')
    for key in ('date', 'cpu_model', 'cpu_count', 'torch', 'birder', 'torch_threads'):
        assert key in record['machine'], key


def test_json_keeps_other_device_entry(quick_run):
    data, _ = quick_run
    assert data['other_device'] == {'kept': True}
    assert 'cuda' not in data


def test_inference_cases_have_both_implementations(quick_run):
    data, _ = quick_run
    result = data['cpu']['result']
    cases = [(case['size'], case['batch']) for case in result['inference']]
    # Sizes are rounded up to the patch size of rope_vit_t16 (16).
    assert cases == [(32, 1), (48, 2)]
    for case in result['inference']:
        assert case['runs'] == 2
        assert case['gflops_per_run'] > 0
        for name in IMPLEMENTATIONS:
            entry = case[name]
            assert len(entry['times_s']) == 2
            assert entry['images_per_s'] > 0
            assert entry['peak_allocated_mib'] > 0
            assert 0 < entry['matmul_fraction']
        ratio = case['speed_ratio']
        assert ratio['min'] <= ratio['median'] <= ratio['max']


def test_training_cases_cover_checkpointing(quick_run):
    data, _ = quick_run
    training = data['cpu']['result']['training']
    assert [case['with_cp'] for case in training] == [False, True]
    for case in training:
        assert case['size'] == 48
        for name in IMPLEMENTATIONS:
            assert case[name]['images_per_s'] > 0


def test_prep_costs_and_targets_recorded(quick_run):
    data, _ = quick_run
    result = data['cpu']['result']
    assert result['matmul']['gflops_per_s'] > 0
    assert [entry['size'] for entry in result['prep']] == [32, 48]
    for entry in result['prep']:
        assert entry['ropevit_mm_reuses_cached_tables'] is True
        assert entry['birder_per_forward_ms'] > 0
    targets = result['targets']
    for key in ('speed_met', 'matmul_fraction_met', 'memory_met', 'grid_tables_cached'):
        assert isinstance(targets[key], bool), key


def test_markdown_has_tables_and_keeps_analysis(quick_run):
    _, page = quick_run
    assert page.startswith('# Benchmarks')
    assert '`python tools/benchmark.py --quick' in page
    assert '| 32x32 | 1 |' in page
    assert '| 48x48 | 2 |' in page
    assert '### Training step' in page
    assert '### RoPE and position-embedding preparation per forward' in page
    assert '### Targets' in page
    assert 'kept notes' in page
    assert 'old page' not in page


def test_markdown_says_gpu_not_measured(quick_run):
    _, page = quick_run
    assert '## CUDA, bfloat16 autocast' in page
    assert 'Not measured yet' in page
    assert 'python tools/benchmark.py --device cuda --size 896' in page


def test_attention_mode_measures_kernel(tool, tmp_path):
    """--attention times SDPA alone and writes no page."""
    page = tmp_path / 'page.md'
    result = tool('benchmark').main(['--attention', '64', '--runs', '2', '--matmul-size', '128',
                                     '--json', str(tmp_path / 'record.json'), '--markdown', str(page)])
    assert result['tokens'] == 64
    assert result['heads'] == 12
    assert result['head_dim'] == 64
    assert result['gflop'] == pytest.approx(4 * 64 * 64 * 12 * 64 / 1e9)
    assert result['gflops'] > 0
    assert result['fraction_of_matmul'] > 0
    assert not page.exists()


def test_quick_run_does_not_judge_targets(quick_run):
    _, page = quick_run
    targets = page.split('### Targets', 1)[1].split('##', 1)[0]
    assert 'not judged (--quick run)' in targets
    assert '| met |' not in targets
