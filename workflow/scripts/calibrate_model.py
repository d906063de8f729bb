from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.calibration import calibrate_model

calibrate_model(
    model_path=snakemake.input.model,
    scaling_path=snakemake.input.scaling,
    split_path=snakemake.input.split,
    cache_paths=dict(zip(snakemake.params.scans, snakemake.input.caches)),
    output_json=snakemake.output.calibration,
    batch_size=snakemake.params.batch_size,
    backend_settings={**snakemake.params.backend, "threads": snakemake.threads},
)
