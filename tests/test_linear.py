"""Linear forms (``planner.model.linear.Lin``) on numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from planner.model.linear import Lin


def test_of_keeps_masked_nonzero_terms_and_adds_repeated_columns():
    form = Lin.of(
        np.array([4, 1, 4, 2, 3]), np.array([1.0, 2.0, 3.0, 0.0, 5.0]), np.array([1, 1, 1, 1, 0], bool), 7.0
    )
    # column 2 has a zero coefficient and column 3 is masked out; column 4 appears twice: 1 + 3
    assert form.idx.tolist() == [1, 4] and form.coef.tolist() == [2.0, 4.0] and form.constant == 7.0
    assert form.idx.dtype == np.int64 and form.coef.dtype == np.float64
    assert form.value(np.array([0.0, 10.0, 0.0, 0.0, 0.5])) == 2 * 10 + 4 * 0.5 + 7
    assert form.dense(5).tolist() == [0.0, 2.0, 0.0, 0.0, 4.0] and len(form) == 2


def test_of_takes_integer_coefficients_as_floats():
    form = Lin.of(np.array([0, 1]), np.array([3, 2]))
    assert form.coef.dtype == np.float64 and form.value(np.array([0.5, 0.25])) == 2.0


def test_total_weighs_forms_and_their_constants():
    a = Lin(np.array([0, 2]), np.array([1.0, 1.0]), 1.0)
    b = Lin(np.array([1, 2]), np.array([2.0, -0.5]), 10.0)
    total = Lin.total([a, b], [3.0, 2.0])
    # column 2: 3 * 1 + 2 * -0.5 = 2; constant 3 * 1 + 2 * 10 = 23
    assert total.idx.tolist() == [0, 1, 2] and total.coef.tolist() == [3.0, 4.0, 2.0]
    assert total.constant == 23.0
    assert (a + b).coef.tolist() == [1.0, 2.0, 0.5] and (a + b).constant == 11.0


def test_total_drops_columns_that_cancel_and_forms_weighed_zero():
    a = Lin(np.array([0, 1]), np.array([1.0, 1.0]))
    b = Lin(np.array([1]), np.array([-1.0]), 5.0)
    assert (a + b).idx.tolist() == [0] and (a + b).constant == 5.0
    none = Lin.total([a, b], [0.0, 0.0])
    assert len(none) == 0 and none.constant == 0.0
    empty = Lin.total([])
    assert len(empty) == 0 and empty.constant == 0.0 and empty.value(np.zeros(3)) == 0.0


def test_zero_is_a_constant():
    z = Lin.zero(2.5)
    assert len(z) == 0 and z.idx.dtype == np.int64 and z.value(np.array([1.0])) == 2.5


def test_total_needs_a_weight_per_form():
    with pytest.raises(ValueError):
        Lin.total([Lin.zero(), Lin.zero()], [1.0])
