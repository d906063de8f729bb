from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.figures import blur_comparison

blur_comparison(
    eds_paths=dict(zip(snakemake.params.elements, snakemake.params.eds)),
    scan_shape=tuple(snakemake.params.scan_shape),
    eds_unit=snakemake.params.eds_unit,
    blur=snakemake.params.cache,
    scan=snakemake.params.scan,
    png=snakemake.output.png,
    pdf=snakemake.output.pdf,
)
