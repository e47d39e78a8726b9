"""Torch weights kept apart from an estimator's skops state (for ``skanimal.save_model``).

skops serialises an estimator through its ``__getstate__`` / ``__setstate__``
but cannot hold torch modules (and must not: a pickled module runs code when
it is loaded). While :func:`skanimal.save_model` dumps an estimator, a
:class:`TensorStore` is *active*: the estimators that own torch modules
(:class:`~skanimal.features.DeepFeatures`, the nets of :mod:`skanimal.nets`)
put their modules' weights into it and leave in their state only the key
(:data:`STATE_KEY`) under which they are stored. While
:func:`skanimal.load_model` loads, the store holds the tensors read from the
file's safetensors part and the estimators take their weights back from it.
Outside these two calls nothing is active and pickling is unchanged.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

import contextvars
from contextlib import contextmanager

__all__ = ["STATE_KEY", "TensorStore", "active_store", "take_tensors", "tensor_store"]

#: The state entry naming an estimator's tensors in the active store.
STATE_KEY = "__skanimal_tensors__"

_ACTIVE = contextvars.ContextVar("skanimal_tensor_store", default=None)


class TensorStore:
    """Named tensors of the estimators of one model file.

    Parameters
    ----------
    tensors : dict of str to torch.Tensor, default=None
        The tensors read from a file (loading); empty when saving.

    Attributes
    ----------
    tensors : dict of str to torch.Tensor
        ``"<key>/<part>/<parameter name>"`` -> tensor, on the CPU.
    records : list of dict
        One entry per estimator that put tensors (its key, class and the
        information it gave: backbone, weights identity, preprocessing).
    """

    def __init__(self, tensors=None):
        self.tensors = dict(tensors or {})
        self.records = []
        self._owners = {}  # id(owner) -> (owner, key): skops asks for a state twice

    def put(self, owner, state_dicts, **info):
        """Store ``{part: state_dict}`` of ``owner``; return the key to keep in its state.

        An owner is stored once: skops calls ``__getstate__`` twice per object
        (``__reduce__`` first), and the second call gets the first key.
        """
        import torch

        if id(owner) in self._owners:
            return self._owners[id(owner)][1]
        key = f"e{len(self.records)}"
        self._owners[id(owner)] = (owner, key)
        for part, state_dict in state_dicts.items():
            for name, tensor in state_dict.items():
                # a copy on the CPU: safetensors refuses tensors sharing memory
                self.tensors[f"{key}/{part}/{name}"] = tensor.detach().to("cpu").clone(
                    memory_format=torch.contiguous_format)
        self.records.append({"key": key, "estimator": type(owner).__name__, **info})
        return key

    def take(self, key):
        """The ``{part: state_dict}`` stored under ``key``."""
        if not isinstance(key, str):
            raise ValueError(f"the saved estimator names its weights by {key!r}, not a key.")
        prefix = key + "/"
        out = {}
        for full, tensor in self.tensors.items():
            if full.startswith(prefix):
                part, _, name = full[len(prefix):].partition("/")
                out.setdefault(part, {})[name] = tensor
        return out


def active_store():
    """The :class:`TensorStore` of the save or load under way, or None."""
    return _ACTIVE.get()


@contextmanager
def tensor_store(store):
    """Make ``store`` the active store inside the block."""
    token = _ACTIVE.set(store)
    try:
        yield store
    finally:
        _ACTIVE.reset(token)


def take_tensors(owner, key):
    """The tensors of ``owner`` from the active store; an error outside a load."""
    store = active_store()
    if store is None:
        raise ValueError(
            f"This saved {type(owner).__name__} keeps its torch weights outside its skops "
            f"state (in a skanimal model file): load the file with skanimal.load_model, not "
            f"skops.io.load."
        )
    return store.take(key)
