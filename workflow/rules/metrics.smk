# Each strategy's models are ranked on its own: a figure of one strategy waits for that one only.
rule recommend_models:
    input:
        predictions=lambda wc: [
            item["path"] for item in validation_predictions(wc.strategy)
        ],
    output:
        **{
            table: recommendation_file("{strategy}", table)
            for table in RECOMMENDATION_TABLES
        },
    log:
        "logs/recommend_models/{strategy}.log",
    localrule: True
    conda:
        "../../envs/plots.yaml"
    params:
        predictions=lambda wc: validation_predictions(wc.strategy),
    script:
        "../scripts/recommend_models.py"


rule recommendation_tables:
    input:
        **{
            table: [recommendation_file(s, table) for s in STRATEGIES]
            for table in RECOMMENDATION_TABLES
        },
    output:
        validation=report(
            "results/tables/validation.tsv",
            caption="../report/validation.rst",
            category="Tables",
        ),
        recommended=report(
            "results/tables/recommended.tsv",
            caption="../report/recommended.rst",
            category="Tables",
        ),
        intervals=report(
            "results/tables/intervals.tsv",
            caption="../report/intervals.rst",
            category="Tables",
        ),
    log:
        "logs/recommendation_tables.log",
    localrule: True
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/recommendation_tables.py"


rule metric_tables:
    input:
        predictions=[item["path"] for item in scored_predictions()],
        recommended="results/tables/recommended.tsv",
        intervals="results/tables/intervals.tsv",
        truths=list(truth_files().values()),
        caches=cache_files(SCANS),
        splits=expand("results/splits/{strategy}.npz", strategy=STRATEGIES),
        dose_saving=["results/tables/dose_saving.tsv"] if DOSE_STRATEGIES else [],
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
        comparison=report(
            "results/tables/comparison.tsv",
            caption="../report/comparison.rst",
            category="Tables",
        ),
        pixels=report(
            "results/tables/pixels.tsv",
            caption="../report/pixels.rst",
            category="Tables",
        ),
        summary_md="results/tables/summary.md",
        comparison_md="results/tables/comparison.md",
        provenance="results/tables/provenance.json",
    log:
        "logs/metric_tables.log",
    localrule: True
    conda:
        "../../envs/plots.yaml"
    params:
        predictions=scored_predictions(),
        truths=truth_files(),
        split_kinds=split_kinds(),
        strategies=STRATEGIES,
        scans=SCANS,
    script:
        "../scripts/metric_tables.py"


rule comparison_figure:
    input:
        comparison="results/tables/comparison.tsv",
    output:
        png=report(
            "results/figures/comparison/{strategy}.png",
            caption="../report/comparison_figure.rst",
            category="Figures",
            subcategory="Model comparison",
        ),
        pdf="results/figures/comparison/{strategy}.pdf",
    log:
        "logs/figures/comparison/{strategy}.log",
    localrule: True
    conda:
        "../../envs/plots.yaml"
    script:
        "../scripts/plot_comparison.py"


rule learning_curve:
    input:
        predictions=[item["path"] for item in learning_curve_predictions()],
        truths=list(truth_files().values()),
    output:
        table=report(
            "results/learning_curve/learning_curve.tsv",
            caption="../report/learning_curve.rst",
            category="Learning curve",
        ),
        png=report(
            "results/figures/learning_curve.png",
            caption="../report/learning_curve.rst",
            category="Learning curve",
        ),
        pdf="results/figures/learning_curve.pdf",
    log:
        "logs/learning_curve.log",
    localrule: True
    conda:
        "../../envs/plots.yaml"
    params:
        predictions=learning_curve_predictions(),
        truths=truth_files(),
    script:
        "../scripts/learning_curve.py"
