from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.baselines import fit_and_predict_baseline

fit_and_predict_baseline(
    kind=snakemake.wildcards.baseline,
    training_scans=snakemake.params.training_scans,
    cache_paths=dict(zip(snakemake.params.scans, snakemake.input.caches)),
    split_path=snakemake.input.split,
    baseline_npz=snakemake.output.baseline,
    prediction_paths=dict(zip(snakemake.params.scans, snakemake.output.predictions)),
    **snakemake.params.settings,
)
