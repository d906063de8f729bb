from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.dose_curve import write_dose_curve

write_dose_curve(
    strategies=snakemake.params.strategies,
    fractions=snakemake.params.fractions,
    seed=snakemake.params.seed,
    cache_paths=snakemake.params.caches,
    scan_shape=tuple(snakemake.params.scan_shape),
    curve_tsv=snakemake.output.curve,
    saving_tsv=snakemake.output.saving,
    truth_paths=snakemake.params.truths or None,
    counts_paths=snakemake.params.counts or None,
    label_blur=snakemake.params.label_blur,
)
