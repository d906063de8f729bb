from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.selection import recommend_models

recommend_models(
    items=snakemake.params.predictions,
    strategies=[snakemake.wildcards.strategy],
    validation_tsv=snakemake.output.validation,
    recommended_tsv=snakemake.output.recommended,
    intervals_tsv=snakemake.output.intervals,
)
