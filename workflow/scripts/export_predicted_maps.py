from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.export import export_predicted_maps

export_predicted_maps(
    predictions_npz=snakemake.input.predictions,
    output_dir=snakemake.output.maps,
    eds_unit=snakemake.params.eds_unit,
    intervals_tsv=snakemake.input.intervals,
    model=(snakemake.wildcards.strategy, snakemake.wildcards.any_model),
)
