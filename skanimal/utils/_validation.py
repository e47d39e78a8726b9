"""Small parameter checks shared by skanimal's estimators."""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import numbers

__all__ = ["check_pair"]


def check_pair(value, name, *, labels="(height, width)"):
    """Return an int or a pair of ints as a tuple of two positive ints.

    ``labels`` names the two entries in the error message, e.g.
    ``"(rows, columns)"`` for a grid. A ValueError names the parameter.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pair = (int(value), int(value))
    else:
        pair = tuple(value)
        if len(pair) != 2 or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair
        ):
            raise ValueError(
                f"{name} must be an int or a pair of ints {labels}, got {value!r}."
            )
        pair = (int(pair[0]), int(pair[1]))
    if min(pair) < 1:
        raise ValueError(f"{name} must be positive, got {value!r}.")
    return pair
