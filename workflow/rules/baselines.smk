rule fit_baseline:
    input:
        caches=lambda wc: cache_files(training_scans(wc.strategy)),
        split="results/splits/{strategy}.npz",
    output:
        baseline="results/baselines/{strategy}/{baseline}.npz",
    log:
        "logs/fit_baseline/{strategy}/{baseline}.log",
    benchmark:
        "benchmarks/fit_baseline/{strategy}/{baseline}.tsv"
    conda:
        "../../envs/preprocess.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        scans=lambda wc: training_scans(wc.strategy),
        settings=baseline_settings(),
    script:
        "../scripts/fit_baseline.py"


rule predict_baseline:
    input:
        baseline="results/baselines/{strategy}/{baseline}.npz",
        split="results/splits/{strategy}.npz",
        cache="results/cache/{scan}.npz",
    output:
        predictions="results/predictions/{strategy}/{baseline}/{scan}.npz",
    log:
        "logs/predict_baseline/{strategy}/{baseline}/{scan}.log",
    conda:
        "../../envs/preprocess.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    script:
        "../scripts/predict_baseline.py"
