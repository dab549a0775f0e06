"""The module's results equal the CLI's on the same data: it calls the same engine."""
import json
import os

import numpy as np
import pandas as pd
import pytest

import meterbench as mb
from conftest import SCENARIO, SOURCE_DIR, run_cli

RUN_FIELDS_THAT_VARY = ("throughput", "context", "peak_rss_bytes", "total_wall_seconds", "dataset")


def iso_csv(frame, path):
    """The frame as the usage CSV `meterbench ingest` reads (ISO dates)."""
    frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)


def test_detect_on_a_frame_equals_cli_ingest_then_detect(generated, tmp_path):
    frame = mb.read_dataset(generated).to_frame()
    iso_csv(frame, tmp_path / "usage.csv")
    run_cli("ingest", "--csv", tmp_path / "usage.csv", "--out", tmp_path / "usage.h5")
    run_cli("detect", "--data", tmp_path / "usage.h5", "--out", tmp_path / "incidents.json")
    run_cli("detect", "--data", tmp_path / "usage.h5", "--out", tmp_path / "incidents.csv")

    incidents = mb.detect(frame)

    expected = mb._incidents_from_json(json.loads((tmp_path / "incidents.json").read_text()))
    assert len(incidents) > 10
    pd.testing.assert_frame_equal(incidents, expected)
    cli_csv = pd.read_csv(tmp_path / "incidents.csv", dtype={"customer": str, "meter": str})
    assert list(incidents.columns) == list(cli_csv.columns)
    assert incidents[["customer", "meter", "kind", "direction"]].values.tolist() == \
        cli_csv[["customer", "meter", "kind", "direction"]].values.tolist()
    np.testing.assert_allclose(incidents["impact"], cli_csv["impact"], rtol=1e-5)


@pytest.mark.parametrize("duplicates", [True, False])
def test_frame_to_dataset_equals_ingest(tmp_path, duplicates):
    # Unsorted rows, duplicates (summed), a gap, a price that changes (the latest wins), a series without a price,
    # ids whose order differs between bytes and a naive sort ("a" < "ab" < "b", upper case first).
    frame = pd.DataFrame({
        "customer": ["b", "a", "ab", "a", "a", "B", "b", "a"],
        "meter": ["m", "m2", "m", "m", "m", "m", "m", "m"],
        "date": ["2024-03-03", "2024-03-01", "2024-03-02", "2024-03-01", "2024-03-01", "2024-03-05", "2024-03-01", "2024-03-04"],
        "quantity": [1.5, 2.0, 3.25, 0.1, 0.2, 7.0, 4.0, 5.0],
        "price": [0.5, np.nan, 1.0, 2.0, 3.0, np.nan, 0.25, np.nan],
    })
    if not duplicates:  # one row per series and step: the frame's other path
        frame = frame.drop(index=[4, 6]).reset_index(drop=True)
    frame.to_csv(tmp_path / "usage.csv", index=False)
    run_cli("ingest", "--csv", tmp_path / "usage.csv", "--out", tmp_path / "usage.h5")
    ingested = mb.read_dataset(tmp_path / "usage.h5")

    built = mb.frame_to_dataset(frame)

    np.testing.assert_array_equal(built.values, ingested.values)
    assert built.series["customer"].tolist() == ingested.series["customer"].tolist() == ["B", "a", "a", "ab", "b"]
    assert built.series["meter"].tolist() == ingested.series["meter"].tolist()
    np.testing.assert_array_equal(built.series["price_per_unit"], ingested.series["price_per_unit"])
    for key in ("start_unix_seconds", "step_seconds", "steps", "series_count", "has_labels"):
        assert built.attributes[key] == ingested.attributes[key], key


def test_written_dataset_reads_back_and_the_cli_reads_it(generated, tmp_path):
    original = mb.read_dataset(generated)
    mb.write_dataset(tmp_path / "copy.h5", original)
    copy = mb.read_dataset(tmp_path / "copy.h5")
    np.testing.assert_array_equal(copy.values, original.values)
    np.testing.assert_array_equal(copy.labels, original.labels)
    pd.testing.assert_frame_equal(copy.series, original.series)
    pd.testing.assert_frame_equal(copy.events, original.events)
    run_cli("backtest", "--data", tmp_path / "copy.h5", "--out", tmp_path / "run_copy")
    run_cli("backtest", "--data", generated, "--out", tmp_path / "run_original")
    metrics = [json.loads((tmp_path / run / "summary.json").read_text())["metrics"] for run in ("run_copy", "run_original")]
    assert metrics[0] == metrics[1]


def test_backtest_summary_and_tables_equal_cli(generated, tmp_path):
    run_cli("backtest", "--data", generated, "--out", tmp_path / "run")
    cli_summary = json.loads((tmp_path / "run" / "summary.json").read_text())

    result = mb.backtest(generated)

    for key in cli_summary:
        if key not in RUN_FIELDS_THAT_VARY:
            got, want = result.summary[key], cli_summary[key]
            if key == "baseline_random":  # its timings vary
                got, want = ({k: v for k, v in d.items() if not k.endswith("_seconds")} for d in (got, want))
            assert got == want, key
    assert result.summary["metrics"]["event"]["f1"] > 0
    for table in ("per_kind", "pr_curve", "alerts"):
        pd.testing.assert_frame_equal(getattr(result, table), mb._read_csv(tmp_path / "run" / f"{table}.csv"))


def test_fit_equals_the_bands_of_a_cli_backtest(generated, tmp_path):
    h5py = pytest.importorskip("h5py")
    run_cli("backtest", "--data", generated, "--save-bands", "--out", tmp_path / "run")
    dataset = mb.read_dataset(generated)

    band = mb.fit(generated)

    with h5py.File(tmp_path / "run" / "bands.h5") as bands:
        for name in ("expected", "lower", "upper", "score"):
            np.testing.assert_array_equal(band[name].to_numpy().reshape(dataset.values.shape), bands[name][...])


def test_generate_equals_cli(generated):
    dataset = mb.generate(SCENARIO, series=160, days=400, seed=11)
    cli = mb.read_dataset(generated)
    np.testing.assert_array_equal(dataset.values, cli.values)
    np.testing.assert_array_equal(dataset.labels, cli.labels)
    pd.testing.assert_frame_equal(dataset.events, cli.events)


def test_sweep_best_equals_cli(generated, tmp_path):
    run_cli("sweep", "--data", generated, "--grid", "weekly_order=2,3", "--out", tmp_path / "sweep")
    cli_best = json.loads((tmp_path / "sweep" / "best.json").read_text())

    result = mb.sweep(generated, grid={"weekly_order": [2, 3]})

    for key in cli_best:
        if key not in RUN_FIELDS_THAT_VARY + ("command",):
            assert result.best[key] == cli_best[key], key
    pd.testing.assert_frame_equal(result.table, mb._read_csv(tmp_path / "sweep" / "sweep.csv"))


def test_models_lists_the_parameter_table_of_the_cli():
    table = mb.models()
    listing = run_cli("models").stdout
    assert set(table["model"]) == {"gam", "random", "seasonal-mad", "stl-esd"}
    for _, row in table.iterrows():
        assert f"`{row['parameter']}`" in listing or row["parameter"] in listing, row["parameter"]
    z = table[(table["model"] == "gam") & table["flag_threshold"]]
    assert z["parameter"].tolist() == ["z"]


@pytest.mark.parametrize("option, value", [("since", "2024-11-01"), ("by", "customer"), ("by", "meter"), ("last", 60)])
def test_detect_since_by_and_last_equal_cli(generated, tmp_path, option, value):
    run_cli("detect", "--data", generated, f"--{option}", value, "--out", tmp_path / "incidents.json")
    expected = mb._incidents_from_json(json.loads((tmp_path / "incidents.json").read_text()))

    incidents = mb.detect(generated, **{option: value})

    assert len(incidents) > 0
    pd.testing.assert_frame_equal(incidents, expected)


def test_inject_into_a_frame_equals_cli(generated, tmp_path):
    scenario = os.path.join(SOURCE_DIR, "datasets", "scenarios", "real_injections.toml")
    frame = mb.read_dataset(generated).to_frame()
    iso_csv(frame, tmp_path / "usage.csv")
    run_cli("ingest", "--csv", tmp_path / "usage.csv", "--out", tmp_path / "usage.h5")
    run_cli("inject", "--data", tmp_path / "usage.h5", "--scenario", scenario, "--seed", 5, "--out", tmp_path / "injected.h5")
    cli = mb.read_dataset(tmp_path / "injected.h5")

    injected = mb.inject(frame, scenario, seed=5)

    assert len(injected.events) > 0
    np.testing.assert_array_equal(injected.values, cli.values)
    np.testing.assert_array_equal(injected.labels, cli.labels)
    pd.testing.assert_frame_equal(injected.events, cli.events)

def test_detect_keeps_the_frames_other_columns_as_ingest_keep_does(generated, tmp_path):
    frame = mb.read_dataset(generated).to_frame()
    frame["region"] = np.where(frame["customer"].astype(str) < "c", "west", "east")
    frame["offer"] = "std"
    iso_csv(frame, tmp_path / "usage.csv")
    run_cli("ingest", "--csv", tmp_path / "usage.csv", "--keep", "region,offer", "--out", tmp_path / "usage.h5")
    run_cli("detect", "--data", tmp_path / "usage.h5", "--out", tmp_path / "incidents.csv")
    cli_csv = pd.read_csv(tmp_path / "incidents.csv", dtype=str)

    incidents = mb.detect(frame)

    assert list(incidents.columns[:4]) == ["customer", "meter", "region", "offer"]
    assert list(incidents.columns) == list(cli_csv.columns)
    assert incidents[["customer", "meter", "region", "offer"]].values.tolist() == \
        cli_csv[["customer", "meter", "region", "offer"]].values.tolist()
