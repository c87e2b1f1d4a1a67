"""Video: stylize a clip frame by frame without flicker (Ruder, Dosovitskiy & Brox, GCPR 2016).

:mod:`~tfstyle.video.io` reads and writes clips, :mod:`~tfstyle.video.flow` computes optical flow,
reliability masks and warps, :mod:`~tfstyle.video.temporal` holds the temporal losses, and
:mod:`~tfstyle.video.stylize` the frame loop (:func:`stylize_video`). Needs the ``video`` extra:
``pip install 'tfstyle[video]'``.
"""
