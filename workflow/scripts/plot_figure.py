from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.figures import draw_figure

draw_figure(
    snakemake.params.function,
    inputs=dict(snakemake.input.items()),
    arguments=snakemake.params.arguments,
    png=snakemake.output.png,
    pdf=snakemake.output.pdf,
)
