"""The training photos: found in a folder or by a glob, bad files skipped and counted, held out by
seed, and a crop stream that is a pure function of the seed and the step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_image
from PIL import Image

from tfstyle.errors import ImageError
from tfstyle.training.photos import Photos, crops, find_photos, hold_out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for index, (height, width) in enumerate([(40, 60), (50, 50), (64, 36), (45, 70)]):
        Image.fromarray(synthetic_image(height, width, seed=index)).save(tmp_path / f"photo{index}.png")
    (tmp_path / "notes.txt").write_text("not a photo, not even named like one")
    return tmp_path


def test_a_folder_gives_its_image_files_sorted(folder):
    assert [Path(p).name for p in find_photos(folder).paths] == [f"photo{i}.png" for i in range(4)]


def test_a_glob_gives_its_matches(folder):
    assert [Path(p).name for p in find_photos(folder / "photo[12].png").paths] == ["photo1.png", "photo2.png"]


def test_corrupt_photos_among_good_ones_are_skipped_and_counted(folder):
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    data = (folder / "photo0.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "empty.png").write_bytes(b"")
    photos = find_photos(folder)
    assert len(photos.paths) == 4
    assert sorted(Path(p).name for p, _ in photos.skipped) == ["broken.jpg", "empty.png", "truncated.png"]
    assert all("not a readable image" in why for _, why in photos.skipped)


def test_photos_smaller_than_asked_are_skipped(folder):
    photos = find_photos(folder, min_side=45)
    assert [Path(p).name for p, _ in photos.skipped] == ["photo0.png", "photo2.png"]


def test_an_empty_folder_is_one_clear_error(tmp_path):
    with pytest.raises(ImageError, match="no photos to train on .*no image files"):
        find_photos(tmp_path)


def test_a_folder_of_only_bad_photos_is_one_clear_error(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"junk")
    with pytest.raises(ImageError, match="1 image file\\(s\\), none usable"):
        find_photos(tmp_path)


def test_a_missing_folder_and_a_file_are_named(tmp_path, folder):
    with pytest.raises(ImageError, match="photos folder not found"):
        find_photos(tmp_path / "nowhere")
    with pytest.raises(ImageError, match="must be a folder of images or a glob"):
        find_photos(folder / "photo0.png")


def test_hold_out_keeps_photos_out_by_seed_and_leaves_some_to_train_on(folder):
    photos = find_photos(folder)
    kept, held = hold_out(photos, 2, seed=0)
    assert len(kept.paths) == 2 and len(held) == 2 and not set(kept.paths) & set(held)
    assert hold_out(photos, 2, seed=0) == (kept, held)
    assert hold_out(photos, 0, seed=0) == (photos, ())
    with pytest.raises(ImageError, match="leaves none to train on"):
        hold_out(photos, 4, seed=0)


def test_crops_come_in_batches_of_the_crop_size_in_the_pixel_range(folder):
    batch = next(iter(crops(find_photos(folder).paths, 32, 48, 1.25, 3, seed=0))).numpy()
    assert batch.shape == (3, 32, 32, 3) and batch.dtype == np.float32
    assert 0 <= batch.min() and batch.max() <= 255 and batch.std() > 1


def test_a_stream_started_at_a_step_gives_that_steps_crops_as_an_uninterrupted_one(folder):
    paths = find_photos(folder).paths
    whole = iter(crops(paths, 24, 40, 1.5, 2, seed=7))
    first_three = [next(whole).numpy() for _ in range(3)]
    resumed = next(iter(crops(paths, 24, 40, 1.5, 2, seed=7, start=2))).numpy()
    np.testing.assert_array_equal(resumed, first_three[2])
    other_seed = next(iter(crops(paths, 24, 40, 1.5, 2, seed=8))).numpy()
    assert not np.array_equal(other_seed, first_three[0])


def test_small_photos_are_scaled_up_to_the_crop(tmp_path):
    Image.fromarray(synthetic_image(10, 12)).save(tmp_path / "tiny.png")
    batch = next(iter(crops(Photos((str(tmp_path / "tiny.png"),)).paths, 32, 16, 1.0, 1, seed=0))).numpy()
    assert batch.shape == (1, 32, 32, 3)
