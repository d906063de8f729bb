from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.evaluation import write_learning_curve_table
from edsmaps.figures import learning_curve

table = write_learning_curve_table(
    items=snakemake.params.predictions,
    split_paths=snakemake.params.splits,
    truth_paths=snakemake.params.truths,
    table_tsv=snakemake.output.table,
)
learning_curve(table, png=snakemake.output.png, pdf=snakemake.output.pdf)
