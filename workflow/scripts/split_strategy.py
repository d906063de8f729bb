from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.strategies import write_split

write_split(
    cache_paths=dict(zip(snakemake.params.scans, snakemake.input.caches)),
    strategy=snakemake.params.strategy,
    scans=snakemake.params.all_scans,
    output_npz=snakemake.output.split,
)
