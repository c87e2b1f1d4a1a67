"""Video: stylize a clip frame by frame without flicker (Ruder, Dosovitskiy & Brox, GCPR 2016).

:mod:`~tfstyle.clips.io` reads and writes clips, :mod:`~tfstyle.clips.flow` computes optical flow,
reliability masks and warps, :mod:`~tfstyle.clips.temporal` holds the temporal losses, and
:mod:`~tfstyle.clips.stylize` the frame loop (:func:`stylize_video`). Needs the ``video`` extra:
``pip install 'tfstyle[video]'``.
"""
