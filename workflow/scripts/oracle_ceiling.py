from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.oracle import fit_and_predict_oracle

scans = snakemake.params.scans
fit_and_predict_oracle(
    training_scans=snakemake.params.training_scans,
    cache_paths=dict(zip(scans, snakemake.input.caches)),
    truth_paths=dict(zip(scans, snakemake.input.truths)),
    split_path=snakemake.input.split,
    prediction_paths=dict(zip(scans, snakemake.output.predictions)),
    label_blur=snakemake.params.label_blur,
    seed=snakemake.params.seed,
    refit=snakemake.params.refit,
)
