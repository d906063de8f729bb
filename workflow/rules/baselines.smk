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


# The demo's oracle ceiling: trees on the hidden quantities of its physics (never a user's model).
if config["demo"]["enabled"]:
    for strategy in SCORED_STRATEGIES:

        rule:
            name:
                per_strategy_rule("oracle_ceiling", strategy)
            input:
                caches=cache_files(scans_of_strategy(strategy)),
                truths=[demo_truth_file(s) for s in scans_of_strategy(strategy)],
                split=f"results/splits/{strategy}.npz",
            output:
                predictions=prediction_files(
                    strategy, ORACLE, scans_of_strategy(strategy)
                ),
            log:
                f"logs/oracle_ceiling/{strategy}.log",
            benchmark:
                f"benchmarks/oracle_ceiling/{strategy}.tsv"
            conda:
                "../../envs/preprocess.yaml"
            threads: 1
            params:
                training_scans=training_scans(strategy),
                scans=scans_of_strategy(strategy),
                label_blur=[
                    config["cache"]["blur_method"],
                    config["cache"]["blur_kernel"],
                ],
                seed=config["training"]["seed"],
                refit=baseline_settings(strategy)["refit"],
            script:
                "../scripts/oracle_ceiling.py"
