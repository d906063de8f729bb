from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.figures import write_learning_curve

write_learning_curve(
    items=snakemake.params.predictions,
    truth_paths=snakemake.params.truths,
    table_tsv=snakemake.output.table,
    png=snakemake.output.png,
    pdf=snakemake.output.pdf,
)
