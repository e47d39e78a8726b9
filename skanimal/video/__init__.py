"""Video frames: decode, sample and write the frames of videos.

:func:`sample_frames` streams the frames of a video with PyAV (one every N
seconds by presentation time, every frame, or the sharpest of each window,
optionally only sharp ones); :func:`write_frames` writes them as images with
a ``manifest.csv`` (``path, video, time`` plus ``subject`` and ``label`` when
known) for :func:`skanimal.datasets.load_manifest` and
:mod:`skanimal.scoring`. ``skanimal frames`` is the command-line form.
"""

from ._frames import Frame, sample_frames, write_frames

__all__ = ["Frame", "sample_frames", "write_frames"]
