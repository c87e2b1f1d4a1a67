"""The pictures of the README and the docs, made again from the library as a user would run it:
``python -m tools.pictures.readme`` (the results and the creative controls),
``python -m tools.pictures.video_gif`` (video mode beside per-frame stylization) and
``python -m tools.pictures.web_screenshot`` (the web page).
"""
