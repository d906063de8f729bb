from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.baselines import predict_scan_baseline

predict_scan_baseline(
    baseline_path=snakemake.input.baseline,
    split_path=snakemake.input.split,
    cache_path=snakemake.input.cache,
    scan=snakemake.wildcards.scan,
    output_npz=snakemake.output.predictions,
)
