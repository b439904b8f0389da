"""Lab 06's hidden picture: a lighthouse on a green headland by the sea at sunset, drawn by code.

Instructors only (docs/lab06_photo.md): the picture must be on no student's disk, so it is
rendered here, in the repository the editions never ship, and students get only its VGG-16
activations (data/vgg_inversion/). The scene, left to right: a round tree on the hill, a white
lighthouse with two red bands and a lit lantern, a small house with a red roof, the sea with the
sun low over it and its reflection; sky from deep blue to orange; a sandy shore in front. Soft
shading and a seeded grain make it look less like a drawing; the same pixels on every machine.
"""

from __future__ import annotations

import numpy as np

SIZE = 448  # pixels; the lab shrinks it to 224 and 64 (rnnlab.inversion.preprocess)
_GRAIN_SEED = 6
TEXTURE = 0.2  # relative amplitude of the surface detail
CONTRAST = 1.3  # stretch of every colour about mid-grey


def _mix(image: np.ndarray, mask: np.ndarray, colour) -> None:
    """Paint ``colour`` (RGB in 0..1, or an (H, W, 3) array) over ``image`` where ``mask`` (H, W) is 1."""
    image[:] = image * (1 - mask[..., None]) + np.asarray(colour) * mask[..., None]


def _edge(distance: np.ndarray, softness: float) -> np.ndarray:
    """A soft inside mask from a signed distance (negative inside), in 0..1, of the same shape."""
    return np.clip(0.5 - distance / softness, 0.0, 1.0)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Value noise (size, size) in about -1..1: a cells x cells random grid, bilinearly upsampled."""
    grid = rng.uniform(-1, 1, (cells + 1, cells + 1))
    position = np.linspace(0, cells, size, endpoint=False)
    low = position.astype(int)
    frac = position - low
    rows = grid[low] * (1 - frac)[:, None] + grid[low + 1] * frac[:, None]
    return rows[:, low] * (1 - frac) + rows[:, low + 1] * frac


def render(size: int = SIZE) -> np.ndarray:
    """The hidden picture: uint8 RGB (size, size, 3), the same on every machine for a given size."""
    if not isinstance(size, int) or size < 32:
        raise ValueError(f"size must be an integer of at least 32 pixels, got {size!r}")
    rng = np.random.default_rng(_GRAIN_SEED)
    y, x = np.mgrid[0:size, 0:size] / size  # 0..1 from the top left corner
    soft = 1.5 / size
    horizon = 0.6

    # sky: deep blue at the top to orange at the horizon, and the sun's glow
    t = np.clip(y / horizon, 0, 1)[..., None]
    image = (1 - t) * np.array([0.13, 0.25, 0.55]) + t * np.array([0.98, 0.62, 0.3])
    sun_x, sun_y, sun_r = 0.74, 0.45, 0.06
    sun_d = np.hypot(x - sun_x, y - sun_y)
    image += 0.35 * np.exp(-((sun_d / 0.16) ** 2))[..., None] * np.array([1.0, 0.8, 0.45])
    _mix(image, _edge(sun_d - sun_r, soft), [1.0, 0.95, 0.7])

    # sea below the horizon: darker further down, waves, the sun's reflection
    sea = _edge(horizon - y, soft)
    depth = np.clip((y - horizon) / (1 - horizon), 0, 1)[..., None]
    waves = 0.06 * np.sin(size * 0.9 * y * (1 + 2 * depth[..., 0]) + 3 * _smooth_noise(rng, size, 12))
    water = (1 - depth) * np.array([0.2, 0.36, 0.55]) + depth * np.array([0.05, 0.14, 0.3])
    water = water + waves[..., None]
    glitter = np.exp(-(((x - sun_x) / (0.03 + 0.1 * depth[..., 0])) ** 2)) * (waves > 0)
    water = water + 0.6 * glitter[..., None] * np.array([1.0, 0.75, 0.4])
    _mix(image, sea, water)

    # the headland: a green hill from the left edge, lit from the sun's side
    ridge = 0.52 + 0.18 * ((x - 0.3) / 0.33) ** 2 + 0.015 * _smooth_noise(rng, size, 10)[0]
    land = _edge(ridge - y, soft) * (x < 0.66 + 0.6 * (y - 0.52))
    grass = np.array([0.2, 0.45, 0.16]) * (0.8 + 0.4 * x[..., None]) - 0.15 * (y[..., None] - 0.5)
    grass = grass + 0.06 * _smooth_noise(rng, size, 40)[..., None]
    _mix(image, land, grass)

    # the shore in front: sand with a darker wet edge
    shore_line = 0.86 - 0.06 * np.sin(5 * x) + 0.01 * _smooth_noise(rng, size, 16)[0]
    sand = np.array([0.86, 0.76, 0.55]) + 0.05 * _smooth_noise(rng, size, 60)[..., None]
    _mix(image, _edge(shore_line - y, soft), sand)
    _mix(image, _edge(np.abs(y - shore_line) - 0.006, soft) * 0.6, [0.45, 0.38, 0.3])

    # the lighthouse: a tapered white tower with two red bands, a gallery, a lit lantern, a cap
    base_y, top_y, centre = 0.56, 0.2, 0.36
    height = np.clip((base_y - y) / (base_y - top_y), 0, 1)
    half_width = 0.07 - 0.025 * height
    tower = _edge(np.abs(x - centre) - half_width, soft) * _edge(top_y - y, soft) * _edge(y - base_y, soft)
    shade = (0.7 + 0.3 * np.clip((x - centre) / 0.07 + 0.5, 0, 1))[..., None]  # lit from the right
    bands = ((height > 0.3) & (height < 0.45)) | ((height > 0.65) & (height < 0.8))
    wall = np.where(bands[..., None], [0.75, 0.1, 0.1], [0.95, 0.94, 0.9]) * shade
    _mix(image, tower, wall)
    gallery = _edge(np.abs(x - centre) - 0.06, soft) * _edge(np.abs(y - top_y) - 0.008, soft)
    _mix(image, gallery, [0.1, 0.1, 0.12])
    lantern = _edge(np.abs(x - centre) - 0.035, soft) * _edge(np.abs(y - (top_y - 0.035)) - 0.027, soft)
    _mix(image, lantern, [1.0, 0.9, 0.45])
    _mix(image, 0.5 * np.exp(-((np.hypot(x - centre, y - top_y + 0.035) / 0.07) ** 2)), [1.0, 0.95, 0.6])
    cap = _edge(np.abs(x - centre) - 0.045 * np.clip((y - top_y + 0.09) / 0.03, 0, 1), soft)
    _mix(image, cap * _edge(np.abs(y - (top_y - 0.075)) - 0.015, soft), [0.55, 0.08, 0.08])

    # the keeper's house to the right of the tower: white walls, a red roof, a dark door
    house_l, house_r, house_top, house_bottom = 0.47, 0.6, 0.5, 0.585
    walls = (_edge(np.abs(x - (house_l + house_r) / 2) - (house_r - house_l) / 2, soft)
             * _edge(np.abs(y - (house_top + house_bottom) / 2) - (house_bottom - house_top) / 2, soft))
    _mix(image, walls, np.array([0.92, 0.88, 0.8]) * shade)
    roof = _edge(np.abs(x - 0.535) * 0.6 - (y - 0.45), soft) * _edge(y - house_top, soft)
    _mix(image, roof, [0.7, 0.18, 0.12])
    door = _edge(np.abs(x - 0.555) - 0.011, soft) * _edge(np.abs(y - 0.565) - 0.02, soft)
    _mix(image, door, [0.25, 0.15, 0.1])

    # the tree on the left: a brown trunk and a round, leafy crown darker away from the sun
    trunk = _edge(np.abs(x - 0.12) - 0.014, soft) * _edge(np.abs(y - 0.6) - 0.08, soft)
    _mix(image, trunk, [0.35, 0.22, 0.12])
    leaves = _smooth_noise(rng, size, 30)
    crown_d = np.hypot(x - 0.12, (y - 0.42) * 1.15) - 0.11 - 0.015 * leaves
    crown = np.array([0.12, 0.3, 0.1]) * (1 + 0.6 * np.clip((x - 0.05) / 0.15, 0, 1))[..., None]
    _mix(image, _edge(crown_d, soft), crown + 0.07 * leaves[..., None])

    # surface detail everywhere (leaves, ripples, weathering) and a photo's contrast: without them
    # the picture is so smooth that a blank grey image scores an SSIM close to a good reconstruction's
    detail = sum(_smooth_noise(rng, size, cells) / octave for octave, cells in enumerate((16, 32, 64), 1))
    image *= 1 + TEXTURE * detail[..., None]
    image = 0.5 + CONTRAST * (image - 0.5)
    image += 0.025 * rng.standard_normal((size, size, 1))  # film grain
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
