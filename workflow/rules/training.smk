rule split_strategy:
    input:
        caches=lambda wc: cache_files(scans_of_strategy(wc.strategy)),
    output:
        split="results/splits/{strategy}.npz",
    log:
        "logs/split_strategy/{strategy}.log",
    conda:
        "../../envs/train.yaml"
    params:
        strategy=lambda wc: STRATEGY_SETTINGS[wc.strategy],
        scans=lambda wc: scans_of_strategy(wc.strategy),
        all_scans=SCANS,
    script:
        "../scripts/split_strategy.py"


rule train_model:
    input:
        caches=lambda wc: cache_files(training_scans(wc.strategy)),
        split="results/splits/{strategy}.npz",
    output:
        model="results/models/{strategy}/{model}/model.keras",
        history="results/models/{strategy}/{model}/history.csv",
        scaling="results/models/{strategy}/{model}/input_scaling.json",
        manifest="results/models/{strategy}/{model}/manifest.json",
    log:
        "logs/train_model/{strategy}/{model}.log",
    benchmark:
        "benchmarks/train_model/{strategy}/{model}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 8
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=240,
    params:
        scans=lambda wc: training_scans(wc.strategy),
        training=lambda wc: training_settings(wc.model),
        model=lambda wc: model_settings(wc.model),
        tensorboard_dir=lambda wc: f"results/models/{wc.strategy}/{wc.model}/tensorboard",
        # Not an output: Snakemake deletes a failed job's outputs, the checkpoints must survive.
        resume_dir=lambda wc: f"results/checkpoints/{wc.strategy}/{wc.model}",
    script:
        "../scripts/train_model.py"


rule calibrate_model:
    input:
        model="results/models/{strategy}/{model}/model.keras",
        scaling="results/models/{strategy}/{model}/input_scaling.json",
        split="results/splits/{strategy}.npz",
        caches=lambda wc: cache_files(training_scans(wc.strategy)),
    output:
        calibration="results/models/{strategy}/{model}/calibration.json",
    log:
        "logs/calibrate_model/{strategy}/{model}.log",
    benchmark:
        "benchmarks/calibrate_model/{strategy}/{model}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        scans=lambda wc: training_scans(wc.strategy),
        batch_size=config["prediction"]["batch_size"],
        backend=backend_settings(),
    script:
        "../scripts/calibrate_model.py"


rule predict_scan:
    input:
        model="results/models/{strategy}/{model}/model.keras",
        scaling="results/models/{strategy}/{model}/input_scaling.json",
        calibration="results/models/{strategy}/{model}/calibration.json",
        split="results/splits/{strategy}.npz",
        cache="results/cache/{scan}.npz",
    output:
        predictions="results/predictions/{strategy}/{model}/{scan}.npz",
    log:
        "logs/predict_scan/{strategy}/{model}/{scan}.log",
    benchmark:
        "benchmarks/predict_scan/{strategy}/{model}/{scan}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        batch_size=config["prediction"]["batch_size"],
        backend=backend_settings(),
    script:
        "../scripts/predict_scan.py"


rule export_predicted_maps:
    input:
        predictions="results/predictions/{strategy}/{model}/{scan}.npz",
    output:
        maps=directory("results/predicted_maps/{strategy}/{model}/{scan}"),
    log:
        "logs/export_predicted_maps/{strategy}/{model}/{scan}.log",
    conda:
        "../../envs/preprocess.yaml"
    params:
        eds_unit=config["data"]["eds_unit"],
    script:
        "../scripts/export_predicted_maps.py"
