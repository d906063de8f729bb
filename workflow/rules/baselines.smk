# A baseline is fitted on a strategy's training pixels and predicts every scan of the strategy
# in the same job: a rule per strategy, as each predicts its own scans.
for strategy in STRATEGY_SETTINGS:

    rule:
        name:
            per_strategy_rule("fit_baseline", strategy)
        input:
            caches=cache_files(predicted_scans(strategy)),
            split=f"results/splits/{strategy}.npz",
        output:
            baseline=f"results/baselines/{strategy}/{{baseline}}.npz",
            predictions=prediction_files(
                strategy, "{baseline}", predicted_scans(strategy)
            ),
        log:
            f"logs/fit_baseline/{strategy}/{{baseline}}.log",
        benchmark:
            f"benchmarks/fit_baseline/{strategy}/{{baseline}}.tsv"
        conda:
            "../../envs/preprocess.yaml"
        threads: 1
        resources:
            mem_mb=4000,
        params:
            training_scans=training_scans(strategy),
            scans=predicted_scans(strategy),
            settings=baseline_settings(strategy),
        script:
            "../scripts/fit_baseline.py"
