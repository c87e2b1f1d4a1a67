"""Images in: reading, resizing and saving images, and preparing a run's content, style and start images."""
