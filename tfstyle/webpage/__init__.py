"""The web page: ``python -m tfstyle.web`` serves a page on ``http://127.0.0.1:PORT`` where a person
drops a photo and paintings, picks the settings and watches the picture form.

``controls`` describes the page's settings from :class:`tfstyle.StyleConfig`'s field metadata and
reads them back; ``uploads`` checks uploaded images and keeps them in a private folder; ``runs``
is the queue and its one worker thread, which calls :func:`tfstyle.stylize`; ``app`` is the ASGI
app and its HTTP API; ``static/`` the page. The command line is :mod:`tfstyle.cli.web`. Importing
this package imports nothing else: the extra's packages (``pip install 'tfstyle[web]'``) are
needed by ``app`` only.
"""
