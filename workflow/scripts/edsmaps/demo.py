"""Physically motivated demo dataset: repeated 4D-STEM + EDS + HAADF scans of one Ge-Sb-Te area.

The sample (composition fields, grains, thickness) is drawn once from ``seed``; every scan is
that sample at a later time ``t`` in [0, 1]: grains nucleate and grow (beam-induced
crystallisation), Te is slowly lost and the oxidised band at the bottom grows (where it
begins and how sharp its edge is: ``oxide_edge``, ``oxide_width``). Each scan then gets its
own Poisson noise in diffraction and EDS.

Diffraction physics (per probe position, all in detector pixels):
- unscattered central disk, weight exp(-thickness * scattering power), scattering power
  from sum(c_i * Z_i**1.5);
- two diffuse amorphous rings at s = 1.2 / d and 1.9 * s, d the composition-weighted
  bond length (Ge-Te 2.8, Sb-Te 3.0, Ge-O 1.8, Si-O 1.6 Angstrom), intensity from the
  scattered fraction of the amorphous part;
- Bragg spots of crystalline grains (hexagonal, spacing from composition, one random
  orientation per grain);
- a smooth diffuse background; a smooth descan shift of the origin across the scan.
"""

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.special import expit as _sigmoid

from .demo_files import ELEMENTS, write_marker

ATOMIC_NUMBER = {"O": 8, "Si": 14, "Ge": 32, "Sb": 51, "Te": 52, "Au": 79}
CATIONS = ("Si", "Ge", "Sb", "Au")
# Nearest-neighbour bond lengths (Angstrom) of each cation to Te and to O.
BOND_TO_TE = {"Si": 2.55, "Ge": 2.8, "Sb": 3.0, "Au": 2.9}
BOND_TO_O = {"Si": 1.6, "Ge": 1.8, "Sb": 2.0, "Au": 2.05}
# Relative X-ray yield per atom (k-factor like); quantification divides it out again.
XRAY_YIELD = {"O": 0.45, "Si": 1.0, "Ge": 0.9, "Sb": 0.8, "Te": 0.8, "Au": 0.6}
DETECTOR_HALF_WIDTH_INV_A = 1.0  # the demo camera spans +-1 1/Angstrom in s = 1/d
CHUNK_PATTERNS = 128  # fixed so the same seed always gives the same bytes


@dataclass(frozen=True)
class DemoSettings:
    """Sizes and doses of the demo; ``scan_shape`` is (rows, cols)."""

    scan_shape: tuple[int, int]
    pattern_size: int
    n_scans: int
    seed: int = 7
    electrons_per_pattern: float = 20000.0
    xray_counts_per_pixel: float = 300.0
    descan_px: float = 4.0
    grain_density: float = 0.012  # nuclei per scan pixel over the whole series
    oxide_edge: float = 0.84  # where the oxidised band begins at t = 0, as a fraction of the rows
    oxide_width: float = 1.5  # pixels over which the band's edge rises (a wide edge is a gradient)
    haadf_noise: float = 0.02


@dataclass
class DemoScan:
    """One generated scan. Shapes: patterns (N, Q, Q) uint16 with N = rows * cols row-major;
    eds maps (rows, cols) float32 atomic fraction quantified from ``xray_counts`` (rows, cols, 6)
    int64 (ELEMENTS' order); haadf (rows, cols) float32; truth arrays (rows, cols[, ...]) float32."""

    patterns: np.ndarray
    eds: dict[str, np.ndarray]
    xray_counts: np.ndarray
    haadf: np.ndarray
    composition: np.ndarray
    thickness: np.ndarray
    crystallinity: np.ndarray
    origin: np.ndarray


def _smooth_field(rng, shape, sigma):
    """Zero-mean, unit-std random field with correlation length ``sigma`` pixels."""
    field = gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    return (field - field.mean()) / (field.std() + 1e-12)


class DemoSample:
    """The specimen: everything that is shared by all scans of the series."""

    def __init__(self, settings: DemoSettings):
        self.settings = settings
        rows, cols = settings.scan_shape
        rng = np.random.default_rng([settings.seed, 0])
        grain_sigma = max(1.5, min(rows, cols) / 10)
        self.static = {el: _smooth_field(rng, (rows, cols), grain_sigma) for el in ELEMENTS}
        self.evolving = {
            el: (_smooth_field(rng, (rows, cols), grain_sigma), _smooth_field(rng, (rows, cols), grain_sigma))
            for el in ELEMENTS
        }
        self.thickness = np.clip(1.0 + 0.25 * _smooth_field(rng, (rows, cols), 2 * grain_sigma), 0.4, None)
        n_grains = max(2, int(round(settings.grain_density * rows * cols)))
        self.grain_centres = rng.uniform((0, 0), (rows, cols), size=(n_grains, 2))
        self.grain_nucleation = rng.uniform(-0.4, 0.9, size=n_grains)
        self.grain_max_radius = rng.uniform(1.5, 1.5 + grain_sigma, size=n_grains)
        self.grain_orientation = rng.uniform(0, np.pi / 3, size=n_grains)
        slope = rng.uniform(-1, 1, size=(2, 2))
        self.descan_gradient = settings.descan_px * slope / np.abs(slope).sum(axis=1, keepdims=True)
        self.descan_curvature = rng.uniform(-0.5, 0.5, size=2) * settings.descan_px / 10

    def state(self, t, extra_band=None):
        """Composition (rows, cols, 6) summing to 1, crystallinity (rows, cols) in [0, 1] and
        grain index (rows, cols) of the sample at time ``t`` in [0, 1]; ``extra_band`` [start,
        stop) (fractions of the rows) oxidises a second band across the scan, a composition
        the other scans never show."""
        rows, cols = self.settings.scan_shape
        rr, cc = np.mgrid[0:rows, 0:cols].astype(float)
        distances = np.hypot(
            rr[..., None] - self.grain_centres[:, 0], cc[..., None] - self.grain_centres[:, 1]
        )
        radius = self.grain_max_radius * np.clip((t - self.grain_nucleation) / 0.6, 0, 1)
        membership = _sigmoid((radius - distances) / 0.6) * (radius > 0)
        grain_index = membership.argmax(axis=-1)
        crystallinity = membership.max(axis=-1)

        def field(el, amplitude):
            a, b = self.evolving[el]
            evolving = np.cos(np.pi * t / 2) * a + np.sin(np.pi * t / 2) * b
            return 1 + amplitude * (self.static[el] + 0.35 * evolving)

        band_edge = rows * (self.settings.oxide_edge - 0.06 * t)
        band = _sigmoid((rr - band_edge) / self.settings.oxide_width)
        if extra_band is not None:
            start, stop = rows * extra_band[0], rows * extra_band[1]
            width = self.settings.oxide_width
            band = np.maximum(band, _sigmoid((rr - start) / width) * _sigmoid((stop - rr) / width))
        weights = {
            "Ge": 0.22 * field("Ge", 0.15) * (1 + 0.06 * t) - 0.04 * crystallinity,
            "Sb": 0.22 * field("Sb", 0.15) + 0.04 * crystallinity,
            "Te": 0.50 * field("Te", 0.08) * (1 - 0.10 * t),
            "O": 0.04 * np.clip(field("O", 0.5), 0.1, None) + 0.55 * band,
            "Si": 0.02 * np.clip(field("Si", 0.8), 0.05, None) + 0.12 * band,
            "Au": 0.004 * np.clip(field("Au", 1.0), 0.0, None),
        }
        for el in ("Ge", "Sb", "Te"):
            weights[el] = weights[el] * (1 - 0.8 * band)
        composition = np.stack([np.clip(weights[el], 1e-4, None) for el in ELEMENTS], axis=-1)
        composition /= composition.sum(axis=-1, keepdims=True)
        return composition.astype(np.float32), crystallinity.astype(np.float32), grain_index

    def origin_offset(self, t):
        """Descan shift (rows, cols, 2) of the pattern origin, (dy, dx) in detector pixels."""
        rows, cols = self.settings.scan_shape
        rr, cc = np.mgrid[0:rows, 0:cols].astype(float)
        u, v = rr / max(rows - 1, 1) - 0.5, cc / max(cols - 1, 1) - 0.5
        offset = np.stack(
            [
                self.descan_gradient[k, 0] * u + self.descan_gradient[k, 1] * v + self.descan_curvature[k] * u * v
                for k in range(2)
            ],
            axis=-1,
        )
        return offset * (1 + 0.1 * t)


def _mean_bond_length(composition):
    """Composition-weighted cation-anion bond length (Angstrom), shape (...)."""
    idx = {el: i for i, el in enumerate(ELEMENTS)}
    c_o, c_te = composition[..., idx["O"]], composition[..., idx["Te"]]
    oxygen_share = c_o / (c_o + c_te + 1e-9)
    total, weight = 0.0, 0.0
    for el in CATIONS:
        c = composition[..., idx[el]]
        total = total + c * ((1 - oxygen_share) * BOND_TO_TE[el] + oxygen_share * BOND_TO_O[el])
        weight = weight + c
    return total / (weight + 1e-9)


def _scattering_power(composition, exponent):
    z = np.array([ATOMIC_NUMBER[el] for el in ELEMENTS], dtype=float)
    return composition @ z**exponent


def hidden_quantities(composition, thickness, crystallinity):
    """What the demo's physics makes of a pixel's composition, (..., 5) float64: t x sum(c Z^1.5)
    (the scattering that empties the central disk), the mean bond length (the rings' radius),
    crystallinity, thickness and the noise-free HAADF t x sum(c Z^1.7). ``composition``
    (..., 6) in ELEMENTS' order; everything a model could learn from the patterns and HAADF."""
    composition = np.asarray(composition, dtype=np.float64)
    thickness = np.asarray(thickness, dtype=np.float64)
    return np.stack([thickness * _scattering_power(composition, 1.5), _mean_bond_length(composition),
                     np.asarray(crystallinity, dtype=np.float64), thickness,
                     thickness * _scattering_power(composition, 1.7)], axis=-1)


def _normalised(profile):
    return profile / profile.sum(axis=(1, 2), keepdims=True)


def render_patterns(settings, composition, thickness, crystallinity, grain_index, grain_orientation, origin, rng):
    """Poisson-sampled diffraction patterns (N, Q, Q) uint16, N = rows * cols row-major."""
    q = settings.pattern_size
    n = composition.shape[0] * composition.shape[1]
    comp = composition.reshape(n, -1).astype(np.float64)
    q_pixel = 2 * DETECTOR_HALF_WIDTH_INV_A / q  # 1/Angstrom per detector pixel
    gst_power = _scattering_power(np.array([0.0, 0.0, 2 / 9, 2 / 9, 5 / 9, 0.0]), 1.5)
    power = _scattering_power(comp, 1.5) / gst_power
    transmitted = np.exp(-0.9 * thickness.reshape(n) * power)
    bond = _mean_bond_length(comp)
    ring_radius = (1.2 / bond) / q_pixel
    spot_spacing = (1.0 / (1.12 * bond)) / q_pixel
    cryst = crystallinity.reshape(n)
    orientation = grain_orientation[grain_index.reshape(n)]
    disk_radius = 0.045 * q
    centre = (q - 1) / 2
    oy = centre + origin.reshape(n, 2)[:, 0]
    ox = centre + origin.reshape(n, 2)[:, 1]
    yy, xx = np.mgrid[0:q, 0:q].astype(np.float32)
    angles = np.arange(6) * np.pi / 3
    out = np.empty((n, q, q), dtype=np.uint16)
    for start in range(0, n, CHUNK_PATTERNS):
        sl = slice(start, min(n, start + CHUNK_PATTERNS))
        m = sl.stop - sl.start
        dy = yy[None] - oy[sl, None, None].astype(np.float32)
        dx = xx[None] - ox[sl, None, None].astype(np.float32)
        r = np.sqrt(dy * dy + dx * dx)
        disk = _normalised(_sigmoid((disk_radius - r) / 0.5))
        r1 = ring_radius[sl, None, None].astype(np.float32)
        ring = _normalised(
            np.exp(-((r - r1) ** 2) / (2 * (0.12 * r1) ** 2))
            + 0.45 * np.exp(-((r - 1.9 * r1) ** 2) / (2 * (0.15 * r1) ** 2))
        )
        background = _normalised(1.0 / (1.0 + (r / (0.6 * r1)) ** 2) ** 1.5)
        spots = np.zeros((m, q, q), dtype=np.float32)
        crystalline = np.flatnonzero(cryst[sl] > 0.02)
        for j in crystalline:
            g = spot_spacing[sl.start + j]
            theta = orientation[sl.start + j]
            for shell, scale, weight in ((0, 1.0, 1.0), (1, np.sqrt(3), 0.35)):
                for a in angles + theta + shell * np.pi / 6:
                    sy, sx = scale * g * np.sin(a), scale * g * np.cos(a)
                    spots[j] += weight * np.exp(
                        -((dy[j] - sy) ** 2 + (dx[j] - sx) ** 2) / (2 * (0.012 * q) ** 2)
                    )
        if crystalline.size:
            spots[crystalline] = _normalised(spots[crystalline])
        scattered = 1 - transmitted[sl]
        c = cryst[sl]
        mix = (
            transmitted[sl, None, None] * disk
            + (scattered * 0.55 * (1 - 0.6 * c))[:, None, None] * ring
            + (scattered * 0.45)[:, None, None] * background
            + (scattered * 0.55 * 0.6 * c)[:, None, None] * spots
        )
        expected = settings.electrons_per_pattern * mix
        out[sl] = np.minimum(rng.poisson(expected), np.iinfo(np.uint16).max)
    return out


def generate_scan(settings: DemoSettings, scan_index: int, dose: float = 1.0, extra_band=None) -> DemoScan:
    """Generate scan number ``scan_index`` (0-based) of the series at ``dose`` times
    ``electrons_per_pattern``, with an ``extra_band`` of oxide ([start, stop) fractions of the
    rows) where given; same settings -> same bytes."""
    if not 0 <= scan_index < settings.n_scans:
        raise ValueError(f"scan_index {scan_index} outside 0..{settings.n_scans - 1}")
    sample = DemoSample(settings)
    t = scan_index / max(settings.n_scans - 1, 1)
    composition, crystallinity, grain_index = sample.state(t, extra_band)
    origin = sample.origin_offset(t)
    rng = np.random.default_rng([settings.seed, scan_index + 1])
    patterns = render_patterns(
        replace(settings, electrons_per_pattern=settings.electrons_per_pattern * dose), composition, sample.thickness, crystallinity, grain_index, sample.grain_orientation, origin, rng
    )
    yields = np.array([XRAY_YIELD[el] for el in ELEMENTS])
    expected = settings.xray_counts_per_pixel * sample.thickness[..., None] * composition * yields
    counts = rng.poisson(expected)
    quantified = counts / yields
    total = quantified.sum(axis=-1, keepdims=True)
    fractions = np.divide(quantified, total, out=np.full_like(quantified, 1 / len(ELEMENTS)), where=total > 0)
    eds = {el: fractions[..., i].astype(np.float32) for i, el in enumerate(ELEMENTS)}
    gst_haadf = _scattering_power(np.array([0.0, 0.0, 2 / 9, 2 / 9, 5 / 9, 0.0]), 1.7)
    haadf = sample.thickness * _scattering_power(composition.astype(np.float64), 1.7) / gst_haadf
    haadf = haadf * (1 + settings.haadf_noise * rng.standard_normal(haadf.shape))
    return DemoScan(
        patterns=patterns,
        eds=eds,
        xray_counts=counts,
        haadf=haadf.astype(np.float32),
        composition=composition,
        thickness=sample.thickness.astype(np.float32),
        crystallinity=crystallinity,
        origin=origin.astype(np.float32),
    )


def write_scan(scan: DemoScan, diffraction_path, eds_paths: dict, haadf_path, truth_path, counts_paths=None):
    """Write a generated scan in the raw formats the workflow reads (MRC) plus the truth NPZ and,
    where ``counts_paths`` ({element: MRC}) are given, each element's X-ray counts (uint16)."""
    from .atomic import atomic_output
    from .rawio import write_mrc

    write_mrc(diffraction_path, scan.patterns)
    for element, path in eds_paths.items():
        write_mrc(path, scan.eds[element])
    for element, path in (counts_paths or {}).items():
        counts = scan.xray_counts[..., ELEMENTS.index(element)]
        write_mrc(path, np.minimum(counts, np.iinfo(np.uint16).max).astype(np.uint16), labels=[f"{element} X-ray counts"])
    write_mrc(haadf_path, scan.haadf)
    Path(truth_path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(truth_path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                composition=scan.composition,
                elements=np.array(ELEMENTS),
                thickness=scan.thickness,
                crystallinity=scan.crystallinity,
                origin_offset=scan.origin,
            )


def generate_demo_scan(settings: DemoSettings, scan_index, diffraction_path, eds_paths: dict, haadf_path, truth_path,
                       dose=1.0, extra_band=None, counts_paths=None):
    """Mark the demo's folder (the one holding ``truth/``) as the demo's, see
    :mod:`edsmaps.demo_files`, then generate scan number ``scan_index`` and write it.

    Args:
        settings: sizes, doses and sample of the series.
        scan_index: 0-based position of the scan in the series (its time t).
        diffraction_path: MRC stack (rows * cols, Q, Q) uint16 counts.
        eds_paths: {element: MRC map (rows, cols) float32 atomic fraction}.
        haadf_path: MRC map (rows, cols) float32.
        truth_path: NPZ of the noise-free composition (rows, cols, 6), thickness, crystallinity.
        dose: the scan's electron dose relative to ``settings.electrons_per_pattern``.
        extra_band: [start, stop) fractions of the rows oxidised besides the sample's band, or None.
        counts_paths: {element: MRC map (rows, cols) uint16 X-ray counts}, or None for none.
    """
    write_marker(Path(truth_path).parent.parent, settings.seed)
    write_scan(generate_scan(settings, scan_index, dose, extra_band), diffraction_path, eds_paths, haadf_path,
               truth_path, counts_paths)
