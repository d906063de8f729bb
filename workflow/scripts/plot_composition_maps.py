from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.figures import composition_maps

composition_maps(
    prediction_paths=snakemake.input.predictions,
    scans=snakemake.params.scans,
    kind=snakemake.params.prediction,
    title=snakemake.params.title,
    png=snakemake.output.png,
    pdf=snakemake.output.pdf,
)
