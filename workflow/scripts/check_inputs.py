from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.input_checks import check_inputs

check_inputs(
    eds_paths=snakemake.params.eds,
    haadf_paths=snakemake.params.haadf,
    elements=snakemake.params.elements,
    scan_shape=tuple(snakemake.params.scan_shape),
    eds_unit=snakemake.params.eds_unit,
    report_json=snakemake.output.report,
    haadf_title=snakemake.params.haadf_title,
    pixel=tuple(snakemake.params.pixel),
)
