from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.figures import cross_correlations

cross_correlations(
    prediction_paths=snakemake.input.predictions,
    kind=snakemake.params.prediction,
    title=snakemake.params.title,
    png=snakemake.output.png,
    pdf=snakemake.output.pdf,
)
