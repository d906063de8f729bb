"""A lower dose simulated exactly: thinning of counts, EDS quantified at the same dose, the saving."""

import numpy as np
import pandas as pd
import pytest

from edsmaps.dose import eds_at_dose, quantification_factors, quantify, thin, thinned_caches, thinning_rng
from edsmaps.dose_curve import EDS_AT_DOSE, dose_saving


@pytest.mark.parametrize("fraction", [0.5, 0.125, 1 / 32])
def test_thinning_poisson_counts_gives_poisson_counts_at_the_fraction_of_the_mean(fraction):
    counts = np.random.default_rng(0).poisson(40.0, size=400_000).astype(np.uint16)
    thinned = thin(counts, fraction, np.random.default_rng(1))
    assert thinned.dtype == np.uint16 and (thinned <= counts).all()
    mean = 40.0 * fraction
    np.testing.assert_allclose(thinned.mean(), mean, rtol=0.01)
    np.testing.assert_allclose(thinned.var(), mean, rtol=0.02)  # Poisson: the variance is the mean


def test_thinning_refuses_what_is_not_counts():
    with pytest.raises(ValueError, match="integer counts"):
        thin(np.ones(3), 0.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        thin(np.ones(3, dtype=int), 1.5, np.random.default_rng(0))


def _thinned(cache, fractions, scan, folder):
    """{fraction: (patterns read into memory, dose)} of every dose of the scan."""
    return {fraction: (np.asarray(thinned["patterns"]), thinned["dose"])
            for fraction, thinned in thinned_caches(cache, fractions, lambda f: thinning_rng(5, scan, f), folder)}


@pytest.fixture
def poisson_cache():
    divisor = 2.0**16
    counts = np.random.default_rng(2).poisson(30.0, size=(1200, 8, 8))
    return {"patterns": (counts / divisor).astype(np.float16), "pattern_divisor": np.float64(divisor),
            "dose": np.float64(counts.sum(axis=(1, 2)).mean()), "targets": np.zeros((1200, 2), np.float32)}


def test_thinned_caches_are_the_scan_at_each_fraction_of_its_dose_and_the_same_for_every_call(poisson_cache,
                                                                                              tmp_path):
    cache, divisor = poisson_cache, 2.0**16
    fractions = [1.0, 0.5, 0.125]
    doses = _thinned(cache, fractions, "0034", tmp_path)
    again = _thinned(cache, fractions, "0034", tmp_path)
    full = next(thinned_caches(cache, fractions, lambda f: thinning_rng(5, "0034", f), tmp_path))
    assert full[0] == 1.0 and full[1]["patterns"] is cache["patterns"]
    for fraction in (0.5, 0.125):
        patterns, dose = doses[fraction]
        np.testing.assert_array_equal(patterns, again[fraction][0])
        assert patterns.dtype == np.float16 and patterns.shape == cache["patterns"].shape
        np.testing.assert_allclose(dose, cache["dose"] * fraction, rtol=0.01)
        kept = patterns.astype(np.float64) * divisor
        np.testing.assert_allclose(kept, np.rint(kept), atol=1e-6)  # whole electrons
        np.testing.assert_allclose(kept.var(), kept.mean(), rtol=0.03)  # Poisson at the lower dose
        assert dose == kept.sum(axis=(1, 2)).mean()
    # nested, as an acquisition stopped earlier: no pixel has more electrons at a lower dose
    assert (doses[0.125][0] <= doses[0.5][0]).all()
    other_scan = _thinned(cache, fractions, "0035", tmp_path)
    assert not np.array_equal(other_scan[0.5][0], doses[0.5][0])
    assert list(tmp_path.iterdir()) == []  # the scratch folder goes with the generator


def test_thinning_a_few_patterns_at_a_time_draws_what_the_whole_scan_at_once_draws(poisson_cache, tmp_path,
                                                                                   monkeypatch):
    import edsmaps.chunks

    fractions = [1.0, 0.25, 1 / 32]
    whole = _thinned(poisson_cache, fractions, "0034", tmp_path)
    monkeypatch.setattr(edsmaps.chunks, "CHUNK_BYTES", 7 * 8 * 8 * 4)  # 7 patterns a chunk
    chunked = _thinned(poisson_cache, fractions, "0034", tmp_path)
    for fraction in fractions[1:]:
        np.testing.assert_array_equal(chunked[fraction][0], whole[fraction][0])
        assert chunked[fraction][1] == whole[fraction][1]
    # and what one binomial draw of the whole array gives
    counts = np.rint(poisson_cache["patterns"].astype(np.float32) * np.float32(2.0**16)).astype(np.int32)
    quarter = thin(counts, 0.25, thinning_rng(5, "0034", 0.25))
    np.testing.assert_array_equal(whole[0.25][0], (quarter / np.float32(2.0**16)).astype(np.float16))


def test_quantification_recovers_the_fractions_measured_from_the_counts():
    rng = np.random.default_rng(3)
    composition = rng.dirichlet([4, 2, 1], size=(20, 30))
    yields = np.array([0.45, 1.0, 0.8])
    counts = rng.poisson(300 * composition * yields)
    measured = counts / yields
    measured = 0.9 * measured / measured.sum(axis=-1, keepdims=True)  # 10 % of the material not listed
    factors, share = quantification_factors(counts, measured)
    np.testing.assert_allclose(factors, (1 / yields) / (1 / yields).sum(), rtol=1e-6)
    assert share == pytest.approx(0.9)
    np.testing.assert_allclose(quantify(counts, factors, share), measured, atol=1e-6)
    settings = {"method": "none"}
    full = eds_at_dose(counts, factors, share, 1.0, np.random.default_rng(0), settings, slice(2, 18), slice(0, 30))
    np.testing.assert_allclose(full, measured[2:18].reshape(-1, 3), atol=1e-6)
    low = eds_at_dose(counts, factors, share, 1 / 16, np.random.default_rng(0), settings, slice(2, 18), slice(0, 30))
    truth = 0.9 * composition[2:18].reshape(-1, 3)
    assert np.abs(low - truth).mean() > 2 * np.abs(full - truth).mean()  # fewer counts, noisier map


def curve(model_mae, eds_mae, fractions=(1 / 8, 1 / 4, 1 / 2, 1.0)):
    rows = []
    for name, maes in (("recommended", model_mae), (EDS_AT_DOSE, eds_mae)):
        rows += [{"strategy": "extrapolate", "model": name, "reference": "truth", "element": "O",
                  "dose_fraction": f, "mae": m} for f, m in zip(fractions, maes)]
    return pd.DataFrame(rows)


def test_the_dose_saving_is_the_dose_eds_needs_for_the_models_accuracy_over_the_models_dose():
    eds = [0.04, 0.02, 0.01, 0.005]  # halves with every doubling of the dose
    saving = dose_saving(curve([0.02, 0.012, 0.011, 0.0108], eds)).set_index("dose_fraction")
    # at 1/8 of the dose the model is as good as EDS at 1/4: it saves a factor 2
    assert saving.loc[1 / 8, "eds_dose_needed"] == pytest.approx(1 / 4)
    assert saving.loc[1 / 8, "saving_factor"] == pytest.approx(2.0)
    assert saving.loc[1 / 8, "bound"] == ""
    assert (saving["better_below"] == 1 / 4).all()  # better at 1/8 and 1/4, worse from 1/2
    flat = dose_saving(curve([0.003] * 4, eds)).set_index("dose_fraction")
    assert (flat["bound"] == "at least").all() and flat.loc[1 / 8, "saving_factor"] == pytest.approx(8.0)
    assert (flat["better_below"] == 1.0).all()
    worse = dose_saving(curve([0.05] * 4, eds))
    assert (worse["bound"] == "at most").all() and worse["better_below"].isna().all()


def test_counts_that_are_not_raw_counts_are_refused_naming_the_file(tmp_path):
    from edsmaps.dose_curve import read_xray_counts
    from edsmaps.rawio import InputDataError, write_mrc

    good, subtracted = tmp_path / "O_counts.mrc", tmp_path / "Si_counts.mrc"
    write_mrc(good, np.full((4, 5), 7, dtype=np.uint16))
    write_mrc(subtracted, np.full((4, 5), -1.5, dtype=np.float32))  # background-subtracted net counts
    np.testing.assert_array_equal(read_xray_counts([good], ["O"], (4, 5)), np.full((4, 5, 1), 7))
    with pytest.raises(InputDataError, match=r"Si_counts\.mrc: X-ray counts Si must be whole numbers >= 0"):
        read_xray_counts([good, subtracted], ["O", "Si"], (4, 5))
    with pytest.raises(InputDataError, match="expected scan_shape"):
        read_xray_counts([good], ["O"], (5, 4))
