# The dose curve: every model of a cross-scan strategy predicts its test scans recorded at
# fractions of the dose (thinned exactly, once for all models), beside EDS at the same dose.
for strategy in DOSE_STRATEGIES:

    rule:
        name:
            per_strategy_rule("dose_series", strategy)
        input:
            models=[
                path
                for _, paths in dose_series_models(strategy).values()
                for path in paths.values()
            ],
            predictions=[
                path
                for paths in dose_series_predictions(strategy).values()
                for path in paths.values()
            ],
            caches=cache_files(test_scans(strategy)),
        output:
            series=dose_series_file(strategy),
        log:
            f"logs/dose_series/{strategy}.log",
        benchmark:
            f"benchmarks/dose_series/{strategy}.tsv"
        conda:
            "../../envs/train.yaml"
        threads: 2
        resources:
            mem_mb=4000,
        params:
            models=dose_series_models(strategy),
            predictions=dose_series_predictions(strategy),
            scans=test_scans(strategy),
            fractions=config["dose_curve"]["fractions"],
            seed=config["dose_curve"]["seed"],
            batch_size=config["prediction"]["batch_size"],
            backend=backend_settings(),
        script:
            "../scripts/dose_series.py"


rule dose_curve_table:
    input:
        series=[dose_series_file(s) for s in DOSE_STRATEGIES],
        recommended=[recommendation_file(s, "recommended") for s in DOSE_STRATEGIES],
        intervals=[recommendation_file(s, "intervals") for s in DOSE_STRATEGIES],
        caches=cache_files(SCANS),
        truths=list(truth_files().values()),
        counts=[path for paths in xray_counts_files().values() for path in paths],
    output:
        curve=report(
            "results/tables/dose_curve.tsv",
            caption="../report/dose_curve.rst",
            category="Tables",
        ),
        saving="results/tables/dose_saving.tsv",
    log:
        "logs/dose_curve_table.log",
    benchmark:
        "benchmarks/dose_curve_table.tsv"
    conda:
        "../../envs/plots.yaml"
    threads: 1
    params:
        strategies={
            s: {
                "scans": test_scans(s),
                "split": f"results/splits/{s}.npz",
                "series": dose_series_file(s),
                "models": dose_curve_models(s),
                "recommended": recommendation_file(s, "recommended"),
                "intervals": recommendation_file(s, "intervals"),
            }
            for s in DOSE_STRATEGIES
        },
        caches={scan: cache_files([scan])[0] for scan in SCANS},
        truths=truth_files(),
        counts=xray_counts_files(),
        fractions=config["dose_curve"]["fractions"],
        seed=config["dose_curve"]["seed"],
        scan_shape=config["scan_shape"],
        label_settings={
            k: v
            for k, v in config["cache"].items()
            if k
            in (
                "blur_method",
                "blur_kernel",
                "bilateral_sigma_color",
                "bilateral_sigma_space",
            )
        },
    script:
        "../scripts/dose_curve_table.py"
