# The dose curve: every model of a cross-scan strategy predicts its test scans recorded at
# fractions of the dose (thinned exactly, with the same draws for all models), beside EDS at the
# same dose. Baselines and CNNs predict in their own environments.
rule dose_series_baseline:
    input:
        unpack(dose_series_input("baseline")),
    output:
        series=dose_series_file("{strategy}", "baseline"),
    log:
        "logs/dose_series/{strategy}/baseline.log",
    benchmark:
        "benchmarks/dose_series/{strategy}/baseline.tsv"
    wildcard_constraints:
        strategy="|".join(DOSE_STRATEGIES),
    conda:
        "../../envs/preprocess.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        models=dose_series_param("baseline", "models"),
        predictions=dose_series_param("baseline", "predictions"),
        scans=dose_series_param("baseline", "scans"),
        fractions=config["dose_curve"]["fractions"],
        seed=config["dose_curve"]["seed"],
    script:
        "../scripts/dose_series_baseline.py"


rule dose_series_cnn:
    input:
        unpack(dose_series_input("cnn")),
    output:
        series=dose_series_file("{strategy}", "cnn"),
    log:
        "logs/dose_series/{strategy}/cnn.log",
    benchmark:
        "benchmarks/dose_series/{strategy}/cnn.tsv"
    wildcard_constraints:
        strategy="|".join(DOSE_STRATEGIES),
    conda:
        "../../envs/train.yaml"
    threads: 2
    resources:
        mem_mb=4000,
    params:
        models=dose_series_param("cnn", "models"),
        predictions=dose_series_param("cnn", "predictions"),
        scans=dose_series_param("cnn", "scans"),
        fractions=config["dose_curve"]["fractions"],
        seed=config["dose_curve"]["seed"],
        batch_size=config["prediction"]["batch_size"],
        backend=backend_settings(),
    script:
        "../scripts/dose_series_cnn.py"


rule dose_curve_table:
    input:
        series=[path for s in DOSE_STRATEGIES for path in dose_series_files(s)],
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
                "series": dose_series_files(s),
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
        label_blur={
            "method": config["cache"]["blur_method"],
            "kernel": config["cache"]["blur_kernel"],
            "sigma_color": config["cache"]["bilateral_sigma_color"],
            "sigma_space": config["cache"]["bilateral_sigma_space"],
        },
    script:
        "../scripts/dose_curve_table.py"
