rule metric_tables:
    input:
        predictions=[item["path"] for item in scored_predictions()],
        truths=list(truth_files().values()),
    output:
        metrics=report(
            "results/tables/metrics.tsv",
            caption="../report/metrics.rst",
            category="Tables",
        ),
        summary=report(
            "results/tables/summary.tsv",
            caption="../report/summary.rst",
            category="Tables",
        ),
        crosscorr=report(
            "results/tables/crosscorr.tsv",
            caption="../report/crosscorr.rst",
            category="Tables",
        ),
        markdown="results/tables/summary.md",
    log:
        "logs/metric_tables.log",
    localrule: True
    conda:
        "../../envs/plots.yaml"
    params:
        predictions=scored_predictions(),
        truths=truth_files(),
    script:
        "../scripts/metric_tables.py"
