from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.selection import write_recommended_maps

write_recommended_maps(
    recommended_tsv=snakemake.input.recommended,
    strategy=snakemake.params.strategy,
    prediction_paths=snakemake.params.predictions,
    output_paths=dict(zip(snakemake.params.scans, snakemake.output.predictions)),
)
