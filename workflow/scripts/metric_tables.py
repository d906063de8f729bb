from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.tables import write_metric_tables

write_metric_tables(
    predictions=snakemake.params.predictions,
    truth_paths=snakemake.params.truths,
    metrics_tsv=snakemake.output.metrics,
    summary_tsv=snakemake.output.summary,
    crosscorr_tsv=snakemake.output.crosscorr,
    summary_md=snakemake.output.markdown,
)
