#!/usr/bin/env python3
"""Each sample's nearest neighbours with Faiss, for `clearwb scan --neighbour-graph-from`.

Reads the features `clearwb features` wrote (float32, N x d, row i = training sample i),
searches an exact Faiss index (IndexFlatL2) for every row's K + 1 nearest (its own match
included), and writes the N x (K + 1) int64 index array as a new .npy file. With --gpu the
index is moved to every GPU Faiss sees; without one it uses the machine's cores.

    python3 scripts/faiss_graph.py FEATURES.npy INDICES.npy [--neighbours 40] [--gpu]

Needs numpy and faiss (Debian: apt-get install python3-faiss; elsewhere the faiss-cpu or
faiss-gpu package). The scan re-ranks the candidates with its own distances and measures
their recall, so a file from another index (IVF, HNSW, a GPU's float16) is accepted too, with
its recall recorded.
"""
import argparse
import sys
import time

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("features", help="features from `clearwb features` (.npy, float32, N x d)")
    parser.add_argument("out", help="a new .npy file for the N x (K + 1) int64 neighbour indices")
    parser.add_argument("--neighbours", type=int, default=40, help="the scan's K (default 40); K + 1 are searched for")
    parser.add_argument("--gpu", action="store_true", help="search on every GPU Faiss sees")
    args = parser.parse_args()

    try:
        import faiss
    except ImportError:
        print("faiss is not installed: apt-get install python3-faiss (Debian), or pip install faiss-cpu.", file=sys.stderr)
        return 1

    x = np.load(args.features, mmap_mode="r")
    if x.dtype != np.float32 or x.ndim != 2:
        print(f"{args.features} holds a {x.dtype} array of shape {x.shape}, not float32 N x d.", file=sys.stderr)
        return 1
    x = np.ascontiguousarray(x)
    n, d = x.shape
    k = min(args.neighbours + 1, n)

    started = time.perf_counter()
    index = faiss.IndexFlatL2(d)
    if args.gpu:
        if faiss.get_num_gpus() < 1:
            print("--gpu: Faiss sees no GPU here.", file=sys.stderr)
            return 1
        index = faiss.index_cpu_to_all_gpus(index)
    index.add(x)
    _, indices = index.search(x, k)
    seconds = time.perf_counter() - started

    # Never replace a file: "x" mode fails if it exists.
    try:
        with open(args.out, "xb") as f:
            np.save(f, indices.astype(np.int64, copy=False))
    except FileExistsError:
        print(f"The file {args.out} already exists; choose a new name so nothing is overwritten.", file=sys.stderr)
        return 1
    print(f"Wrote the {k} nearest of {n} samples ({d}-d) to {args.out} in {seconds:.1f} s (faiss {faiss.__version__}, IndexFlatL2{' on GPU' if args.gpu else ''}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
