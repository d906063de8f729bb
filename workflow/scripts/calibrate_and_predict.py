from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.prediction import calibrate_and_predict

calibrate_and_predict(
    model_path=snakemake.input.model,
    scaling_path=snakemake.input.scaling,
    split_path=snakemake.input.split,
    training_scans=snakemake.params.training_scans,
    cache_paths=dict(zip(snakemake.params.scans, snakemake.input.caches)),
    calibration_json=snakemake.output.calibration,
    prediction_paths=dict(zip(snakemake.params.scans, snakemake.output.predictions)),
    batch_size=snakemake.params.batch_size,
    backend_settings={**snakemake.params.backend, "threads": snakemake.threads},
    spatial_prior=snakemake.params.spatial_prior,
    refit=snakemake.params.refit,
)
