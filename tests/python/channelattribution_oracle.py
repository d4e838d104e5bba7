"""Runs the `channelattribution` package over its own 10,000-path data set and writes
(a) that data set without empty paths, for loopql to read, and (b) the package's results per
model and channel, for tests/oracle.rs to compare with loopql's `attribute_paths`.

Usage: channelattribution_oracle.py DATA_OUT RESULTS_OUT
"""

import os
import sys

import ChannelAttribution as ca
import cypack
import pandas as pd


def main(data_out, results_out):
    source = os.path.join(os.path.dirname(cypack.__file__), "data", "Data.csv")
    df = pd.read_csv(source, sep=";")
    # Empty paths corrupt the package's heuristic results: drop them first.
    df = df[df["path"].fillna("").str.strip() != ""].reset_index(drop=True)
    df.to_csv(data_out, sep=";", index=False)

    rows = []
    h = ca.heuristic_models(
        Data=df,
        var_path="path",
        var_conv="total_conversions",
        var_value="total_conversion_value",
        flg_pro=False,
    )
    for ours, theirs in [("first_touch", "first_touch"), ("last_touch", "last_touch"), ("linear", "linear_touch")]:
        for _, r in h.iterrows():
            rows.append((ours, r["channel_name"], r[f"{theirs}_conversions"], r[f"{theirs}_value"]))
    m = ca.markov_model(
        Data=df,
        var_path="path",
        var_conv="total_conversions",
        var_value="total_conversion_value",
        var_null="total_null",
        order=1,
        max_step=200,
        nsim_start=1e6,
        conv_par=0.01,
        seed=0,
        out_more=False,
        verbose=0,
        flg_pro=False,
    )
    for _, r in m.iterrows():
        rows.append(("markov", r["channel_name"], r["total_conversions"], r["total_conversion_value"]))
    pd.DataFrame(rows, columns=["model", "channel", "conversions", "value"]).to_csv(results_out, index=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
