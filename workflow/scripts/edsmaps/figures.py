"""The paper's figures, each from the predictions (and caches) it needs; nothing is hard-wired to
the demo: scan names, strategies and regions come from the caller (config)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import FormatStrFormatter, NullLocator  # noqa: E402

from .atomic import atomic_output  # noqa: E402
from .metrics import PREDICTIONS, cross_correlation, load_prediction, pooled_test_pixels, scores  # noqa: E402
from .pattern_file import PatternFile  # noqa: E402
from .strategies import TEST, TRAIN  # noqa: E402


DRAWING_MODULES = ("figures", "rulegraph")


def draw_figure(function, inputs, arguments, png, pdf):
    """Draw one figure of the workflow's figure table.

    Args:
        function: ``module.function`` in edsmaps (a module of DRAWING_MODULES).
        inputs: input files by parameter name; a list of files stays a list.
        arguments: the function's other arguments.
        png, pdf: the files to write.
    Returns:
        What the drawing function returns (its panel titles and suptitle).
    """
    import importlib

    module, name = function.rsplit(".", 1)
    if module not in DRAWING_MODULES:
        raise ValueError(f"{function}: figures are drawn by functions of {', '.join(DRAWING_MODULES)}")
    draw = getattr(importlib.import_module(f"{__package__}.{module}"), name)
    files = {key: list(value) if isinstance(value, list) else str(value) for key, value in inputs.items()}
    return draw(**files, **arguments, png=png, pdf=pdf)


def save_figure(fig, png, pdf, dpi=150):
    """Write PNG and PDF atomically (the suptitle also as their Title metadata), close the figure
    and return the titles of its panels (colour bars excluded) and its suptitle, so callers can
    check what was drawn."""
    for path in (png, pdf):
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", metadata={"Title": fig.get_suptitle().replace("\n", " — ")})
    titles = [ax.get_title() for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.axison]
    suptitle = fig.get_suptitle()
    plt.close(fig)
    return {"panels": titles, "suptitle": suptitle}


def _test(pred):
    return pred["role"] == TEST


def _scan_extent(pred):
    """imshow extent in physical units (nm) of the cropped scan, positions of the raw scan."""
    size = float(pred["r_pixel_size"])
    rows, cols = (int(v) for v in pred["scan_shape"])
    r0, c0 = (int(v) for v in pred["crop_origin"])
    return [c0 * size, (c0 + cols) * size, (r0 + rows) * size, r0 * size], str(pred["r_pixel_units"])


def _per_scan_scores(predictions, kind, reference="eds_blurred"):
    """{element: {metric: [value per test scan]}}."""
    out = {}
    for pred in predictions:
        test = _test(pred)
        if not test.any():
            continue
        for i, element in enumerate(pred["elements"]):
            s = scores(pred[reference][..., i][test], pred[PREDICTIONS[kind]][..., i][test])
            for metric, value in s.items():
                out.setdefault(element, {}).setdefault(metric, []).append(value)
    return out


def _bars(ax, elements, values, ylabel, title):
    means = [np.nanmean(v) if np.isfinite(v).any() else np.nan for v in values]
    stds = [np.nanstd(v) if len(v) > 1 and np.isfinite(v).any() else 0 for v in values]
    ax.bar(elements, means, yerr=stds, capsize=4, color="tab:blue")
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def training_and_accuracy(history_csv, prediction_path, kind, title, png, pdf):
    """Fig. 1: A loss curves, B actual vs predicted (test pixels), C Pearson r, D percent error."""
    import pandas as pd

    pred = load_prediction(prediction_path)
    history = pd.read_csv(history_csv)
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    ax = axes[0, 0]
    ax.plot(history["epoch"] + 1, history["loss"], "o-", label="training loss")
    ax.plot(history["epoch"] + 1, history["val_loss"], "s-", label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MAE loss")
    ax.set_title("A  convergence")
    ax.legend()
    test = _test(pred)
    ax = axes[0, 1]
    for i, element in enumerate(pred["elements"]):
        ax.scatter(pred["eds_blurred"][..., i][test], pred[PREDICTIONS[kind]][..., i][test], s=6, label=element)
    lims = [0, max(ax.get_xlim()[1], ax.get_ylim()[1])]
    ax.plot(lims, lims, "k--", lw=1)
    ax.set_xlabel("actual composition (atomic fraction)")
    ax.set_ylabel(f"predicted composition ({kind})")
    ax.set_title("B  actual vs predicted, test pixels")
    ax.legend(markerscale=2, fontsize=8)
    per = _per_scan_scores([pred], kind)
    elements = list(per)
    _bars(axes[1, 0], elements, [per[e]["pearson_r"] for e in elements], "Pearson r", "C  correlation")
    _bars(axes[1, 1], elements, [per[e]["percent_error"] for e in elements], "error (%)", "D  100 x MAE / mean")
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, png, pdf)


def strategy_metrics(prediction_paths, kind, title, png, pdf):
    """Figs. 2 and 5: Pearson r and MAE per element, mean +- std over the test scans.

    Returns save_figure's dict plus ``values``: {element: {"pearson_r", "mae"}} as plotted (means
    over the test scans, the numbers ``summary.tsv`` holds for the same prediction)."""
    predictions = [load_prediction(p) for p in prediction_paths]
    per = _per_scan_scores(predictions, kind)
    elements = list(per)
    n = len(next(iter(per.values()))["mae"]) if per else 0
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    _bars(axes[0], elements, [per[e]["pearson_r"] for e in elements], "Pearson r", f"A  correlation ({n} test scans)")
    _bars(axes[1], elements, [per[e]["mae"] for e in elements], "MAE (atomic fraction)", "B  mean absolute error")
    fig.suptitle(title)
    fig.tight_layout()
    values = {e: {m: float(np.nanmean(per[e][m])) for m in ("pearson_r", "mae")} for e in elements}
    return {**save_figure(fig, png, pdf), "values": values}


def composition_maps(prediction_paths, scans, kind, title, png, pdf, recommended_paths=(), label_blur="blurred"):
    """Figs. 3 and 6: per scan the EDS blurred as the labels are (``label_blur``, e.g. "gaussian
    7×7"), the strategy's recommended maps (``recommended_paths``, when given) and the CNN's
    maps (``prediction_paths``); one colour scale per element."""
    predictions = [load_prediction(p) for p in prediction_paths]
    recommended = [load_prediction(p) for p in recommended_paths]
    elements = predictions[0]["elements"]
    variant = Path(prediction_paths[0]).parent.name
    rows = [("eds_blurred", f"EDS, {label_blur}", predictions)]
    if recommended:
        rows.append(("predicted_calibrated", "recommended", recommended))
    rows.append((PREDICTIONS[kind], f"{variant} CNN", predictions))
    fig, axes = plt.subplots(len(rows) * len(scans), len(elements),
                             figsize=(2.6 * len(elements), 2.9 * len(rows) * len(scans)), squeeze=False)
    for j, element in enumerate(elements):
        stack = np.concatenate([np.ravel(p[key][..., j]) for key, _, preds in rows for p in preds])
        vmin, vmax = np.nanpercentile(stack, [1, 99])
        for s, scan in enumerate(scans):
            for k, (key, label, preds) in enumerate(rows):
                pred = preds[s]
                extent, unit = _scan_extent(pred)
                role = "training scan" if (pred["role"] == TRAIN).any() else "test scan"
                ax = axes[len(rows) * s + k, j]
                image = ax.imshow(pred[key][..., j], vmin=vmin, vmax=vmax, cmap="viridis", extent=extent)
                ax.set_title(f"{scan} {element}: {label}\n({role})", fontsize=8)
                ax.set_xlabel(f"x ({unit})", fontsize=7)
                ax.set_ylabel(f"y ({unit})", fontsize=7)
                ax.tick_params(labelsize=6)
                fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04).set_label("atomic fraction", fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, png, pdf)


def cross_correlations(prediction_paths, kind, title, png, pdf):
    """Figs. 4 and 7: element x element correlations of real and of predicted compositions, and
    real (rows) vs predicted (columns), over the pooled test pixels."""
    predictions = [load_prediction(p) for p in prediction_paths]
    elements = predictions[0]["elements"]
    real, predicted = pooled_test_pixels(predictions, kind=kind)
    matrices = cross_correlation(real, predicted)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
    for ax, (name, label) in zip(axes, (("real", "A  real vs real"), ("predicted", "B  predicted vs predicted"),
                                        ("real_vs_predicted", "C  real (rows) vs predicted"))):
        image = ax.imshow(matrices[name], vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_xticks(range(len(elements)), elements)
        ax.set_yticks(range(len(elements)), elements)
        for (r, c), value in np.ndenumerate(matrices[name]):
            ax.text(c, r, "nan" if np.isnan(value) else f"{value:.2f}", ha="center", va="center", fontsize=7)
        ax.set_title(label)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04).set_label("Pearson r")
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, png, pdf)


def calibrated_eds_haadf(prediction_path, cache_path, region, scan, title, png, pdf):
    """Fig. 8: raw CNN, calibrated and real EDS + HAADF for one scan, and the mean diffraction
    pattern of ``region`` = [row0, row1, col0, col1) (cropped-scan pixels, from the cache)."""
    pred = load_prediction(prediction_path)
    with np.load(cache_path, allow_pickle=False) as cache:
        divisor = float(cache["pattern_divisor"])
    patterns = PatternFile(cache_path)
    elements = pred["elements"]
    r0, r1, c0, c1 = region
    rows, cols = (int(v) for v in pred["scan_shape"])
    if not (0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols):
        raise ValueError(f"figures.calibration.region {region} lies outside the cropped scan {rows}x{cols}")
    outputs = [(f"{e}", pred["predicted"][..., i], pred["predicted_calibrated"][..., i], pred["eds_blurred"][..., i])
               for i, e in enumerate(elements)]
    if "haadf_predicted" in pred:
        outputs.append(("HAADF", pred["haadf_predicted"], pred["haadf_predicted_calibrated"], pred["haadf"]))
    fig, axes = plt.subplots(len(outputs), 4, figsize=(12, 2.6 * len(outputs)), squeeze=False)
    extent, unit = _scan_extent(pred)
    size = float(pred["r_pixel_size"])
    oy, ox = (int(v) for v in pred["crop_origin"])
    for r, (name, raw, calibrated, real) in enumerate(outputs):
        vmin, vmax = np.nanpercentile(np.concatenate([calibrated.ravel(), real.ravel()]), [1, 99])
        for c, (image, label) in enumerate(((raw, "raw CNN"), (calibrated, "calibrated"), (real, "real"))):
            ax = axes[r, c]
            scale = dict(vmin=vmin, vmax=vmax) if c else {}
            shown = ax.imshow(image, extent=extent, cmap="viridis", **scale)
            ax.add_patch(Rectangle(((ox + c0) * size, (oy + r0) * size), (c1 - c0) * size, (r1 - r0) * size,
                                   fill=False, edgecolor="red", lw=1))
            ax.set_title(f"{scan} {name}: {label}", fontsize=8)
            ax.set_xlabel(f"x ({unit})", fontsize=7)
            ax.tick_params(labelsize=6)
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        axes[r, 3].axis("off")
    index = (np.arange(r0, r1)[:, None] * cols + np.arange(c0, c1)[None, :]).ravel()
    mean_pattern = patterns[index].astype(np.float32).mean(axis=0)
    ax = axes[0, 3]
    ax.axis("on")
    ax.imshow(np.log1p(mean_pattern * divisor), cmap="magma")  # back to counts, whatever the cache's scaling
    ax.set_title(f"B  mean pattern of region\nrows {r0}-{r1}, cols {c0}-{c1} (log)", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.suptitle("A  " + title)
    fig.tight_layout()
    return save_figure(fig, png, pdf)


def blur_comparison(eds_paths, elements, scan_shape, eds_unit, blur, scan, png, pdf):
    """Fig. 9: measured vs blurred EDS maps of one scan (``eds_paths``: the maps of ``elements``,
    in that order), blurred as the caches are (``blur``: the ``blur_*``/``bilateral_*`` keys of
    the cache config)."""
    from .blur import blur_map
    from .rawio import read_eds_map

    raw_maps = {el: read_eds_map(p, scan_shape, el, eds_unit) for el, p in zip(elements, eds_paths, strict=True)}
    method, kernel = blur["blur_method"], blur["blur_kernel"]
    blurred_maps = {
        el: blur_map(m, method, kernel, blur["bilateral_sigma_color"], blur["bilateral_sigma_space"])
        for el, m in raw_maps.items()
    }
    elements = list(raw_maps)
    fig, axes = plt.subplots(2, len(elements), figsize=(2.6 * len(elements), 6.5), squeeze=False)
    for j, element in enumerate(elements):
        vmin, vmax = np.percentile(raw_maps[element], [1, 99])
        for r, (maps, label) in enumerate(((raw_maps, "measured"), (blurred_maps, f"{method} {kernel}x{kernel}"))):
            image = axes[r, j].imshow(maps[element], vmin=vmin, vmax=vmax, cmap="viridis")
            axes[r, j].set_title(f"{scan} {element}: {label}", fontsize=8)
            axes[r, j].tick_params(labelsize=6)
            fig.colorbar(image, ax=axes[r, j], fraction=0.046, pad=0.04)
    fig.suptitle("EDS maps before and after blurring")
    fig.tight_layout()
    return save_figure(fig, png, pdf)


MODEL_COLOURS = {"cnn": "tab:blue", "baseline": "tab:orange"}  # learning-curve lines by model kind


def model_comparison(comparison_tsv, strategy, png, pdf):
    """Pearson r per element of every CNN variant and baseline of one strategy (bars, +- spread),
    with the noise ceilings as black marks; one panel per reference (blurred EDS, truth)."""
    import pandas as pd

    table = pd.read_csv(comparison_tsv, sep="\t")
    table = table[table["strategy"] == strategy]
    if table.empty:
        raise ValueError(f"{comparison_tsv}: no rows for strategy '{strategy}'")
    references = list(dict.fromkeys(table["reference"]))
    fig, axes = plt.subplots(1, len(references), figsize=(6.5 * len(references), 4.4), squeeze=False)
    for ax, reference in zip(axes[0], references):
        part = table[table["reference"] == reference]
        elements = list(dict.fromkeys(part["output"]))
        models = part[part["kind"] != "ceiling"][["kind", "variant"]].drop_duplicates()
        width = 0.8 / max(len(models), 1)
        x = np.arange(len(elements))
        for n, (kind, variant) in enumerate(models.itertuples(index=False)):
            rows = part[part["variant"] == variant].set_index("output").reindex(elements)
            ax.bar(x - 0.4 + width * (n + 0.5), rows["pearson_r_mean"], width, yerr=rows["pearson_r_spread"].fillna(0),
                   capsize=2, label=f"{variant} ({kind})", color=plt.cm.tab10(n % 10),
                   hatch="//" if kind == "baseline" else None, edgecolor="white")
        for variant, style in (("scan_to_scan", "-"), ("measured_eds", ":")):
            rows = part[part["variant"] == variant].set_index("output").reindex(elements)
            if rows["pearson_r_mean"].notna().any():
                ax.hlines(rows["pearson_r_mean"], x - 0.45, x + 0.45, colors="black", linestyles=style, linewidth=2,
                          label=f"ceiling: {variant}", zorder=3)
        ax.set_xticks(x, elements)
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.set_ylabel("Pearson r (test pixels)")
        ax.set_title(f"against {reference}")
    handles = {label: h for ax in axes[0] for h, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=4, fontsize=8, bbox_to_anchor=(0.5, -0.02))
    split = table["split"].iloc[0]
    fig.suptitle(f"{strategy} ({split} split): CNN vs baselines vs noise ceiling")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return save_figure(fig, png, pdf)


def write_learning_curve(items, truth_paths, table_tsv, png, pdf):
    """The learning-curve table (:func:`edsmaps.evaluation.write_learning_curve_table`, TSV) and
    its figure (:func:`learning_curve`); returns the table."""
    from .evaluation import write_learning_curve_table

    table = write_learning_curve_table(items, truth_paths, table_tsv)
    learning_curve(table, png, pdf)
    return table


def learning_curve(table, png, pdf):
    """Pearson r against the EDS-labelled pixels each model was fitted on, per element, CNN vs
    baseline (blurred EDS and, on demo data, truth as references)."""
    references = list(dict.fromkeys(table["reference"]))
    elements = list(dict.fromkeys(table["output"]))
    fig, axes = plt.subplots(len(references), len(elements), figsize=(3.2 * len(elements), 3 * len(references)),
                             squeeze=False, sharex=True)
    for r, reference in enumerate(references):
        for e, element in enumerate(elements):
            ax = axes[r][e]
            part = table[(table["reference"] == reference) & (table["output"] == element)]
            for (kind, variant), rows in part.groupby(["kind", "variant"], sort=False):
                ax.plot(rows["n_fit_pixels"], rows["pearson_r"], "o-", color=MODEL_COLOURS[kind],
                        label=f"{variant} ({kind})")
            ax.set_xscale("log")
            ax.set_title(f"{element} vs {reference}")
            if e == 0:
                ax.set_ylabel("Pearson r (test pixels)")
            if r == len(references) - 1:
                ax.set_xlabel("EDS-labelled pixels fitted on")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Learning curve: accuracy against the EDS-labelled pixels used for training")
    fig.tight_layout()
    return save_figure(fig, png, pdf)


def predicted_maps(maps_dirs, truth_paths, scans, title, png, pdf):
    """The maps a user takes home (``results/predicted_maps/{scan}``): per scan and element the
    recommended map, its calibrated σ and, for the demo, the hidden noise-free truth with the
    map's MAE against it. A map and its truth share one colour scale per element that spans the
    training scans' EDS too, so a composition the models never learned shows as missing rather
    than rescaled away; pixels unlike the training data (``ood``) are outlined in red, and a
    dead output (the constant) says so.

    Args:
        maps_dirs: exported folders (:func:`edsmaps.export.export_recommended_maps`), one per scan.
        truth_paths: the demo's truth NPZ per scan, or an empty list for real data.
        scans: the scan ids.
    Returns:
        save_figure's dict plus ``scales``: {scan: {element: (vmin, vmax)}} of the maps' colour scales.
    """
    import json
    from pathlib import Path

    import mrcfile

    from .export import UNIT_FACTOR, UNIT_NAMES
    from .metrics import truth_maps

    unit_of = {name: unit for unit, name in UNIT_NAMES.items()}
    loaded = []
    for folder in maps_dirs:
        meta = json.loads((Path(folder) / "maps.json").read_text())
        elements = list(meta["validation_mae"])
        maps = {}
        for name in [*elements, *(f"{e}_std" for e in elements), "ood"]:
            if name in meta["maps"]:
                with mrcfile.open(Path(folder) / f"{name}.mrc", permissive=True) as mrc:
                    maps[name] = np.asarray(mrc.data, dtype=np.float32)
        loaded.append((meta, elements, maps))
    n_rows = 2 + bool(truth_paths)  # map, sigma (always: every model's is calibrated), truth
    n_cols = len(loaded[0][1])
    fig, axes = plt.subplots(n_rows * len(loaded), n_cols, figsize=(2.6 * n_cols, 2.9 * n_rows * len(loaded)),
                             squeeze=False)
    scales = {}
    for s, (scan, (meta, elements, maps)) in enumerate(zip(scans, loaded)):
        factor = UNIT_FACTOR[unit_of[meta["units"]]]
        r0, c0 = meta["crop_origin_in_raw_scan"]["row"], meta["crop_origin_in_raw_scan"]["col"]
        truth = truth_maps(truth_paths[s], elements, (r0, c0), meta["scan_shape"]) * factor if truth_paths else None
        size, unit = meta["pixel_size"], meta["pixel_units"]
        rows, cols = meta["scan_shape"]
        extent = [c0 * size, (c0 + cols) * size, (r0 + rows) * size, r0 * size]
        ood = maps.get("ood")
        flagged = "" if ood is None else f"\nred: unlike training ({100 * meta['out_of_distribution']['share_flagged']:.0f} %)"
        for j, element in enumerate(elements):
            note = " (dead: the constant)" if meta.get("dead", {}).get(element) else ""
            label = f"{scan} predicted {element}{note}"
            if truth is not None:
                label += f"\nMAE vs truth {float(np.mean(np.abs(maps[element] - truth[..., j]))):.3g}"
            shown = [(maps[element], label + flagged, "map"),
                     (maps.get(f"{element}_std", np.full_like(maps[element], np.nan)), f"{scan} σ {element}\n"
                      "±2σ held 95 % of validation errors", "sigma")]
            if truth is not None:
                shown.append((truth[..., j], f"{scan} truth {element} (hidden)", "map"))
            values = [np.ravel(image) for image, _, kind in shown if kind == "map"]
            values.append(np.ravel(meta.get("training_eds_range", {}).get(element, [])))
            vmin, vmax = float(np.nanmin(np.concatenate(values))), float(np.nanmax(np.concatenate(values)))
            scales.setdefault(scan, {})[element] = (vmin, vmax)
            for k, (image, text, kind) in enumerate(shown):
                ax = axes[s * n_rows + k, j]
                scale = {"vmin": vmin, "vmax": vmax} if kind == "map" else {}
                drawn = ax.imshow(image, cmap="viridis" if kind == "map" else "magma", extent=extent, **scale)
                if k == 0 and ood is not None and ood.any():
                    ax.contour((c0 + np.arange(cols) + 0.5) * size, (r0 + np.arange(rows) + 0.5) * size, ood,
                               levels=[0.5], colors="red", linewidths=1)
                ax.set_title(text, fontsize=8)
                ax.set_xlabel(f"x ({unit})", fontsize=7)
                ax.set_ylabel(f"y ({unit})", fontsize=7)
                ax.tick_params(labelsize=6)
                fig.colorbar(drawn, ax=ax, fraction=0.046, pad=0.04).set_label(meta["units"], fontsize=7)
    models = ", ".join(sorted({f"{meta['strategy']}: {meta['model']}" for meta, _, _ in loaded}))
    doses = ", ".join(f"{meta['dose_relative_to_training']:.2f}" for meta, _, _ in loaded)
    fig.suptitle(f"{title}\nrecommended {models}; colour scales span the training scans' EDS; dose relative to "
                 f"training {doses}")
    fig.tight_layout()
    return {**save_figure(fig, png, pdf), "scales": scales}


OTHER_COLOURS = [plt.cm.tab10(i) for i in (0, 1, 2, 4, 5, 6, 7, 8, 9)]  # red is the recommended model's


def dose_curve(curve_tsv, comparison_tsv, png, pdf):
    """Fig. 12: MAE (at.%, test pixels) against the dose fraction, log-log, one panel per strategy
    and element: the recommended model with its calibrated uncertainty (mean sigma, dashed, and
    the range of its 2-sigma coverage over the doses), the other models, and EDS measured at the
    same dose; against the truth where the run has one,
    else the full-dose blurred EDS with the scan-to-scan ceiling as the measured EDS's line."""
    import pandas as pd

    from .dose_curve import EDS_AT_DOSE

    curve = pd.read_csv(curve_tsv, sep="\t", dtype={"model": str, "element": str})
    reference = "truth" if (curve["reference"] == "truth").any() else "eds"
    curve = curve[curve["reference"] == reference]
    comparison = pd.read_csv(comparison_tsv, sep="\t")
    strategies, elements = list(dict.fromkeys(curve["strategy"])), list(dict.fromkeys(curve["element"]))
    fig, axes = plt.subplots(len(strategies), len(elements), figsize=(2.9 * len(elements), 2.7 * len(strategies)),
                             squeeze=False, sharex=True)
    others = [m for m in dict.fromkeys(curve["model"]) if m not in ("recommended", EDS_AT_DOSE)]
    for row, strategy in enumerate(strategies):
        for col, element in enumerate(elements):
            ax = axes[row, col]
            part = curve[(curve["strategy"] == strategy) & (curve["element"] == element)]
            for n, model in enumerate(others):
                line = part[part["model"] == model].sort_values("dose_fraction")
                ax.plot(line["dose_fraction"], 100 * line["mae"], color=OTHER_COLOURS[n % len(OTHER_COLOURS)],
                        linewidth=0.9, alpha=0.7, label=model)
            best = part[part["model"] == "recommended"].sort_values("dose_fraction")
            ax.fill_between(best["dose_fraction"], 100 * best["mae"], 100 * best["mean_sigma"], color="tab:red",
                            alpha=0.12, label="recommended: MAE to its calibrated σ (mean)")
            ax.plot(best["dose_fraction"], 100 * best["mean_sigma"], color="tab:red", linestyle="--", linewidth=1)
            ax.plot(best["dose_fraction"], 100 * best["mae"], color="tab:red", linewidth=2.2, marker="o",
                    markersize=3, label="recommended (from diffraction)")
            coverage = best["coverage_2sigma"]
            ax.text(0.03, 0.04, f"±2σ held {coverage.min():.2f}–{coverage.max():.2f}", transform=ax.transAxes,
                    fontsize=7, color="tab:red")
            eds = part[part["model"] == EDS_AT_DOSE].sort_values("dose_fraction")
            if len(eds):
                ax.plot(eds["dose_fraction"], 100 * eds["mae"], color="black", linewidth=2, marker="s", markersize=3,
                        label="EDS at the same dose")
            else:
                ceiling = comparison[(comparison["strategy"] == strategy) & (comparison["variant"] == "scan_to_scan")
                                     & (comparison["output"] == element)
                                     & (comparison["reference"] == "eds_blurred")]["mae_mean"]
                if ceiling.notna().any():
                    ax.axhline(100 * float(ceiling.iloc[0]), color="black", linestyle="--",
                               label="EDS scan to scan (full dose; no X-ray counts given)")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            fractions = sorted(part["dose_fraction"].unique())
            ax.set_xticks(fractions, [f"1/{1 / f:.0f}" if f < 1 else "1" for f in fractions], fontsize=7)
            ax.xaxis.set_minor_locator(NullLocator())
            ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
            ax.tick_params(axis="y", which="both", labelsize=6)
            ax.set_title(f"{strategy}: {element}", fontsize=9)
            if col == 0:
                ax.set_ylabel(f"MAE vs {reference} (at.%)")
            if row == len(strategies) - 1:
                ax.set_xlabel("dose fraction")
    handles = {label: h for ax in axes.ravel() for h, label in zip(*ax.get_legend_handles_labels())}
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=4, fontsize=8)
    fig.suptitle("Maps from diffraction vs EDS at the same dose (test pixels)")
    fig.tight_layout(rect=(0, 0.1, 1, 0.97))
    return save_figure(fig, png, pdf)
