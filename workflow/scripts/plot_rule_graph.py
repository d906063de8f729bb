from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.rulegraph import draw_rule_graph

draw_rule_graph(
    snakefile=snakemake.params.snakefile,
    configfiles=snakemake.params.configfiles,
    png=snakemake.output.png,
    pdf=snakemake.output.pdf,
)
