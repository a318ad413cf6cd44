#!/usr/bin/env python3
"""Turns the JSON of seqnet_bench (seqnet and oneDNN) and bench/bench_torch.py (PyTorch) into
docs/performance.md (markdown tables) and docs/performance.png (chart).

    tools/bench_report.py --results build-bench/results --out docs/performance.md --chart docs/performance.png

--results holds seqnet_t{N}.json and torch_t{N}.json for each thread count N, and meta.json written by
scripts/bench (command, commit, load averages). A peer whose file is missing, or that has no result for a
case, is shown as absent; a peer that disagreed with seqnet is shown with its difference, never a time.
"""
import argparse
import glob
import json
import math
import os
import re
import subprocess
import sys

LABEL = re.compile(r"^s(\d+)_b(\d+)_i(\d+)_h(\d+)_l(\d+)_d(\d+)(?:_p(\d+))?(_bf)?$")
CELL_LABEL = re.compile(r"^b(\d+)_i(\d+)_h(\d+)$")
SGEMM_REFERENCE = "m1024_n1024_k1024"
LARGE_SHAPES = ("s25_b128_i1024_h1024_l1_d1", "s100_b64_i512_h512_l1_d1")
GEMM_TARGET = 0.9
MODEL_ORDER = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]


def load_results(path):
    """{(impl, model, dtype, label): result} with result = {time_us, gflops, error, diff} (medians)."""
    with open(path) as f:
        data = json.load(f)
    results, errors = {}, {}
    for entry in data.get("benchmarks", []):
        run_name = entry.get("run_name", entry["name"])
        run_name = re.sub(r"/real_time$", "", run_name)
        parts = run_name.split("/")
        if len(parts) != 4:
            continue
        key = tuple(parts)
        if entry.get("error_occurred"):
            errors[key] = entry.get("error_message", "error")
            continue
        is_median = entry.get("aggregate_name") == "median"
        is_plain = entry.get("run_type", "iteration") == "iteration"
        if not (is_median or (is_plain and key not in results)):
            continue
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[entry.get("time_unit", "ns")]
        results[key] = {"real_us": entry["real_time"] * scale, "cpu_us": entry["cpu_time"] * scale,
                        "real_gflops": entry.get("GFLOP/s"), "diff": entry.get("max_abs_diff")}
    for key, message in errors.items():
        results.setdefault(key, {"error": message})
    return data.get("context", {}), results


def use_basis(results, basis):
    """Sets time_us and gflops of every result from wall-clock ("real") or CPU ("cpu") time."""
    for r in results.values():
        if "error" in r:
            continue
        r["time_us"] = r[f"{basis}_us"]
        gflops = r.get("real_gflops")
        r["gflops"] = None if gflops is None else gflops * r["real_us"] / r["time_us"]


def describe(label):
    m = LABEL.match(label)
    if m:
        seq, batch, inp, hidden, layers, dirs, proj, bf = m.groups()
        notes = []
        if int(layers) > 1 or int(dirs) > 1:
            notes.append(f"{layers} layers" + (", bidirectional" if int(dirs) == 2 else ""))
        if proj:
            notes.append(f"proj_size={proj}")
        if bf:
            notes.append("batch_first")
        return f"({seq}, {batch}, {inp}, {hidden}, {layers}, {dirs})", ", ".join(notes)
    m = CELL_LABEL.match(label)
    if m:
        return "(batch {}, in {}, hidden {})".format(*m.groups()), "one step"
    return label, ""


def fmt_time(r):
    if r is None:
        return "absent"
    if "error" in r:
        return "disagrees" if "disagree" in r["error"] else "error"
    t = r["time_us"]
    if t >= 1e4:
        return f"{t / 1e3:,.1f} ms"
    return f"{t:,.1f} µs" if t < 1e3 else f"{t:,.0f} µs"


def ratio(a, b):
    if a is None or b is None or "error" in a or "error" in b:
        return None
    return a["time_us"] / b["time_us"]


def fmt_ratio(x):
    return "—" if x is None else f"{x:.2f}"


def fmt_gflops(r):
    if r is None or "error" in r or r.get("gflops") is None:
        return "—"
    return f"{r['gflops']:.1f}"


def geomean(values):
    values = [v for v in values if v is not None and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (lscpu failed)", ""
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = fields.get("Flags", "").split()
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    desc = fields.get("Model name", "unknown")
    details = []
    if "CPU(s)" in fields:
        details.append(f"{fields['CPU(s)']} CPUs")
    if "Thread(s) per core" in fields:
        details.append(f"{fields['Thread(s) per core']} thread(s) per core")
    if "Hypervisor vendor" in fields:
        details.append(f"{fields['Hypervisor vendor']} guest")
    if "L2 cache" in fields:
        details.append(f"L2 {fields['L2 cache']}")
    if "L3 cache" in fields:
        details.append(f"L3 {fields['L3 cache']}")
    return desc, ", ".join(details) + (f"; SIMD: {' '.join(simd)}" if simd else "")


def label_order(labels):
    def key(label):
        m = LABEL.match(label)
        if m:
            return (0, 0 if not (m.group(7) or m.group(8)) else 1)
        return (1, 0)
    # Keep the bench's grid order (insertion order) within each group.
    return sorted(labels, key=key)


BASIS_NAME = {"cpu": "CPU time", "real": "wall-clock time"}


def build_tables(threads_list, seqnet, torch, dtype, cells, sgemm_rate, basis, unreliable=()):
    """Markdown lines for one dtype and either the modules or the cell steps."""
    lines = []
    for threads in threads_list:
        s_results = seqnet.get(threads, {})
        t_results = torch.get(threads, {})
        keys = [k for k in s_results if k[0] == "seqnet" and k[2] == dtype and k[1].endswith("Cell") == cells]
        if not keys:
            continue
        models = sorted({k[1] for k in keys}, key=MODEL_ORDER.index)
        labels = label_order(list(dict.fromkeys(k[3] for k in keys)))
        kind = "cell steps" if cells else "modules"
        lines.append(f"#### {dtype}, {kind}, {threads} thread{'s' if threads > 1 else ''} "
                     f"({BASIS_NAME[basis[threads]]})\n")
        if threads in unreliable:
            lines.append("Not reliable: measured while other processes held the cores (see the summary).\n")
        head = "| model | shape | notes | seqnet | oneDNN | PyTorch | seqnet/oneDNN | seqnet/PyTorch | GFLOP/s seqnet | GFLOP/s oneDNN | GFLOP/s PyTorch |"
        if dtype == "f32":
            head += " seqnet % of sgemm |"
        lines.append(head)
        lines.append("|" + "---|" * (head.count("|") - 1))
        for model in models:
            for label in labels:
                mine = s_results.get(("seqnet", model, dtype, label))
                if mine is None:
                    continue
                onednn = s_results.get(("onednn", model, dtype, label))
                theirs = t_results.get(("torch", model, dtype, label))
                shape, notes = describe(label)
                onednn_cell = fmt_time(onednn) if dtype == "f32" else "n/a (no f64 RNN)"
                row = [model, shape, notes, fmt_time(mine), onednn_cell, fmt_time(theirs),
                       fmt_ratio(ratio(mine, onednn)), fmt_ratio(ratio(mine, theirs)), fmt_gflops(mine),
                       fmt_gflops(onednn), fmt_gflops(theirs)]
                if dtype == "f32":
                    rate = sgemm_rate.get(threads)
                    frac = None if rate is None or mine.get("gflops") is None else mine["gflops"] / rate
                    row.append("—" if frac is None else f"{100 * frac:.0f}%")
                lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    return lines


def chart(path, threads_list, seqnet, torch, sgemm_rate, basis):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(threads_list), 1, figsize=(18, 5.5 * len(threads_list)), squeeze=False)
    for axis, threads in zip(axes[:, 0], threads_list):
        s_results, t_results = seqnet.get(threads, {}), torch.get(threads, {})
        keys = [k for k in s_results if k[0] == "seqnet" and k[2] == "f32" and not k[1].endswith("Cell")]
        models = sorted({k[1] for k in keys}, key=MODEL_ORDER.index)
        labels = label_order(list(dict.fromkeys(k[3] for k in keys)))
        groups = [(m, l) for m in models for l in labels if ("seqnet", m, "f32", l) in s_results]
        width = 0.27
        for offset, (impl, source, color) in enumerate(
                [("seqnet", s_results, "tab:blue"), ("onednn", s_results, "tab:orange"), ("torch", t_results, "tab:green")]):
            xs, ys = [], []
            for i, (m, l) in enumerate(groups):
                r = source.get((impl, m, "f32", l))
                if r is not None and "error" not in r and r.get("gflops") is not None:
                    xs.append(i + (offset - 1) * width)
                    ys.append(r["gflops"])
            name = {"seqnet": "seqnet", "onednn": "oneDNN 2.6 (Debian)", "torch": "PyTorch (PyPI)"}[impl]
            if xs:
                axis.bar(xs, ys, width, label=name, color=color)
        rate = sgemm_rate.get(threads)
        if rate:
            axis.axhline(rate, color="black", linestyle="--", linewidth=1, label=f"oneDNN sgemm 1024³: {rate:.0f} GFLOP/s")
            axis.axhline(GEMM_TARGET * rate, color="gray", linestyle=":", linewidth=1, label="90% of sgemm")
        axis.set_xticks(range(len(groups)))
        axis.set_xticklabels([f"{m}\n{describe(l)[0]}" + ("\n" + describe(l)[1] if describe(l)[1] else "")
                              for m, l in groups], rotation=90, fontsize=8)
        axis.set_ylabel("GFLOP/s")
        axis.set_title(f"fp32 forward, {threads} thread{'s' if threads > 1 else ''} (seqnet: "
                       f"{seqnet_threads_of(threads)} thread; GFLOP/s from {BASIS_NAME[basis[threads]]})")
        axis.legend(loc="upper left", fontsize=8)
        axis.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


_contexts = {}


def seqnet_threads_of(threads):
    return _contexts.get(threads, {}).get("seqnet_threads", "?")


KEEP_MARKER = "<!-- kept by tools/bench_report.py: hand-written sections below -->"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chart")
    parser.add_argument("--time", choices=["auto", "cpu", "real"], default="auto",
                        help="time basis: auto is CPU time for one thread, wall-clock for more")
    args = parser.parse_args()

    seqnet, torch, contexts, torch_contexts = {}, {}, {}, {}
    for path in sorted(glob.glob(os.path.join(args.results, "seqnet_t*.json"))):
        threads = int(re.search(r"_t(\d+)\.json$", path).group(1))
        contexts[threads], seqnet[threads] = load_results(path)
    for path in sorted(glob.glob(os.path.join(args.results, "torch_t*.json"))):
        threads = int(re.search(r"_t(\d+)\.json$", path).group(1))
        torch_contexts[threads], torch[threads] = load_results(path)
    if not seqnet:
        sys.exit(f"no seqnet_t*.json in {args.results}")
    _contexts.update(contexts)
    # One thread: CPU time, which other processes on a shared machine barely change (wall-clock time
    # grows with every process competing for the core). More threads: wall-clock, the only meaningful
    # time of a parallel run (CPU time adds up the threads).
    basis = {}
    for threads in seqnet:
        basis[threads] = args.time if args.time != "auto" else ("cpu" if threads == 1 else "real")
        use_basis(seqnet[threads], basis[threads])
        if threads in torch:
            use_basis(torch[threads], basis[threads])
    meta = {}
    meta_path = os.path.join(args.results, "meta.json")
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
    threads_list = sorted(seqnet)

    sgemm_rate, sgemm_rows = {}, []
    for threads in threads_list:
        for key, r in seqnet[threads].items():
            if key[0] == "onednn" and key[1] == "sgemm" and "error" not in r:
                if key[3] == SGEMM_REFERENCE:
                    sgemm_rate[threads] = r["gflops"]
                sgemm_rows.append((key[3], threads, r))

    # A parallel GEMM slower than the serial one means the threads did not get their cores (other
    # processes on the machine): such a run's multi-thread numbers say nothing about the libraries.
    unreliable = {t for t in threads_list if t > 1 and 1 in sgemm_rate and sgemm_rate.get(t, 0) < sgemm_rate[1]}
    ctx = contexts[threads_list[0]]
    tctx = torch_contexts.get(threads_list[0], {})
    model, details = cpu_model()
    out = []
    out.append("# Performance\n")
    basis_text = "; ".join(f"{t} thread{'s' if t > 1 else ''}: {BASIS_NAME[basis[t]]}" for t in threads_list)
    out.append("Generated by `scripts/bench` (`tools/bench_report.py`); do not edit by hand. Times are medians of "
               f"{meta.get('repetitions', '?')} repetitions (Google Benchmark; {basis_text}); ratios are "
               "seqnet time / peer time, so **below 1 means seqnet is faster**. GFLOP/s counts "
               "2·seq·batch·G·H·(in+H_out) per layer and direction (G = 1, 3, 4 for RNN, GRU, LSTM) plus "
               "2·seq·batch·H·proj for the projection; elementwise gate math is not counted."
               + (f" Each benchmark first runs {meta['warmup']} s of untimed calls." if meta.get("warmup") else "")
               + (" The 1-thread run interleaves the repetitions of all its benchmarks in random order (Google "
                  "Benchmark's random interleaving), so the machine's slow spells fall on seqnet and oneDNN alike; "
                  "multi-thread runs take each benchmark's repetitions back to back (a shuffled repetition would "
                  "start while the other library's threads still spin)." if meta.get("interleave_1t") == "1" else "")
               + "\n")
    out.append("## Machine and builds\n")
    out.append(f"- CPU: {model} ({details})")
    out.append(f"- Date: {meta.get('date', ctx.get('date', '?'))}; seqnet commit {meta.get('commit', '?')}; "
               f"command: `{meta.get('command', 'scripts/bench')}`")
    load = meta.get("loadavg_before"), meta.get("loadavg_after")
    if any(load):
        note = meta.get("load_note", "")
        try:
            busiest = max(float(v.split()[0]) for v in load if v)
        except ValueError:
            busiest = 0.0
        cpus = os.cpu_count() or 1
        if busiest > 0.5 and not note:
            note = ("Other processes were running while this was measured (a 1-minute load above 0.5 before or "
                    f"after, on {cpus} CPUs), so these times are noisier and slower than on an idle machine; "
                    "the multi-threaded runs suffer most, since an OpenMP parallel region waits for its slowest "
                    "thread.")
        out.append(f"- Load average (1/5/15 min) before the run: {load[0]}; after: {load[1]}. {note}")
    out.append(f"- seqnet {ctx.get('seqnet_version', '?')}: {ctx.get('compiler', '?')}, flags "
               f"`{ctx.get('cxx_flags', '?')}`, Eigen {ctx.get('eigen_version', '?')}; modules and cells are "
               "timed with `freeze_weights()` (steady-state inference: the weights are packed once, as oneDNN's "
               "weight reorders are made once); results are bitwise those of an unfrozen call except one-row cell steps, "
               "which run the packed kernel when frozen")
    out.append(f"- oneDNN: {ctx.get('onednn_version', 'absent')} (Debian libdnnl-dev, OpenMP runtime), in the "
               "same binary: primitives and weight reorders are made once, outside the timed loop; "
               "`forward_inference`; GRU is `lbr_gru_forward` (PyTorch's formulation)")
    if tctx:
        out.append(f"- PyTorch: {tctx.get('torch_version', '?')} from PyPI (MKL {tctx.get('torch_mkl', '?')}, "
                   f"oneDNN {tctx.get('torch_onednn', '?')}, CPU capability {tctx.get('torch_cpu_capability', '?')}), "
                   f"Python {tctx.get('python_version', '?')}, `torch.inference_mode()`, "
                   "`set_num_interop_threads(1)`; each call is a full `module(x)` from Python, so the small shapes "
                   "include Python's and the dispatcher's per-call overhead (tens of µs), which is what a Python "
                   "user pays")
    else:
        out.append("- PyTorch: absent (bench/bench_torch.py did not run)")
    out.append("- libtorch (Debian 1.13, generic BLAS): not timed")
    thread_lines = []
    for threads in threads_list:
        c = contexts[threads]
        t = torch_contexts.get(threads, {})
        thread_lines.append(f"{threads} requested → seqnet {c.get('seqnet_threads', '?')}, "
                            f"oneDNN {c.get('onednn_threads', 'absent')}, PyTorch {t.get('torch_threads', 'absent')}")
    out.append("- Threads: " + "; ".join(thread_lines) +
               ". seqnet's count is `seqnet::set_num_threads`; its results are bitwise identical for any count.")
    if ctx.get("library_build_type") == "debug":
        out.append("- Google Benchmark reports its own library (Debian's libbenchmark) as a debug build; that "
                   "affects only the harness around the timed loop.")
    out.append("- Agreement: every peer was checked against seqnet's output, h_n and c_n on the same weights "
               "and inputs before it was timed (max abs diff ≤ 1e-4 fp32, ≤ 1e-10 fp64); a peer that "
               "disagrees would show \"disagrees\" instead of a time.\n")

    out.append("## Summary\n")
    for t in sorted(unreliable):
        out.append(f"**The {t}-thread results are not reliable**: oneDNN's sgemm ran slower on {t} threads "
                   f"({sgemm_rate[t]:.0f} GFLOP/s) than on one ({sgemm_rate[1]:.0f} GFLOP/s), so its threads were "
                   "competing with other processes for the cores. They are listed as measured; rerun "
                   "`scripts/bench` on an idle machine before drawing conclusions from them.\n")
    out.append("Geometric mean of the time ratio seqnet/peer over the module grid and the cell steps:\n")
    out.append("| dtype | threads | seqnet/oneDNN | seqnet/PyTorch |")
    out.append("|---|---|---|---|")
    for dtype in ("f32", "f64"):
        for threads in threads_list:
            s = seqnet[threads]
            keys = [k for k in s if k[0] == "seqnet" and k[2] == dtype]
            vs_onednn = geomean([ratio(s[k], s.get(("onednn",) + k[1:])) for k in keys])
            vs_torch = geomean([ratio(s[k], torch.get(threads, {}).get(("torch",) + k[1:])) for k in keys])
            out.append(f"| {dtype} | {threads} | {fmt_ratio(vs_onednn) if dtype == 'f32' else 'n/a'} | "
                       f"{fmt_ratio(vs_torch)} |")
    out.append("")

    out.append("### Machine fp32 GEMM rate (oneDNN `dnnl_sgemm`, row-major C = A·Bᵀ)\n")
    if sgemm_rows:
        out.append("| M × N × K | threads | time | GFLOP/s |")
        out.append("|---|---|---|---|")
        for label, threads, r in sgemm_rows:
            m = re.match(r"m(\d+)_n(\d+)_k(\d+)", label)
            out.append(f"| {m.group(1)} × {m.group(2)} × {m.group(3)} | {threads} | {fmt_time(r)} | {r['gflops']:.1f} |")
        out.append("")
        out.append(f"The reference rate is the {SGEMM_REFERENCE.replace('_', ' ')} product; 3200 × 4096 × 1024 "
                   "and 128 × 4096 × 1024 are the large LSTM's input projection and one recurrent step.\n")
        out.append("### Large shapes against the 90% GEMM-rate target\n")
        out.append("| model | shape | threads | seqnet GFLOP/s | sgemm GFLOP/s | fraction | target met |")
        out.append("|---|---|---|---|---|---|---|")
        for threads in threads_list:
            rate = sgemm_rate.get(threads)
            for label in LARGE_SHAPES:
                for model_name in ("RNN", "LSTM", "GRU"):
                    r = seqnet[threads].get(("seqnet", model_name, "f32", label))
                    if r is None or "error" in r or rate is None:
                        continue
                    frac = r["gflops"] / rate
                    met = "unreliable run" if threads in unreliable else ("yes" if frac >= GEMM_TARGET else "no")
                    out.append(f"| {model_name} | {describe(label)[0]} | {threads} | {r['gflops']:.1f} | {rate:.1f} | "
                               f"{100 * frac:.0f}% | {met} |")
        out.append("")
    else:
        out.append("oneDNN is absent from this build, so there is no GEMM reference.\n")

    if args.chart:
        chart(args.chart, threads_list, seqnet, torch, sgemm_rate, basis)
        out.append(f"![fp32 GFLOP/s per shape]({os.path.basename(args.chart)})\n")

    out.append("## Modules (RNN, LSTM, GRU), forward from zero states\n")
    out.append("Shape is (seq, batch, input, hidden, layers, directions).\n")
    for dtype in ("f32", "f64"):
        out.extend(build_tables(threads_list, seqnet, torch, dtype, False, sgemm_rate, basis, unreliable))
    out.append("## Cell steps (RNNCell, LSTMCell, GRUCell), one step from a non-zero state\n")
    for dtype in ("f32", "f64"):
        out.extend(build_tables(threads_list, seqnet, torch, dtype, True, sgemm_rate, basis, unreliable))

    out.append("## Reproducing\n")
    out.append("`bash scripts/bench` installs what is missing (libbenchmark-dev, libdnnl-dev, python3-matplotlib; "
               "PyTorch from PyPI into `build-bench/venv`), builds `build-bench/bench/seqnet_bench` in Release, "
               "runs it and `bench/bench_torch.py` at 1 and 2 threads and rewrites this page. `SEQNET_BENCH_THREADS`, "
               "`SEQNET_BENCH_REPETITIONS`, `SEQNET_BENCH_MIN_TIME` and `SEQNET_BENCH_FILTER` narrow a run.\n")
    # Hand-written sections (the real-time comparison, the kernels' design measurements) follow this
    # marker; they are carried over from the page being replaced.
    kept = ""
    if os.path.exists(args.out):
        with open(args.out) as f:
            previous = f.read()
        if KEEP_MARKER in previous:
            kept = previous[previous.index(KEEP_MARKER):]
    with open(args.out, "w") as f:
        f.write("\n".join(out))
        if kept:
            f.write("\n" + kept)
    print(f"wrote {args.out}" + (f" and {args.chart}" if args.chart else ""))


if __name__ == "__main__":
    main()
