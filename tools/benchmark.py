"""Benchmark ropevit_mm's RoPEViT against Birder's rope_vit on the same weights.

One process measures both implementations with runs that alternate
(ropevit_mm, Birder, ropevit_mm, Birder, ...), so that load from other
processes hits both alike. Each case reports medians, images per second and
the per-pair speed ratio (Birder time / ropevit_mm time, above 1 means
ropevit_mm is faster) with its minimum and maximum.

CPU mode (float32) measures:

* inference (``torch.inference_mode``, ``detection_features``) per
  ``--sizes`` case, with the peak of the torch CPU allocator during one
  steady-state forward;
* a training step (forward and backward, activation checkpointing off and
  on) at ``--train-size``;
* the float32 throughput of a large ``torch.matmul`` in the same run, and
  each model's achieved GFLOP/s as a fraction of it;
* the RoPE and position-embedding preparation that each forward performs.

CUDA mode (bfloat16 autocast, fused SDPA kernels only) measures inference
and training steps at ``--size`` with ``--batch`` images, peak memory from
``torch.cuda.max_memory_allocated`` and, given ``--peak-tflops``, the model
FLOP utilization.

FLOPs count a multiply-add as 2 and include only the matmuls: the patch
embedding convolution ``2 * h * w * C_in * p^2 * D`` and per block
``2 * N * D * (3D + D + 2 * mlp_dim)`` for the qkv, projection and MLP
linears plus ``4 * N^2 * D`` for ``q @ k^T`` and ``attn @ v``, where
``N = h * w + special tokens``. A training step counts 3 forwards (backward
is twice the forward) whether or not activations are recomputed.

Results go to a JSON record (one entry per device, other entries kept) and
to a Markdown page rendered from it. Text between
``<!-- analysis:begin -->`` and ``<!-- analysis:end -->`` in an existing
page is kept.

Example::

    python tools/benchmark.py                       # full CPU run
    python tools/benchmark.py --quick               # tiny smoke run
    python tools/benchmark.py --render-only         # rewrite the page from the JSON
    python tools/benchmark.py --attention 5481      # the CPU attention kernel alone, at 1036 px
    python tools/benchmark.py --device cuda --size 896 --peak-tflops 989
"""
import argparse
import datetime
import json
import math
import os
import platform
import shlex
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

OURS = 'ropevit_mm'
BIRDER = 'birder'
ANALYSIS_BEGIN = '<!-- analysis:begin -->'
ANALYSIS_END = '<!-- analysis:end -->'
SPEED_TARGET = 1.05
MATMUL_FRACTION_TARGET = 0.85
MAX_RUNS = 50

DEFAULT_SIZES = ('224:1', '224:4', '518:1', '1036:1')


# ---------------------------------------------------------------- arguments

def parse_case(text: str) -> Tuple[int, int]:
    """Parse ``SIZE`` or ``SIZE:BATCH`` into (size, batch); the batch defaults to 1."""
    size_text, _, batch_text = text.partition(':')
    try:
        size = int(size_text)
        batch = int(batch_text) if batch_text else 1
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid case {text!r}; expected SIZE or SIZE:BATCH, e.g. 224:4')
    if size < 1 or batch < 1:
        raise argparse.ArgumentTypeError(f'invalid case {text!r}; size and batch must be positive')
    return size, batch


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--arch', default='rope_vit_reg4_b14', help='Birder network name (default: %(default)s)')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu', help='device to measure')
    parser.add_argument('--sizes', nargs='+', type=parse_case, default=None, metavar='SIZE[:BATCH]',
                        help='CPU inference cases, square inputs in pixels with a batch size '
                             f'(default: {" ".join(DEFAULT_SIZES)})')
    parser.add_argument('--train-size', type=int, default=None,
                        help='CPU training-step input size in pixels (default: 518)')
    parser.add_argument('--train-batch', type=int, default=1, help='CPU training-step batch size')
    parser.add_argument('--size', type=int, default=896,
                        help='CUDA input size in pixels, the detection LSJ crop (default: %(default)s)')
    parser.add_argument('--batch', type=int, default=2, help='CUDA batch size (default: %(default)s)')
    parser.add_argument('--peak-tflops', type=float, default=None,
                        help='CUDA peak bfloat16 dense TFLOP/s of the GPU, for model FLOP utilization')
    parser.add_argument('--runs', type=int, default=None, help='counted runs per implementation and case '
                        '(default: 5, --quick: 2)')
    parser.add_argument('--warmup', type=int, default=1, help='uncounted runs per implementation before '
                        'each case (default: %(default)s)')
    parser.add_argument('--min-seconds', type=float, default=None,
                        help='run more than --runs pairs when a case would otherwise take less than this many '
                             'seconds per implementation, up to 50 (default: 20, --quick: 0)')
    parser.add_argument('--matmul-size', type=int, default=None,
                        help='side of the square matmul that sets the reference throughput '
                             '(default: 4096 on CPU, 8192 on CUDA, 256 with --quick)')
    parser.add_argument('--no-train', action='store_true', help='skip the training-step measurements')
    parser.add_argument('--quick', action='store_true',
                        help='tiny run for smoke tests: cases 32:1 and 48:2 (rounded up to whole patches: 42 and '
                             '56 px for patch 14), training and CUDA at 48 and 64 px, 2 runs; the figures mean '
                             'nothing and the targets are not judged')
    parser.add_argument('--attention', type=int, default=None, metavar='TOKENS',
                        help='measure only the CPU attention kernel (SDPA) at this token count with the '
                             "arch's heads and head size, against the matmul reference; print, write nothing")
    parser.add_argument('--render-only', action='store_true',
                        help='measure nothing; rewrite the Markdown page from the existing JSON record')
    parser.add_argument('--seed', type=int, default=0, help='seed of the shared random weights')
    parser.add_argument('--json', default=os.path.join(REPO_ROOT, 'docs', 'benchmarks.json'),
                        help='JSON record to update (default: docs/benchmarks.json)')
    parser.add_argument('--markdown', default=os.path.join(REPO_ROOT, 'docs', 'benchmarks.md'),
                        help='Markdown page to write (default: docs/benchmarks.md)')
    args = parser.parse_args(argv)

    if args.runs is None:
        args.runs = 2 if args.quick else 5
    if args.min_seconds is None:
        args.min_seconds = 0.0 if args.quick else 20.0
    if args.runs < 1 or args.warmup < 0:
        parser.error(f'--runs must be at least 1 and --warmup at least 0, got {args.runs} and {args.warmup}')
    if args.sizes is None:
        args.sizes = [parse_case(case) for case in DEFAULT_SIZES]
    if args.train_size is None:
        args.train_size = 518
    if args.quick:
        # Token grids of 2x2 and 3x3 patches (after rounding up to the patch
        # size); --quick overrides --sizes and --train-size.
        args.sizes = [(32, 1), (48, 2)]
        args.train_size = 48
        if args.size == 896:
            args.size = 64
    if args.matmul_size is None:
        if args.quick:
            args.matmul_size = 256
        elif args.device == 'cuda':
            args.matmul_size = 8192
        else:
            args.matmul_size = 4096
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda was requested but torch.cuda.is_available() is False')
    return args


# ------------------------------------------------------------------- models

def build_models(arch: str, device: torch.device, seed: int) -> Tuple[torch.nn.Module, torch.nn.Module]:
    """Build Birder's network with random weights and load the same weights into RoPEViT.

    Drop path is off in both, so that training steps do the same work.
    """
    from birder.model_registry import registry

    from ropevit_mm.models.backbones import RoPEViT

    torch.manual_seed(seed)
    birder_net = registry.net_factory(arch, 0, size=(224, 224), config={'drop_path_rate': 0.0})
    birder_net.set_dynamic_size()
    ours = RoPEViT(arch=arch, drop_path_rate=0.0)
    state = {k: v for k, v in birder_net.state_dict().items() if not k.startswith(('rope', 'classifier'))}
    ours.load_state_dict(state)
    return ours.to(device).eval(), birder_net.to(device).eval()


def feature_fn(name: str, model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return a function that maps an image batch to the model's detection feature map."""
    if name == OURS:
        return lambda x: model.detection_features(x)['neck']
    return lambda x: model.detection_features(x)['stage1']


def set_checkpointing(name: str, model: torch.nn.Module, enabled: bool) -> None:
    if name == OURS:
        model.with_cp = enabled
    else:
        model.set_grad_checkpointing(enabled)


def align_size(size: int, patch: int) -> int:
    """Round ``size`` up to a multiple of ``patch``.

    Birder drops the pixels past the last full patch and RoPEViT pads up to
    the next one, so only aligned inputs give both the same token grid.
    """
    return -(-size // patch) * patch


def forward_flops(settings: dict, height: int, width: int) -> int:
    """Count the matmul FLOPs of one image's forward pass (multiply-add = 2)."""
    patch = settings['patch_size']
    dim = settings['hidden_dim']
    mlp_dim = settings['mlp_dim']
    grid_h = -(-height // patch)
    grid_w = -(-width // patch)
    tokens = grid_h * grid_w + settings['num_reg_tokens'] + 1
    patch_embed = 2 * grid_h * grid_w * 3 * patch * patch * dim
    linears = 2 * tokens * dim * (3 * dim + dim + 2 * mlp_dim)
    attention = 4 * tokens * tokens * dim
    return patch_embed + settings['num_layers'] * (linears + attention)


# ------------------------------------------------------------------ timing

def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def alternate_runs(calls: Dict[str, Callable[[], None]], warmup: int, runs: int,
                   device: torch.device, min_seconds: float = 0.0) -> Dict[str, List[float]]:
    """Time each call in the order A B A B ..., after ``warmup`` rounds.

    Runs ``runs`` rounds, or more (at most ``MAX_RUNS``) when the last
    warm-up round suggests that ``runs`` rounds would take less than
    ``min_seconds`` per call: short cases get more pairs, so one disturbed
    run weighs less in the median.

    Returns:
        dict[str, list[float]]: Seconds per run, in run order, per name.
    """
    round_seconds = 0.0
    for _ in range(warmup):
        synchronize(device)
        start = time.perf_counter()
        for call in calls.values():
            call()
        synchronize(device)
        round_seconds = (time.perf_counter() - start) / len(calls)
    if min_seconds > 0 and round_seconds > 0:
        runs = max(runs, min(MAX_RUNS, math.ceil(min_seconds / round_seconds)))
    times: Dict[str, List[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            synchronize(device)
            start = time.perf_counter()
            call()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    return times


def summarize_pair(times: Dict[str, List[float]], images: int, flops_per_run: Optional[int]) -> dict:
    """Medians, images per second and the per-pair speed ratio Birder time / ropevit_mm time."""
    summary: dict = {'runs': len(times[OURS])}
    for name, seconds in times.items():
        median = statistics.median(seconds)
        entry = {'median_s': median, 'times_s': seconds, 'images_per_s': images / median}
        if flops_per_run is not None:
            entry['gflops_per_s'] = flops_per_run / median / 1e9
        summary[name] = entry
    ratios = [birder / ours for ours, birder in zip(times[OURS], times[BIRDER])]
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    summary['speed_ratio'] = {
        'median': statistics.median(ratios),
        'min': min(ratios),
        'max': max(ratios),
        'q1': quartiles[0],
        'q3': quartiles[2],
        'of_medians': summary[BIRDER]['median_s'] / summary[OURS]['median_s'],
    }
    return summary


def measure_matmul(side: int, runs: int, device: torch.device, dtype: torch.dtype) -> List[float]:
    """Return the GFLOP/s of ``runs`` square ``torch.matmul`` calls of side ``side``, after one warm-up."""
    a = torch.randn(side, side, device=device, dtype=dtype)
    b = torch.randn(side, side, device=device, dtype=dtype)
    torch.matmul(a, b)
    rates = []
    for _ in range(runs):
        synchronize(device)
        start = time.perf_counter()
        torch.matmul(a, b)
        synchronize(device)
        rates.append(2 * side**3 / (time.perf_counter() - start) / 1e9)
    return rates


def peak_cpu_allocated_bytes(call: Callable[[], object]) -> int:
    """Return the peak of bytes held by torch CPU allocations made during ``call``.

    Replays the allocation and free events that ``torch.profiler`` records
    with ``profile_memory=True``, in time order. Tensors alive before the
    call (weights, input, caches) are not counted; the output is.
    """
    from torch.profiler import ProfilerActivity, profile

    # NOTE: kineto_results is an undocumented attribute (torch 2.14 sets it in
    # torch/autograd/profiler.py), so a later torch may move it.
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        call()
    events = [(event.start_ns(), event.nbytes()) for event in prof.profiler.kineto_results.events()
              if event.name() == '[memory]' and event.device_type() == torch.autograd.DeviceType.CPU]
    events.sort(key=lambda item: item[0])
    live_bytes = peak = 0
    for _, nbytes in events:
        live_bytes += nbytes
        peak = max(peak, live_bytes)
    return peak


# --------------------------------------------------------------- CPU suite

def run_cpu_inference(models: dict, settings: dict, cases: Sequence[Tuple[int, int]], args) -> List[dict]:
    device = torch.device('cpu')
    results = []
    for requested, batch in cases:
        size = align_size(requested, settings['patch_size'])
        print(f'inference {size}x{size} batch {batch}', flush=True)
        x = torch.randn(batch, 3, size, size)
        fns = {name: feature_fn(name, model) for name, model in models.items()}
        with torch.inference_mode():
            calls = {name: (lambda fn=fn: fn(x)) for name, fn in fns.items()}
            times = alternate_runs(calls, args.warmup, args.runs, device, args.min_seconds)
            peaks = {name: peak_cpu_allocated_bytes(call) for name, call in calls.items()}
        flops = forward_flops(settings, size, size) * batch
        summary = summarize_pair(times, batch, flops)
        summary.update(size=size, batch=batch, gflops_per_run=flops / 1e9)
        for name in models:
            summary[name]['peak_allocated_mib'] = peaks[name] / 2**20
        results.append(summary)
        print_case(summary)
    return results


def run_cpu_training(models: dict, settings: dict, args) -> List[dict]:
    device = torch.device('cpu')
    size, batch = align_size(args.train_size, settings['patch_size']), args.train_batch
    x = torch.randn(batch, 3, size, size)
    fns = {name: feature_fn(name, model) for name, model in models.items()}

    def step(name: str) -> None:
        model = models[name]
        for param in model.parameters():
            param.grad = None
        fns[name](x).square().mean().backward()

    results = []
    for with_cp in (False, True):
        print(f'training step {size}x{size} batch {batch} with_cp={with_cp}', flush=True)
        for name, model in models.items():
            model.train()
            set_checkpointing(name, model, with_cp)
        calls = {name: (lambda name=name: step(name)) for name in models}
        times = alternate_runs(calls, args.warmup, args.runs, device, args.min_seconds)
        flops = 3 * forward_flops(settings, size, size) * batch
        summary = summarize_pair(times, batch, flops)
        summary.update(size=size, batch=batch, with_cp=with_cp, gflops_per_run=flops / 1e9)
        results.append(summary)
        print_case(summary)
    for name, model in models.items():
        set_checkpointing(name, model, False)
        model.eval()
        for param in model.parameters():
            param.grad = None
    return results


def run_prep_costs(models: dict, cases: Sequence[Tuple[int, int]], args) -> List[dict]:
    """Time what each forward spends on RoPE tables and the position embedding, on its own."""
    ours, birder_net = models[OURS], models[BIRDER]
    patch = ours.patch_size
    device = torch.device('cpu')
    results = []
    repeats = max(args.runs, 5)
    for size in sorted({align_size(size, patch) for size, _ in cases}):
        grid = (size // patch, size // patch)
        with torch.inference_mode():
            def ours_prep() -> None:
                ours.rope.get_tables(grid, device)
                ours._position_embedding(grid)

            def ours_cold() -> None:
                ours.rope._cache.clear()
                ours._pos_cache.clear()
                ours_prep()

            def birder_prep() -> None:
                birder_net._get_rope_embed(size, size)
                birder_net._get_pos_embed(size, size)

            times = alternate_runs({'ours_cold': ours_cold, OURS: ours_prep, BIRDER: birder_prep},
                                   1, repeats, device)
            reused = (ours.rope.get_tables(grid, device)[0] is ours.rope.get_tables(grid, device)[0]
                      and ours._position_embedding(grid) is ours._position_embedding(grid))
        results.append({
            'size': size,
            'grid': list(grid),
            f'{OURS}_per_forward_ms': statistics.median(times[OURS]) * 1e3,
            f'{OURS}_first_forward_ms': statistics.median(times['ours_cold']) * 1e3,
            f'{BIRDER}_per_forward_ms': statistics.median(times[BIRDER]) * 1e3,
            f'{OURS}_reuses_cached_tables': reused,
        })
        print(f'prep {size}: {results[-1]}', flush=True)
    return results


def run_cpu(args) -> dict:
    device = torch.device('cpu')
    ours, birder_net = build_models(args.arch, device, args.seed)
    models = {OURS: ours, BIRDER: birder_net}
    settings = ours.arch_settings

    matmul_before = measure_matmul(args.matmul_size, 3, device, torch.float32)
    inference = run_cpu_inference(models, settings, args.sizes, args)
    training = [] if args.no_train else run_cpu_training(models, settings, args)
    prep = run_prep_costs(models, args.sizes, args)
    matmul_after = measure_matmul(args.matmul_size, 3, device, torch.float32)
    matmul = statistics.median(matmul_before + matmul_after)

    for case in inference + training:
        for name in models:
            case[name]['matmul_fraction'] = case[name]['gflops_per_s'] / matmul
    return {
        'dtype': 'float32',
        'warmup_rounds': args.warmup,
        'matmul': {'side': args.matmul_size, 'gflops_per_s': matmul, 'gflops_per_s_runs': matmul_before + matmul_after},
        'inference': inference,
        'training': training,
        'prep': prep,
        'targets': evaluate_cpu_targets(inference, prep),
    }


def evaluate_cpu_targets(inference: List[dict], prep: List[dict]) -> dict:
    largest = max(inference, key=lambda case: (case['size'], case['batch']))
    return {
        'speed_ratio_at_least': SPEED_TARGET,
        'speed_met': all(case['speed_ratio']['median'] >= SPEED_TARGET for case in inference),
        'matmul_fraction_at_least': MATMUL_FRACTION_TARGET,
        'matmul_fraction_case': f"{largest['size']}:{largest['batch']}",
        'matmul_fraction_met': largest[OURS]['matmul_fraction'] >= MATMUL_FRACTION_TARGET,
        'memory_met': all(case[OURS]['peak_allocated_mib'] <= case[BIRDER]['peak_allocated_mib']
                          for case in inference),
        'grid_tables_cached': all(entry[f'{OURS}_reuses_cached_tables'] for entry in prep),
    }


# -------------------------------------------------------------- CUDA suite

def run_cuda(args) -> dict:
    # NOTE: this path has not yet run on a GPU; only the CPU path is tested.
    from torch.nn.attention import SDPBackend, sdpa_kernel

    device = torch.device('cuda')
    ours, birder_net = build_models(args.arch, device, args.seed)
    models = {OURS: ours, BIRDER: birder_net}
    settings = ours.arch_settings
    fns = {name: feature_fn(name, model) for name, model in models.items()}
    size = align_size(args.size, settings['patch_size'])
    x = torch.randn(args.batch, 3, size, size, device=device)
    flops_forward = forward_flops(settings, size, size) * args.batch
    # Only fused kernels: if none applies, SDPA raises instead of silently
    # falling back to the math implementation.
    fused = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION]

    def measured(calls: Dict[str, Callable[[], None]], images: int, flops: int) -> dict:
        times = alternate_runs(calls, args.warmup, args.runs, device, args.min_seconds)
        peaks = {}
        for name, call in calls.items():
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            call()
            torch.cuda.synchronize(device)
            peaks[name] = torch.cuda.max_memory_allocated(device) / 2**20
        summary = summarize_pair(times, images, flops)
        for name in calls:
            summary[name]['peak_allocated_mib'] = peaks[name]
            if args.peak_tflops:
                summary[name]['mfu'] = summary[name]['gflops_per_s'] / (args.peak_tflops * 1e3)
        summary.update(size=size, batch=args.batch, gflops_per_run=flops / 1e9)
        print_case(summary)
        return summary

    results = {}
    with sdpa_kernel(fused), torch.autocast('cuda', dtype=torch.bfloat16):
        print(f'cuda inference {size}x{size} batch {args.batch}', flush=True)
        with torch.inference_mode():
            calls = {name: (lambda fn=fn: fn(x)) for name, fn in fns.items()}
            results['inference'] = measured(calls, args.batch, flops_forward)

        results['training'] = []
        if not args.no_train:
            def step(name: str) -> None:
                for param in models[name].parameters():
                    param.grad = None
                fns[name](x).float().square().mean().backward()

            for with_cp in (False, True):
                print(f'cuda training step with_cp={with_cp}', flush=True)
                for name, model in models.items():
                    model.train()
                    set_checkpointing(name, model, with_cp)
                calls = {name: (lambda name=name: step(name)) for name in models}
                summary = measured(calls, args.batch, 3 * flops_forward)
                summary['with_cp'] = with_cp
                results['training'].append(summary)

    matmul = measure_matmul(args.matmul_size, 5, device, torch.bfloat16)
    results.update(
        dtype='bfloat16 autocast',
        gpu=torch.cuda.get_device_name(device),
        peak_tflops=args.peak_tflops,
        matmul={'side': args.matmul_size, 'dtype': 'bfloat16', 'gflops_per_s': statistics.median(matmul)})
    return results


# ---------------------------------------------------------------- reports

def print_case(summary: dict) -> None:
    ratio = summary['speed_ratio']
    print(f"  {OURS} {summary[OURS]['images_per_s']:.3f} img/s, {BIRDER} {summary[BIRDER]['images_per_s']:.3f} "
          f"img/s, speed ratio {ratio['median']:.3f} ({ratio['min']:.3f}-{ratio['max']:.3f})", flush=True)


def cpu_model_name() -> str:
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def machine_info(device: str) -> dict:
    import birder

    info = {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'cpu_model': cpu_model_name(),
        'cpu_count': os.cpu_count(),
        'torch_threads': torch.get_num_threads(),
        'machine': platform.machine(),
        'python': platform.python_version(),
        'torch': torch.__version__,
        'birder': getattr(birder, '__version__', 'unknown'),
        'load_average_1min': os.getloadavg()[0] if hasattr(os, 'getloadavg') else None,
        'environment': {key: os.environ[key] for key in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_CORETYPE')
                        if key in os.environ},
    }
    if device == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(0)
    return info


def update_json(path: str, device: str, record: dict) -> dict:
    """Store ``record`` under ``device`` in the JSON file at ``path``, keeping other devices' entries."""
    data: dict = {}
    if os.path.exists(path):
        with open(path) as handle:
            try:
                data = json.load(handle)
            except json.JSONDecodeError:
                print(f'warning: {path} is not valid JSON; rewriting it', file=sys.stderr)
    data[device] = record
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as handle:
        json.dump(data, handle, indent=2)
        handle.write('\n')
    return data


def percent(value: float) -> str:
    return f'{100 * value:.0f}%'


def ratio_text(ratio: dict) -> str:
    return f"{ratio['median']:.3f} ({ratio['min']:.3f}-{ratio['max']:.3f})"


def render_cpu(record: dict) -> List[str]:
    info, result = record['machine'], record['result']
    lines = [
        '## CPU, float32',
        '',
        f"Command: `{record['command']}`",
        '',
        f"Machine: {info['cpu_count']}-core {info['machine']} CPU machine, {info['cpu_model']}, "
        f"{info['torch_threads']} torch threads; torch {info['torch']}, Birder {info['birder']}, "
        f"Python {info['python']}; {info['date']}.",
        '',
    ]
    if info.get('load_average_1min') is not None:
        lines += [f"Load average (1 min) when the run started: {info['load_average_1min']:.2f}. Other processes "
                  'slow both implementations alike only on average, so a high load widens the ratio spread.', '']
    lines += [
        f"Reference matmul: {result['matmul']['gflops_per_s']:.1f} GFLOP/s, the median of 6 float32 "
        f"`torch.matmul` calls of {result['matmul']['side']}x{result['matmul']['side']} matrices, "
        'half before and half after the model runs.',
        '',
        'Speed ratio: Birder time / ropevit_mm time per alternating pair, median (min-max); above 1 means '
        'ropevit_mm is faster. Peak memory: the highest total of torch CPU allocations made during one '
        'steady-state forward (weights, input and caches built earlier not counted).',
        '',
        '### Inference (`torch.inference_mode`, `detection_features`)',
        '',
        '| input | batch | GFLOP/run | ropevit_mm img/s | Birder img/s | speed ratio | ropevit_mm % of matmul '
        '| Birder % of matmul | ropevit_mm peak MiB | Birder peak MiB |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ]
    for case in result['inference']:
        ours, birder_case = case[OURS], case[BIRDER]
        lines.append(
            f"| {case['size']}x{case['size']} | {case['batch']} | {case['gflops_per_run']:.0f} "
            f"| {ours['images_per_s']:.3f} | {birder_case['images_per_s']:.3f} | {ratio_text(case['speed_ratio'])} "
            f"| {percent(ours['matmul_fraction'])} | {percent(birder_case['matmul_fraction'])} "
            f"| {ours['peak_allocated_mib']:.0f} | {birder_case['peak_allocated_mib']:.0f} |")
    runs = ', '.join(str(case['runs']) for case in result['inference'])
    lines += ['', f'Counted runs per implementation, by row: {runs}, after '
              f"{result['warmup_rounds']} warm-up round(s).", '']

    if result['training']:
        lines += [
            '### Training step (forward and backward, batch '
            f"{result['training'][0]['batch']}, {result['training'][0]['size']}x{result['training'][0]['size']})",
            '',
            '| activation checkpointing | ropevit_mm img/s | Birder img/s | speed ratio | ropevit_mm % of matmul '
            '| Birder % of matmul |',
            '| --- | --- | --- | --- | --- | --- |',
        ]
        for case in result['training']:
            lines.append(
                f"| {'on' if case['with_cp'] else 'off'} | {case[OURS]['images_per_s']:.3f} "
                f"| {case[BIRDER]['images_per_s']:.3f} | {ratio_text(case['speed_ratio'])} "
                f"| {percent(case[OURS]['matmul_fraction'])} | {percent(case[BIRDER]['matmul_fraction'])} |")
        lines.append('')

    lines += [
        '### RoPE and position-embedding preparation per forward',
        '',
        '| input | token grid | ropevit_mm ms (cached) | ropevit_mm ms (first forward at this grid) '
        '| Birder ms | ropevit_mm reuses cached tables |',
        '| --- | --- | --- | --- | --- | --- |',
    ]
    for entry in result['prep']:
        lines.append(
            f"| {entry['size']}x{entry['size']} | {entry['grid'][0]}x{entry['grid'][1]} "
            f"| {entry[f'{OURS}_per_forward_ms']:.3f} | {entry[f'{OURS}_first_forward_ms']:.3f} "
            f"| {entry[f'{BIRDER}_per_forward_ms']:.3f} | {'yes' if entry[f'{OURS}_reuses_cached_tables'] else 'no'} |")

    targets = result['targets']
    met = {True: 'met', False: 'not met'}
    if record.get('quick'):
        # Quick runs time models far too small to judge the targets by.
        met = {True: 'not judged (--quick run)', False: 'not judged (--quick run)'}
    lines += [
        '',
        '### Targets',
        '',
        '| target | result |',
        '| --- | --- |',
        f"| ropevit_mm at least {targets['speed_ratio_at_least']}x as fast as Birder in every inference case "
        f"| {met[targets['speed_met']]} |",
        f"| ropevit_mm at {targets['matmul_fraction_case']} reaches {percent(targets['matmul_fraction_at_least'])} "
        f"of the matmul throughput | {met[targets['matmul_fraction_met']]} |",
        f"| ropevit_mm peak memory no higher than Birder's in every inference case | {met[targets['memory_met']]} |",
        f"| RoPE tables and resized position embedding reused across forwards | "
        f"{met[targets['grid_tables_cached']]} |",
        '',
    ]
    return lines


def render_cuda(record: Optional[dict]) -> List[str]:
    lines = ['## CUDA, bfloat16 autocast', '']
    if record is None:
        return lines + [
            'Not measured yet: no GPU was available where this page was written. Run',
            '',
            '    python tools/benchmark.py --device cuda --size 896 --batch 2 --peak-tflops PEAK',
            '',
            "with `PEAK` the GPU's dense bfloat16 TFLOP/s from its data sheet, to measure inference and "
            'training steps (activation checkpointing off and on), images/s, peak memory '
            '(`torch.cuda.max_memory_allocated`) and model FLOP utilization.',
            '',
        ]
    info, result = record['machine'], record['result']
    lines += [
        f"Command: `{record['command']}`",
        '',
        f"Machine: {info['gpu']}; host {info['cpu_model']}, {info['cpu_count']} cores; torch {info['torch']}, "
        f"Birder {info['birder']}; {info['date']}.",
        '',
        f"bfloat16 `torch.matmul` {result['matmul']['side']}x{result['matmul']['side']}: "
        f"{result['matmul']['gflops_per_s'] / 1e3:.1f} TFLOP/s; peak given: {result['peak_tflops']} TFLOP/s.",
        '',
        '| step | ropevit_mm img/s | Birder img/s | speed ratio | ropevit_mm peak MiB | Birder peak MiB '
        '| ropevit_mm MFU | Birder MFU |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ]
    steps = [('inference', result['inference'])]
    steps += [(f"training, checkpointing {'on' if case['with_cp'] else 'off'}", case) for case in result['training']]
    for label, case in steps:
        mfu = [percent(case[name]['mfu']) if 'mfu' in case[name] else 'n/a' for name in (OURS, BIRDER)]
        lines.append(
            f"| {label} | {case[OURS]['images_per_s']:.2f} | {case[BIRDER]['images_per_s']:.2f} "
            f"| {ratio_text(case['speed_ratio'])} | {case[OURS]['peak_allocated_mib']:.0f} "
            f"| {case[BIRDER]['peak_allocated_mib']:.0f} | {mfu[0]} | {mfu[1]} |")
    return lines + ['']


def existing_analysis(path: str) -> str:
    """Return the hand-written block between the analysis markers of an existing page, or ''."""
    if not os.path.exists(path):
        return ''
    with open(path) as handle:
        text = handle.read()
    start = text.find(ANALYSIS_BEGIN)
    end = text.find(ANALYSIS_END)
    if start < 0 or end < start:
        return ''
    return text[start:end + len(ANALYSIS_END)]


def write_markdown(path: str, data: dict) -> None:
    lines = [
        '# Benchmarks: ropevit_mm RoPEViT against Birder rope_vit',
        '',
        'Written by `tools/benchmark.py` from `benchmarks.json`; see the module docstring of the tool for '
        'the method and the FLOP formula. FLOPs count a multiply-add as 2 and only the matmuls: patch '
        'embedding `2 * h * w * 3 * p^2 * D`, per block `2 * N * D * (4D + 2 * mlp_dim)` for the linears and '
        '`4 * N^2 * D` for the two attention matmuls, `N` counting the special tokens. A training step counts '
        '3 forwards. CPU figures compare the two implementations on one machine; absolute speed depends on '
        'the machine and on other load.',
        '',
    ]
    lines += render_cpu(data['cpu']) if 'cpu' in data else ['## CPU, float32', '', 'Not measured yet.', '']
    lines += render_cuda(data.get('cuda'))
    analysis = existing_analysis(path)
    if analysis:
        lines += [analysis, '']
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as handle:
        handle.write('\n'.join(lines))


def command_line(argv: Sequence[str]) -> str:
    return ' '.join(shlex.quote(part) for part in ['python', 'tools/benchmark.py', *argv])


def measure_attention(args: argparse.Namespace) -> dict:
    """Time float32 SDPA on random (1, heads, N, head_dim) inputs and compare it with the matmul reference.

    The FLOP count is that of the two attention matmuls, ``4 * N^2 * D``.
    """
    from ropevit_mm.models.backbones.rope_vit_archs import resolve_arch

    arch = resolve_arch(args.arch)
    heads = arch['num_heads']
    head_dim = arch['hidden_dim'] // heads
    tokens = args.attention
    generator = torch.Generator().manual_seed(args.seed)
    q, k, v = (torch.randn(1, heads, tokens, head_dim, generator=generator) for _ in range(3))
    gflop = 4 * tokens * tokens * heads * head_dim / 1e9
    matmul = measure_matmul(args.matmul_size, args.runs, torch.device('cpu'), torch.float32)
    with torch.inference_mode():
        torch.nn.functional.scaled_dot_product_attention(q, k, v)
        seconds = []
        for _ in range(args.runs):
            start = time.perf_counter()
            torch.nn.functional.scaled_dot_product_attention(q, k, v)
            seconds.append(time.perf_counter() - start)
    result = dict(tokens=tokens, heads=heads, head_dim=head_dim, gflop=gflop, seconds_min=min(seconds),
                  gflops=gflop / min(seconds), matmul_gflops=statistics.median(matmul))
    result['fraction_of_matmul'] = result['gflops'] / result['matmul_gflops']
    print(f"attention {heads} heads x {tokens} tokens x {head_dim}: {gflop:.1f} GFLOP in "
          f"{result['seconds_min']:.3f} s (min of {args.runs}), {result['gflops']:.1f} GFLOP/s, "
          f"{100 * result['fraction_of_matmul']:.0f}% of the matmul reference "
          f"({result['matmul_gflops']:.1f} GFLOP/s, side {args.matmul_size})")
    return result


def main(argv: Optional[Sequence[str]] = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.attention is not None:
        return measure_attention(args)
    if args.render_only:
        if not os.path.exists(args.json):
            raise SystemExit(f'--render-only needs an existing JSON record, but {args.json} was not found')
        with open(args.json) as handle:
            write_markdown(args.markdown, json.load(handle))
        print(f'wrote {args.markdown}')
        return {}
    record = {
        'command': command_line(argv),
        'arch': args.arch,
        'quick': args.quick,
        'machine': machine_info(args.device),
        'result': run_cpu(args) if args.device == 'cpu' else run_cuda(args),
    }
    data = update_json(args.json, args.device, record)
    write_markdown(args.markdown, data)
    print(f'wrote {args.json} and {args.markdown}')
    return record


if __name__ == '__main__':
    main()
