"""A cache's patterns read from disk give exactly the arrays the NPZ holds."""

import numpy as np
import pytest

from edsmaps.pattern_file import PatternFile, write_npz
from edsmaps.scaling import sampled_values


@pytest.fixture
def stored(tmp_path):
    patterns = np.random.default_rng(0).random((300, 12, 10)).astype(np.float16)
    np.savez(tmp_path / "cache.npz", targets=np.zeros((300, 2), np.float32), patterns=patterns)
    return tmp_path / "cache.npz", patterns


def test_every_kind_of_index_reads_what_the_npz_holds(stored):
    path, patterns = stored
    on_disk = PatternFile(path)
    assert (on_disk.shape, on_disk.dtype, len(on_disk), on_disk.ndim) == (patterns.shape, patterns.dtype, 300, 3)
    for key in (7, slice(10, 20), np.array([299, 3, 3, 150]), (np.array([5, 1]), slice(None, 6), slice(2, None))):
        np.testing.assert_array_equal(on_disk[key], patterns[key])
    np.testing.assert_array_equal(np.asarray(on_disk, dtype=np.float32), patterns.astype(np.float32))


def test_sampled_values_are_the_flat_draws(stored):
    path, patterns = stored
    rng = np.random.default_rng(1)
    rows, cols = rng.integers(0, 300, 5000), rng.integers(0, 120, 5000)
    expected = patterns.reshape(300, -1)[rows, cols].astype(np.float32)
    np.testing.assert_array_equal(sampled_values(PatternFile(path), rows, cols, chunk=64), expected)


def test_a_compressed_cache_is_refused_with_the_fix(tmp_path):
    np.savez_compressed(tmp_path / "packed.npz", patterns=np.zeros((4, 8, 8), np.float16))
    with pytest.raises(ValueError, match="packed.npz.*compressed.*forcerun cache_scan"):
        PatternFile(tmp_path / "packed.npz")


def test_a_streamed_npz_reads_like_np_savez(tmp_path):
    patterns = np.random.default_rng(2).random((50, 6, 4)).astype(np.float16)
    path = tmp_path / "streamed.npz"
    write_npz(path, lambda: {"dose": np.float64(3.5), "elements": np.array(["O", "Si"])},
              ("patterns", patterns.shape, np.float16, (patterns[i:i + 7] for i in range(0, 50, 7))))
    with np.load(path, allow_pickle=False) as npz:
        assert npz.files == ["patterns", "dose", "elements"]
        np.testing.assert_array_equal(npz["patterns"], patterns)
        assert npz["dose"] == 3.5 and list(npz["elements"]) == ["O", "Si"]
    np.testing.assert_array_equal(PatternFile(path)[[49, 0]], patterns[[49, 0]])


def test_a_streamed_member_that_does_not_add_up_is_refused(tmp_path):
    chunks = [np.zeros((3, 2, 2), np.float16)] * 2
    with pytest.raises(ValueError, match="'patterns' got 6 rows of the 7 announced"):
        write_npz(tmp_path / "short.npz", {}, ("patterns", (7, 2, 2), np.float16, chunks))
    with pytest.raises(ValueError, match=r"a chunk of 'patterns' has shape \(3, 2, 2\)"):
        write_npz(tmp_path / "wide.npz", {}, ("patterns", (6, 2, 3), np.float16, chunks))
