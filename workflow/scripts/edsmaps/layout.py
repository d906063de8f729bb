"""Where a strategy puts a scan's pixels, geometrically: the blocks a scan is cut into, the
held-out test blocks of a blocked split, the validation blocks and the buffers around them.

Standard library only: the plan is checked with it while Snakemake parses the workflow, before
any job, and :mod:`edsmaps.strategies` turns the same layouts into role arrays, so what the
parse-time check finds is what the split job does.

Roles are a ``bytearray`` of ``rows * cols`` role codes in row-major order. A rectangle is
``(row0, row1, col0, col1)``, half-open. Random draws use ``random.Random`` seeded with a text,
the same on every machine and Python version.
"""

import random

UNUSED, TRAIN, VALIDATION, TEST = 0, 1, 2, 3
MIN_BLOCKS = 12  # a training scan is cut into at least this many candidate validation blocks where it can be
MIN_SIDE = 2
DRAWS = 32  # validation layouts drawn per scan; the split job keeps the one whose labels cover the most


def _translate(old, new):
    table = bytearray(range(256))
    table[old] = new
    return bytes(table)


_TO = {(old, new): _translate(old, new) for old in range(4) for new in range(4)}


def scan_seed(split_seed, position):
    """The seed of the validation layout of the scans only trained on, which share one layout
    (``position`` 0; a scan split within itself uses ``split_seed``)."""
    return f"{split_seed}-{position}"


def block_bounds(extent, n):
    """[(start, stop)] of ``n`` near-equal blocks covering ``0..extent`` (pixel r lies in block
    r * n // extent)."""
    return [(-(-i * extent // n), -(-(i + 1) * extent // n)) for i in range(n)]


def grid_blocks(shape, grid):
    """Rectangles of the (rows, cols) ``grid`` of near-equal blocks of a ``shape`` scan, row-major."""
    return [(r0, r1, c0, c1) for r0, r1 in block_bounds(shape[0], grid[0]) for c0, c1 in block_bounds(shape[1], grid[1])]


def _grown(rect, buffer, shape):
    r0, r1, c0, c1 = rect
    return max(0, r0 - buffer), min(shape[0], r1 + buffer), max(0, c0 - buffer), min(shape[1], c1 + buffer)


def _fill(roles, shape, rect, new, only=None):
    """Set the pixels of ``rect`` to ``new`` (only those whose role is ``only``, when given)."""
    r0, r1, c0, c1 = rect
    cols = shape[1]
    for r in range(r0, r1):
        a, b = r * cols + c0, r * cols + c1
        roles[a:b] = bytes([new]) * (b - a) if only is None else roles[a:b].translate(_TO[(only, new)])


def _count(roles, shape, rect, role):
    r0, r1, c0, c1 = rect
    cols = shape[1]
    return sum(roles[r * cols + c0 : r * cols + c1].count(role) for r in range(r0, r1))


def counts(roles):
    """{role name: pixels} of a layout."""
    return {"train": roles.count(TRAIN), "validation": roles.count(VALIDATION), "test": roles.count(TEST),
            "unused": roles.count(UNUSED)}


def held_out_blocks(shape, block_grid, test_fraction, seed):
    """Rectangles of the test blocks of a blocked split: the scan cut into ``block_grid`` (at most
    one block per pixel), ``test_fraction`` of the blocks (at least one) drawn with ``seed``.

    Raises:
        ValueError: the grid leaves no block for training.
    """
    grid = (min(block_grid[0], shape[0]), min(block_grid[1], shape[1]))
    blocks = grid_blocks(shape, grid)
    n_test = max(1, int(round(test_fraction * len(blocks))))
    if n_test >= len(blocks):
        raise ValueError(f"a {grid[0]}x{grid[1]} block grid of a {shape[0]}x{shape[1]} scan leaves no training block "
                         f"after {n_test} test block(s); use a block_grid with more blocks")
    return [blocks[i] for i in sorted(random.Random(f"blocked-{seed}").sample(range(len(blocks)), n_test))]


def test_layout(shape, test_blocks, buffer):
    """Roles of a scan with ``test_blocks`` held out and a ``buffer`` of unused pixels around them;
    every other pixel TRAIN."""
    roles = bytearray([TRAIN]) * (shape[0] * shape[1])
    for rect in test_blocks:
        _fill(roles, shape, _grown(rect, buffer, shape), UNUSED)
    for rect in test_blocks:
        _fill(roles, shape, rect, TEST)
    return roles


def validation_side(shape, block, buffer):
    """Side (pixels) of a scan's validation blocks: ``block`` when given; else twice the buffer (at
    least 4), so a block costs about as many training pixels in buffer as it takes, made smaller
    (down to the buffer, at least 2) until the scan holds MIN_BLOCKS blocks, so that a small scan
    still has blocks to spread over its compositions."""
    if block:
        return int(block)
    side = max(4, 2 * buffer)
    while side > max(MIN_SIDE, buffer) and (shape[0] // side) * (shape[1] // side) < MIN_BLOCKS:
        side -= 1
    return side


def validation_groups(shape, roles, val_fraction, side):
    """The candidate validation blocks of a scan and how they are drawn: the scan cut into blocks of
    about ``side`` pixels, those at least half TRAIN in ``roles`` kept, in serpentine order, split
    into ``n`` consecutive groups (``n`` = ``val_fraction`` of them, at least one, leaving one
    block for training); one block of each group is validation, so every part of the scan is
    near a validation block. Returns a list of groups, each a list of rectangles (empty: no
    validation possible)."""
    grid = [max(1, shape[0] // side), max(1, shape[1] // side)]
    if grid[0] * grid[1] == 1:
        grid[int(shape[1] > shape[0])] = min(2, max(shape))
    blocks = grid_blocks(shape, grid)
    serpentine = []
    for row in range(grid[0]):
        numbers = list(range(row * grid[1], (row + 1) * grid[1]))
        serpentine += numbers[::-1] if row % 2 else numbers
    usable = []
    for number in serpentine:
        rect = blocks[number]
        area = (rect[1] - rect[0]) * (rect[3] - rect[2])
        if 2 * _count(roles, shape, rect, TRAIN) >= area:
            usable.append(rect)
    n_val = min(len(usable) - 1, max(1, int(round(val_fraction * len(usable)))))
    if n_val < 1:
        return []
    size, extra = divmod(len(usable), n_val)
    groups, start = [], 0
    for i in range(n_val):
        stop = start + size + (i < extra)
        groups.append(usable[start:stop])
        start = stop
    return groups


def with_validation(shape, roles, picked, buffer):
    """A copy of ``roles`` with the TRAIN pixels of the ``picked`` rectangles VALIDATION and the
    TRAIN pixels within ``buffer`` of them UNUSED."""
    out = bytearray(roles)
    for rect in picked:
        _fill(out, shape, rect, VALIDATION, only=TRAIN)
    for rect in picked:
        _fill(out, shape, _grown(rect, buffer, shape), UNUSED, only=TRAIN)
    return out


def validation_layouts(shape, roles, val_fraction, side, buffer, seed, draws=DRAWS):
    """``draws`` candidate layouts of validation blocks over the TRAIN pixels of ``roles``
    (:func:`validation_groups`, one block per group drawn with (``seed``, draw number)); draw 0
    is the one the plan checks. Every candidate has the same number of blocks."""
    groups = validation_groups(shape, roles, val_fraction, side)
    if not groups:
        return [bytearray(roles)]
    layouts = []
    for draw in range(draws):
        rng = random.Random(f"validation-{seed}-{draw}")
        layouts.append(with_validation(shape, roles, [rng.choice(group) for group in groups], buffer))
    return layouts


def scan_layout(shape, settings, both, seed):
    """Draw 0 of a scan's layout in a strategy: what the plan checks before any job.

    Args:
        shape: (rows, cols) of the cropped scan.
        settings: the strategy's split settings (:func:`edsmaps.plan.split_settings`).
        both: the scan is trained and tested (split within it) rather than only trained on.
        seed: the split's seed (the strategy's ``random_state``, with the scan's position).
    Returns:
        roles (bytearray), or None for the random split, whose roles need no geometry.
    Raises:
        ValueError: a blocked split's grid leaves no training block.
    """
    if both and settings["split"] != "blocked":
        return None
    roles = bytearray([TRAIN]) * (shape[0] * shape[1])
    if both:
        blocks = held_out_blocks(shape, settings["block_grid"], settings["test_fraction"], seed)
        roles = test_layout(shape, blocks, settings["buffer"])
    side = validation_side(shape, settings["validation_block"], settings["buffer"])
    return validation_layouts(shape, roles, settings["validation_fraction"], side, settings["buffer"], seed, 1)[0]
