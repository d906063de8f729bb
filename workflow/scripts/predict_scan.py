from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.prediction import predict_scan

predict_scan(
    model_path=snakemake.input.model,
    scaling_path=snakemake.input.scaling,
    calibration_path=snakemake.input.calibration,
    split_path=snakemake.input.split,
    cache_path=snakemake.input.cache,
    scan=snakemake.wildcards.scan,
    output_npz=snakemake.output.predictions,
    batch_size=snakemake.params.batch_size,
    backend_settings={**snakemake.params.backend, "threads": snakemake.threads},
)
