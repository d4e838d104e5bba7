"""channelattribution, the peer of benches/markov.rs. Prints one JSON object.

  data OUT_CSV
      Writes the package's own Data.csv (10,000 paths) without its empty paths to OUT_CSV
      (`;`-separated: path, total_conversions, total_conversion_value, total_null); prints {}.
  markov CSV ORDER RUNS
      Runs `markov_model` (the package's default simulation settings, seed 0) over CSV at ORDER,
      RUNS times; prints {"seconds": best model time, "channels": {name: total_conversions}}.
"""

import json
import os
import sys
import time

# The package prints a banner on import (and progress while fitting): keep stdout for the JSON.
OUT = sys.stdout
sys.stdout = sys.stderr

import ChannelAttribution as ca  # noqa: E402
import cypack  # noqa: E402
import pandas as pd  # noqa: E402


def data(out):
    source = os.path.join(os.path.dirname(cypack.__file__), "data", "Data.csv")
    df = pd.read_csv(source, sep=";")
    df = df[df["path"].fillna("").str.strip() != ""].reset_index(drop=True)
    df.to_csv(out, sep=";", index=False)
    print(json.dumps({}), file=OUT)


def markov(csv, order, runs):
    df = pd.read_csv(csv, sep=";")
    best, result = None, None
    for _ in range(runs):
        started = time.perf_counter()
        result = ca.markov_model(
            Data=df,
            var_path="path",
            var_conv="total_conversions",
            var_value="total_conversion_value",
            var_null="total_null",
            order=order,
            seed=0,
            out_more=False,
            verbose=0,
            flg_pro=False,
        )
        took = time.perf_counter() - started
        best = took if best is None else min(best, took)
    channels = {str(r["channel_name"]): float(r["total_conversions"]) for _, r in result.iterrows()}
    print(json.dumps({"seconds": best, "channels": channels}), file=OUT)


if __name__ == "__main__":
    if sys.argv[1] == "data":
        data(sys.argv[2])
    elif sys.argv[1] == "markov":
        markov(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
