from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.provenance import write_manifest
from edsmaps.tables import write_metric_tables

write_metric_tables(
    predictions=snakemake.params.predictions,
    truth_paths=snakemake.params.truths,
    cache_paths=dict(zip(snakemake.params.scans, snakemake.input.caches)),
    split_kinds=snakemake.params.split_kinds,
    split_paths=dict(zip(snakemake.params.strategies, snakemake.input.splits)),
    recommended_path=snakemake.input.recommended,
    intervals_path=snakemake.input.intervals,
    dose_saving_path=snakemake.input.dose_saving[0] if snakemake.input.dose_saving else None,
    outputs=dict(snakemake.output.items()),
)
write_manifest(snakemake.output.provenance, config=snakemake.config)
