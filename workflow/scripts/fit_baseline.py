from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.baselines import fit_baseline

fit_baseline(
    kind=snakemake.wildcards.baseline,
    cache_paths=dict(zip(snakemake.params.scans, snakemake.input.caches)),
    split_path=snakemake.input.split,
    output_npz=snakemake.output.baseline,
    **snakemake.params.settings,
)
