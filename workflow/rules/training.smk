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
        gpu=config["training"]["distribute"],
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


# One job per trained model calibrates it and predicts every scan of its strategy (the runtime
# starts once): a rule per strategy, as each predicts its own scans.
for strategy in STRATEGY_SETTINGS:

    rule:
        name:
            per_strategy_rule("calibrate_and_predict", strategy)
        input:
            model=f"results/models/{strategy}/{{model}}/model.keras",
            scaling=f"results/models/{strategy}/{{model}}/input_scaling.json",
            split=f"results/splits/{strategy}.npz",
            caches=cache_files(predicted_scans(strategy)),
        output:
            calibration=f"results/models/{strategy}/{{model}}/calibration.json",
            predictions=prediction_files(strategy, "{model}", predicted_scans(strategy)),
        log:
            f"logs/calibrate_and_predict/{strategy}/{{model}}.log",
        benchmark:
            f"benchmarks/calibrate_and_predict/{strategy}/{{model}}.tsv"
        conda:
            "../../envs/train.yaml"
        threads: 2
        resources:
            gpu=1,
            mem_mb=4000,
        params:
            training_scans=training_scans(strategy),
            scans=predicted_scans(strategy),
            batch_size=config["prediction"]["batch_size"],
            backend=backend_settings(),
            spatial_prior=cnn_spatial_prior,
            refit=baseline_settings(strategy)["refit"],
        script:
            "../scripts/calibrate_and_predict.py"


rule ensemble_prediction:
    input:
        members=ensemble_members,
    output:
        predictions="results/predictions/{strategy}/{variant}-ensemble/{scan}.npz",
    log:
        "logs/ensemble_prediction/{strategy}/{variant}/{scan}.log",
    conda:
        "../../envs/preprocess.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/ensemble_prediction.py"


rule ood_map:
    input:
        caches=cache_files(training_scans(MAPS_STRATEGY)) if MAPS_STRATEGY else [],
        split=f"results/splits/{MAPS_STRATEGY}.npz",
        scan="results/cache/{scan}.npz",
    output:
        ood="results/ood/{scan}.npz",
    log:
        "logs/ood_map/{scan}.log",
    benchmark:
        "benchmarks/ood_map/{scan}.tsv"
    conda:
        "../../envs/plots.yaml"
    threads: 1
    resources:
        mem_mb=4000,
    params:
        training_scans=training_scans(MAPS_STRATEGY) if MAPS_STRATEGY else [],
        seed=config["training"]["seed"],
    script:
        "../scripts/ood_map.py"


# The recommended maps of every scan of a strategy: the average of the models its ranking ties.
for strategy in STRATEGIES:

    rule:
        name:
            per_strategy_rule("recommended_maps", strategy)
        input:
            recommended=recommendation_file(strategy, "recommended"),
            predictions=[
                path
                for paths in strategy_predictions(strategy).values()
                for path in paths.values()
            ],
        output:
            predictions=prediction_files(
                strategy, RECOMMENDED, predicted_scans(strategy)
            ),
        log:
            f"logs/recommended_maps/{strategy}.log",
        localrule: True
        conda:
            "../../envs/plots.yaml"
        params:
            strategy=strategy,
            predictions=strategy_predictions(strategy),
            scans=predicted_scans(strategy),
        script:
            "../scripts/recommended_maps.py"


rule export_recommended_maps:
    input:
        prediction=lambda wc: prediction_files(MAPS_STRATEGY, RECOMMENDED, [wc.scan]),
        training=prediction_files(
            MAPS_STRATEGY,
            RECOMMENDED,
            training_scans(MAPS_STRATEGY) if MAPS_STRATEGY else [],
        ),
        recommended=recommendation_file(MAPS_STRATEGY, "recommended"),
        intervals=recommendation_file(MAPS_STRATEGY, "intervals"),
        ood="results/ood/{scan}.npz",
    output:
        maps=directory("results/predicted_maps/{scan}"),
    log:
        "logs/export_recommended_maps/{scan}.log",
    conda:
        "../../envs/plots.yaml"
    params:
        strategy=MAPS_STRATEGY,
        eds_unit=config["data"]["eds_unit"],
    script:
        "../scripts/export_recommended_maps.py"


# Any model's maps on request, e.g. results/predicted_maps/deploy/pca_ridge/0039
rule export_predicted_maps:
    input:
        predictions="results/predictions/{strategy}/{any_model}/{scan}.npz",
        intervals=recommendation_file("{strategy}", "intervals"),
    output:
        maps=directory("results/predicted_maps/{strategy}/{any_model}/{scan}"),
    log:
        "logs/export_predicted_maps/{strategy}/{any_model}/{scan}.log",
    conda:
        "../../envs/plots.yaml"
    params:
        eds_unit=config["data"]["eds_unit"],
    script:
        "../scripts/export_predicted_maps.py"
