from edsmaps.logs import log_to

log_to(snakemake.log[0])

from edsmaps.ensemble import ensemble_prediction

ensemble_prediction(
    member_paths=list(snakemake.input.members),
    output_npz=snakemake.output.predictions,
)
