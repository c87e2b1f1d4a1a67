"""Image I/O: every kind of input becomes float32 RGB [h, w, 3] in [0, 255]; clear errors; atomic saves."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfstyle.errors import ImageError
from tfstyle.inputs.images import (
    check_writable,
    decode_image,
    load_image,
    resize,
    resize_longest_side,
    resize_to_area,
    save_image,
    scaled_size,
    to_pil,
)

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def assert_rgb_float(image: np.ndarray, shape: tuple[int, int]) -> None:
    assert isinstance(image, np.ndarray)
    assert image.dtype == np.float32
    assert image.shape == (*shape, 3)
    assert image.min() >= 0.0 and image.max() <= 255.0


def leftover_temp_files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith("."))


# --- sources: path, PIL, numpy, tensor ---------------------------------------------------------


def test_load_from_path_str_and_pathlike_gives_same_pixels(content_path, content_array):
    from_path = load_image(content_path)
    from_str = load_image(str(content_path))
    assert_rgb_float(from_path, content_array.shape[:2])
    np.testing.assert_array_equal(from_path, content_array.astype(np.float32))
    np.testing.assert_array_equal(from_str, from_path)


def test_load_from_pil_image(content_array):
    image = load_image(Image.fromarray(content_array))
    assert_rgb_float(image, content_array.shape[:2])
    np.testing.assert_array_equal(image, content_array)


def test_load_uint8_rgb_array_keeps_values(content_array):
    image = load_image(content_array)
    assert_rgb_float(image, content_array.shape[:2])
    np.testing.assert_array_equal(image, content_array)


def test_load_uint16_array_scales_65535_to_255():
    array = np.array([[0, 257, 65535]], dtype=np.uint16)
    image = load_image(array)
    assert_rgb_float(image, (1, 3))
    np.testing.assert_allclose(image[0, :, 0], [0.0, 1.0, 255.0], atol=1e-4)


def test_load_float_array_keeps_fractional_values_and_clips_out_of_range():
    array = np.array([[[10.25, 20.5, 30.75], [-5.0, 300.0, 128.0]]], dtype=np.float64)
    image = load_image(array)
    assert_rgb_float(image, (1, 2))
    np.testing.assert_allclose(image[0, 0], [10.25, 20.5, 30.75])
    np.testing.assert_allclose(image[0, 1], [0.0, 255.0, 128.0])


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1)], ids=["hw", "hw1"])
def test_load_grayscale_array_repeats_into_three_channels(shape):
    array = np.arange(35, dtype=np.uint8).reshape(shape)
    image = load_image(array)
    assert_rgb_float(image, (5, 7))
    for channel in range(3):
        np.testing.assert_array_equal(image[..., channel], array.reshape(5, 7))


def test_load_rgba_array_composites_on_white():
    array = np.zeros((2, 2, 4), dtype=np.uint8)
    array[0, 0] = (255, 0, 0, 255)  # opaque red
    array[0, 1] = (255, 0, 0, 0)  # fully transparent: white
    array[1, :] = (0, 0, 0, 128)  # half-transparent black: mid grey
    image = load_image(array)
    np.testing.assert_allclose(image[0, 0], RED)
    np.testing.assert_allclose(image[0, 1], WHITE)
    np.testing.assert_allclose(image[1, 0], [127.0] * 3, atol=0.6)


def test_load_batch_of_one_array_drops_the_batch_axis(content_array):
    image = load_image(content_array[None])
    assert_rgb_float(image, content_array.shape[:2])


def test_load_tensor(content_array):
    image = load_image(tf.constant(content_array, dtype=tf.float32))
    assert_rgb_float(image, content_array.shape[:2])
    np.testing.assert_array_equal(image, content_array)


@pytest.mark.parametrize("shape", [(4, 4, 2), (4, 4, 5), (2, 4, 4, 3), (4,)])
def test_load_array_with_bad_shape_raises_image_error(shape):
    with pytest.raises(ImageError, match="must be"):
        load_image(np.zeros(shape, dtype=np.uint8), "content image")


def test_load_array_with_nan_raises_image_error():
    array = np.zeros((4, 4, 3), dtype=np.float32)
    array[1, 1, 1] = np.nan
    with pytest.raises(ImageError, match="NaN"):
        load_image(array, "style image")


# --- image modes from files ---------------------------------------------------------------------


def test_grayscale_png_becomes_gray_rgb(tmp_path):
    path = tmp_path / "gray.png"
    gray = np.array([[0, 100], [200, 255]], dtype=np.uint8)
    Image.fromarray(gray, "L").save(path)
    image = load_image(path)
    assert_rgb_float(image, (2, 2))
    for channel in range(3):
        np.testing.assert_array_equal(image[..., channel], gray)


def test_rgba_png_is_composited_on_white(tmp_path):
    path = tmp_path / "rgba.png"
    pixels = np.array([[(0, 0, 255, 255), (0, 0, 255, 0)]], dtype=np.uint8)
    Image.fromarray(pixels, "RGBA").save(path)
    image = load_image(path)
    assert_rgb_float(image, (1, 2))
    np.testing.assert_array_equal(image[0, 0], BLUE)
    np.testing.assert_array_equal(image[0, 1], WHITE)


def test_la_png_is_composited_on_white(tmp_path):
    path = tmp_path / "la.png"
    pixels = np.array([[(0, 255), (0, 0), (50, 255)]], dtype=np.uint8)
    Image.fromarray(pixels, "LA").save(path)
    assert Image.open(path).mode == "LA"
    image = load_image(path)
    np.testing.assert_array_equal(image[0], [[0, 0, 0], WHITE, [50, 50, 50]])


def palette_image() -> Image.Image:
    pil = Image.new("P", (3, 1))
    pil.putpalette([*RED, *GREEN, *BLUE] + [0] * (256 - 3) * 3)
    pil.putdata([0, 1, 2])
    return pil


def test_palette_png_without_transparency_maps_to_palette_colours(tmp_path):
    path = tmp_path / "palette.png"
    palette_image().save(path)
    assert Image.open(path).mode == "P"
    np.testing.assert_array_equal(load_image(path)[0], [RED, GREEN, BLUE])


def test_palette_png_with_transparent_index_shows_white(tmp_path):
    path = tmp_path / "palette_transparent.png"
    palette_image().save(path, transparency=1)  # green is the transparent index
    with Image.open(path) as pil:
        assert pil.mode == "P" and "transparency" in pil.info
    np.testing.assert_array_equal(load_image(path)[0], [RED, WHITE, BLUE])


def test_palette_gif_with_transparency_shows_white(tmp_path):
    path = tmp_path / "palette.gif"
    palette_image().save(path, transparency=2)
    np.testing.assert_array_equal(load_image(path)[0], [RED, GREEN, WHITE])


def test_sixteen_bit_grayscale_png_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "gray16.png"
    values = np.array([[0, 257 * 64, 257 * 128, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(path)
    with Image.open(path) as pil:
        assert pil.mode.startswith("I")
    image = load_image(path)
    assert_rgb_float(image, (1, 4))
    np.testing.assert_allclose(image[0, :, 0], [0.0, 64.0, 128.0, 255.0], atol=1e-3)
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


def test_cmyk_jpeg_becomes_rgb_with_the_right_colours(tmp_path):
    path = tmp_path / "cmyk.jpg"
    cmyk = Image.new("CMYK", (32, 16))
    cmyk.paste((0, 255, 255, 0), (0, 0, 16, 16))  # red
    cmyk.paste((255, 255, 0, 0), (16, 0, 32, 16))  # blue
    cmyk.save(path, quality=100)
    with Image.open(path) as pil:
        assert pil.mode == "CMYK"
    image = load_image(path)
    assert_rgb_float(image, (16, 32))
    np.testing.assert_allclose(image[8, 4], RED, atol=12)
    np.testing.assert_allclose(image[8, 28], BLUE, atol=12)


def test_one_bit_image_becomes_black_and_white_rgb(tmp_path):
    path = tmp_path / "bits.png"
    pil = Image.new("1", (2, 1))
    pil.putdata([0, 1])
    pil.save(path)
    assert Image.open(path).mode == "1"
    np.testing.assert_array_equal(load_image(path)[0], [[0, 0, 0], WHITE])


def test_rgb_jpeg_loads_with_close_colours(tmp_path, content_array):
    path = tmp_path / "photo.jpg"
    Image.fromarray(content_array).save(path, quality=95, subsampling=0)  # no chroma blur
    image = load_image(path)
    assert_rgb_float(image, content_array.shape[:2])
    assert np.abs(image - content_array).mean() < 3.0


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_orientation_rotates_the_image(tmp_path, orientation):
    """Orientation 6/8: the camera was turned 90 degrees; the stored 40x20 image displays as 20x40."""
    path = tmp_path / f"rotated_{orientation}.jpg"
    stored = np.zeros((20, 40, 3), dtype=np.uint8)
    stored[:, :20] = RED  # left half red in the stored pixels
    stored[:, 20:] = BLUE
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, exif=exif, quality=100)
    image = load_image(path)
    assert_rgb_float(image, (40, 20))
    top, bottom = image[5, 10], image[35, 10]
    # 6: rotate 90 clockwise to display, so the stored left (red) ends up on top; 8: the reverse.
    expected_top, expected_bottom = (RED, BLUE) if orientation == 6 else (BLUE, RED)
    np.testing.assert_allclose(top, expected_top, atol=12)
    np.testing.assert_allclose(bottom, expected_bottom, atol=12)


def test_image_without_exif_keeps_its_shape(tmp_path):
    path = tmp_path / "plain.jpg"
    Image.new("RGB", (40, 20), RED).save(path)
    assert load_image(path).shape == (20, 40, 3)


# --- errors ---------------------------------------------------------------------------------------


def assert_one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert message and "\n" not in message
    return message


def test_missing_file_raises_image_error_naming_it(tmp_path):
    missing = tmp_path / "nope.png"
    with pytest.raises(ImageError) as err:
        load_image(missing, "content image")
    message = assert_one_line(err)
    assert "content image not found" in message and str(missing) in message


def test_directory_raises_image_error(tmp_path):
    with pytest.raises(ImageError) as err:
        load_image(tmp_path, "style image")
    assert "is a directory" in assert_one_line(err)


def test_text_file_raises_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("just some text, not pixels\n")
    with pytest.raises(ImageError) as err:
        load_image(path, "content image")
    assert "is not an image" in assert_one_line(err)


def test_an_empty_file_says_it_is_empty(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageError) as err:
        load_image(path, "content image")
    assert assert_one_line(err) == f"content image {path} is empty (0 bytes)"
    with pytest.raises(ImageError, match=r"style image x.jpg is empty \(0 bytes\)"):
        decode_image(b"", "style image", "x.jpg")


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_file_raises_corrupt_or_truncated(tmp_path, content_array, suffix):
    whole = tmp_path / f"whole{suffix}"
    Image.fromarray(content_array).save(whole)
    data = whole.read_bytes()
    path = tmp_path / f"half{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError) as err:
        load_image(path, "content image")
    message = assert_one_line(err)
    assert "corrupt or truncated" in message and str(path) in message


def test_load_error_is_not_left_to_pil_state(tmp_path, content_array):
    """After a truncated image fails, a good one still loads (no global LOAD_TRUNCATED_IMAGES hack)."""
    good = tmp_path / "good.png"
    Image.fromarray(content_array).save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(good.read_bytes()[:100])
    with pytest.raises(ImageError):
        load_image(bad)
    assert load_image(good).shape == (*content_array.shape[:2], 3)


# --- resizing -----------------------------------------------------------------------------------


def test_resize_longest_side_landscape_and_portrait():
    landscape = np.full((48, 64, 3), 100.0, np.float32)
    assert resize_longest_side(landscape, 32).shape == (24, 32, 3)
    portrait = np.full((64, 48, 3), 100.0, np.float32)
    assert resize_longest_side(portrait, 128).shape == (128, 96, 3)


def test_resize_longest_side_keeps_flat_colour_and_range():
    flat = np.full((30, 50, 3), 77.0, np.float32)
    out = resize_longest_side(flat, 20)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 77.0, atol=1e-3)


def test_resize_clips_bicubic_overshoot_to_0_255():
    checker = (np.indices((16, 16)).sum(axis=0) % 2 * 255).astype(np.float32)
    image = np.repeat(checker[..., None], 3, axis=2)
    out = resize(image, (40, 40))
    assert out.min() >= 0.0 and out.max() <= 255.0


def test_resize_to_same_shape_is_a_no_op(content_array):
    image = content_array.astype(np.float32)
    assert resize_longest_side(image, max(image.shape[:2])) is image


def test_resize_longest_side_never_gives_a_zero_side():
    thin = np.zeros((1, 100, 3), np.float32)
    assert resize_longest_side(thin, 10).shape == (1, 10, 3)


def test_resize_to_area_matches_pixel_count_and_aspect():
    style = np.zeros((64, 48, 3), np.float32)
    out = resize_to_area(style, 24 * 32)
    height, width = out.shape[:2]
    assert abs(height * width - 24 * 32) <= max(height, width)
    assert height / width == pytest.approx(64 / 48, rel=0.05)


# --- saving ------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp"])
def test_save_image_writes_a_readable_file_with_the_pixels(tmp_path, suffix):
    y, x = np.mgrid[0:24, 0:32]
    smooth = np.stack([x * 8, y * 10, np.full_like(x, 128)], axis=-1).astype(np.float32)  # JPEG-friendly
    path = tmp_path / f"out{suffix}"
    assert save_image(smooth, path) == path
    reread = load_image(path)
    assert reread.shape == (24, 32, 3)
    tolerance = 3.0 if suffix == ".jpg" else 0.0
    assert np.abs(reread - smooth).mean() <= tolerance
    assert leftover_temp_files(tmp_path) == []


def test_save_image_accepts_batch_of_one_tensor_and_pil(tmp_path, content_array):
    save_image(tf.constant(content_array[None], tf.float32), tmp_path / "tensor.png")
    save_image(Image.fromarray(content_array), tmp_path / "pil.png")
    np.testing.assert_array_equal(load_image(tmp_path / "tensor.png"), load_image(tmp_path / "pil.png"))


def test_save_image_rounds_and_clips_floats(tmp_path):
    path = tmp_path / "rounded.png"
    save_image(np.array([[[-3.0, 127.6, 300.0]]], np.float32), path)
    np.testing.assert_array_equal(load_image(path)[0, 0], [0, 128, 255])


def test_save_image_replaces_an_existing_file(tmp_path):
    path = tmp_path / "out.png"
    save_image(np.zeros((4, 4, 3), np.float32), path)
    save_image(np.full((6, 6, 3), 255.0, np.float32), path)
    image = load_image(path)
    assert image.shape == (6, 6, 3) and image.min() == 255.0
    assert leftover_temp_files(tmp_path) == []


def test_save_image_gives_the_usual_file_permissions(tmp_path):
    """The temp-file-then-rename dance must not leave a private (0600) image behind."""
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")  # what the umask gives an ordinary new file
    path = save_image(np.zeros((4, 4, 3), np.float32), tmp_path / "out.png")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


class SaveFailed(Exception):
    pass


@pytest.mark.parametrize(
    "failure",
    [SaveFailed("boom"), OSError(28, "No space left on device"), KeyboardInterrupt()],
    ids=["exception", "oserror", "ctrl-c"],
)
def test_failed_save_leaves_the_previous_file_untouched_and_no_temp_file(tmp_path, monkeypatch, failure):
    path = tmp_path / "out.png"
    save_image(np.full((5, 5, 3), 10.0, np.float32), path)
    before = path.read_bytes()

    def failing_save(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")  # something reached the temp file before the failure
        raise failure

    monkeypatch.setattr(Image.Image, "save", failing_save)
    expected = ImageError if isinstance(failure, OSError) else type(failure)
    with pytest.raises(expected) as err:
        save_image(np.full((5, 5, 3), 200.0, np.float32), path)
    if isinstance(failure, OSError):
        message = str(err.value)
        assert "could not write" in message and "No space left" in message
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert leftover_temp_files(tmp_path) == []
    assert load_image(path).max() == 10.0


def test_failed_first_save_creates_no_file(tmp_path, monkeypatch):
    path = tmp_path / "new.png"

    def failing_save(self, fp, *args, **kwargs):
        raise SaveFailed("boom")

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(SaveFailed):
        save_image(np.zeros((4, 4, 3), np.float32), path)
    assert list(tmp_path.iterdir()) == []


def test_check_writable_accepts_known_extensions_in_any_case(tmp_path):
    for name in ("a.png", "b.JPG", "c.jpeg", "d.bmp", "e.tif"):
        assert check_writable(tmp_path / name) == tmp_path / name


def test_check_writable_accepts_a_bare_file_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_image(np.zeros((2, 2, 3), np.float32), "here.png")
    assert (tmp_path / "here.png").is_file()
    assert leftover_temp_files(tmp_path) == []


@pytest.mark.parametrize("name", ["out.xyz", "out", "out.txt"])
def test_check_writable_rejects_unknown_extensions(tmp_path, name):
    with pytest.raises(ImageError, match="extension"):
        check_writable(tmp_path / name)


@pytest.mark.parametrize("name", ["out.psd", "out.xpm"])
def test_check_writable_rejects_formats_pil_reads_but_cannot_write(tmp_path, name):
    with pytest.raises(ImageError, match="extension"):
        check_writable(tmp_path / name)


def test_check_writable_rejects_a_missing_folder(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        check_writable(tmp_path / "missing" / "out.png")


def test_check_writable_says_a_file_in_the_way_is_not_a_folder(tmp_path):
    (tmp_path / "somefile.txt").write_text("")
    with pytest.raises(ImageError, match="somefile.txt is a file, not a folder"):
        check_writable(tmp_path / "somefile.txt" / "out.png")


def test_check_writable_rejects_a_directory(tmp_path):
    target = tmp_path / "out.png"
    target.mkdir()
    with pytest.raises(ImageError, match="is a directory"):
        check_writable(target)


def test_save_image_rejects_before_writing_anything(tmp_path):
    with pytest.raises(ImageError):
        save_image(np.zeros((2, 2, 3), np.float32), tmp_path / "out.xyz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_check_writable_rejects_a_read_only_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ImageError, match="not writable"):
            check_writable(folder / "out.png")
    finally:
        folder.chmod(0o700)


def test_to_pil_rejects_a_real_batch():
    with pytest.raises(ValueError, match="batch of 2"):
        to_pil(np.zeros((2, 4, 4, 3), np.float32))


def test_scaled_size_keeps_the_aspect_and_rounds_each_side_to_its_multiple():
    assert scaled_size((300, 400, 3), 32) == (24, 32)
    assert scaled_size((400, 300), 128) == (128, 96)
    assert scaled_size((5, 1000), 10) == (1, 10)  # never a zero side
    assert scaled_size((300, 400), 30, multiple=2) == (22, 30)  # even sides for video codecs
    assert scaled_size((5, 1000), 10, multiple=2) == (2, 10)
