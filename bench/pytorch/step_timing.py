"""What the PyTorch step benchmarks (train_step.py, moco_step.py) share: their command line,
thread and seed setup, the warm-up + timed-step loop and the one JSON line the bench/*.ts
scripts read back."""
import argparse
import json
import time

import torch


def parse_step_args(add_arguments=None):
    """Parses --batch --size [script options] --steps --warmup --threads, applies --threads and
    seeds torch with 0 so every run starts from the same weights."""
    p = argparse.ArgumentParser()
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--size', type=int, default=96)
    if add_arguments:
        add_arguments(p)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--threads', type=int, default=0, help='0: torch default')
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    return args


def time_steps(step, warmup, steps):
    """Runs `step` warmup times untimed, then steps times; returns the wall and process-CPU
    seconds of each timed step and the last step's result."""
    for _ in range(warmup):
        step()
    times, cpu, result = [], [], None
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        result = step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return times, cpu, result


def print_step_report(batch, times, cpu, **extra):
    """Prints {"torch", "threads", "batch", "steps": [wall s], "cpu": [CPU s], **extra}."""
    report = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'batch': batch, 'steps': times, 'cpu': cpu}
    print(json.dumps({**report, **extra}))
