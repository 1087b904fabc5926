"""The packed text column behaves as a column of strings wherever the planner reads one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.inputs.packed import PackedText

texts = st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=30)


@given(texts)
def test_texts_come_back_as_written(values):
    packed = PackedText.of(values)
    assert list(packed) == values
    assert len(packed) == len(values)
    assert packed.isna().tolist() == [v is None for v in values]
    assert np.asarray(packed).tolist() == values


@given(texts, st.data())
def test_take_slice_and_concat_agree_with_a_list(values, data):
    packed = PackedText.of(values)
    n = len(values)
    idx = data.draw(st.lists(st.integers(-1, n - 1), max_size=20)) if n else []
    assert list(packed.take(idx, allow_fill=True)) == [None if i == -1 else values[i] for i in idx]
    if n:
        plain = data.draw(st.lists(st.integers(-n, n - 1), max_size=20))
        assert list(packed.take(plain)) == [values[i] for i in plain]
    start, stop = sorted(data.draw(st.tuples(st.integers(0, n), st.integers(0, n))))
    window = packed[start:stop]
    assert list(window) == values[start:stop]
    assert list(window.copy()) == values[start:stop]
    assert list(packed[::2]) == values[::2]
    other = PackedText.of(["x", None])
    assert (
        list(PackedText._concat_same_type([window, other, packed]))
        == values[start:stop] + ["x", None] + values
    )


def test_a_series_of_packed_text_reads_as_strings():
    s = pd.Series(PackedText.of(["oem", "cloud", "oem", "直销"]))
    assert s.dtype.name == "packed-text"
    assert (s == "oem").tolist() == [True, False, True, False]
    assert (s != "oem").tolist() == [False, True, False, True]
    assert s.isin(["cloud", "直销"]).tolist() == [False, True, False, True]
    assert set(s) == {"oem", "cloud", "直销"}
    assert s[s == "oem"].reset_index(drop=True).tolist() == ["oem", "oem"]
    assert s.iloc[[3, 0]].tolist() == ["直销", "oem"]
    assert s.iloc[-1] == "直销"
    assert pd.factorize(s)[0].tolist() == [0, 1, 0, 2]
    frame = pd.DataFrame({"channel": s, "n": range(4)})
    assert frame.to_dict("records")[1] == {"channel": "cloud", "n": 1}
    assert frame.copy()["channel"].tolist() == s.tolist()
    assert frame.iloc[[2]]["channel"].tolist() == ["oem"]


def test_take_refuses_what_it_cannot_mean():
    packed = PackedText.of(["a", "b"])
    with pytest.raises(IndexError):
        packed.take([2])
    with pytest.raises(ValueError, match="only -1 may stand for a missing value"):
        packed.take([-2], allow_fill=True)
    with pytest.raises(ValueError, match="fills with missing values only"):
        packed.take([-1], allow_fill=True, fill_value="z")
    assert list(PackedText.of([]).take([-1, -1], allow_fill=True)) == [None, None]


def test_a_window_shares_the_buffer():
    packed = PackedText.of(["abc", "de", "f"])
    window = packed[1:3]
    assert np.shares_memory(window._data, packed._data)
    assert window.nbytes < packed.nbytes + 1
