from snakemake.utils import min_version

min_version("9.0")


# The demo's config, unless the user gives their own: a --configfile stands alone, it is not
# merged onto the demo's settings.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/baselines.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/dose_curve.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        expand("results/cache/{scan}.npz", scan=SCANS),
        all_predictions(),
        all_exported_maps(),
        rules.metric_tables.output,
        rules.dose_curve_table.output if DOSE_STRATEGIES else [],
        expand(
            "results/figures/comparison/{strategy}.{ext}",
            strategy=SCORED_STRATEGIES,
            ext=["png", "pdf"],
        ),
        expand("results/figures/{figure}.{ext}", figure=ALL_FIGURES, ext=["png", "pdf"]),
