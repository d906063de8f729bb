from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.ood import ood_map

ood_map(
    cache_paths=dict(zip(snakemake.params.training_scans, snakemake.input.caches)),
    split_path=snakemake.input.split,
    scan_cache=snakemake.input.scan,
    output_npz=snakemake.output.ood,
    seed=snakemake.params.seed,
)
