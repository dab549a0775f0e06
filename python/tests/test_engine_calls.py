"""How the module calls the engine: no copies, threads, errors, Ctrl-C."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import meterbench as mb
from conftest import SCENARIO, cli_error


def test_values_are_the_engine_buffer_not_a_copy(generated):
    dataset = mb.read_dataset(generated)
    assert dataset.values.dtype == np.float32 and dataset.values.flags["C_CONTIGUOUS"]
    assert not dataset.values.flags["OWNDATA"] and dataset.values.base is not None  # owned by the engine's vector
    assert isinstance(dataset.series["customer"][0], str) and isinstance(dataset.series["meter"][0], str)
    assert set(dataset.events["kind"].astype(str)) <= set(mb._core.ANOMALY_KIND_NAMES)


def test_one_thread_and_two_threads_give_identical_results(generated):
    frame = mb.read_dataset(generated).to_frame()
    pd.testing.assert_frame_equal(mb.detect(frame, threads=1), mb.detect(frame, threads=2))
    one, two = mb.fit(frame, threads=1), mb.fit(frame, threads=2)
    pd.testing.assert_frame_equal(one, two)
    assert mb.backtest(generated, threads=1).summary["metrics"] == mb.backtest(generated, threads=2).summary["metrics"]


def test_fit_band_holds_the_expected_value_and_flags_by_the_threshold(generated):
    band = mb.fit(generated, params={"z": 4})
    scored = band.dropna(subset=["score"])
    assert len(scored) > 0
    assert (scored["lower"] <= scored["expected"]).all() and (scored["expected"] <= scored["upper"]).all()
    assert band.attrs["flag_threshold"] == 4
    assert (band["flagged"] == (band["score"] > 4)).all()


def test_engine_errors_carry_the_cli_message(generated):
    with pytest.raises(mb.InputError) as bad_model:
        mb.detect(generated, model="nope")
    assert isinstance(bad_model.value, ValueError) and isinstance(bad_model.value, mb.Error)
    assert str(bad_model.value) in cli_error("detect", "--data", generated, "--model", "nope", "--out", "-")
    with pytest.raises(mb.InputError) as bad_value:
        mb.detect(generated, params={"z": -1})
    assert str(bad_value.value) in cli_error("detect", "--data", generated, "--set", "z=-1", "--out", "-")
    with pytest.raises(mb.DatasetError, match="no-such-file.h5"):
        mb.read_dataset("no-such-file.h5")
    with pytest.raises(mb.InputError, match="unknown schedule|schedule"):
        mb.backtest(generated, schedule="hourly")


def test_an_existing_output_is_not_replaced_without_overwrite(generated, tmp_path):
    dataset = mb.read_dataset(generated)
    mb.write_dataset(tmp_path / "out.h5", dataset)
    with pytest.raises(mb.OutputError, match="out.h5"):
        mb.write_dataset(tmp_path / "out.h5", dataset)
    mb.write_dataset(tmp_path / "out.h5", dataset, overwrite=True)


def test_bad_frames_are_refused_naming_the_row_and_column():
    good = pd.DataFrame({"customer": ["a", "a"], "meter": ["m", "m"], "date": ["2024-01-01", "2024-01-02"], "quantity": [1.0, 2.0]})
    with pytest.raises(mb.InputError, match="no column 'quantity'"):
        mb.detect(good.drop(columns="quantity"))
    with pytest.raises(mb.InputError, match="row 1, column 'quantity': -3 is a negative quantity"):
        mb.detect(good.assign(quantity=[1.0, -3.0]))
    with pytest.raises(mb.InputError, match=r"row 0 .*column 'date'.*not a date"):
        mb.detect(good.assign(date=[None, "2024-01-02"]))
    with pytest.raises(mb.InputError, match=r"row 1 .*column 'customer'.*missing"):
        mb.detect(good.assign(customer=["a", None]))
    # Ids have any length (dataset format 3): a 200-byte customer is no error.
    mb.detect(good.assign(customer=["x" * 200, "a"]), min_impact=0)
    with pytest.raises(mb.InputError, match="DataFrame"):
        mb.detect([1, 2, 3])
    with pytest.raises(mb.InputError, match="threads"):
        mb.detect(good, threads=-1)


def test_ctrl_c_stops_a_long_call_and_leaves_no_staged_output(tmp_path):
    # A generate of several seconds in a child interpreter; SIGINT once it is running.
    script = textwrap.dedent(f"""
        import sys, time, meterbench as mb
        print("started", flush=True)
        start = time.monotonic()
        try:
            mb.generate({SCENARIO!r}, series=400000, days=730, seed=3, out={str(tmp_path / 'big.h5')!r}, threads=1)
            print("finished", flush=True)
        except KeyboardInterrupt:
            print(f"interrupted {{time.monotonic() - start:.2f}}", flush=True)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert child.stdout.readline().strip() == "started"
    time.sleep(2.0)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert "interrupted" in out and "finished" not in out, (out, err)
    assert time.monotonic() - sent < 10
    assert child.returncode == 0
    assert os.listdir(tmp_path) == []  # the staged file was removed, nothing was placed




def test_other_python_threads_run_while_the_engine_works(tmp_path):
    import threading
    call = threading.Thread(target=mb.generate, args=(SCENARIO,), kwargs={"series": 20000, "days": 400, "seed": 2,
                                                                         "out": tmp_path / "g.h5", "threads": 1})
    call.start()
    ticks = 0
    while call.is_alive():
        ticks += 1
        time.sleep(0.005)
    call.join()
    assert ticks > 20  # the engine held the interpreter's lock otherwise: no tick until it returned
