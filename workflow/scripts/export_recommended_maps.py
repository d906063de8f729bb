from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.export import export_recommended_maps

export_recommended_maps(
    prediction_npz=snakemake.input.prediction[0],
    recommended_tsv=snakemake.input.recommended,
    intervals_tsv=snakemake.input.intervals,
    ood_npz=snakemake.input.ood,
    strategy=snakemake.params.strategy,
    scan=snakemake.wildcards.scan,
    output_dir=snakemake.output.maps,
    eds_unit=snakemake.params.eds_unit,
    training_predictions=snakemake.input.training,
)
