from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.figures import model_comparison

model_comparison(
    comparison_tsv=snakemake.input.comparison,
    strategy=snakemake.wildcards.strategy,
    png=snakemake.output.png,
    pdf=snakemake.output.pdf,
)
