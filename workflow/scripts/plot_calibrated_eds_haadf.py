from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.figures import calibrated_eds_haadf

calibrated_eds_haadf(
    prediction_path=snakemake.input.prediction[0],
    cache_path=snakemake.input.cache[0],
    region=snakemake.params.region,
    scan=snakemake.params.scan,
    title=snakemake.params.title,
    png=snakemake.output.png,
    pdf=snakemake.output.pdf,
)
