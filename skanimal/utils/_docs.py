"""The source papers, cited once: a References section for a docstring.

Like imbalanced-learn's ``Substitution`` decorator for shared parameter text:
each paper's citation is written here once and added to the docstrings of the
public objects that follow it.
"""

# Authors: the skanimal developers
# SPDX-License-Identifier: BSD-3-Clause

__all__ = ["PAPERS", "cite_papers"]

#: The citation of each source paper, by key.
PAPERS = {
    "liu2025": (
        "Liu, Li et al. (2025). PainSeeker: a head pose-invariant deep learning "
        "method for assessing rat's pain by facial expressions. Frontiers in "
        "Veterinary Science."
    ),
    "tuttle2018": (
        "Tuttle, A. H. et al. (2018). A deep neural network to assess spontaneous "
        "pain from mouse facial expressions. Molecular Pain, 14."
    ),
    "boneh-shitrit": (
        "Boneh-Shitrit, T., Amir, S. et al. Deep learning models for automated "
        "classification of dog emotional states from facial expressions."
    ),
    "hosseini": (
        "Hosseini, E. et al. Convolution Neural Network for Pain Intensity "
        "Assessment from Facial Expression."
    ),
    "geifman2019": (
        "Geifman, Y., Uziel, G. and El-Yaniv, R. (2019). Bias-reduced uncertainty "
        "estimation for deep neural classifiers. ICLR."
    ),
}


def _wrap(text, width, indent):
    lines, line = [], ""
    for word in text.split():
        if line and len(indent) + len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return lines


def cite_papers(*keys):
    """Add a numpydoc References section citing `keys` (``[1]``, ``[2]``...).

    The section goes before the Examples section (numpydoc's order), or at
    the end of a docstring without one. The text cites them as ``[1]_``...
    """
    def decorate(obj):
        pad = "    "
        entries = []
        for k, key in enumerate(keys, 1):
            first, *rest = _wrap(PAPERS[key], 79, pad + "       ")
            entries.append(f"{pad}.. [{k}] {first}")
            entries.extend(f"{pad}   {line}" for line in rest)
        section = f"{pad}References\n{pad}----------\n" + "\n".join(entries) + "\n\n"
        doc = obj.__doc__
        if doc is None:  # python -OO strips docstrings
            return obj
        marker = f"\n{pad}Examples\n{pad}--------\n"
        if marker in doc:
            at = doc.index(marker) + 1
            obj.__doc__ = doc[:at] + section + doc[at:]
        else:
            obj.__doc__ = doc.rstrip() + "\n\n" + section.rstrip() + "\n" + pad
        return obj

    return decorate
